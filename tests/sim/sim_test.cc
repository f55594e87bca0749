// End-to-end tests of the simulator over real HTTP: OpinionSim runs in-process on port 0 with a
// FakeClock, the tests talk to it with httplib::Client and parse bodies with RapidJSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "sim/opinion_sim.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sim {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Le;
using ::whalefeed::testing::StatusIs;

constexpr char kKey[] = "test-key";

std::string Api(absl::string_view path) { return absl::StrCat("/openapi", path); }

struct Reply {
  int status = 0;  // 0: the request failed at the transport level
  httplib::Error error = httplib::Error::Success;
  std::string body;
  httplib::Headers headers;
  rapidjson::Document json;
  bool parsed = false;  // the body is valid JSON
};

Reply ToReply(const httplib::Result& res) {
  Reply reply;
  if (!res) {
    reply.error = res.error();
    return reply;
  }
  reply.status = res->status;
  reply.body = res->body;
  reply.headers = res->headers;
  reply.json.Parse(reply.body.c_str(), reply.body.size());
  reply.parsed = !reply.json.HasParseError();
  return reply;
}

// GET with an `apikey` header (none if `key` is empty) on a fresh connection.
Reply Get(const OpinionSim& sim, const std::string& path, const std::string& key = kKey) {
  httplib::Client client("127.0.0.1", sim.port());
  client.set_read_timeout(60, 0);  // a failure bound: ground-truth bodies are large
  httplib::Headers headers;
  if (!key.empty()) headers.emplace("apikey", key);
  return ToReply(client.Get(path.c_str(), headers));
}

Reply Post(const OpinionSim& sim, const std::string& path, const std::string& body = "") {
  httplib::Client client("127.0.0.1", sim.port());
  client.set_read_timeout(60, 0);  // a failure bound: ground-truth bodies are large
  return ToReply(client.Post(path.c_str(), body, "application/json"));
}

// The API result of a successful call, or a null value (after a test failure).
const rapidjson::Value& Result(const Reply& reply) {
  static const rapidjson::Value kNull;
  EXPECT_TRUE(reply.parsed) << reply.body;
  if (!reply.parsed || !reply.json.IsObject() || !reply.json.HasMember("result")) return kNull;
  return reply.json["result"];
}

// The list of a list result; "list": null (how the API sends an empty page) reads as empty.
const rapidjson::Value& List(const Reply& reply) {
  static const rapidjson::Value kEmpty(rapidjson::kArrayType);
  const rapidjson::Value& result = Result(reply);
  EXPECT_TRUE(result.IsObject() && result.HasMember("list") &&
              (result["list"].IsArray() || result["list"].IsNull()))
      << reply.body;
  if (!result.IsObject() || !result.HasMember("list") || !result["list"].IsArray()) return kEmpty;
  return result["list"];
}

int64_t Total(const Reply& reply) {
  const rapidjson::Value& result = Result(reply);
  EXPECT_TRUE(result.IsObject() && result.HasMember("total") && result["total"].IsInt64());
  return result.IsObject() && result.HasMember("total") && result["total"].IsInt64()
             ? result["total"].GetInt64()
             : -1;
}

int64_t IntField(const rapidjson::Value& v, const char* key) {
  EXPECT_TRUE(v.IsObject() && v.HasMember(key) && v[key].IsInt64()) << key;
  return v.IsObject() && v.HasMember(key) && v[key].IsInt64() ? v[key].GetInt64() : -1;
}

std::string StrField(const rapidjson::Value& v, const char* key) {
  EXPECT_TRUE(v.IsObject() && v.HasMember(key) && v[key].IsString()) << key;
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
}

// "12.34" with 2 decimals -> 1234. Fails the test on anything else; with `truncate`, digits beyond
// `decimals` are dropped instead.
int64_t Scaled(const std::string& text, int decimals, bool truncate = false) {
  const std::vector<std::string> parts = absl::StrSplit(text, '.');
  int64_t whole = 0;
  EXPECT_TRUE(parts.size() <= 2 && absl::SimpleAtoi(parts[0], &whole)) << text;
  std::string fraction = parts.size() == 2 ? parts[1] : "";
  if (!truncate) {
    EXPECT_LE(fraction.size(), static_cast<size_t>(decimals)) << text;
  }
  fraction.resize(decimals, '0');
  int64_t frac = 0;
  if (!fraction.empty()) {
    EXPECT_TRUE(absl::SimpleAtoi(fraction, &frac)) << text;
  }
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  return text[0] == '-' ? whole * scale - frac : whole * scale + frac;
}

// A decimal below 2^256 without leading zeros, of 71..78 digits (the simulator's token ids).
bool IsUint256(const std::string& text) {
  static const std::regex kDigits("[1-9][0-9]{70,77}");
  static const std::string kTwoTo256 =
      "115792089237316195423570985008687907853269984665640564039457584007913129639936";
  if (!std::regex_match(text, kDigits)) return false;
  return text.size() < kTwoTo256.size() || text < kTwoTo256;
}

// A decimal string with up to 18 decimals in 1e-18 units ("1.5" -> 1500000000000000000).
__int128 AttoOf(const std::string& text) {
  const std::vector<std::string> parts = absl::StrSplit(text, '.');
  EXPECT_TRUE(parts.size() <= 2 && !parts[0].empty()) << text;
  std::string fraction = parts.size() == 2 ? parts[1] : "";
  EXPECT_LE(fraction.size(), 18u) << text;
  fraction.resize(18, '0');
  const bool negative = !text.empty() && text[0] == '-';
  __int128 value = 0;
  for (char c : parts[0] + fraction) {
    if (c == '-') continue;
    EXPECT_TRUE(absl::ascii_isdigit(c)) << text;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

std::string Int128Text(__int128 v) {
  if (v == 0) return "0";
  std::string out;
  const bool negative = v < 0;
  if (negative) v = -v;
  while (v > 0) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return negative ? "-" + out : out;
}

// round(a * b / d) for non-negative values.
__int128 RoundDiv(__int128 a, __int128 b, __int128 d) { return (a * b + d / 2) / d; }

// Checks one E11 trade's money fields: amounts as decimal strings with 2 or (precise) up to 18
// decimals, amount == price * shares (to the cent, or to 1e-18 for precise rows), usdAmount ==
// amount * quoteTokenUsdPrice * 1e18 rounded, quoteTokenUsdPrice exactly 1 for USDT. Returns
// whether the row is precise.
bool CheckTradeMoney(const rapidjson::Value& t) {
  static const std::regex kMoney(R"(-?[0-9]+\.[0-9]{2,18})");
  static const std::regex kPrice(R"((0\.[0-9]{2,3})|(1\.00))");
  static const std::regex kWei("0|[1-9][0-9]*");
  static const std::regex kUsdPrice(R"(1|0\.9[0-9]{1,5}|1\.0[0-9]{0,4}[1-9])");
  const std::string price_text = StrField(t, "price");
  EXPECT_TRUE(std::regex_match(price_text, kPrice)) << price_text;
  for (const char* key : {"shares", "amount", "fee"}) {
    EXPECT_TRUE(std::regex_match(StrField(t, key), kMoney)) << key << " " << StrField(t, key);
  }
  const std::string shares_text = StrField(t, "shares");
  const bool precise = shares_text.size() - shares_text.find('.') - 1 > 2;
  const __int128 price = Scaled(price_text, 3);
  const __int128 shares = AttoOf(shares_text);
  const __int128 amount = AttoOf(StrField(t, "amount"));
  const std::string side = StrField(t, "side");
  if (side == "Merge" || side == "Split") {
    EXPECT_EQ(Int128Text(amount), Int128Text(shares));
  } else if (precise) {
    EXPECT_EQ(Int128Text(amount), Int128Text(RoundDiv(price, shares, 1000))) << shares_text;
  } else {
    const __int128 cent = 10'000'000'000'000'000;  // 1e16
    EXPECT_EQ(Int128Text(amount), Int128Text(RoundDiv(price, shares / cent, 1000) * cent))
        << price_text << " * " << shares_text;
  }
  const std::string usd_price = StrField(t, "quoteTokenUsdPrice");
  EXPECT_TRUE(std::regex_match(usd_price, kUsdPrice)) << usd_price;
  if (StrField(t, "quoteToken") == "0x55d398326f99059fF775485246999027B3197955") {
    EXPECT_EQ(usd_price, "1");
  }
  const std::string usd = StrField(t, "usdAmount");
  EXPECT_TRUE(std::regex_match(usd, kWei)) << usd;
  EXPECT_EQ(usd, Int128Text(RoundDiv(amount, Scaled(usd_price, 6, false), 1000000)));
  EXPECT_EQ(IntField(t, "status"), 2);
  EXPECT_THAT(StrField(t, "statusEnum"), AnyOf(Eq("Filled"), Eq("Finished")));
  return precise;
}

std::vector<std::string> TopWallets(const OpinionSim& sim, int n) {
  std::vector<std::string> out;
  for (const Wallet* w : sim.TopWallets(n)) out.push_back(w->address);
  return out;
}

// Every visible trade of a wallet through /trade/user, newest first (needs a lax rate limit).
std::vector<std::string> AllTradeBodies(const OpinionSim& sim, const std::string& wallet,
                                        int64_t* total) {
  std::vector<std::string> out;
  for (int page = 1;; ++page) {
    Reply reply = Get(sim, Api(absl::StrCat("/trade/user/", wallet, "?limit=20&page=", page)));
    EXPECT_EQ(reply.status, 200);
    *total = Total(reply);
    const rapidjson::Value& list = List(reply);
    for (const rapidjson::Value& trade : list.GetArray()) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      trade.Accept(writer);
      out.emplace_back(buffer.GetString(), buffer.GetSize());
    }
    if (list.Size() < 20 || page > 1000) break;
  }
  return out;
}

OpinionSim::Options Unlimited() {
  OpinionSim::Options options;
  options.rate_limit = 0;
  return options;
}

// ---- Envelope and auth ----

TEST(OpinionSimApiTest, EnvelopeUsesErrnoByDefault) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Reply reply = Get(*sim, Api("/market"));
  ASSERT_EQ(reply.status, 200);
  ASSERT_TRUE(reply.parsed);
  EXPECT_EQ(IntField(reply.json, "errno"), 0);
  EXPECT_EQ(StrField(reply.json, "errmsg"), "");
  EXPECT_FALSE(reply.json.HasMember("code"));
  EXPECT_TRUE(Result(reply).IsObject());
  EXPECT_EQ(reply.headers.find("Content-Type")->second, "application/json");
}

TEST(OpinionSimApiTest, EnvelopeCanUseCodeAndMsg) {
  FakeClock clock;
  OpinionSim::Options options;
  options.envelope = EnvelopeStyle::kCode;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  Reply ok = Get(*sim, Api("/market"));
  ASSERT_TRUE(ok.parsed);
  EXPECT_EQ(IntField(ok.json, "code"), 0);
  EXPECT_EQ(StrField(ok.json, "msg"), "");
  EXPECT_FALSE(ok.json.HasMember("errno"));
  Reply bad = Get(*sim, Api("/market?page=0"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(IntField(bad.json, "code"), 0);
  EXPECT_TRUE(bad.json["result"].IsNull());
}

TEST(OpinionSimApiTest, ApiKeyIsRequired) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Reply missing = Get(*sim, Api("/market"), "");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, R"({"errno":11002,"errmsg":"Invalid API key","result":null})");
  EXPECT_EQ(Get(*sim, Api("/market"), "anything").status, 200);

  OpinionSim::Options options;
  options.api_keys = {"good-1", "good-2"};
  ASSERT_OK_AND_ASSIGN(auto strict, OpinionSim::Create(options, &clock));
  EXPECT_EQ(Get(*strict, Api("/market"), "bad").status, 401);
  EXPECT_EQ(Get(*strict, Api("/trade/user/0x0000000000000000000000000000000000000000"), "").status,
            401);
  EXPECT_EQ(Get(*strict, Api("/market"), "good-2").status, 200);
  // Admin endpoints need no key.
  EXPECT_EQ(Get(*strict, "/admin/health", "").status, 200);
}

TEST(OpinionSimApiTest, UnknownPathsAreJson404) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Reply reply = Get(*sim, Api("/trades"));
  EXPECT_EQ(reply.status, 404);
  ASSERT_TRUE(reply.parsed);
  EXPECT_NE(IntField(reply.json, "errno"), 0);
}

// ---- Markets ----

TEST(OpinionSimApiTest, MarketPagingDefaultsCapsAndTotals) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(Unlimited(), &clock));
  int64_t binary_top_level = 0;
  const int64_t now = absl::ToUnixSeconds(clock.Now());
  for (int index : sim->world().top_level()) {
    const Market& m = sim->world().markets()[index];
    binary_top_level += m.kind == MarketKind::kBinary && m.created_at <= now;  // listed by now
  }
  Reply first = Get(*sim, Api("/market"));
  EXPECT_EQ(Total(first), binary_top_level);
  EXPECT_EQ(List(first).Size(), 10u);  // default limit

  Reply capped = Get(*sim, Api("/market?limit=50"));
  EXPECT_EQ(capped.status, 200);
  EXPECT_EQ(List(capped).Size(), 20u);  // capped, not rejected

  // Pages start at 1 and do not overlap.
  Reply page1 = Get(*sim, Api("/market?page=1&limit=5"));
  Reply page2 = Get(*sim, Api("/market?page=2&limit=5"));
  EXPECT_EQ(IntField(List(page1)[0], "marketId"), IntField(List(first)[0], "marketId"));
  EXPECT_EQ(IntField(List(page2)[0], "marketId"), IntField(List(first)[5], "marketId"));

  // The last page is short; beyond the end the list is empty but total stays.
  const int64_t last_page = (binary_top_level + 19) / 20;
  Reply last = Get(*sim, Api(absl::StrCat("/market?limit=20&page=", last_page)));
  EXPECT_EQ(static_cast<int64_t>(List(last).Size()), binary_top_level - (last_page - 1) * 20);
  Reply beyond = Get(*sim, Api(absl::StrCat("/market?limit=20&page=", last_page + 1)));
  EXPECT_EQ(beyond.status, 200);
  EXPECT_TRUE(Result(beyond)["list"].IsNull());  // an empty page: null, as live
  EXPECT_EQ(Total(beyond), binary_top_level);

  for (const char* bad :
       {"page=0", "page=-1", "page=abc", "limit=0", "limit=-5", "limit=x",
        "page=99999999999999999999", "marketType=3", "sortBy=9", "status=open", "labelId=x"}) {
    Reply reply = Get(*sim, Api(absl::StrCat("/market?", bad)));
    EXPECT_EQ(reply.status, 400) << bad;
    EXPECT_NE(IntField(reply.json, "errno"), 0) << bad;
    EXPECT_TRUE(reply.json["result"].IsNull()) << bad;
  }
  // A huge but valid page number is simply beyond the end.
  Reply huge = Get(*sim, Api("/market?page=9223372036854775807&limit=20"));
  EXPECT_EQ(huge.status, 200);
  EXPECT_EQ(List(huge).Size(), 0u);
}

TEST(OpinionSimApiTest, MarketTypeDefaultsToBinaryOnly) {
  FakeClock clock;
  OpinionSim::Options options = Unlimited();
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  const int64_t binary = Total(Get(*sim, Api("/market")));
  const int64_t categorical = Total(Get(*sim, Api("/market?marketType=1")));
  const int64_t all = Total(Get(*sim, Api("/market?marketType=2")));
  EXPECT_GT(binary, 0);
  EXPECT_GT(categorical, 0);
  EXPECT_EQ(all, binary + categorical);  // total counts top-level rows, not children
  EXPECT_EQ(all, 300);

  int parents_seen = 0;
  for (int page = 1; page <= (all + 19) / 20; ++page) {
    Reply reply = Get(*sim, Api(absl::StrCat("/market?marketType=2&limit=20&page=", page)));
    for (const rapidjson::Value& m : List(reply).GetArray()) {
      if (IntField(m, "marketType") == 0) {
        EXPECT_FALSE(m.HasMember("childMarkets"));
        continue;
      }
      ++parents_seen;
      EXPECT_EQ(StrField(m, "yesTokenId"), "");
      EXPECT_EQ(StrField(m, "noTokenId"), "");
      EXPECT_EQ(StrField(m, "conditionId"), "");
      ASSERT_TRUE(m.HasMember("childMarkets") && m["childMarkets"].IsArray());
      EXPECT_GE(m["childMarkets"].Size(), 2u);
      EXPECT_LE(m["childMarkets"].Size(), 6u);
      for (const rapidjson::Value& child : m["childMarkets"].GetArray()) {
        EXPECT_FALSE(child.HasMember("marketType"));
        EXPECT_FALSE(child.HasMember("volume24h"));
        EXPECT_FALSE(child.HasMember("volume7d"));
        EXPECT_FALSE(child.HasMember("childMarkets"));
        EXPECT_TRUE(IsUint256(StrField(child, "yesTokenId"))) << StrField(child, "yesTokenId");
        EXPECT_TRUE(child.HasMember("volume"));
      }
    }
  }
  EXPECT_EQ(parents_seen, categorical);
  // Roughly 15% categorical.
  EXPECT_GT(categorical, 20);
  EXPECT_LT(categorical, 80);
}

TEST(OpinionSimApiTest, MarketFieldsHaveWireTypes) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  const int64_t now = absl::ToUnixSeconds(clock.Now());
  const std::regex hex64("[0-9a-f]{64}");
  const std::regex money(R"([0-9]+\.[0-9]{2})");
  Reply reply = Get(*sim, Api("/market?limit=20&marketType=0"));
  ASSERT_EQ(List(reply).Size(), 20u);
  for (const rapidjson::Value& m : List(reply).GetArray()) {
    EXPECT_TRUE(m["marketId"].IsInt64());
    EXPECT_TRUE(IsUint256(StrField(m, "yesTokenId")));
    EXPECT_TRUE(IsUint256(StrField(m, "noTokenId")));
    EXPECT_TRUE(std::regex_match(StrField(m, "conditionId"), hex64));
    EXPECT_TRUE(std::regex_match(StrField(m, "questionId"), hex64));
    for (const char* key : {"volume", "volume24h", "volume7d"}) {
      EXPECT_TRUE(std::regex_match(StrField(m, key), money)) << key;
    }
    const int64_t created = IntField(m, "createdAt");
    EXPECT_GT(created, now - 401 * 86400);  // seconds, not milliseconds
    EXPECT_LT(created, now);
    EXPECT_TRUE(m["cutoffAt"].IsInt64());
    EXPECT_TRUE(m["resolvedAt"].IsInt64());
    const int64_t status = IntField(m, "status");
    const std::string status_enum = StrField(m, "statusEnum");
    EXPECT_EQ(status_enum, MarketStatusName(static_cast<int>(status)));
    EXPECT_EQ(IntField(m, "resolvedAt") != 0, status == kStatusResolved);
    EXPECT_EQ(StrField(m, "chainId"), "56");
    EXPECT_THAT(StrField(m, "quoteToken"), AnyOf(Eq("0x55d398326f99059fF775485246999027B3197955"),
                                                 Eq("0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d"),
                                                 Eq("0x8d0D000Ee44948FC98c9B98A4FA4921476f08B0d")));
    EXPECT_TRUE(m["incentiveFactor"].IsObject());
    EXPECT_TRUE(m["labels"].IsArray() && m["labels"].Size() > 0 && m["labels"][0].IsString());
    EXPECT_TRUE(m["labelIds"].IsArray() && m["labelIds"].Size() > 0 && m["labelIds"][0].IsInt());
    EXPECT_FALSE(StrField(m, "slug").empty());
    EXPECT_EQ(StrField(m, "yesLabel"), "Yes");
  }
}

TEST(OpinionSimApiTest, MarketStatusFilterAndSort) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Reply activated = Get(*sim, Api("/market?status=activated&limit=20"));
  ASSERT_GT(List(activated).Size(), 0u);
  for (const rapidjson::Value& m : List(activated).GetArray()) EXPECT_EQ(IntField(m, "status"), 2);
  Reply resolved = Get(*sim, Api("/market?status=resolved&limit=20"));
  ASSERT_GT(List(resolved).Size(), 0u);
  for (const rapidjson::Value& m : List(resolved).GetArray()) EXPECT_EQ(IntField(m, "status"), 4);
  EXPECT_LT(Total(activated) + Total(resolved), Total(Get(*sim, Api("/market"))) + 1);

  Reply by_volume = Get(*sim, Api("/market?sortBy=3&limit=20"));
  int64_t previous = INT64_MAX;
  for (const rapidjson::Value& m : List(by_volume).GetArray()) {
    const int64_t volume = Scaled(StrField(m, "volume"), 2);
    EXPECT_LE(volume, previous);
    previous = volume;
  }
  Reply newest = Get(*sim, Api("/market?limit=20"));  // sortBy defaults to 1, newest first
  previous = INT64_MAX;
  for (const rapidjson::Value& m : List(newest).GetArray()) {
    EXPECT_LE(IntField(m, "createdAt"), previous);
    previous = IntField(m, "createdAt");
  }
}

TEST(OpinionSimApiTest, MarketDetailAndCategorical) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  const Market* binary = nullptr;
  const Market* parent = nullptr;
  for (const Market& m : sim->world().markets()) {
    if (binary == nullptr && m.kind == MarketKind::kBinary) binary = &m;
    if (parent == nullptr && m.kind == MarketKind::kCategorical) parent = &m;
  }
  ASSERT_NE(binary, nullptr);
  ASSERT_NE(parent, nullptr);
  const Market& child = sim->world().markets()[parent->children[0]];

  Reply detail = Get(*sim, Api(absl::StrCat("/market/", binary->id)));
  ASSERT_EQ(detail.status, 200);
  const rapidjson::Value& data = Result(detail)["data"];
  EXPECT_EQ(IntField(data, "marketId"), binary->id);
  EXPECT_EQ(StrField(data, "yesTokenId"), binary->yes_token_id);

  Reply child_detail = Get(*sim, Api(absl::StrCat("/market/", child.id)));
  EXPECT_EQ(IntField(Result(child_detail)["data"], "marketId"), child.id);
  EXPECT_FALSE(Result(child_detail)["data"].HasMember("marketType"));

  Reply categorical = Get(*sim, Api(absl::StrCat("/market/categorical/", parent->id)));
  ASSERT_EQ(categorical.status, 200);
  const rapidjson::Value& parent_data = Result(categorical)["data"];
  EXPECT_EQ(IntField(parent_data, "marketType"), 1);
  EXPECT_EQ(parent_data["childMarkets"].Size(), parent->children.size());

  // E3 only knows parents; unknown ids give HTTP 200 + errno != 0 + result null by default.
  for (const std::string& path :
       {absl::StrCat("/market/categorical/", binary->id), std::string("/market/999999999")}) {
    Reply missing = Get(*sim, Api(path));
    EXPECT_EQ(missing.status, 200) << path;
    EXPECT_NE(IntField(missing.json, "errno"), 0) << path;
    EXPECT_TRUE(missing.json["result"].IsNull()) << path;
  }
  for (const char* bad : {"/market/abc", "/market/-4", "/market/0", "/market/1e5",
                          "/market/99999999999999999999999", "/market/categorical/x"}) {
    Reply reply = Get(*sim, Api(bad));
    EXPECT_EQ(reply.status, 400) << bad;
    EXPECT_NE(IntField(reply.json, "errno"), 0) << bad;
  }

  OpinionSim::Options options;
  options.not_found_status = 404;
  ASSERT_OK_AND_ASSIGN(auto strict, OpinionSim::Create(options, &clock));
  Reply missing = Get(*strict, Api("/market/999999999"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(IntField(missing.json, "errno"), 0);
}

// ---- Trades and positions ----

TEST(OpinionSimApiTest, TradesHaveWireFormat) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  const int64_t now = absl::ToUnixSeconds(clock.Now());
  const std::string wallet = TopWallets(*sim, 1)[0];
  Reply reply = Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?limit=20")));
  ASSERT_EQ(reply.status, 200);
  EXPECT_GT(Total(reply), 1000);
  const std::regex tx("0x[0-9a-f]{64}");
  ASSERT_EQ(List(reply).Size(), 20u);
  for (const rapidjson::Value& t : List(reply).GetArray()) {
    EXPECT_TRUE(std::regex_match(StrField(t, "txHash"), tx));
    EXPECT_TRUE(t["marketId"].IsInt64());
    EXPECT_TRUE(t["rootMarketId"].IsInt64());
    EXPECT_TRUE(t["outcomeSide"].IsInt());
    EXPECT_TRUE(t["status"].IsInt());
    const std::string side = StrField(t, "side");
    EXPECT_THAT(side, AnyOf(Eq("Buy"), Eq("Sell"), Eq("Merge"), Eq("Split")));
    CheckTradeMoney(t);
    EXPECT_EQ(StrField(t, "chainId"), "56");
    const int64_t created = IntField(t, "createdAt");
    EXPECT_LE(created, now);
    EXPECT_GT(created, now - 31 * 86400);
    const Market* market = sim->world().FindMarket(IntField(t, "marketId"));
    ASSERT_NE(market, nullptr);
    EXPECT_EQ(IntField(t, "rootMarketId"), sim->world().Root(*market).id);
    if (market->kind == MarketKind::kBinary) {
      EXPECT_EQ(IntField(t, "rootMarketId"), market->id);
    }
  }
}

TEST(OpinionSimApiTest, TradesAreNewestFirstAcrossPages) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  std::set<std::string> hashes;
  std::string last_hash;
  int64_t previous = INT64_MAX;
  for (int page = 1; page <= 3; ++page) {
    Reply reply = Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?page=", page)));
    ASSERT_EQ(List(reply).Size(), 10u);  // default limit
    for (const rapidjson::Value& t : List(reply).GetArray()) {
      EXPECT_LE(IntField(t, "createdAt"), previous);
      // The fills of one transaction share its hash and second, and come together.
      const std::string hash = StrField(t, "txHash");
      if (hash == last_hash) {
        EXPECT_EQ(IntField(t, "createdAt"), previous);
      } else {
        EXPECT_TRUE(hashes.insert(hash).second) << hash;
      }
      last_hash = hash;
      previous = IntField(t, "createdAt");
    }
  }
  EXPECT_EQ(List(Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?limit=99")))).Size(), 20u);
}

TEST(OpinionSimApiTest, TradesFilterByMarket) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  Reply any = Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?limit=1")));
  const int64_t market_id = IntField(List(any)[0], "marketId");
  Reply filtered =
      Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?limit=20&marketId=", market_id)));
  EXPECT_GT(Total(filtered), 0);
  EXPECT_LT(Total(filtered), Total(any));
  for (const rapidjson::Value& t : List(filtered).GetArray()) {
    EXPECT_EQ(IntField(t, "marketId"), market_id);
  }
  EXPECT_EQ(Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?marketId=x"))).status, 400);
  EXPECT_EQ(Total(Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?marketId=1")))), 0);
}

TEST(OpinionSimApiTest, WalletsMatchCaseInsensitively) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  std::string wallet = TopWallets(*sim, 2)[1];
  const int64_t total = Total(Get(*sim, Api(absl::StrCat("/trade/user/", wallet))));
  EXPECT_GT(total, 0);
  std::string mixed = wallet;
  for (size_t i = 2; i < mixed.size(); i += 2) mixed[i] = absl::ascii_toupper(mixed[i]);
  mixed[1] = 'X';
  EXPECT_EQ(Total(Get(*sim, Api(absl::StrCat("/trade/user/", mixed)))), total);
  EXPECT_GT(Total(Get(*sim, Api(absl::StrCat("/positions/user/", mixed)))), 0);

  // A well-formed unknown wallet has nothing; a malformed one is a bad parameter.
  Reply unknown = Get(*sim, Api("/trade/user/0x00000000000000000000000000000000000000ff"));
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(Total(unknown), 0);
  EXPECT_EQ(List(unknown).Size(), 0u);
  for (const char* bad : {"/trade/user/nobody", "/trade/user/0x123", "/positions/user/0xzz"}) {
    EXPECT_EQ(Get(*sim, Api(bad)).status, 400) << bad;
  }
}

TEST(OpinionSimApiTest, NewTradesAppearAsTheClockAdvances) {
  FakeClock clock;
  OpinionSim::Options options;
  options.index_lag_max_s = 0;  // every trade at once: new ones all land on top
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  const std::string path = Api(absl::StrCat("/trade/user/", TopWallets(*sim, 1)[0], "?limit=20"));
  const int64_t start = absl::ToUnixSeconds(clock.Now());
  Reply before = Get(*sim, path);
  EXPECT_LE(IntField(List(before)[0], "createdAt"), start);

  clock.Advance(absl::Minutes(10));
  const int64_t later = absl::ToUnixSeconds(clock.Now());
  Reply after = Get(*sim, path);
  EXPECT_GT(Total(after), Total(before));
  EXPECT_GT(IntField(List(after)[0], "createdAt"), start);
  for (const rapidjson::Value& t : List(after).GetArray()) {
    EXPECT_LE(IntField(t, "createdAt"), later);  // nothing from the future
  }
  // The trades seen before are still there, further down.
  const int64_t new_trades = Total(after) - Total(before);
  Reply shifted = Get(*sim, absl::StrCat(path, "&page=1"));
  if (new_trades < 20) {
    EXPECT_EQ(StrField(List(shifted)[static_cast<rapidjson::SizeType>(new_trades)], "txHash"),
              StrField(List(before)[0], "txHash"));
  }
}

TEST(OpinionSimApiTest, TimeScaleSpeedsUpSimulatedTime) {
  FakeClock clock;
  OpinionSim::Options options;
  options.time_scale = 60;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  const absl::Time start = sim->SimNow();
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(sim->SimNow() - start, absl::Minutes(2));
  Reply health = Get(*sim, "/admin/health", "");
  EXPECT_EQ(IntField(health.json, "simNow"), absl::ToUnixSeconds(start) + 120);
}

TEST(OpinionSimApiTest, ManualClockMovesOnlyThroughAdmin) {
  FakeClock clock;
  OpinionSim::Options options;
  options.manual_clock = true;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  const int64_t start = absl::ToUnixSeconds(sim->SimNow());
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(absl::ToUnixSeconds(sim->SimNow()), start);
  Reply advanced = Post(*sim, "/admin/advance?seconds=90");
  EXPECT_EQ(advanced.status, 200);
  EXPECT_EQ(IntField(advanced.json, "simNow"), start + 90);
  EXPECT_EQ(Post(*sim, "/admin/advance?seconds=-1").status, 400);
  EXPECT_EQ(Post(*sim, "/admin/advance").status, 400);

  ASSERT_OK_AND_ASSIGN(auto normal, OpinionSim::Create({}, &clock));
  EXPECT_EQ(Post(*normal, "/admin/advance?seconds=5").status, 409);
}

TEST(OpinionSimApiTest, SameSeedGivesSameData) {
  FakeClock clock;
  OpinionSim::Options options;
  options.seed = 42;
  ASSERT_OK_AND_ASSIGN(auto a, OpinionSim::Create(options, &clock));
  ASSERT_OK_AND_ASSIGN(auto b, OpinionSim::Create(options, &clock));
  options.seed = 43;
  ASSERT_OK_AND_ASSIGN(auto c, OpinionSim::Create(options, &clock));
  const std::string wallet = TopWallets(*a, 3)[2];
  ASSERT_EQ(wallet, TopWallets(*b, 3)[2]);
  EXPECT_NE(wallet, TopWallets(*c, 3)[2]);
  for (const std::string& path : {Api("/market?marketType=2&limit=20"),
                                  Api(absl::StrCat("/trade/user/", wallet, "?limit=20")),
                                  Api(absl::StrCat("/positions/user/", wallet, "?limit=20"))}) {
    EXPECT_EQ(Get(*a, path).body, Get(*b, path).body) << path;
  }
  EXPECT_NE(Get(*a, Api("/market")).body, Get(*c, Api("/market")).body);
  // Still the same after time moves on (b is asked again only later).
  clock.Advance(absl::Minutes(5));
  const std::string path = Api(absl::StrCat("/trade/user/", wallet, "?limit=20"));
  EXPECT_EQ(Get(*a, path).body, Get(*b, path).body);
}

TEST(OpinionSimApiTest, WalletActivityIsSkewed) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Reply wallets = Get(*sim, "/admin/wallets?top=300", "");
  ASSERT_TRUE(wallets.parsed);
  ASSERT_EQ(wallets.json["wallets"].Size(), 300u);
  const std::string top = StrField(wallets.json["wallets"][0], "address");
  const std::string median = StrField(wallets.json["wallets"][150], "address");
  const int64_t top_total = Total(Get(*sim, Api(absl::StrCat("/trade/user/", top))));
  const int64_t median_total = Total(Get(*sim, Api(absl::StrCat("/trade/user/", median))));
  EXPECT_GT(median_total, 0);  // every wallet has some history
  EXPECT_GT(top_total, 20 * median_total);
}

TEST(OpinionSimApiTest, PositionsAreNetSharesOfVisibleTrades) {
  FakeClock clock;
  OpinionSim::Options options = Unlimited();
  options.history_days = 5;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  const std::string wallet = TopWallets(*sim, 10)[9];
  // The truth: net shares per (marketId, outcomeSide) from every trade.
  Reply truth = Get(*sim, absl::StrCat("/admin/trades?limit=1000000&wallet=", wallet), "");
  ASSERT_TRUE(truth.parsed);
  std::map<std::pair<int64_t, int64_t>, int64_t> net;
  for (const rapidjson::Value& t : truth.json["trades"].GetArray()) {
    const int64_t market = IntField(t, "marketId");
    const int64_t shares = Scaled(StrField(t, "shares"), 2, /*truncate=*/true);  // held in cents
    const std::string side = StrField(t, "side");
    if (side == "Buy") net[{market, IntField(t, "outcomeSide")}] += shares;
    if (side == "Sell") net[{market, IntField(t, "outcomeSide")}] -= shares;
    for (int64_t outcome : {1, 2}) {
      if (side == "Split") net[{market, outcome}] += shares;
      if (side == "Merge") net[{market, outcome}] -= shares;
    }
  }
  std::map<std::pair<int64_t, int64_t>, int64_t> expected;
  for (const auto& [key, shares] : net) {
    EXPECT_GE(shares, 0);  // wallets never sell what they do not hold
    if (shares > 0) expected[key] = shares;
  }

  std::map<std::pair<int64_t, int64_t>, int64_t> served;
  int64_t previous = INT64_MAX;
  int64_t total = 0;
  for (int page = 1; page < 100; ++page) {
    Reply reply = Get(*sim, Api(absl::StrCat("/positions/user/", wallet, "?limit=20&page=", page)));
    total = Total(reply);
    for (const rapidjson::Value& p : List(reply).GetArray()) {
      const int64_t shares = Scaled(StrField(p, "sharesOwned"), 2);
      EXPECT_LE(shares, previous);  // largest first
      previous = shares;
      served[{IntField(p, "marketId"), IntField(p, "outcomeSide")}] = shares;
      EXPECT_TRUE(IsUint256(StrField(p, "tokenId")));
      EXPECT_TRUE(p["marketCutoffAt"].IsInt64());
      Scaled(StrField(p, "avgEntryPrice"), 3);
      Scaled(StrField(p, "currentValueInQuoteToken"), 2);
    }
    if (List(reply).Size() < 20) break;
  }
  EXPECT_EQ(total, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(served, expected);
}

// ---- Admin ----

TEST(OpinionSimAdminTest, TradesMatchWhatTheApiServes) {
  FakeClock clock;
  OpinionSim::Options options = Unlimited();
  options.history_days = 3;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  clock.Advance(absl::Minutes(30));
  const std::string wallet = TopWallets(*sim, 30)[29];
  int64_t total = 0;
  const std::vector<std::string> served = AllTradeBodies(*sim, wallet, &total);
  ASSERT_GT(total, 20);
  ASSERT_EQ(static_cast<int64_t>(served.size()), total);

  Reply truth = Get(*sim, absl::StrCat("/admin/trades?limit=1000000&wallet=", wallet), "");
  ASSERT_TRUE(truth.parsed);
  EXPECT_EQ(IntField(truth.json, "total"), total);
  const rapidjson::Value& trades = truth.json["trades"];
  ASSERT_EQ(static_cast<int64_t>(trades.Size()), total);
  // The admin list is ordered by visibility, the API's by createdAt (late trades differ): strip
  // the admin's extra fields and compare the records as multisets, byte for byte.
  std::multiset<std::string> truth_bodies;
  int64_t previous_visible = 0;
  for (rapidjson::SizeType i = 0; i < trades.Size(); ++i) {
    rapidjson::Value copy;
    rapidjson::Document scratch;
    copy.CopyFrom(trades[i], scratch.GetAllocator());
    EXPECT_EQ(StrField(copy, "wallet"), wallet);
    EXPECT_GE(IntField(copy, "appearedAt"), IntField(copy, "createdAt"));
    EXPECT_EQ(IntField(copy, "visibleAt"), IntField(copy, "appearedAt"));
    EXPECT_GE(IntField(copy, "visibleAt"), previous_visible);
    previous_visible = IntField(copy, "visibleAt");
    for (const char* extra :
         {"wallet", "appearedAt", "visibleAt", "visible", "fillIndex", "tokenId", "amountUsd"}) {
      EXPECT_TRUE(copy.HasMember(extra)) << extra;
      copy.EraseMember(extra);
    }
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    copy.Accept(writer);
    truth_bodies.emplace(buffer.GetString(), buffer.GetSize());
  }
  EXPECT_EQ(truth_bodies, std::multiset<std::string>(served.begin(), served.end()));
}

TEST(OpinionSimAdminTest, TradesSinceAndAcrossWallets) {
  FakeClock clock;
  OpinionSim::Options options;
  options.history_days = 1;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  const int64_t start = absl::ToUnixSeconds(clock.Now());
  clock.Advance(absl::Minutes(5));
  Reply recent = Get(*sim, absl::StrCat("/admin/trades?since=", start + 1), "");
  ASSERT_TRUE(recent.parsed);
  const rapidjson::Value& trades = recent.json["trades"];
  // 15 trade events a minute by default: five minutes bring dozens of trades.
  EXPECT_GT(trades.Size(), 30u);
  std::set<std::string> wallets;
  int64_t previous = 0;
  for (const rapidjson::Value& t : trades.GetArray()) {
    EXPECT_GT(IntField(t, "appearedAt"), start);
    EXPECT_GE(IntField(t, "appearedAt"), previous);  // oldest first
    previous = IntField(t, "appearedAt");
    wallets.insert(StrField(t, "wallet"));
  }
  EXPECT_GT(wallets.size(), 3u);
  Reply limited = Get(*sim, absl::StrCat("/admin/trades?limit=5&since=", start + 1), "");
  EXPECT_EQ(limited.json["trades"].Size(), 5u);
  EXPECT_EQ(IntField(limited.json, "total"), static_cast<int64_t>(trades.Size()));
  EXPECT_EQ(Get(*sim, "/admin/trades?since=abc", "").status, 400);
  EXPECT_EQ(Get(*sim, "/admin/trades?wallet=0x1", "").status, 400);
}

TEST(OpinionSimAdminTest, WalletsAreOrderedByActivity) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Reply reply = Get(*sim, "/admin/wallets?top=5", "");
  ASSERT_TRUE(reply.parsed);
  const rapidjson::Value& wallets = reply.json["wallets"];
  ASSERT_EQ(wallets.Size(), 5u);
  const std::regex address("0x[0-9a-f]{40}");
  double previous = 1e18;
  for (rapidjson::SizeType i = 0; i < wallets.Size(); ++i) {
    EXPECT_TRUE(std::regex_match(StrField(wallets[i], "address"), address));
    EXPECT_EQ(IntField(wallets[i], "rank"), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(StrField(wallets[i], "label"), absl::StrCat("whale-00", i + 1));
    const double rate = wallets[i]["expectedTradesPerDay"].GetDouble();
    EXPECT_LT(rate, previous);
    previous = rate;
  }
  EXPECT_EQ(Get(*sim, "/admin/wallets", "").json["wallets"].Size(), 20u);
  EXPECT_EQ(Get(*sim, "/admin/wallets?top=0", "").status, 400);
}

TEST(OpinionSimAdminTest, StatsCountRequests) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Get(*sim, Api("/market"));
  Get(*sim, Api("/market/1"));
  Get(*sim, Api("/market"), "");
  Reply stats = Get(*sim, "/admin/stats", "");
  ASSERT_TRUE(stats.parsed);
  EXPECT_EQ(IntField(stats.json, "totalRequests"), 3);
  EXPECT_EQ(IntField(stats.json["byEndpoint"], "market_list"), 2);
  EXPECT_EQ(IntField(stats.json["byEndpoint"], "market_detail"), 1);
  EXPECT_EQ(IntField(stats.json, "unauthorized"), 1);
  EXPECT_EQ(IntField(stats.json["byStatus"], "401"), 1);
  EXPECT_EQ(IntField(stats.json, "worstSecond"), 2);  // the 401 does not count
  EXPECT_EQ(IntField(stats.json["worstSecondPerKey"], kKey), 2);
  EXPECT_TRUE(stats.json["lastSecond"].IsInt64());
  EXPECT_EQ(Post(*sim, "/admin/stats/reset").status, 200);
  EXPECT_EQ(IntField(Get(*sim, "/admin/stats", "").json, "totalRequests"), 0);
}

// ---- Rate limiting ----

TEST(OpinionSimRateLimitTest, RefusesRequestsAboveTheLimitInRealTime) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  httplib::Client client("127.0.0.1", sim->port());
  client.set_keep_alive(true);
  const httplib::Headers headers = {{"apikey", kKey}};
  int ok = 0;
  int limited = 0;
  // 40 requests, fast; keep going (bounded) on a machine so slow that they spread over seconds.
  for (int i = 0; i < 40 || (limited == 0 && i < 400); ++i) {
    httplib::Result res = client.Get(Api("/market?limit=1").c_str(), headers);
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    if (res->status == 429) {
      ++limited;
      EXPECT_FALSE(res->has_header("Retry-After"));
      Reply reply = ToReply(res);
      EXPECT_NE(IntField(reply.json, "errno"), 0);
    } else {
      EXPECT_EQ(res->status, 200);
      ++ok;
    }
  }
  EXPECT_GT(limited, 0);
  EXPECT_GE(ok, 15);
  // Another key has its own budget.
  EXPECT_EQ(Get(*sim, Api("/market?limit=1"), "second-key").status, 200);

  Reply stats = Get(*sim, "/admin/stats", "");
  EXPECT_THAT(IntField(stats.json["worstSecondPerKey"], kKey), Le(15));
  EXPECT_THAT(IntField(stats.json["limiter"]["perKey"][kKey], "worstSecondOffered"), Gt(15));
  EXPECT_EQ(IntField(stats.json["rateLimited"], "limiter"), limited);
  EXPECT_EQ(IntField(stats.json["rateLimited"], "injected"), 0);
}

TEST(OpinionSimRateLimitTest, SlidingWindowIsExact) {
  FakeClock clock;
  std::atomic<int64_t> now_ns{0};
  OpinionSim::Options options;
  options.monotonic_clock = [&now_ns] { return absl::Nanoseconds(now_ns.load()); };
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  for (int i = 0; i < 15; ++i) {
    now_ns += 10'000'000;  // 10 ms apart: t = 10 ms .. 150 ms
    EXPECT_EQ(Get(*sim, Api("/market?limit=1")).status, 200) << i;
  }
  EXPECT_EQ(Get(*sim, Api("/market?limit=1")).status, 429);
  now_ns = 1'010'000'000;  // exactly one second after the first request: still in its window
  EXPECT_EQ(Get(*sim, Api("/market?limit=1")).status, 429);
  now_ns = 1'010'000'001;
  EXPECT_EQ(Get(*sim, Api("/market?limit=1")).status, 200);
  EXPECT_EQ(Get(*sim, Api("/market?limit=1")).status, 429);
  Reply stats = Get(*sim, "/admin/stats", "");
  EXPECT_EQ(IntField(stats.json, "worstSecond"), 15);
  EXPECT_EQ(IntField(stats.json["rateLimited"], "limiter"), 3);
}

// ---- Faults ----

OpinionSim::Options WithFaults(const std::string& counted, const std::string& random = "") {
  OpinionSim::Options options;
  options.rate_limit = 0;
  auto specs = ParseFaultSpecs(counted, false);
  EXPECT_OK(specs.status());
  if (specs.ok()) options.faults = *specs;
  auto rates = ParseFaultSpecs(random, true);
  EXPECT_OK(rates.status());
  if (rates.ok()) options.faults.insert(options.faults.end(), rates->begin(), rates->end());
  return options;
}

TEST(OpinionSimFaultsTest, RateLimitBurstWithoutRetryAfter) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("rate429:2"), &clock));
  for (int i = 0; i < 2; ++i) {
    Reply reply = Get(*sim, Api("/market"));
    EXPECT_EQ(reply.status, 429);
    EXPECT_EQ(reply.headers.count("Retry-After"), 0u);
    EXPECT_NE(IntField(reply.json, "errno"), 0);
  }
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
  Reply stats = Get(*sim, "/admin/stats", "");
  EXPECT_EQ(IntField(stats.json["rateLimited"], "injected"), 2);
  EXPECT_EQ(IntField(stats.json["rateLimited"], "limiter"), 0);
}

TEST(OpinionSimFaultsTest, RateLimitBurstWithRetryAfter) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("rate429:1:retry_after=3"), &clock));
  Reply reply = Get(*sim, Api("/market"));
  EXPECT_EQ(reply.status, 429);
  ASSERT_EQ(reply.headers.count("Retry-After"), 1u);
  EXPECT_EQ(reply.headers.find("Retry-After")->second, "3");
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
}

TEST(OpinionSimFaultsTest, ServerErrors) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(
      auto sim, OpinionSim::Create(
                    WithFaults("http5xx:1,http5xx:1:status=502,http5xx:1:status=503"), &clock));
  Reply first = Get(*sim, Api("/market"));
  EXPECT_EQ(first.status, 500);
  EXPECT_TRUE(first.parsed);
  EXPECT_NE(IntField(first.json, "errno"), 0);
  Reply second = Get(*sim, Api("/market"));
  EXPECT_EQ(second.status, 502);
  EXPECT_FALSE(second.parsed);  // an HTML page from "the proxy"
  EXPECT_THAT(second.body, HasSubstr("502"));
  EXPECT_EQ(Get(*sim, Api("/market")).status, 503);
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
}

TEST(OpinionSimFaultsTest, SlowResponseExceedsClientTimeout) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("slow:1:delay_ms=3000"), &clock));
  httplib::Client impatient("127.0.0.1", sim->port());
  impatient.set_read_timeout(0, 200'000);  // 200 ms
  const absl::Time before = absl::Now();
  httplib::Result slow = impatient.Get(Api("/market").c_str(), {{"apikey", kKey}});
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error(), httplib::Error::Read);
  EXPECT_LT(absl::Now() - before, absl::Seconds(2));
  // The slow reply does not hold up others.
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
}  // Stop() cuts the pending 3-second wait short.

TEST(OpinionSimFaultsTest, DroppedConnectionIsAClientError) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("drop:1"), &clock));
  Reply dropped = Get(*sim, Api("/market?limit=20"));
  EXPECT_EQ(dropped.status, 0);
  EXPECT_NE(dropped.error, httplib::Error::Success);
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
  EXPECT_EQ(IntField(Get(*sim, "/admin/stats", "").json, "droppedConnections"), 1);
}

TEST(OpinionSimFaultsTest, MalformedJsonFailsToParse) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("malformed:1"), &clock));
  Reply broken = Get(*sim, Api("/market"));
  EXPECT_EQ(broken.status, 200);
  EXPECT_FALSE(broken.parsed);
  EXPECT_FALSE(broken.body.empty());
  EXPECT_TRUE(Get(*sim, Api("/market")).parsed);
}

TEST(OpinionSimFaultsTest, ListNullOnlyHitsListResults) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("list_null:2"), &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  Reply detail = Get(*sim, Api(absl::StrCat("/market/", sim->world().markets()[0].id)));
  EXPECT_TRUE(Result(detail)["data"].IsObject());  // not a list: untouched, not used up
  Reply trades = Get(*sim, Api(absl::StrCat("/trade/user/", wallet)));
  EXPECT_TRUE(Result(trades)["list"].IsNull());
  EXPECT_GT(Total(trades), 0);
  EXPECT_TRUE(Result(Get(*sim, Api("/market")))["list"].IsNull());
  EXPECT_TRUE(Result(Get(*sim, Api("/market")))["list"].IsArray());
}

TEST(OpinionSimFaultsTest, WrongFieldTypes) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("wrong_types:3"), &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  const Reply trades = Get(*sim, Api("/trade/user/" + wallet));
  for (const rapidjson::Value& t : List(trades).GetArray()) {
    EXPECT_TRUE(t["price"].IsNumber());
    EXPECT_TRUE(t["amount"].IsNumber());
    EXPECT_TRUE(t["marketId"].IsString());
    EXPECT_TRUE(t["createdAt"].IsString());
    EXPECT_TRUE(t["shares"].IsString());  // the rest is as usual
  }
  const Reply markets = Get(*sim, Api("/market"));
  for (const rapidjson::Value& m : List(markets).GetArray()) {
    EXPECT_TRUE(m["marketId"].IsString());
    EXPECT_TRUE(m["volume"].IsNumber());
  }
  const Reply positions = Get(*sim, Api("/positions/user/" + wallet));
  for (const rapidjson::Value& p : List(positions).GetArray()) {
    EXPECT_TRUE(p["sharesOwned"].IsNumber());
  }
  // Used up: back to normal.
  EXPECT_TRUE(List(Get(*sim, Api("/market")))[0]["marketId"].IsInt64());
}

TEST(OpinionSimFaultsTest, MissingFields) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(WithFaults("missing_fields:2"), &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  const Reply trade_reply = Get(*sim, Api("/trade/user/" + wallet + "?limit=4"));
  const rapidjson::Value& trades = List(trade_reply);
  ASSERT_EQ(trades.Size(), 4u);
  for (rapidjson::SizeType i = 0; i < trades.Size(); ++i) {
    for (const char* key : {"txHash", "createdAt", "price"}) {
      EXPECT_EQ(trades[i].HasMember(key), i % 2 == 1) << i << " " << key;
    }
    EXPECT_TRUE(trades[i].HasMember("amount"));
  }
  const Reply market_reply = Get(*sim, Api("/market?limit=2"));
  const rapidjson::Value& markets = List(market_reply);
  EXPECT_FALSE(markets[0].HasMember("yesTokenId"));
  EXPECT_TRUE(markets[1].HasMember("yesTokenId"));
}

TEST(OpinionSimFaultsTest, EndpointScope) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim,
                       OpinionSim::Create(WithFaults("http5xx:1:endpoint=trade"), &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
  EXPECT_EQ(Get(*sim, Api("/positions/user/" + wallet)).status, 200);
  EXPECT_EQ(Get(*sim, Api("/trade/user/" + wallet)).status, 500);
  EXPECT_EQ(Get(*sim, Api("/trade/user/" + wallet)).status, 200);
}

TEST(OpinionSimFaultsTest, ProbabilityIsSeeded) {
  FakeClock clock;
  auto statuses = [&clock](uint64_t seed) {
    OpinionSim::Options options = WithFaults("", "http5xx:0.5");
    options.seed = seed;
    auto sim = OpinionSim::Create(options, &clock);
    EXPECT_OK(sim.status());
    std::vector<int> out;
    for (int i = 0; i < 40 && sim.ok(); ++i)
      out.push_back(Get(**sim, Api("/market?limit=1")).status);
    return out;
  };
  const std::vector<int> first = statuses(7);
  const int errors = static_cast<int>(std::count(first.begin(), first.end(), 500));
  EXPECT_GT(errors, 5);
  EXPECT_LT(errors, 35);
  EXPECT_EQ(first, statuses(7));
  EXPECT_NE(first, statuses(8));
}

TEST(OpinionSimFaultsTest, SwitchedAtRuntimeThroughAdmin) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(Unlimited(), &clock));
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
  Reply set = Post(*sim, "/admin/faults",
                   R"({"faults":[{"kind":"http5xx","count":1,"status":503},)"
                   R"({"kind":"rate429","rate":1.0,"endpoint":"positions","retryAfter":1}]})");
  ASSERT_EQ(set.status, 200) << set.body;
  ASSERT_EQ(set.json["faults"].Size(), 2u);
  EXPECT_EQ(Get(*sim, Api("/market")).status, 503);
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
  const std::string wallet = TopWallets(*sim, 1)[0];
  EXPECT_EQ(Get(*sim, Api("/positions/user/" + wallet)).status, 429);
  EXPECT_EQ(Get(*sim, Api("/positions/user/" + wallet)).status, 429);

  Reply listed = Get(*sim, "/admin/faults", "");
  ASSERT_EQ(listed.json["faults"].Size(), 1u);  // the used-up http5xx is gone
  EXPECT_EQ(StrField(listed.json["faults"][0], "kind"), "rate429");
  EXPECT_EQ(IntField(listed.json["faults"][0], "fired"), 2);
  EXPECT_EQ(IntField(listed.json["firedByKind"], "http5xx"), 1);

  Reply spec = Post(*sim, "/admin/faults", R"({"clear":true,"spec":"malformed:1"})");
  ASSERT_EQ(spec.status, 200) << spec.body;
  EXPECT_FALSE(Get(*sim, Api("/positions/user/" + wallet)).parsed);
  EXPECT_EQ(Get(*sim, Api("/positions/user/" + wallet)).status, 200);
  EXPECT_EQ(Post(*sim, "/admin/faults", R"({"clear":true})").status, 200);
  EXPECT_EQ(Get(*sim, "/admin/faults", "").json["faults"].Size(), 0u);

  for (const char* bad :
       {"not json", "[]", R"({"faults":[{"kind":"nope","count":1}]})",
        R"({"faults":[{"kind":"slow"}]})", R"({"faults":[{"kind":"slow","count":-1}]})",
        R"({"faults":[{"kind":"http5xx","count":1,"status":404}]})", R"({"spec":"rate429:x"})",
        R"({"bogus":1})"}) {
    Reply reply = Post(*sim, "/admin/faults", bad);
    EXPECT_EQ(reply.status, 400) << bad;
    EXPECT_TRUE(reply.json.HasMember("error")) << bad;
  }
  EXPECT_EQ(Get(*sim, "/admin/faults", "").json["faults"].Size(), 0u);
}

TEST(OpinionSimApiTest, OddInputNeverCrashes) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(Unlimited(), &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  for (const std::string& path :
       {Api("/market?page=&limit="), Api("/market?limit=1&limit=2"), Api("/market?page=1.5"),
        Api("/market?page=%00"), Api("/trade/user/" + wallet + "?page=-9223372036854775808"),
        Api("/trade/user/" + wallet + "?limit=99999999999999999999999"),
        Api("/positions/user/" + wallet + "?page=0"), Api("/market/%20"),
        Api("/trade/user/" + wallet + "?marketId=-1")}) {
    Reply reply = Get(*sim, path);
    EXPECT_THAT(reply.status, AnyOf(Eq(200), Eq(400))) << path;
    EXPECT_TRUE(reply.parsed) << path;
  }
  EXPECT_EQ(Get(*sim, "/admin/health", "").status, 200);
}

// ---- Markets over time ----

// Every listed market (all types, all pages) by id, as the API shows it now.
std::map<int64_t, std::string> ListedMarkets(const OpinionSim& sim) {
  std::map<int64_t, std::string> out;
  for (int page = 1; page < 1000; ++page) {
    Reply reply = Get(sim, Api(absl::StrCat("/market?marketType=2&limit=20&page=", page)));
    EXPECT_EQ(reply.status, 200);
    for (const rapidjson::Value& m : List(reply).GetArray()) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      m.Accept(writer);
      out[IntField(m, "marketId")] = std::string(buffer.GetString(), buffer.GetSize());
    }
    if (List(reply).Size() < 20) break;
  }
  return out;
}

OpinionSim::Options ManualClock(uint64_t seed = 1) {
  OpinionSim::Options options;
  options.seed = seed;
  options.manual_clock = true;
  options.rate_limit = 0;
  options.markets = 80;
  options.wallets = 40;
  options.history_days = 1;
  options.trades_per_minute = 5;  // thousands of trades a day: enough, and quick under sanitizers
  return options;
}

void Advance(const OpinionSim& sim, int64_t seconds) {
  ASSERT_EQ(Post(sim, absl::StrCat("/admin/advance?seconds=", seconds)).status, 200);
}

TEST(OpinionSimMarketsOverTimeTest, StatusesMoveToResolvingThenResolved) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(ManualClock(), &clock));
  const int64_t start = absl::ToUnixSeconds(sim->SimNow());
  // A binary market listed and Activated now that cuts off and resolves within two days.
  const Market* market = nullptr;
  for (const Market& m : sim->world().markets()) {
    if (m.kind == MarketKind::kBinary && m.created_at <= start && m.status == kStatusActivated &&
        m.cutoff_at > start && m.resolved_at > m.cutoff_at && m.resolved_at < start + 2 * 86400 &&
        m.resolved_at - m.cutoff_at > 60) {
      market = &m;
      break;
    }
  }
  ASSERT_NE(market, nullptr);
  const std::string path = Api(absl::StrCat("/market/", market->id));
  auto data = [&]() {
    Reply reply = Get(*sim, path);
    EXPECT_EQ(reply.status, 200);
    rapidjson::Document doc;
    doc.CopyFrom(Result(reply)["data"], doc.GetAllocator());
    return doc;
  };
  rapidjson::Document before = data();
  EXPECT_EQ(IntField(before, "status"), kStatusActivated);
  EXPECT_EQ(StrField(before, "resultTokenId"), "");
  EXPECT_EQ(IntField(before, "resolvedAt"), 0);
  const int64_t volume_before = Scaled(StrField(before, "volume"), 2);

  Advance(*sim, market->cutoff_at - start);  // exactly at the cutoff
  rapidjson::Document resolving = data();
  EXPECT_EQ(IntField(resolving, "status"), kStatusResolving);
  EXPECT_EQ(StrField(resolving, "statusEnum"), "Resolving");
  EXPECT_EQ(StrField(resolving, "resultTokenId"), "");
  EXPECT_EQ(IntField(resolving, "resolvedAt"), 0);
  const int64_t volume_at_cutoff = Scaled(StrField(resolving, "volume"), 2);
  EXPECT_GE(volume_at_cutoff, volume_before);
  // The order book empties once trading stops.
  Reply book = Get(*sim, Api("/token/orderbook?token_id=" + market->yes_token_id));
  EXPECT_EQ(Result(book)["bids"].Size() + Result(book)["asks"].Size(), 0u);

  Advance(*sim, market->resolved_at - market->cutoff_at - 1);
  EXPECT_EQ(IntField(data(), "status"), kStatusResolving);
  Advance(*sim, 1);
  rapidjson::Document resolved = data();
  EXPECT_EQ(IntField(resolved, "status"), kStatusResolved);
  EXPECT_EQ(StrField(resolved, "statusEnum"), "Resolved");
  EXPECT_EQ(IntField(resolved, "resolvedAt"), market->resolved_at);
  EXPECT_THAT(StrField(resolved, "resultTokenId"),
              AnyOf(Eq(market->yes_token_id), Eq(market->no_token_id)));
  EXPECT_EQ(Scaled(StrField(resolved, "volume"), 2), volume_at_cutoff);  // no trading any more
  EXPECT_EQ(StrField(resolved, "volume24h"),
            StrField(resolving, "volume24h").empty() ? "" : StrField(resolved, "volume24h"));
  // The status filter follows.
  bool found = false;
  for (int page = 1; page < 100 && !found; ++page) {
    Reply reply = Get(*sim, Api(absl::StrCat("/market?status=resolved&limit=20&page=", page)));
    for (const rapidjson::Value& m : List(reply).GetArray())
      found |= IntField(m, "marketId") == market->id;
    if (List(reply).Size() < 20) break;
  }
  EXPECT_TRUE(found);
  // No trade on it after its cutoff.
  Reply truth = Get(*sim, absl::StrCat("/admin/trades?since=", start), "");
  for (const rapidjson::Value& t : truth.json["trades"].GetArray()) {
    if (IntField(t, "marketId") == market->id) {
      EXPECT_LT(IntField(t, "createdAt"), market->cutoff_at);
    }
  }
}

TEST(OpinionSimMarketsOverTimeTest, NewMarketsAreListedAndTradedAndVolumesGrow) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(ManualClock(), &clock));
  const int64_t start = absl::ToUnixSeconds(sim->SimNow());
  const std::map<int64_t, std::string> at_start = ListedMarkets(*sim);
  EXPECT_EQ(at_start.size(), 80u);
  const int64_t max_id = at_start.rbegin()->first;
  Reply by_volume = Get(*sim, Api("/market?sortBy=5&limit=1&status=activated"));
  const int64_t busiest = IntField(List(by_volume)[0], "marketId");
  const int64_t volume_before = Scaled(StrField(List(by_volume)[0], "volume"), 2);

  Advance(*sim, 12 * 3600);
  const std::map<int64_t, std::string> later = ListedMarkets(*sim);
  // 48 a day by default: about 24 in 12 hours.
  EXPECT_GT(later.size(), at_start.size() + 10);
  EXPECT_LT(later.size(), at_start.size() + 45);
  std::set<int64_t> fresh;
  for (const auto& [id, body] : later) {
    if (at_start.count(id) > 0) continue;
    fresh.insert(id);
    EXPECT_GT(id, max_id);  // ids grow with time
    const Market* m = sim->world().FindMarket(id);
    ASSERT_NE(m, nullptr);
    EXPECT_GT(m->created_at, start);
    EXPECT_LE(m->created_at, start + 12 * 3600);
    EXPECT_THAT(body, HasSubstr(absl::StrCat("\"createdAt\":", m->created_at)));
  }
  // Not listed before their time, also not by id.
  for (const Market& m : sim->world().markets()) {
    if (m.kind != MarketKind::kChild && m.created_at > start + 12 * 3600) {
      EXPECT_EQ(later.count(m.id), 0u);
      EXPECT_NE(IntField(Get(*sim, Api(absl::StrCat("/market/", m.id))).json, "errno"), 0);
      break;
    }
  }
  Reply busy = Get(*sim, Api(absl::StrCat("/market/", busiest)));
  EXPECT_GT(Scaled(StrField(Result(busy)["data"], "volume"), 2), volume_before);

  // Wallets trade the new markets too (children included).
  Reply truth = Get(*sim, absl::StrCat("/admin/trades?since=", start), "");
  int on_fresh = 0;
  for (const rapidjson::Value& t : truth.json["trades"].GetArray()) {
    const Market* m = sim->world().FindMarket(IntField(t, "marketId"));
    ASSERT_NE(m, nullptr);
    EXPECT_GE(IntField(t, "createdAt"), m->created_at);
    on_fresh += fresh.count(sim->world().Root(*m).id) > 0;
  }
  EXPECT_GT(on_fresh, 0);

  // Deterministic: the same seed at the same simulated time lists the same markets, byte for
  // byte, however the clock got there.
  ASSERT_OK_AND_ASSIGN(auto twin, OpinionSim::Create(ManualClock(), &clock));
  Advance(*twin, 5 * 3600);
  Advance(*twin, 7 * 3600);
  EXPECT_EQ(ListedMarkets(*twin), later);
  ASSERT_OK_AND_ASSIGN(auto other, OpinionSim::Create(ManualClock(2), &clock));
  Advance(*other, 12 * 3600);
  EXPECT_NE(ListedMarkets(*other), later);
}

// ---- Empty lists, errors, region block ----

TEST(OpinionSimApiTest, EmptyListsAreNullByDefault) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(Unlimited(), &clock));
  const std::string nobody = "0x00000000000000000000000000000000000000ff";
  for (const std::string& path :
       {Api("/trade/user/" + nobody), Api("/positions/user/" + nobody),
        Api("/market?page=1000&limit=20"), Api("/quoteToken?quoteTokenName=nope"),
        Api("/market?chainId=1")}) {
    Reply reply = Get(*sim, path);
    EXPECT_EQ(reply.status, 200) << path;
    EXPECT_TRUE(Result(reply)["list"].IsNull()) << path << " " << reply.body;
    EXPECT_TRUE(Result(reply)["total"].IsInt64()) << path;
  }
  // Non-empty pages are arrays (list_null for them is a fault kind only).
  EXPECT_TRUE(Result(Get(*sim, Api("/market")))["list"].IsArray());
  EXPECT_TRUE(Result(Get(*sim, Api("/quoteToken")))["list"].IsArray());

  OpinionSim::Options options = Unlimited();
  options.empty_list_null = false;
  ASSERT_OK_AND_ASSIGN(auto arrays, OpinionSim::Create(options, &clock));
  Reply empty = Get(*arrays, Api("/trade/user/" + nobody));
  ASSERT_TRUE(Result(empty)["list"].IsArray());
  EXPECT_EQ(Result(empty)["list"].Size(), 0u);
}

TEST(OpinionSimApiTest, RegionBlockAnswersErrno10403WithHttp200) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(Unlimited(), &clock));
  const std::string wallet = TopWallets(*sim, 1)[0];
  const std::vector<std::string> paths = {Api("/market"),
                                          Api("/market/1"),
                                          Api("/trade/user/" + wallet),
                                          Api("/positions/user/" + wallet),
                                          Api("/quoteToken"),
                                          Api("/token/latest-price?token_id=1")};
  EXPECT_EQ(Get(*sim, Api("/market")).status, 200);
  Reply on = Post(*sim, "/admin/region?blocked=true");
  ASSERT_EQ(on.status, 200);
  EXPECT_TRUE(on.json["regionBlocked"].GetBool());
  for (const std::string& path : paths) {
    for (const std::string& key : {std::string(kKey), std::string("")}) {  // even without a key
      Reply reply = Get(*sim, path, key);
      EXPECT_EQ(reply.status, 200) << path;
      EXPECT_EQ(IntField(reply.json, "errno"), 10403) << path;
      EXPECT_THAT(StrField(reply.json, "errmsg"), HasSubstr("not available")) << path;
      EXPECT_TRUE(reply.json["result"].IsNull()) << path;
    }
  }
  EXPECT_TRUE(Get(*sim, "/admin/health", "").json["regionBlocked"].GetBool());
  EXPECT_EQ(IntField(Get(*sim, "/admin/stats", "").json, "regionBlocked"), 12);
  EXPECT_EQ(Post(*sim, "/admin/region?blocked=maybe").status, 400);
  ASSERT_EQ(Post(*sim, "/admin/region?blocked=false").status, 200);
  EXPECT_FALSE(Get(*sim, "/admin/region", "").json["regionBlocked"].GetBool());
  Reply back = Get(*sim, Api("/market"));
  EXPECT_EQ(IntField(back.json, "errno"), 0);

  // From the start, in the documented envelope.
  OpinionSim::Options options = Unlimited();
  options.region_blocked = true;
  options.envelope = EnvelopeStyle::kCode;
  ASSERT_OK_AND_ASSIGN(auto blocked, OpinionSim::Create(options, &clock));
  Reply reply = Get(*blocked, Api("/market"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(IntField(reply.json, "code"), 10403);
  EXPECT_FALSE(StrField(reply.json, "msg").empty());
  EXPECT_FALSE(reply.json.HasMember("errno"));
}

TEST(OpinionSimFaultsTest, ApiErrorsAreHttp200WithErrno) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(
      auto sim,
      OpinionSim::Create(
          WithFaults("api_error:1,api_error:1:errno=11001,api_error:1:errno=10403:endpoint=trade,"
                     "api_error:1:errno=10500:http=503"),
          &clock));
  Reply key = Get(*sim, Api("/market"));
  EXPECT_EQ(key.status, 200);
  EXPECT_EQ(key.body, R"({"errno":11002,"errmsg":"Invalid API key","result":null})");
  Reply no_wallet = Get(*sim, Api("/market"));
  EXPECT_EQ(no_wallet.status, 200);
  EXPECT_EQ(IntField(no_wallet.json, "errno"), 11001);
  EXPECT_EQ(StrField(no_wallet.json, "errmsg"),
            "This API Key has no related Opinion Login Wallet yet");
  Reply other = Get(*sim, Api("/market"));
  EXPECT_EQ(other.status, 503);
  EXPECT_EQ(IntField(other.json, "errno"), 10500);
  EXPECT_EQ(IntField(Get(*sim, Api("/market")).json, "errno"), 0);  // used up
  const std::string wallet = TopWallets(*sim, 1)[0];
  Reply region = Get(*sim, Api("/trade/user/" + wallet));
  EXPECT_EQ(region.status, 200);
  EXPECT_EQ(IntField(region.json, "errno"), 10403);
  EXPECT_EQ(IntField(Get(*sim, Api("/trade/user/" + wallet)).json, "errno"), 0);

  // The same through the admin endpoint, in the code/msg envelope.
  OpinionSim::Options options = Unlimited();
  options.envelope = EnvelopeStyle::kCode;
  ASSERT_OK_AND_ASSIGN(auto coded, OpinionSim::Create(options, &clock));
  ASSERT_EQ(Post(*coded, "/admin/faults",
                 R"({"faults":[{"kind":"api_error","count":1,"errno":11002,"httpStatus":200}]})")
                .status,
            200);
  EXPECT_EQ(Get(*coded, Api("/market")).body,
            R"({"code":11002,"msg":"Invalid API key","result":null})");
  for (const char* bad : {R"({"faults":[{"kind":"api_error","count":1,"errno":0}]})",
                          R"({"faults":[{"kind":"api_error","count":1,"httpStatus":302}]})"}) {
    EXPECT_EQ(Post(*coded, "/admin/faults", bad).status, 400) << bad;
  }
}

TEST(OpinionSimApiTest, BadKeyStatusIsSwitchable) {
  FakeClock clock;
  OpinionSim::Options options;
  options.api_keys = {"good"};
  options.bad_key_status = 200;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  for (const char* key : {"", "bad"}) {
    Reply reply = Get(*sim, Api("/market"), key);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, R"({"errno":11002,"errmsg":"Invalid API key","result":null})");
  }
  EXPECT_EQ(IntField(Get(*sim, Api("/market"), "good").json, "errno"), 0);
  options.bad_key_status = 500;
  EXPECT_THAT(OpinionSim::Create(options, &clock), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- Transactions, late indexing, amounts ----

// Every trade of every wallet that became visible at or after `since`.
Reply AllTruth(const OpinionSim& sim, int64_t since, const std::string& extra = "") {
  return Get(sim, absl::StrCat("/admin/trades?since=", since, extra), "");
}

TEST(OpinionSimTradesTest, SeveralFillsShareOneTxHashAndSecond) {
  FakeClock clock;
  OpinionSim::Options options = ManualClock();
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  Reply truth = AllTruth(*sim, 0);
  ASSERT_GT(truth.json["trades"].Size(), 1000u);
  struct Tx {
    std::set<int64_t> created, visible, markets, fills, prices;
    std::set<std::string> wallets;
    int count = 0;
  };
  std::map<std::string, Tx> txs;
  for (const rapidjson::Value& t : truth.json["trades"].GetArray()) {
    Tx& tx = txs[StrField(t, "txHash")];
    ++tx.count;
    tx.created.insert(IntField(t, "createdAt"));
    tx.visible.insert(IntField(t, "visibleAt"));
    tx.markets.insert(IntField(t, "marketId"));
    tx.fills.insert(IntField(t, "fillIndex"));
    tx.prices.insert(Scaled(StrField(t, "price"), 3));
    tx.wallets.insert(StrField(t, "wallet"));
  }
  int shared = 0;
  for (const auto& [hash, tx] : txs) {
    EXPECT_EQ(tx.created.size(), 1u) << hash;
    EXPECT_EQ(tx.visible.size(), 1u) << hash;
    EXPECT_EQ(tx.markets.size(), 1u) << hash;
    EXPECT_EQ(tx.wallets.size(), 1u) << hash;
    EXPECT_EQ(static_cast<int>(tx.fills.size()), tx.count) << hash;
    EXPECT_EQ(*tx.fills.rbegin(), tx.count - 1) << hash;
    // Each fill at its own price: no two rows of one transaction look alike.
    EXPECT_EQ(static_cast<int>(tx.prices.size()), tx.count) << hash;
    EXPECT_LE(tx.count, 4);
    shared += tx.count > 1;
  }
  // About 15% of buy/sell orders.
  EXPECT_GT(shared, static_cast<int>(txs.size()) / 20);
  EXPECT_LT(shared, static_cast<int>(txs.size()) / 4);

  options.multi_fill_rate = 0;
  ASSERT_OK_AND_ASSIGN(auto single, OpinionSim::Create(options, &clock));
  std::set<std::string> hashes;
  const Reply single_truth = AllTruth(*single, 0);
  for (const rapidjson::Value& t : single_truth.json["trades"].GetArray()) {
    EXPECT_TRUE(hashes.insert(StrField(t, "txHash")).second);
  }
}

TEST(OpinionSimTradesTest, LateIndexedTradesAppearBelowNewerOnes) {
  FakeClock clock;
  OpinionSim::Options options = ManualClock();
  ASSERT_OK_AND_ASSIGN(auto probe, OpinionSim::Create(options, &clock));
  EXPECT_EQ(IntField(Get(*probe, "/admin/health", "").json, "indexLagMaxS"), 20);  // on by default
  const int64_t start = absl::ToUnixSeconds(probe->SimNow());
  Advance(*probe, 3600);
  // Find a wallet's trade T that shows up after a newer trade N of the same wallet is visible.
  Reply truth = AllTruth(*probe, start + 1);
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_wallet;  // created, visible
  int late = 0;
  for (const rapidjson::Value& t : truth.json["trades"].GetArray()) {
    const int64_t created = IntField(t, "createdAt");
    const int64_t visible = IntField(t, "visibleAt");
    EXPECT_GE(visible, created);
    EXPECT_LE(visible, created + 20);
    late += visible > created;
    by_wallet[StrField(t, "wallet")].emplace_back(created, visible);
  }
  EXPECT_GT(late, 10);
  std::string wallet;
  int64_t late_created = 0, late_visible = 0, newer_created = 0;
  for (const auto& [w, trades] : by_wallet) {
    for (const auto& [c1, v1] : trades) {
      for (const auto& [c2, v2] : trades) {
        if (wallet.empty() && c2 > c1 && v2 < v1) {
          wallet = w;
          late_created = c1;
          late_visible = v1;
          newer_created = c2;
        }
      }
    }
  }
  ASSERT_FALSE(wallet.empty()) << "no late trade overtaken by a newer one";

  // A twin with the same seed, stepped to just before the late trade shows.
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  Advance(*sim, late_visible - 1 - start);
  auto created_list = [&]() {
    std::vector<int64_t> out;
    Reply reply = Get(*sim, Api(absl::StrCat("/trade/user/", wallet, "?limit=20")));
    for (const rapidjson::Value& t : List(reply).GetArray())
      out.push_back(IntField(t, "createdAt"));
    return out;
  };
  const std::vector<int64_t> before = created_list();
  EXPECT_THAT(before, ::testing::Contains(newer_created));
  EXPECT_THAT(before, ::testing::Not(::testing::Contains(late_created)));
  Advance(*sim, 1);
  const std::vector<int64_t> after = created_list();
  ASSERT_THAT(after, ::testing::Contains(late_created));
  // ... below the newer one: the list stays newest first by createdAt.
  const auto late_pos = std::find(after.begin(), after.end(), late_created) - after.begin();
  const auto newer_pos = std::find(after.begin(), after.end(), newer_created) - after.begin();
  EXPECT_LT(newer_pos, late_pos);
  EXPECT_TRUE(std::is_sorted(after.rbegin(), after.rend()));

  options.index_lag_max_s = 0;
  ASSERT_OK_AND_ASSIGN(auto prompt, OpinionSim::Create(options, &clock));
  Advance(*prompt, 600);
  const Reply prompt_truth = AllTruth(*prompt, 0);
  for (const rapidjson::Value& t : prompt_truth.json["trades"].GetArray()) {
    EXPECT_EQ(IntField(t, "visibleAt"), IntField(t, "createdAt"));
  }
}

TEST(OpinionSimTradesTest, AmountsQuoteTokensAndStatusEnumsVary) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(ManualClock(), &clock));
  Reply truth = AllTruth(*sim, 0);
  ASSERT_GT(truth.json["trades"].Size(), 1000u);
  int precise = 0, finished = 0, other_quote = 0, usd_differs = 0;
  for (const rapidjson::Value& t : truth.json["trades"].GetArray()) {
    precise += CheckTradeMoney(t);
    finished += StrField(t, "statusEnum") == "Finished";
    const bool usdt = StrField(t, "quoteToken") == "0x55d398326f99059fF775485246999027B3197955";
    other_quote += !usdt;
    // amountUsd == amount * quoteTokenUsdPrice, exactly.
    const __int128 amount = AttoOf(StrField(t, "amount"));
    const int64_t usd_price = Scaled(StrField(t, "quoteTokenUsdPrice"), 6);
    const std::string amount_usd = StrField(t, "amountUsd");
    const std::vector<std::string> parts = absl::StrSplit(amount_usd, '.');
    ASSERT_EQ(parts.size(), 2u) << amount_usd;
    std::string fraction = parts[1];
    ASSERT_LE(fraction.size(), 24u);
    fraction.resize(24, '0');
    std::string digits = parts[0] + fraction;
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
    EXPECT_EQ(digits, Int128Text(amount * usd_price)) << amount_usd;
    if (usdt) {
      EXPECT_EQ(AttoOf(amount_usd.substr(
                    0, std::min<size_t>(amount_usd.size(), amount_usd.find('.') + 19))),
                amount);
    }
    usd_differs += StrField(t, "quoteTokenUsdPrice") != "1" && amount_usd != StrField(t, "amount");
    // The ground truth names the token the trade was in.
    const Market* m = sim->world().FindMarket(IntField(t, "marketId"));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(StrField(t, "tokenId"),
              IntField(t, "outcomeSide") == 1 ? m->yes_token_id : m->no_token_id);
  }
  const int n = static_cast<int>(truth.json["trades"].Size());
  EXPECT_GT(precise, n / 10);
  EXPECT_GT(finished, n / 30);
  EXPECT_LT(finished, n / 4);
  EXPECT_GT(other_quote, n / 50);
  EXPECT_GT(usd_differs, 0);
}

TEST(OpinionSimTradesTest, MarketIdFilterIsExact) {
  FakeClock clock;
  OpinionSim::Options options = Unlimited();
  options.history_days = 2;  // keeps the ground-truth call small
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  // A wallet trade on a categorical child: filtering by the parent finds nothing.
  Reply truth = AllTruth(*sim, 0, "&limit=5000");
  std::string wallet;
  int64_t child = 0, parent = 0;
  for (const rapidjson::Value& t : truth.json["trades"].GetArray()) {
    if (IntField(t, "marketId") != IntField(t, "rootMarketId")) {
      wallet = StrField(t, "wallet");
      child = IntField(t, "marketId");
      parent = IntField(t, "rootMarketId");
      break;
    }
  }
  ASSERT_FALSE(wallet.empty());
  const std::string base = absl::StrCat("/trade/user/", wallet, "?limit=20&marketId=");
  Reply by_child = Get(*sim, Api(absl::StrCat(base, child)));
  EXPECT_GT(Total(by_child), 0);
  for (const rapidjson::Value& t : List(by_child).GetArray())
    EXPECT_EQ(IntField(t, "marketId"), child);
  Reply by_parent = Get(*sim, Api(absl::StrCat(base, parent)));
  EXPECT_EQ(Total(by_parent), 0);
  EXPECT_TRUE(Result(by_parent)["list"].IsNull());
  Reply positions =
      Get(*sim, Api(absl::StrCat("/positions/user/", wallet, "?limit=20&marketId=", parent)));
  EXPECT_EQ(Total(positions), 0);
}

// ---- Token and quote-token endpoints ----

TEST(OpinionSimTokensTest, LatestPriceOrderbookAndHistory) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(Unlimited(), &clock));
  const int64_t now = absl::ToUnixSeconds(clock.Now());
  const Market* market = nullptr;
  for (const Market& m : sim->world().markets()) {
    if (m.kind == MarketKind::kBinary && m.created_at < now - 10 * 86400 &&
        sim->world().TradeableAt(m, now)) {
      market = &m;
      break;
    }
  }
  ASSERT_NE(market, nullptr);
  const std::regex price(R"(0\.[0-9]{2,3})");
  const std::regex size(R"([0-9]+\.[0-9]{2})");

  Reply latest = Get(*sim, Api("/token/latest-price?token_id=" + market->no_token_id));
  ASSERT_EQ(latest.status, 200);
  const rapidjson::Value& last = Result(latest);
  EXPECT_EQ(StrField(last, "tokenId"), market->no_token_id);
  EXPECT_TRUE(std::regex_match(StrField(last, "price"), price)) << latest.body;
  EXPECT_TRUE(std::regex_match(StrField(last, "size"), size));
  EXPECT_THAT(StrField(last, "side"), AnyOf(Eq("buy-limit"), Eq("sell-limit")));
  const int64_t millis = IntField(last, "timestamp");
  EXPECT_GE(millis, (now - 91) * 1000);  // milliseconds
  EXPECT_LT(millis, (now + 1) * 1000);

  Reply book = Get(*sim, Api("/token/orderbook?token_id=" + market->yes_token_id));
  ASSERT_EQ(book.status, 200);
  const rapidjson::Value& ob = Result(book);
  EXPECT_EQ(StrField(ob, "market"), market->condition_id);
  EXPECT_EQ(StrField(ob, "tokenId"), market->yes_token_id);
  EXPECT_GE(IntField(ob, "timestamp"), now * 1000);
  int64_t best_bid = 0;
  int64_t previous = INT64_MAX;
  for (const rapidjson::Value& level : ob["bids"].GetArray()) {
    const int64_t p = Scaled(StrField(level, "price"), 3);
    EXPECT_LT(p, previous);  // descending
    previous = p;
    best_bid = std::max(best_bid, p);
    EXPECT_TRUE(std::regex_match(StrField(level, "size"), size));
  }
  previous = 0;
  for (const rapidjson::Value& level : ob["asks"].GetArray()) {
    const int64_t p = Scaled(StrField(level, "price"), 3);
    EXPECT_GT(p, previous);  // ascending
    EXPECT_GT(p, best_bid);
    previous = p;
  }
  EXPECT_GT(ob["bids"].Size() + ob["asks"].Size(), 0u);

  Reply hourly =
      Get(*sim, Api(absl::StrCat("/token/price-history?token_id=", market->yes_token_id,
                                 "&interval=1h&start_at=", now - 6 * 3600, "&end_at=", now)));
  ASSERT_EQ(hourly.status, 200);
  const rapidjson::Value& points = Result(hourly)["history"];
  ASSERT_GE(points.Size(), 6u);
  ASSERT_LE(points.Size(), 7u);
  for (rapidjson::SizeType i = 0; i < points.Size(); ++i) {
    const int64_t t = IntField(points[i], "t");
    EXPECT_EQ(t % 3600, 0);  // seconds, on the hour
    EXPECT_GE(t, now - 6 * 3600);
    EXPECT_LE(t, now);
    if (i > 0) {
      EXPECT_EQ(t - IntField(points[i - 1], "t"), 3600);
    }
    EXPECT_TRUE(std::regex_match(StrField(points[i], "p"), price));
  }
  // Other intervals silently mean 1d.
  Reply daily = Get(*sim, Api(absl::StrCat("/token/price-history?token_id=", market->yes_token_id,
                                           "&interval=1m&start_at=", now - 5 * 86400)));
  const rapidjson::Value& days = Result(daily)["history"];
  ASSERT_GE(days.Size(), 4u);
  EXPECT_EQ(IntField(days[1], "t") - IntField(days[0], "t"), 86400);

  // Unknown tokens are "not found"; malformed parameters are bad requests.
  Reply unknown = Get(*sim, Api("/token/latest-price?token_id=12345"));
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(IntField(unknown.json, "errno"), 10404);
  EXPECT_TRUE(unknown.json["result"].IsNull());
  for (const std::string& bad :
       {Api("/token/latest-price"), Api("/token/orderbook?token_id=0x12"),
        Api("/token/price-history?token_id=" + market->yes_token_id + "&start_at=x")}) {
    EXPECT_EQ(Get(*sim, bad).status, 400) << bad;
  }
  // A token of a market not listed yet does not exist yet.
  for (const Market& m : sim->world().markets()) {
    if (m.kind == MarketKind::kBinary && m.created_at > now) {
      EXPECT_EQ(
          IntField(Get(*sim, Api("/token/orderbook?token_id=" + m.yes_token_id)).json, "errno"),
          10404);
      break;
    }
  }
}

TEST(OpinionSimTokensTest, QuoteTokens) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create({}, &clock));
  Reply all = Get(*sim, Api("/quoteToken"));
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(Total(all), 3);
  const rapidjson::Value& usdt = List(all)[0];
  EXPECT_EQ(IntField(usdt, "id"), 1);
  EXPECT_EQ(StrField(usdt, "quoteTokenName"), "USDT");
  EXPECT_EQ(StrField(usdt, "symbol"), "USDT");
  EXPECT_EQ(StrField(usdt, "quoteTokenAddress"), "0x55d398326f99059fF775485246999027B3197955");
  EXPECT_TRUE(
      std::regex_match(StrField(usdt, "ctfExchangeAddress"), std::regex("0x[0-9a-fA-F]{40}")));
  EXPECT_EQ(IntField(usdt, "decimal"), 18);
  EXPECT_EQ(StrField(usdt, "chainId"), "56");
  EXPECT_GT(IntField(usdt, "createdAt"), 1700000000);
  Reply usdc = Get(*sim, Api("/quoteToken?quoteTokenName=usdc"));
  ASSERT_EQ(Total(usdc), 1);
  EXPECT_EQ(StrField(List(usdc)[0], "symbol"), "USDC");
  Reply paged = Get(*sim, Api("/quoteToken?limit=2&page=2"));
  EXPECT_EQ(Total(paged), 3);
  EXPECT_EQ(List(paged).Size(), 1u);
}

// ---- Ground truth and request counting ----

TEST(OpinionSimAdminTest, GroundTruthPagesUntilAndPending) {
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(ManualClock(), &clock));
  Advance(*sim, 600);
  const int64_t now = absl::ToUnixSeconds(sim->SimNow());
  const std::string wallet = TopWallets(*sim, 1)[0];
  const std::string base = absl::StrCat("/admin/trades?wallet=", wallet);
  Reply all = Get(*sim, base, "");
  const int64_t total = IntField(all.json, "total");
  ASSERT_GT(total, 50);
  EXPECT_EQ(IntField(all.json, "returned"), total);  // everything by default
  // Pages concatenate to the whole.
  std::vector<std::string> paged;
  for (int64_t offset = 0; offset < total; offset += 97) {
    Reply page = Get(*sim, absl::StrCat(base, "&limit=97&offset=", offset), "");
    for (const rapidjson::Value& t : page.json["trades"].GetArray()) {
      paged.push_back(absl::StrCat(StrField(t, "txHash"), "/", IntField(t, "fillIndex")));
    }
  }
  ASSERT_EQ(static_cast<int64_t>(paged.size()), total);
  for (rapidjson::SizeType i = 0; i < all.json["trades"].Size(); ++i) {
    const rapidjson::Value& t = all.json["trades"][i];
    EXPECT_EQ(paged[i], absl::StrCat(StrField(t, "txHash"), "/", IntField(t, "fillIndex")));
    EXPECT_TRUE(t["visible"].GetBool());
  }
  // until: what was visible at an earlier time.
  Reply earlier = Get(*sim, absl::StrCat(base, "&until=", now - 300), "");
  EXPECT_LT(IntField(earlier.json, "total"), total);
  for (const rapidjson::Value& t : earlier.json["trades"].GetArray()) {
    EXPECT_LE(IntField(t, "visibleAt"), now - 300);
  }
  // pending: also the trades created by now that are still being indexed.
  Reply pending = Get(*sim, "/admin/trades?pending=true", "");
  Reply visible = Get(*sim, "/admin/trades", "");
  const int64_t hidden = IntField(pending.json, "total") - IntField(visible.json, "total");
  EXPECT_GE(hidden, 0);
  int64_t not_visible = 0;
  for (const rapidjson::Value& t : pending.json["trades"].GetArray()) {
    const bool shown = t["visible"].GetBool();
    EXPECT_EQ(shown, IntField(t, "visibleAt") <= now);
    EXPECT_LE(IntField(t, "createdAt"), now);
    not_visible += !shown;
  }
  EXPECT_EQ(not_visible, hidden);
  for (const char* bad : {"?offset=-1", "?pending=yes", "?until=x", "?limit=0"}) {
    EXPECT_EQ(Get(*sim, absl::StrCat("/admin/trades", bad), "").status, 400) << bad;
  }
}

TEST(OpinionSimAdminTest, MaxRequestsPerSecondCountsEverythingReceived) {
  FakeClock clock;
  std::atomic<int64_t> now_ns{0};
  OpinionSim::Options options;
  options.monotonic_clock = [&now_ns] { return absl::Nanoseconds(now_ns.load()); };
  ASSERT_OK_AND_ASSIGN(auto sim, OpinionSim::Create(options, &clock));
  // 18 requests in one instant: 15 accepted, 3 refused by the limiter, plus 2 without a key.
  for (int i = 0; i < 18; ++i) Get(*sim, Api("/market?limit=1"));
  Get(*sim, Api("/market?limit=1"), "");
  Get(*sim, Api("/market?limit=1"), "");
  Reply stats = Get(*sim, "/admin/stats", "");
  EXPECT_EQ(IntField(stats.json, "maxRequestsPerSecond"), 20);
  EXPECT_EQ(IntField(stats.json["maxRequestsPerSecondPerKey"], kKey), 18);
  EXPECT_EQ(IntField(stats.json, "worstSecond"), 15);  // accepted ones only
  EXPECT_EQ(IntField(stats.json, "requestsLastSecond"), 20);

  // After a reset, requests 500 ms apart: a closed 1-second window holds three of them.
  now_ns = 10'000'000'000;
  ASSERT_EQ(Post(*sim, "/admin/stats/reset").status, 200);
  EXPECT_EQ(IntField(Get(*sim, "/admin/stats", "").json, "maxRequestsPerSecond"), 0);
  for (int i = 0; i < 6; ++i) {
    Get(*sim, Api("/market?limit=1"));
    now_ns += 500'000'000;
  }
  EXPECT_EQ(IntField(Get(*sim, "/admin/stats", "").json, "maxRequestsPerSecond"), 3);
  now_ns += 600'000'000;
  for (int i = 0; i < 6; ++i) {
    Get(*sim, Api("/market?limit=1"));
    now_ns += 1'000'000'001;  // just over a second apart: never two in one window
  }
  EXPECT_EQ(IntField(Get(*sim, "/admin/stats", "").json, "maxRequestsPerSecond"), 3);
}

}  // namespace
}  // namespace whalefeed::sim
