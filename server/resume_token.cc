#include "server/resume_token.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace whalefeed::server {
namespace {

// "wf1." + base64url(16 bytes of feed id, 8 bytes of big-endian sequence). The version prefix lets
// a later format coexist; the feed id makes a token of another database recognisable.
constexpr absl::string_view kPrefix = "wf1.";
constexpr size_t kFeedIdBytes = 16;
constexpr size_t kPayloadBytes = kFeedIdBytes + 8;
// Longest well-formed token; longer input is refused before decoding.
constexpr size_t kMaxTokenChars = 64;

}  // namespace

std::string EncodeResumeToken(absl::string_view feed_id, uint64_t sequence) {
  std::string payload = absl::HexStringToBytes(feed_id);
  payload.resize(kFeedIdBytes, '\0');
  for (int shift = 56; shift >= 0; shift -= 8) {
    payload.push_back(static_cast<char>((sequence >> shift) & 0xff));
  }
  return absl::StrCat(kPrefix, absl::WebSafeBase64Escape(payload));
}

absl::StatusOr<uint64_t> DecodeResumeToken(absl::string_view token, absl::string_view feed_id,
                                           absl::string_view field) {
  auto malformed = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a resume token (", why,
                                                   "); pass a resume_token this service returned"));
  };
  if (token.size() > kMaxTokenChars) return malformed("too long");
  if (!absl::StartsWith(token, kPrefix)) {
    return malformed(absl::StartsWith(token, "wf") ? "unknown version" : "unknown format");
  }
  std::string payload;
  if (!absl::WebSafeBase64Unescape(token.substr(kPrefix.size()), &payload) ||
      payload.size() != kPayloadBytes ||
      absl::WebSafeBase64Escape(payload) != token.substr(kPrefix.size())) {
    return malformed("bad encoding");
  }
  std::string expected_feed = absl::HexStringToBytes(feed_id);
  expected_feed.resize(kFeedIdBytes, '\0');
  if (payload.compare(0, kFeedIdBytes, expected_feed) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": the token belongs to another database (feed ",
        absl::BytesToHexString(payload.substr(0, kFeedIdBytes)), ", this one is ", feed_id, ")"));
  }
  uint64_t sequence = 0;
  for (size_t i = kFeedIdBytes; i < kPayloadBytes; ++i) {
    sequence = (sequence << 8) | static_cast<unsigned char>(payload[i]);
  }
  return sequence;
}

}  // namespace whalefeed::server
