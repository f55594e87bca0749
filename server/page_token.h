// AIP-158 page tokens of the List methods (design §6.3): opaque, printable and URL-safe (base64url
// without padding), versioned, tamper-checked with HMAC-SHA256 under the database's token key
// (FeedMeta.token_key, so every replica accepts every replica's tokens), and bound to the query
// they came from.
//
// A token carries where the next page starts (the keyset position: the last row's sort key and
// a unique tiebreak, as typed values), the high-water mark that pins the walk (ListWhaleActivity
// returns only rows with sequence <= that mark, so rows committed during the walk never appear
// and none committed before it is missed), and optionally one more pinned number.
//
// Binding: the caller passes a query fingerprint (see QueryFingerprint) built from everything that
// defines the listing except page_size and page_token: the method, the filter's canonical text
// (Filter::Canonical), order_by, the window, include_backfill. A token made for another
// fingerprint is refused ("does not belong to this query"), as AIP-158 asks for a changed request.
//
// Every refusal is INVALID_ARGUMENT whose message starts "page_token: " and says what is wrong
// (malformed, too long, unsupported version, failed its integrity check, another query); the
// client should list again without a page token. The check runs in constant time in the MAC.
//
// Wire format (version 1), before base64url:
//   version (1 byte = 1) | fingerprint digest (8 bytes: SHA-256 of the fingerprint) |
//   high-water (varint) | flags (1 byte: bit 0 = pinned present) | [pinned (varint)] |
//   count (1 byte, <= kMaxPageKeyValues) | values... | HMAC-SHA256 (32 bytes)
// Each value is a type byte and: int64 zig-zag varint; uint64 varint; time zig-zag varint of Unix
// microseconds; decimal and string varint length + bytes; null nothing. The HMAC covers the
// context string "whalefeed.page_token" and every byte before it.
//
// Depends on abseil and OpenSSL only. Thread-safe: a PageTokenCodec is immutable.
#ifndef WHALEFEED_SERVER_PAGE_TOKEN_H_
#define WHALEFEED_SERVER_PAGE_TOKEN_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace whalefeed::server {

// A token longer than this (in characters) is refused before it is decoded.
inline constexpr size_t kMaxPageTokenChars = 1024;
// At most this many keyset values in a token.
inline constexpr size_t kMaxPageKeyValues = 8;
// The format version this build writes and reads.
inline constexpr uint8_t kPageTokenVersion = 1;

// One value of a keyset position.
struct PageKeyValue {
  enum class Type : uint8_t {
    kNull = 0,
    kInt64 = 1,
    kUint64 = 2,
    kDecimal = 3,
    kTime = 4,
    kString = 5
  };
  Type type = Type::kNull;
  int64_t int64_value = 0;                 // kInt64
  uint64_t uint64_value = 0;               // kUint64
  std::string text;                        // kDecimal (plain decimal text, e.g. "10000.5"), kString
  absl::Time time = absl::InfinitePast();  // kTime, kept to the microsecond

  static PageKeyValue Null() { return {}; }
  static PageKeyValue Int64(int64_t v);
  static PageKeyValue Uint64(uint64_t v);
  static PageKeyValue Decimal(std::string v);
  // `t` is truncated to the microsecond (what the database stores). Encode refuses an infinite
  // time: a NULL sort key is Null().
  static PageKeyValue Time(absl::Time t);
  static PageKeyValue String(std::string v);

  friend bool operator==(const PageKeyValue& a, const PageKeyValue& b);
  friend bool operator!=(const PageKeyValue& a, const PageKeyValue& b) { return !(a == b); }
};

// What a page token says.
struct PageToken {
  // The keyset position after which the next page starts (e.g. the last row's amount_usd and its
  // sequence).
  std::vector<PageKeyValue> position;
  // The walk's high-water mark: the highest sequence committed when its first page was read.
  uint64_t high_water_sequence = 0;
  // One more value the walk pins, if it needs one (e.g. the time its window was computed).
  std::optional<uint64_t> pinned;

  friend bool operator==(const PageToken& a, const PageToken& b);
};

// A fingerprint of a query from its parts, unambiguous however the parts are spelt (each is
// length-prefixed). E.g. QueryFingerprint({"ListWhaleActivity", filter.Canonical(), order_by,
// include_backfill ? "backfill" : ""}).
std::string QueryFingerprint(std::initializer_list<absl::string_view> parts);

class PageTokenCodec {
 public:
  // `key_hex`: FeedMeta.token_key, hex of at least 16 bytes. INVALID_ARGUMENT otherwise.
  static absl::StatusOr<PageTokenCodec> Create(absl::string_view key_hex);

  // The token for `token` in the query `fingerprint`. INVALID_ARGUMENT when the token would not be
  // accepted back: more than kMaxPageKeyValues values, an infinite time, or longer than
  // kMaxPageTokenChars (keep keyset strings short: ids, not titles).
  absl::StatusOr<std::string> Encode(const PageToken& token, absl::string_view fingerprint) const;

  // What `token` says, if this codec's key made it for the query `fingerprint`; INVALID_ARGUMENT
  // starting "page_token: " otherwise (an empty token too: callers treat "" as "first page"
  // before calling this).
  absl::StatusOr<PageToken> Decode(absl::string_view token, absl::string_view fingerprint) const;

 private:
  explicit PageTokenCodec(std::string key) : key_(std::move(key)) {}
  std::string key_;  // raw bytes
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_PAGE_TOKEN_H_
