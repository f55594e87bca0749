#include "server/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace whalefeed::server {
namespace {

constexpr size_t kDigestBytes = 8;  // of the fingerprint
constexpr size_t kMacBytes = 32;    // HMAC-SHA256
constexpr char kMacContext[] = "whalefeed.page_token";
constexpr size_t kMaxTextBytes = 512;  // one decimal or string value
constexpr uint8_t kFlagPinned = 1;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("page_token: ", why, "; list again without a page_token"));
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string Mac(absl::string_view key, absl::string_view data) {
  const std::string input = absl::StrCat(kMacContext, data);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Reads the payload; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}

  bool Byte(uint8_t* out) {
    if (data_.empty()) return false;
    *out = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool Varint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      if (shift == 63 && b > 1) return false;  // more than 64 bits
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        // Only the shortest encoding is accepted: one token per payload.
        if (b == 0 && shift > 0) return false;
        *out = v;
        return true;
      }
    }
    return false;
  }
  bool Bytes(size_t n, absl::string_view* out) {
    if (data_.size() < n) return false;
    *out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool done() const { return data_.empty(); }

 private:
  absl::string_view data_;
};

bool IsPlainDecimal(absl::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  const size_t dot = s.find('.');
  absl::string_view int_part = s.substr(0, dot);
  absl::string_view frac_part = dot == absl::string_view::npos ? "" : s.substr(dot + 1);
  if (int_part.empty() || (dot != absl::string_view::npos && frac_part.empty())) return false;
  for (char c : int_part) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  for (char c : frac_part) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

bool IsBase64Url(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

PageKeyValue PageKeyValue::Int64(int64_t v) {
  PageKeyValue k;
  k.type = Type::kInt64;
  k.int64_value = v;
  return k;
}
PageKeyValue PageKeyValue::Uint64(uint64_t v) {
  PageKeyValue k;
  k.type = Type::kUint64;
  k.uint64_value = v;
  return k;
}
PageKeyValue PageKeyValue::Decimal(std::string v) {
  PageKeyValue k;
  k.type = Type::kDecimal;
  k.text = std::move(v);
  return k;
}
PageKeyValue PageKeyValue::Time(absl::Time t) {
  PageKeyValue k;
  k.type = Type::kTime;
  // Infinite times stay infinite, so that Encode refuses them rather than saturating them.
  k.time = (t == absl::InfinitePast() || t == absl::InfiniteFuture())
               ? t
               : absl::FromUnixMicros(absl::ToUnixMicros(t));
  return k;
}
PageKeyValue PageKeyValue::String(std::string v) {
  PageKeyValue k;
  k.type = Type::kString;
  k.text = std::move(v);
  return k;
}

bool operator==(const PageKeyValue& a, const PageKeyValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case PageKeyValue::Type::kNull:
      return true;
    case PageKeyValue::Type::kInt64:
      return a.int64_value == b.int64_value;
    case PageKeyValue::Type::kUint64:
      return a.uint64_value == b.uint64_value;
    case PageKeyValue::Type::kDecimal:
    case PageKeyValue::Type::kString:
      return a.text == b.text;
    case PageKeyValue::Type::kTime:
      return a.time == b.time;
  }
  return false;
}

bool operator==(const PageToken& a, const PageToken& b) {
  return a.position == b.position && a.high_water_sequence == b.high_water_sequence &&
         a.pinned == b.pinned;
}

std::string QueryFingerprint(std::initializer_list<absl::string_view> parts) {
  std::string out;
  for (absl::string_view part : parts) absl::StrAppend(&out, part.size(), ":", part, ";");
  return out;
}

absl::StatusOr<PageTokenCodec> PageTokenCodec::Create(absl::string_view key_hex) {
  if (key_hex.size() < 32 || key_hex.size() % 2 != 0 ||
      !std::all_of(key_hex.begin(), key_hex.end(),
                   [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::InvalidArgumentError(
        absl::StrCat("page token key: expected at least 32 hex digits (an even number), got ",
                     key_hex.size(), " characters"));
  }
  return PageTokenCodec(absl::HexStringToBytes(key_hex));
}

absl::StatusOr<std::string> PageTokenCodec::Encode(const PageToken& token,
                                                   absl::string_view fingerprint) const {
  if (token.position.size() > kMaxPageKeyValues) {
    return absl::InvalidArgumentError(absl::StrCat("page token: ", token.position.size(),
                                                   " keyset values, at most ", kMaxPageKeyValues));
  }
  std::string payload;
  payload.push_back(static_cast<char>(kPageTokenVersion));
  payload.append(Sha256(fingerprint).substr(0, kDigestBytes));
  PutVarint(token.high_water_sequence, &payload);
  payload.push_back(static_cast<char>(token.pinned.has_value() ? kFlagPinned : 0));
  if (token.pinned.has_value()) PutVarint(*token.pinned, &payload);
  payload.push_back(static_cast<char>(token.position.size()));
  for (const PageKeyValue& v : token.position) {
    payload.push_back(static_cast<char>(v.type));
    switch (v.type) {
      case PageKeyValue::Type::kNull:
        break;
      case PageKeyValue::Type::kInt64:
        PutVarint(ZigZag(v.int64_value), &payload);
        break;
      case PageKeyValue::Type::kUint64:
        PutVarint(v.uint64_value, &payload);
        break;
      case PageKeyValue::Type::kTime:
        if (v.time == absl::InfinitePast() || v.time == absl::InfiniteFuture()) {
          return absl::InvalidArgumentError(
              "page token: an infinite time cannot be a keyset value (use Null)");
        }
        PutVarint(ZigZag(absl::ToUnixMicros(v.time)), &payload);
        break;
      case PageKeyValue::Type::kDecimal:
      case PageKeyValue::Type::kString:
        if (v.type == PageKeyValue::Type::kDecimal && !IsPlainDecimal(v.text)) {
          return absl::InvalidArgumentError(
              absl::StrCat("page token: \"", v.text.substr(0, 40), "\" is not a decimal"));
        }
        if (v.text.size() > kMaxTextBytes) {
          return absl::InvalidArgumentError(absl::StrCat(
              "page token: a keyset text of ", v.text.size(), " bytes, at most ", kMaxTextBytes));
        }
        PutVarint(v.text.size(), &payload);
        payload.append(v.text);
        break;
    }
  }
  payload.append(Mac(key_, payload));
  std::string out = absl::WebSafeBase64Escape(payload);
  if (out.size() > kMaxPageTokenChars) {
    return absl::InvalidArgumentError(
        absl::StrCat("page token: ", out.size(), " characters, at most ", kMaxPageTokenChars));
  }
  return out;
}

absl::StatusOr<PageToken> PageTokenCodec::Decode(absl::string_view token,
                                                 absl::string_view fingerprint) const {
  if (token.size() > kMaxPageTokenChars) {
    return Invalid(
        absl::StrCat("too long (", token.size(), " characters, at most ", kMaxPageTokenChars, ")"));
  }
  std::string raw;
  if (token.empty() || !IsBase64Url(token) || !absl::WebSafeBase64Unescape(token, &raw) ||
      absl::WebSafeBase64Escape(raw) != token) {
    return Invalid(absl::StrCat("\"", token.substr(0, 24), token.size() > 24 ? "...\"" : "\"",
                                " is not a page token of this service"));
  }
  if (raw.size() < 1 + kDigestBytes + kMacBytes) return Invalid("truncated");
  const uint8_t version = static_cast<uint8_t>(raw[0]);
  if (version != kPageTokenVersion) {
    return Invalid(absl::StrCat("version ", version,
                                " is not supported (this server reads version ", kPageTokenVersion,
                                ")"));
  }
  const absl::string_view payload = absl::string_view(raw).substr(0, raw.size() - kMacBytes);
  const absl::string_view mac = absl::string_view(raw).substr(raw.size() - kMacBytes);
  const std::string expected = Mac(key_, payload);
  if (CRYPTO_memcmp(expected.data(), mac.data(), kMacBytes) != 0) {
    return Invalid("failed its integrity check (altered, truncated, or made by another database)");
  }
  if (payload.substr(1, kDigestBytes) != Sha256(fingerprint).substr(0, kDigestBytes)) {
    return Invalid(
        "does not belong to this query (the filter, order_by or another parameter changed)");
  }
  // The MAC holds, so this is a payload this codec wrote; the checks below guard against a
  // writer of another build all the same.
  Reader r(payload.substr(1 + kDigestBytes));
  PageToken out;
  uint8_t flags, count;
  if (!r.Varint(&out.high_water_sequence) || !r.Byte(&flags) || (flags & ~kFlagPinned) != 0) {
    return Invalid("malformed");
  }
  if (flags & kFlagPinned) {
    uint64_t pinned;
    if (!r.Varint(&pinned)) return Invalid("malformed");
    out.pinned = pinned;
  }
  if (!r.Byte(&count) || count > kMaxPageKeyValues) return Invalid("malformed");
  for (int i = 0; i < count; ++i) {
    uint8_t type;
    if (!r.Byte(&type)) return Invalid("malformed");
    PageKeyValue v;
    uint64_t n;
    absl::string_view text;
    switch (static_cast<PageKeyValue::Type>(type)) {
      case PageKeyValue::Type::kNull:
        break;
      case PageKeyValue::Type::kInt64:
        if (!r.Varint(&n)) return Invalid("malformed");
        v = PageKeyValue::Int64(UnZigZag(n));
        break;
      case PageKeyValue::Type::kUint64:
        if (!r.Varint(&n)) return Invalid("malformed");
        v = PageKeyValue::Uint64(n);
        break;
      case PageKeyValue::Type::kTime:
        if (!r.Varint(&n)) return Invalid("malformed");
        v = PageKeyValue::Time(absl::FromUnixMicros(UnZigZag(n)));
        break;
      case PageKeyValue::Type::kDecimal:
      case PageKeyValue::Type::kString:
        if (!r.Varint(&n) || n > kMaxTextBytes || !r.Bytes(n, &text)) return Invalid("malformed");
        if (type == static_cast<uint8_t>(PageKeyValue::Type::kDecimal)) {
          if (!IsPlainDecimal(text)) return Invalid("malformed");
          v = PageKeyValue::Decimal(std::string(text));
        } else {
          v = PageKeyValue::String(std::string(text));
        }
        break;
      default:
        return Invalid("malformed");
    }
    out.position.push_back(std::move(v));
  }
  if (!r.done()) return Invalid("malformed");
  return out;
}

}  // namespace whalefeed::server
