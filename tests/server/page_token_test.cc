// Page tokens: every value type round-trips; anything altered, cut, made under another key or for
// another query, of another version, or not a token at all is INVALID_ARGUMENT. Some tokens are
// forged here with the key (the test knows it) to reach the checks that sit behind the HMAC.
#include "server/page_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::StatusIs;

const std::string kKeyHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kOtherKeyHex = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
const std::string kQuery =
    QueryFingerprint({"ListWhaleActivity", "side = SIDE_BUY", "sequence desc"});

PageTokenCodec Codec(const std::string& key_hex = kKeyHex) {
  absl::StatusOr<PageTokenCodec> codec = PageTokenCodec::Create(key_hex);
  EXPECT_TRUE(codec.ok()) << codec.status();
  return *std::move(codec);
}

PageToken RichToken() {
  PageToken t;
  t.position = {
      PageKeyValue::Null(),
      PageKeyValue::Int64(std::numeric_limits<int64_t>::min()),
      PageKeyValue::Int64(-1),
      PageKeyValue::Uint64(std::numeric_limits<uint64_t>::max()),
      PageKeyValue::Decimal("-12345678901234567890.123456789012345678"),
      PageKeyValue::Time(absl::FromUnixMicros(-86400000001)),  // before 1970
      PageKeyValue::String("0xabc \"quoted\" ünïcödé"),
      PageKeyValue::String(""),
  };
  t.high_water_sequence = std::numeric_limits<uint64_t>::max();
  t.pinned = 0;
  return t;
}

std::string Encode(const PageToken& t, const std::string& query = kQuery) {
  absl::StatusOr<std::string> token = Codec().Encode(t, query);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

std::string Raw(const std::string& token) {
  std::string raw;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  return raw;
}

// A token whose payload (everything before the MAC) is `payload`, with a valid MAC under kKeyHex.
std::string Forge(const std::string& payload) {
  const std::string key = absl::HexStringToBytes(kKeyHex);
  const std::string input = "whalefeed.page_token" + payload;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return absl::WebSafeBase64Escape(payload + std::string(reinterpret_cast<char*>(mac), len));
}

// The payload of a valid token of kQuery with nothing in it yet: version, fingerprint digest.
std::string PayloadPrefix() { return Raw(Encode(PageToken{})).substr(0, 9); }

auto IsInvalid(const std::string& why) {
  return StatusIs(absl::StatusCode::kInvalidArgument,
                  ::testing::AllOf(StartsWith("page_token: "), HasSubstr(why)));
}

TEST(PageTokenTest, EveryValueTypeRoundTrips) {
  const PageToken rich = RichToken();
  EXPECT_THAT(Codec().Decode(Encode(rich), kQuery), IsOkAndHolds(rich));

  PageToken plain;
  plain.position = {PageKeyValue::Decimal("10000.5"),
                    PageKeyValue::Time(absl::FromUnixMicros(1767225600123456)),
                    PageKeyValue::Uint64(42), PageKeyValue::Int64(9223372036854775807)};
  plain.high_water_sequence = 1234;
  EXPECT_THAT(Codec().Decode(Encode(plain), kQuery), IsOkAndHolds(plain));
  ASSERT_OK_AND_ASSIGN(PageToken back, Codec().Decode(Encode(plain), kQuery));
  EXPECT_FALSE(back.pinned.has_value());

  EXPECT_THAT(Codec().Decode(Encode(PageToken{}), kQuery), IsOkAndHolds(PageToken{}));
}

TEST(PageTokenTest, TimesAreKeptToTheMicrosecond) {
  PageToken t;
  t.position = {PageKeyValue::Time(absl::FromUnixNanos(1767225600123456789))};
  ASSERT_OK_AND_ASSIGN(PageToken back, Codec().Decode(Encode(t), kQuery));
  EXPECT_EQ(back.position[0].time, absl::FromUnixMicros(1767225600123456));
}

TEST(PageTokenTest, TokensArePrintableUrlSafeDeterministicAndShort) {
  const std::string token = Encode(RichToken());
  EXPECT_THAT(token, MatchesRegex("[A-Za-z0-9_-]+"));
  EXPECT_EQ(Encode(RichToken()), token);
  EXPECT_LE(Encode(PageToken{}).size(), 64u);
  // Another replica with the same key (the same database) accepts it.
  EXPECT_OK(Codec(kKeyHex).Decode(token, kQuery).status());
}

TEST(PageTokenTest, AnyFlippedByteIsRefused) {
  const std::string raw = Raw(Encode(RichToken()));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit : {0, 7}) {
      std::string altered = raw;
      altered[i] = static_cast<char>(altered[i] ^ (1 << bit));
      EXPECT_THAT(Codec().Decode(absl::WebSafeBase64Escape(altered), kQuery), IsInvalid(""))
          << "byte " << i << " bit " << bit;
    }
  }
  const std::string token = Encode(RichToken());
  for (size_t i = 0; i < token.size(); ++i) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_THAT(Codec().Decode(altered, kQuery), IsInvalid("")) << "character " << i;
  }
}

TEST(PageTokenTest, TruncatedTokensAreRefused) {
  const std::string token = Encode(RichToken());
  for (size_t n = 0; n < token.size(); ++n) {
    EXPECT_THAT(Codec().Decode(token.substr(0, n), kQuery), IsInvalid("")) << n;
  }
  const std::string raw = Raw(token);
  for (size_t n = 0; n < raw.size(); ++n) {
    EXPECT_THAT(Codec().Decode(absl::WebSafeBase64Escape(raw.substr(0, n)), kQuery), IsInvalid(""))
        << n;
  }
  EXPECT_THAT(Codec().Decode(absl::WebSafeBase64Escape(raw.substr(0, 20)), kQuery),
              IsInvalid("truncated"));
}

TEST(PageTokenTest, ATokenOfAnotherKeyIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::string token, Codec(kOtherKeyHex).Encode(RichToken(), kQuery));
  EXPECT_THAT(Codec().Decode(token, kQuery), IsInvalid("integrity check"));
}

TEST(PageTokenTest, ATokenOfAnotherQueryIsRefused) {
  const std::string token = Encode(RichToken());
  for (const std::string& other :
       {QueryFingerprint({"ListWhaleActivity", "side = SIDE_SELL", "sequence desc"}),
        QueryFingerprint({"ListWhaleActivity", "side = SIDE_BUY", "sequence"}),
        QueryFingerprint({"ListMarkets", "side = SIDE_BUY", "sequence desc"}), std::string()}) {
    EXPECT_THAT(Codec().Decode(token, other), IsInvalid("does not belong to this query"));
  }
  // Parts are length-prefixed: moving text between them is another query.
  EXPECT_NE(QueryFingerprint({"a", "bc"}), QueryFingerprint({"ab", "c"}));
  EXPECT_NE(QueryFingerprint({"a", ""}), QueryFingerprint({"a"}));
}

TEST(PageTokenTest, AnotherVersionIsRefused) {
  std::string raw = Raw(Encode(RichToken()));
  for (uint8_t version : {0, 2, 255}) {
    raw[0] = static_cast<char>(version);
    EXPECT_THAT(Codec().Decode(absl::WebSafeBase64Escape(raw), kQuery),
                IsInvalid(absl::StrCat("version ", version, " is not supported")));
    // Even with a valid MAC over it.
    std::string payload = raw.substr(0, raw.size() - 32);
    EXPECT_THAT(Codec().Decode(Forge(payload), kQuery),
                IsInvalid(absl::StrCat("version ", version, " is not supported")));
  }
}

TEST(PageTokenTest, GarbageIsRefused) {
  for (const std::string& garbage :
       {std::string(), std::string("!!!"), std::string("abc"), std::string("===="),
        std::string("a b c d"), std::string("AAAA\n"), std::string("abcd+/"),
        Encode(PageToken{}) + "=", absl::WebSafeBase64Escape(std::string(64, '\0')),
        absl::WebSafeBase64Escape(std::string(200, '\x01')), std::string("\xff\xfe", 2)}) {
    EXPECT_THAT(Codec().Decode(garbage, kQuery), IsInvalid("")) << garbage;
  }
  EXPECT_THAT(Codec().Decode(std::string(kMaxPageTokenChars + 1, 'A'), kQuery),
              IsInvalid("too long"));
  EXPECT_THAT(Codec().Decode("not-a-token", kQuery), IsInvalid("is not a page token"));
}

TEST(PageTokenTest, MalformedPayloadsBehindAValidMacAreRefused) {
  const std::string prefix = PayloadPrefix();
  // high-water 5, no flags, then the values part.
  const std::string head = prefix + std::string("\x05\x00", 2);
  EXPECT_OK(Codec().Decode(Forge(head + std::string("\x00", 1)), kQuery).status());  // 0 values
  for (const std::string& bad : {
           head + std::string("\x09", 1),              // 9 values, more than allowed
           head + std::string("\x01\x09", 2),          // an unknown type
           head + std::string("\x01\x01", 2),          // an int64 with no varint
           head + std::string("\x01\x01\x80", 3),      // a varint cut short
           head + std::string("\x01\x02\x80\x00", 4),  // not the shortest varint
           head + std::string("\x01\x02") + std::string(10, '\xff') + "\x01",  // over 64 bits
           head + std::string("\x01\x03\x03"
                              "1x2",
                              6),  // not a decimal
           head + std::string("\x01\x05\x05"
                              "abc",
                              6),                    // a string cut short
           head + std::string("\x00\x00", 2),        // bytes after the values
           prefix + std::string("\x05\x02\x00", 3),  // an unknown flag
           prefix + std::string("\x05\x01", 2),      // pinned flag, no value
           prefix,                                   // nothing after the digest
       }) {
    EXPECT_THAT(Codec().Decode(Forge(bad), kQuery), IsInvalid("malformed"))
        << absl::BytesToHexString(bad);
  }
}

TEST(PageTokenTest, EncodeRefusesWhatDecodeWouldRefuse) {
  PageToken many;
  many.position.assign(kMaxPageKeyValues + 1, PageKeyValue::Int64(1));
  EXPECT_THAT(Codec().Encode(many, kQuery), StatusIs(absl::StatusCode::kInvalidArgument));
  PageToken infinite;
  infinite.position = {PageKeyValue::Time(absl::InfiniteFuture())};
  EXPECT_THAT(Codec().Encode(infinite, kQuery), StatusIs(absl::StatusCode::kInvalidArgument));
  infinite.position[0].time = absl::InfinitePast();
  EXPECT_THAT(Codec().Encode(infinite, kQuery), StatusIs(absl::StatusCode::kInvalidArgument));
  PageToken long_text;
  long_text.position = {PageKeyValue::String(std::string(513, 'x'))};
  EXPECT_THAT(Codec().Encode(long_text, kQuery), StatusIs(absl::StatusCode::kInvalidArgument));
  // Texts within the per-value bound but too many of them: the token would be too long.
  PageToken long_token;
  long_token.position.assign(3, PageKeyValue::String(std::string(400, 'x')));
  EXPECT_THAT(Codec().Encode(long_token, kQuery),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 1024")));
  PageToken bad_decimal;
  bad_decimal.position = {PageKeyValue::Decimal("1e5")};
  EXPECT_THAT(Codec().Encode(bad_decimal, kQuery), StatusIs(absl::StatusCode::kInvalidArgument));
  // The largest token Encode accepts decodes.
  PageToken largest;
  largest.position = {PageKeyValue::String(std::string(512, 'y')),
                      PageKeyValue::String(std::string(200, 'z'))};
  ASSERT_OK_AND_ASSIGN(std::string token, Codec().Encode(largest, kQuery));
  EXPECT_THAT(Codec().Decode(token, kQuery), IsOkAndHolds(largest));
}

TEST(PageTokenTest, KeysMustBeHexOfAtLeast16Bytes) {
  EXPECT_OK(PageTokenCodec::Create(kKeyHex).status());
  for (const std::string& bad :
       {std::string(), std::string(30, 'a'), std::string(33, 'a'), std::string(63, 'a') + "g"}) {
    EXPECT_THAT(PageTokenCodec::Create(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

}  // namespace
}  // namespace whalefeed::server
