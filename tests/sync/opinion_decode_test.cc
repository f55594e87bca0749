// Decoding of the upstream's JSON: every quirk of opinion-openapi.md §5, as table tests over
// bodies built field by field.
#include "sync/opinion_decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sync/exact_decimal.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

constexpr char kWallet[] = "0x5F68000000000000000000000000000000009fB6";
constexpr char kWalletLower[] = "0x5f68000000000000000000000000000000009fb6";
constexpr char kYesToken[] =
    "5849201736611028379460113354901827736450019283746501928374650192837465019283";
constexpr char kNoToken[] =
    "1203948576102938475610293847561029384756102938475610293847561029384756102938";

using Fields = std::vector<std::pair<std::string, std::string>>;  // key, raw JSON value
// A field edit: set to a raw JSON value, or remove (nullopt).
using Edits = std::vector<std::pair<std::string, std::optional<std::string>>>;

std::string Object(Fields fields, const Edits& edits) {
  for (const auto& [key, value] : edits) {
    auto it =
        std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
    if (!value.has_value()) {
      if (it != fields.end()) fields.erase(it);
    } else if (it != fields.end()) {
      it->second = *value;
    } else {
      fields.emplace_back(key, *value);
    }
  }
  std::vector<std::string> parts;
  for (const auto& [key, value] : fields) parts.push_back(absl::StrCat("\"", key, "\":", value));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string Str(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

std::string Trade(const Edits& edits = {}) {
  return Object(
      {{"txHash", Str("0x8e3b5c0d9a7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918070605a")},
       {"marketId", "16565"},
       {"marketTitle", Str("Team A")},
       {"rootMarketId", "788"},
       {"rootMarketTitle", Str("Who wins the final?")},
       {"side", Str("Buy")},
       {"outcome", Str("YES")},
       {"outcomeSide", "1"},
       {"outcomeSideEnum", Str("Yes")},
       {"price", Str("0.62")},
       {"shares", Str("16129.03")},
       {"amount", Str("10000.00")},
       {"fee", Str("20.00")},
       {"profit", Str("0")},
       {"quoteToken", Str("0x55d398326f99059fF775485246999027B3197955")},
       {"quoteTokenUsdPrice", Str("1")},
       {"usdAmount", Str("10000000000000000000000")},
       {"status", "2"},
       {"statusEnum", Str("Filled")},
       {"chainId", Str("56")},
       {"createdAt", "1766735571"}},
      edits);
}

std::string Market(const Edits& edits = {}) {
  return Object(
      {{"marketId", "901"},
       {"marketTitle", Str("Will BNB trade above $1,000 on Dec 31?")},
       {"status", "2"},
       {"statusEnum", Str("Activated")},
       {"marketType", "0"},
       {"yesLabel", Str("Yes")},
       {"noLabel", Str("No")},
       {"rules", Str("Resolves YES if ...")},
       {"yesTokenId", Str(kYesToken)},
       {"noTokenId", Str(kNoToken)},
       {"conditionId", Str("9f1c2e3d4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0")},
       {"resultTokenId", Str("")},
       {"volume", Str("250000.00")},
       {"volume24h", Str("18000.50")},
       {"volume7d", Str("90000.00")},
       {"quoteToken", Str("0x55d398326f99059fF775485246999027B3197955")},
       {"chainId", Str("56")},
       {"incentiveFactor", "{}"},
       {"createdAt", "1764547200"},
       {"cutoffAt", "1767139200"},
       {"resolvedAt", "0"},
       {"slug", Str("bnb-above-1000-dec-31")},
       {"labels", "[\"Crypto\"]"},
       {"labelIds", "[3]"},
       {"rebate", "{\"maker\":0.5}"}},
      edits);
}

std::string Child(const Edits& edits = {}) {
  return Object({{"marketId", "16565"},
                 {"marketTitle", Str("Team A")},
                 {"status", "2"},
                 {"statusEnum", Str("Activated")},
                 {"yesLabel", Str("Yes")},
                 {"noLabel", Str("No")},
                 {"yesTokenId", Str(kYesToken)},
                 {"noTokenId", Str(kNoToken)},
                 {"conditionId", Str("0b1c")},
                 {"resultTokenId", Str("")},
                 {"volume", Str("2500.00")},
                 {"chainId", Str("56")},
                 {"createdAt", "1764000001"},
                 {"cutoffAt", "0"},
                 {"resolvedAt", "0"}},
                edits);
}

std::string Parent(const std::vector<std::string>& children, const Edits& edits = {}) {
  Edits all = {{"marketId", "788"},
               {"marketTitle", Str("Who wins the final?")},
               {"marketType", "1"},
               {"yesLabel", Str("")},
               {"noLabel", Str("")},
               {"yesTokenId", Str("")},
               {"noTokenId", Str("")},
               {"conditionId", Str("")},
               {"childMarkets", absl::StrCat("[", absl::StrJoin(children, ","), "]")}};
  all.insert(all.end(), edits.begin(), edits.end());
  return Market(all);
}

std::string List(const std::vector<std::string>& items, int64_t total = -1) {
  return absl::StrCat(R"({"errno":0,"errmsg":"","result":{"total":)",
                      total < 0 ? static_cast<int64_t>(items.size()) : total, R"(,"list":[)",
                      absl::StrJoin(items, ","), "]}}");
}

absl::StatusOr<TradesPage> Trades(const std::vector<std::string>& items) {
  return DecodeTradeListBody(List(items), kWallet);
}

// ---------------------------------------------------------------------------------------------
// Envelopes and pages.

TEST(EnvelopeTest, BothSpellingsAndErrorsOnHttp200) {
  struct Case {
    std::string body;
    absl::StatusCode code;
    std::string message;  // substring
  };
  const std::string result = R"("result":{"total":0,"list":[]})";
  const std::vector<Case> cases = {
      {absl::StrCat(R"({"errno":0,"errmsg":"",)", result, "}"), absl::StatusCode::kOk, ""},
      {absl::StrCat(R"({"code":0,"msg":"",)", result, "}"), absl::StatusCode::kOk, ""},
      {absl::StrCat("{", result, "}"), absl::StatusCode::kOk, ""},  // no envelope fields
      {R"({"errno":11002,"errmsg":"Invalid API key","result":null})",
       absl::StatusCode::kUnauthenticated, "not retried"},
      {R"({"code":11001,"msg":"no login wallet","result":null})",
       absl::StatusCode::kUnauthenticated, "11001"},
      {R"({"errno":10403,"errmsg":"API is not available to persons located in the United States","result":null})",
       absl::StatusCode::kPermissionDenied, "region"},
      {R"({"errno":10404,"errmsg":"not found","result":null})", absl::StatusCode::kNotFound,
       "10404"},
      {R"({"code":10429,"msg":"slow down","result":null})", absl::StatusCode::kResourceExhausted,
       "10429"},
      {R"({"errno":10500,"errmsg":"oops","result":null})", absl::StatusCode::kUnavailable, ""},
      {R"({"errno":10400,"errmsg":"bad limit","result":null})", absl::StatusCode::kInvalidArgument,
       "bad limit"},
      {R"({"errno":77777,"errmsg":"who knows","result":null})", absl::StatusCode::kUnknown,
       "errno 77777"},
      {R"({"errno":"x","result":{}})", absl::StatusCode::kDataLoss, "errno"},
      {R"({"errmsg":"no code, no result"})", absl::StatusCode::kDataLoss, "envelope"},
      {"", absl::StatusCode::kDataLoss, "not JSON"},
      {"<html><body>502 Bad Gateway</body></html>", absl::StatusCode::kDataLoss, "not JSON"},
      {R"({"errno":0,"errmsg":"","result":{"total":3,"list":[{"marke)", absl::StatusCode::kDataLoss,
       "not JSON"},
      {"[1,2]", absl::StatusCode::kDataLoss, "not a JSON object"},
      {absl::StrCat(R"({"errno":0,)", result, "} trailing"), absl::StatusCode::kDataLoss,
       "not JSON"},
      {R"({"errno":0,"result":null})", absl::StatusCode::kDataLoss, "result is missing"},
      {R"({"errno":0,"result":[]})", absl::StatusCode::kDataLoss, "result is an array"},
      {R"({"errno":0,"result":{"total":1,"list":{}}})", absl::StatusCode::kDataLoss, "result.list"},
      {R"({"errno":0,"result":{"total":"many","list":[]}})", absl::StatusCode::kDataLoss,
       "result.total"},
      {R"({"errno":0,"result":{"total":-1,"list":[]}})", absl::StatusCode::kDataLoss,
       "result.total"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    absl::StatusOr<TradesPage> page = DecodeTradeListBody(c.body, kWallet);
    if (c.code == absl::StatusCode::kOk) {
      EXPECT_OK(page.status());
    } else {
      EXPECT_THAT(page, StatusIs(c.code, HasSubstr(c.message)));
    }
    // Markets decode the same envelopes the same way.
    EXPECT_EQ(DecodeMarketListBody(c.body).status().code(), c.code);
  }
}

TEST(EnvelopeTest, ListNullOrMissingIsEmptyAndAMissingTotalIsTheListSize) {
  ASSERT_OK_AND_ASSIGN(
      TradesPage a,
      DecodeTradeListBody(R"({"errno":0,"result":{"total":0,"list":null}})", kWallet));
  EXPECT_THAT(a.trades, IsEmpty());
  EXPECT_EQ(a.total, 0);
  ASSERT_OK_AND_ASSIGN(MarketsPage b, DecodeMarketListBody(R"({"code":0,"result":{"total":5}})"));
  EXPECT_THAT(b.markets, IsEmpty());
  EXPECT_EQ(b.total, 5);
  ASSERT_OK_AND_ASSIGN(
      TradesPage c, DecodeTradeListBody(
                        absl::StrCat(R"({"errno":0,"result":{"list":[)", Trade(), "]}}"), kWallet));
  EXPECT_EQ(c.total, 1);
  EXPECT_THAT(c.trades, SizeIs(1));
}

TEST(EnvelopeTest, AnUpstreamMessageIsQuotedAndCut) {
  const std::string body =
      absl::StrCat(R"({"errno":12345,"errmsg":")", std::string(5000, 'x'), R"(","result":null})");
  absl::StatusOr<TradesPage> page = DecodeTradeListBody(body, kWallet);
  EXPECT_THAT(page, StatusIs(absl::StatusCode::kUnknown));
  EXPECT_LT(page.status().message().size(), 400u);
}

TEST(EnvelopeTest, HttpStatusesMapWithoutAnEnvelope) {
  EXPECT_THAT(UpstreamErrorStatus("GET /x", 401, 0, ""),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("GET /x: HTTP 401")));
  EXPECT_THAT(UpstreamErrorStatus("GET /x", 403, kErrnoRegionBlocked, "Invalid area"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("Invalid area")));
  EXPECT_THAT(UpstreamErrorStatus("GET /x", 403, 0, ""),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not retried")));
  EXPECT_THAT(UpstreamErrorStatus("GET /x", 429, 0, ""),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(UpstreamErrorStatus("GET /x", 502, 0, ""), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(UpstreamErrorStatus("GET /x", 404, 0, ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(UpstreamErrorStatus("GET /x", 400, 10400, "bad"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(UpstreamErrorStatus("GET /x", 200, 0, ""));
}

// ---------------------------------------------------------------------------------------------
// Trades.

TEST(TradeDecodeTest, TheDocumentedExample) {
  ASSERT_OK_AND_ASSIGN(TradesPage page, Trades({Trade()}));
  ASSERT_THAT(page.trades, SizeIs(1));
  EXPECT_EQ(page.issues.skipped, 0);
  const db::Activity& a = page.trades[0];
  EXPECT_EQ(a.tx_hash, "0x8e3b5c0d9a7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918070605a");
  EXPECT_EQ(a.wallet, kWalletLower);
  EXPECT_EQ(a.market_id, 16565);
  EXPECT_EQ(a.root_market_id, 788);
  EXPECT_EQ(a.market_title, "Team A");
  EXPECT_EQ(a.root_market_title, "Who wins the final?");
  EXPECT_EQ(a.side, db::Side::kBuy);
  EXPECT_EQ(a.outcome, db::Outcome::kYes);
  EXPECT_EQ(a.outcome_label, "YES");
  EXPECT_EQ(a.price, "0.62");
  EXPECT_EQ(a.shares, "16129.03");
  EXPECT_EQ(a.amount_usd, "10000");  // amount x 1, never the 1e18-scaled usdAmount
  EXPECT_EQ(a.fee_usd, "20");
  EXPECT_EQ(a.profit_usd, "0");
  EXPECT_EQ(a.traded_time, absl::FromUnixSeconds(1766735571));
  EXPECT_EQ(a.origin, db::Origin::kUnspecified);
  EXPECT_EQ(a.activity_id, db::MakeActivityId(a));
  EXPECT_THAT(a.activity_id, SizeIs(32));
}

struct TradeCase {
  std::string name;
  Edits edits;
  // Kept: a check on the trade. Skipped: a substring of the reason.
  std::function<void(const db::Activity&)> check;
  std::string reason;
};

void RunTradeCases(const std::vector<TradeCase>& cases) {
  for (const TradeCase& c : cases) {
    SCOPED_TRACE(c.name);
    // Each case sits between two good trades: the page keeps them whatever happens to it.
    ASSERT_OK_AND_ASSIGN(TradesPage page, Trades({Trade({{"txHash", Str("0x01")}}), Trade(c.edits),
                                                  Trade({{"txHash", Str("0x02")}})}));
    if (c.check) {
      ASSERT_THAT(page.trades, SizeIs(3));
      EXPECT_EQ(page.issues.skipped, 0) << absl::StrJoin(page.issues.reasons, "; ");
      c.check(page.trades[1]);
    } else {
      ASSERT_THAT(page.trades, SizeIs(2));
      EXPECT_EQ(page.trades[0].tx_hash, "0x01");
      EXPECT_EQ(page.trades[1].tx_hash, "0x02");
      EXPECT_EQ(page.issues.skipped, 1);
      ASSERT_THAT(page.issues.reasons, SizeIs(1));
      EXPECT_THAT(page.issues.reasons[0], HasSubstr(c.reason));
    }
  }
}

TEST(TradeDecodeTest, SideCasingAndKinds) {
  auto side_is = [](db::Side s) { return [s](const db::Activity& a) { EXPECT_EQ(a.side, s); }; };
  RunTradeCases({
      {"Buy", {{"side", Str("Buy")}}, side_is(db::Side::kBuy), ""},
      {"BUY", {{"side", Str("BUY")}}, side_is(db::Side::kBuy), ""},
      {"buy", {{"side", Str("buy")}}, side_is(db::Side::kBuy), ""},
      {"Sell", {{"side", Str("Sell")}}, side_is(db::Side::kSell), ""},
      {"SELL", {{"side", Str("SELL")}}, side_is(db::Side::kSell), ""},
      {"Merge", {{"side", Str("Merge")}}, side_is(db::Side::kMerge), ""},
      {"MERGE", {{"side", Str("MERGE")}}, side_is(db::Side::kMerge), ""},
      {"split", {{"side", Str("split")}}, side_is(db::Side::kSplit), ""},
      {"SPLIT", {{"side", Str("SPLIT")}}, side_is(db::Side::kSplit), ""},
      {"unknown side", {{"side", Str("Hold")}}, nullptr, "side: \"Hold\" is not Buy"},
      {"limit side", {{"side", Str("buy-limit")}}, nullptr, "side"},
      {"side missing", {{"side", std::nullopt}}, nullptr, "side: missing"},
      {"side null", {{"side", "null"}}, nullptr, "side: missing"},
      {"side a number", {{"side", "1"}}, nullptr, "side"},
      {"side an object", {{"side", "{}"}}, nullptr, "side: expected a string, got an object"},
  });
}

TEST(TradeDecodeTest, Outcomes) {
  auto outcome_is = [](db::Outcome o, std::string label) {
    return [o, label](const db::Activity& a) {
      EXPECT_EQ(a.outcome, o);
      EXPECT_EQ(a.outcome_label, label);
    };
  };
  RunTradeCases({
      {"outcomeSide 2",
       {{"outcomeSide", "2"}, {"outcome", Str("NO")}},
       outcome_is(db::Outcome::kNo, "NO"),
       ""},
      {"categorical label",
       {{"outcomeSide", "1"}, {"outcome", Str("$1B")}},
       outcome_is(db::Outcome::kYes, "$1B"),
       ""},
      {"outcomeSide as a string",
       {{"outcomeSide", Str("2")}},
       outcome_is(db::Outcome::kNo, "YES"),
       ""},
      {"only outcomeSideEnum",
       {{"outcomeSide", std::nullopt}, {"outcome", std::nullopt}, {"outcomeSideEnum", Str("No")}},
       outcome_is(db::Outcome::kNo, "No"),
       ""},
      {"only the outcome label",
       {{"outcomeSide", std::nullopt}, {"outcomeSideEnum", std::nullopt}, {"outcome", Str("yes")}},
       outcome_is(db::Outcome::kYes, "yes"),
       ""},
      {"outcomeSide 3", {{"outcomeSide", "3"}}, nullptr, "outcomeSide: 3 is not 1 (Yes) or 2"},
      {"no outcome at all",
       {{"outcomeSide", std::nullopt}, {"outcomeSideEnum", std::nullopt}, {"outcome", Str("$1B")}},
       nullptr,
       "outcomeSide: missing"},
      {"outcomeSide not a number", {{"outcomeSide", Str("one")}}, nullptr, "not an integer"},
  });
}

TEST(TradeDecodeTest, AmountsStayExactAndAreCheckedForRange) {
  auto usd_is = [](std::string usd) {
    return [usd](const db::Activity& a) { EXPECT_EQ(a.amount_usd, usd); };
  };
  RunTradeCases({
      {"18 decimals",
       {{"amount", Str("10.123456789012345678")}},
       usd_is("10.123456789012345678"),
       ""},
      {"amount as a JSON number", {{"amount", "10000.00"}}, usd_is("10000"), ""},
      {"amount with an exponent", {{"amount", "1.5e3"}}, usd_is("1500"), ""},
      {"a big amount as a JSON number (never a double)",
       {{"amount", "12345678901234567.123456789012345678"}},
       usd_is("12345678901234567.123456789012345678"),
       ""},
      {"quote token price", {{"quoteTokenUsdPrice", Str("0.998")}}, usd_is("9980"), ""},
      {"quote token price as a number", {{"quoteTokenUsdPrice", "1.0001"}}, usd_is("10001"), ""},
      {"quote token price missing", {{"quoteTokenUsdPrice", std::nullopt}}, usd_is("10000"), ""},
      {"quote token price empty", {{"quoteTokenUsdPrice", Str("")}}, usd_is("10000"), ""},
      {"product rounded half to even at 18 decimals (down)",
       {{"amount", Str("0.000000000000000001")}, {"quoteTokenUsdPrice", Str("0.5")}},
       usd_is("0"),
       ""},
      {"product rounded half to even at 18 decimals (up)",
       {{"amount", Str("1.000000000000000003")}, {"quoteTokenUsdPrice", Str("0.5")}},
       usd_is("0.500000000000000002"),
       ""},
      {"usdAmount is never used", {{"usdAmount", Str("1")}}, usd_is("10000"), ""},
      {"zero amount", {{"amount", Str("0")}}, usd_is("0"), ""},
      {"negative amount", {{"amount", Str("-5")}}, nullptr, "amount: -5 is negative"},
      {"amount not a number",
       {{"amount", Str("ten")}},
       nullptr,
       "amount: \"ten\" is not a decimal"},
      {"amount NaN", {{"amount", Str("NaN")}}, nullptr, "amount"},
      {"amount a boolean",
       {{"amount", "true"}},
       nullptr,
       "amount: expected a decimal, got a boolean"},
      {"amount missing", {{"amount", std::nullopt}}, nullptr, "amount: missing"},
      {"amount too large for the column",
       {{"amount", Str("123456789012345678901")}},
       nullptr,
       "out of range"},
      {"zero quote price",
       {{"quoteTokenUsdPrice", Str("0")}},
       nullptr,
       "quoteTokenUsdPrice: 0 is not positive"},
      {"negative quote price", {{"quoteTokenUsdPrice", Str("-1")}}, nullptr, "quoteTokenUsdPrice"},
  });
}

TEST(TradeDecodeTest, PriceSharesFeeProfit) {
  RunTradeCases({
      {"price as a number",
       {{"price", "0.444"}},
       [](const db::Activity& a) { EXPECT_EQ(a.price, "0.444"); },
       ""},
      {"price 1 (merge)",
       {{"price", Str("1.00")}, {"side", Str("Merge")}},
       [](const db::Activity& a) { EXPECT_EQ(a.price, "1"); },
       ""},
      {"price 0",
       {{"price", Str("0")}},
       [](const db::Activity& a) { EXPECT_EQ(a.price, "0"); },
       ""},
      {"price above 1", {{"price", Str("1.5")}}, nullptr, "price: 1.5 is not within 0..1"},
      {"negative price", {{"price", Str("-0.1")}}, nullptr, "price: -0.1 is not within 0..1"},
      {"price missing", {{"price", std::nullopt}}, nullptr, "price: missing"},
      {"price empty", {{"price", Str("")}}, nullptr, "price: missing"},
      {"shares negative", {{"shares", Str("-1")}}, nullptr, "shares: -1 is negative"},
      {"shares missing", {{"shares", std::nullopt}}, nullptr, "shares: missing"},
      {"fee as a raw integer number",
       {{"fee", "2"}},
       [](const db::Activity& a) { EXPECT_EQ(a.fee_usd, "2"); },
       ""},
      {"fee missing",
       {{"fee", std::nullopt}},
       [](const db::Activity& a) { EXPECT_EQ(a.fee_usd, "0"); },
       ""},
      {"fee negative", {{"fee", Str("-0.02")}}, nullptr, "fee: -0.02 is negative"},
      {"profit negative",
       {{"profit", Str("-12.50")}},
       [](const db::Activity& a) { EXPECT_EQ(a.profit_usd, "-12.5"); },
       ""},
      {"profit missing",
       {{"profit", std::nullopt}},
       [](const db::Activity& a) { EXPECT_EQ(a.profit_usd, "0"); },
       ""},
  });
}

TEST(TradeDecodeTest, IdsTimesAndText) {
  RunTradeCases({
      {"marketId as a string",
       {{"marketId", Str("16565")}},
       [](const db::Activity& a) { EXPECT_EQ(a.market_id, 16565); },
       ""},
      {"binary: no rootMarketId",
       {{"rootMarketId", std::nullopt}},
       [](const db::Activity& a) { EXPECT_EQ(a.root_market_id, 16565); },
       ""},
      {"createdAt as a string",
       {{"createdAt", Str("1766735571")}},
       [](const db::Activity& a) { EXPECT_EQ(a.traded_time, absl::FromUnixSeconds(1766735571)); },
       ""},
      {"createdAt in milliseconds",
       {{"createdAt", "1766735571250"}},
       [](const db::Activity& a) { EXPECT_EQ(a.traded_time, absl::FromUnixMillis(1766735571250)); },
       ""},
      {"status missing",
       {{"status", std::nullopt}},
       [](const db::Activity& a) { EXPECT_EQ(a.side, db::Side::kBuy); },
       ""},
      {"titles missing",
       {{"marketTitle", std::nullopt}, {"rootMarketTitle", "null"}},
       [](const db::Activity& a) { EXPECT_EQ(a.market_title, ""); },
       ""},
      {"unicode title",
       {{"marketTitle", Str("Équipe \\u00e9 \xe2\x82\xac")}},
       [](const db::Activity& a) { EXPECT_EQ(a.market_title, "Équipe é €"); },
       ""},
      {"marketId missing", {{"marketId", std::nullopt}}, nullptr, "marketId: missing"},
      {"marketId an object", {{"marketId", "{}"}}, nullptr, "marketId: expected an integer"},
      {"marketId fractional",
       {{"marketId", "12.5"}},
       nullptr,
       "marketId: \"12.5\" is not an integer"},
      {"marketId beyond int64", {{"marketId", "99999999999999999999"}}, nullptr, "marketId"},
      {"txHash missing", {{"txHash", std::nullopt}}, nullptr, "txHash: missing"},
      {"txHash empty", {{"txHash", Str("")}}, nullptr, "txHash: empty"},
      {"txHash overlong",
       {{"txHash", Str(absl::StrCat("0x", std::string(70, 'a')))}},
       nullptr,
       "tx_hash"},
      {"createdAt missing", {{"createdAt", std::nullopt}}, nullptr, "createdAt: missing"},
      {"createdAt zero", {{"createdAt", "0"}}, nullptr, "createdAt: missing or zero"},
      {"createdAt negative", {{"createdAt", "-5"}}, nullptr, "createdAt: -5 is before 1970"},
      {"createdAt a word", {{"createdAt", Str("yesterday")}}, nullptr, "createdAt"},
      {"title longer than its column",
       {{"marketTitle", Str(std::string(1025, 't'))}},
       nullptr,
       "market_title"},
      {"outcome label longer than its column",
       {{"outcome", Str(std::string(256, 'o'))}},
       nullptr,
       "outcome_label"},
      {"bad UTF-8 in a title",
       {{"rootMarketTitle", Str("bad \xff\xfe bytes")}},
       nullptr,
       "root_market_title"},
      {"not filled", {{"status", "3"}}, nullptr, "status: 3 is not 2 (Filled)"},
  });
}

TEST(TradeDecodeTest, ARecordThatIsNotAnObjectIsSkipped) {
  ASSERT_OK_AND_ASSIGN(TradesPage page, Trades({"42", Trade(), "null", "[]"}));
  EXPECT_THAT(page.trades, SizeIs(1));
  EXPECT_EQ(page.issues.skipped, 3);
  EXPECT_THAT(page.issues.reasons[0], HasSubstr("trade record 0: expected an object"));
}

TEST(TradeDecodeTest, NewestFirstOrderIsKeptAndReasonsAreBounded) {
  std::vector<std::string> items;
  for (int i = 0; i < 30; ++i) items.push_back(Trade({{"side", Str("Hold")}}));
  for (int i = 0; i < 5; ++i) {
    items.push_back(Trade(
        {{"txHash", Str(absl::StrCat("0x", i))}, {"createdAt", absl::StrCat(1766735571 - i)}}));
  }
  ASSERT_OK_AND_ASSIGN(TradesPage page, Trades(items));
  EXPECT_EQ(page.issues.skipped, 30);
  EXPECT_THAT(page.issues.reasons, SizeIs(DecodeIssues::kMaxReasons));
  ASSERT_THAT(page.trades, SizeIs(5));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(page.trades[i].tx_hash, absl::StrCat("0x", i));
}

TEST(TradeDecodeTest, AMalformedWalletIsInvalidArgument) {
  EXPECT_THAT(DecodeTradeListBody(List({Trade()}), "0x123"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wallet")));
}

// ---------------------------------------------------------------------------------------------
// Markets.

TEST(MarketDecodeTest, TheDocumentedBinaryExample) {
  ASSERT_OK_AND_ASSIGN(MarketsPage page, DecodeMarketListBody(List({Market()}, 137)));
  EXPECT_EQ(page.total, 137);
  ASSERT_THAT(page.markets, SizeIs(1));
  const db::Market& m = page.markets[0];
  EXPECT_EQ(m.market_id, 901);
  EXPECT_EQ(m.parent_market_id, 0);
  EXPECT_EQ(m.title, "Will BNB trade above $1,000 on Dec 31?");
  EXPECT_EQ(m.status, db::MarketStatus::kActivated);
  EXPECT_EQ(m.market_type, db::MarketType::kBinary);
  EXPECT_EQ(m.yes_label, "Yes");
  EXPECT_EQ(m.no_label, "No");
  EXPECT_EQ(m.yes_token_id, kYesToken);  // 76 digits, exact
  EXPECT_EQ(m.no_token_id, kNoToken);
  EXPECT_EQ(m.condition_id, "9f1c2e3d4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0");
  EXPECT_EQ(m.result_token_id, "");
  EXPECT_EQ(m.volume, "250000");
  EXPECT_EQ(m.volume_24h, "18000.5");
  EXPECT_EQ(m.volume_7d, "90000");
  EXPECT_EQ(m.slug, "bnb-above-1000-dec-31");
  EXPECT_EQ(m.rules, "Resolves YES if ...");
  EXPECT_THAT(m.labels, ElementsAre("Crypto"));
  EXPECT_EQ(m.created_time, absl::FromUnixSeconds(1764547200));
  EXPECT_EQ(m.cutoff_time, absl::FromUnixSeconds(1767139200));
  EXPECT_EQ(m.resolved_time, absl::InfinitePast());  // 0 = unset
  EXPECT_THAT(page.categorical_without_children, IsEmpty());
}

TEST(MarketDecodeTest, CategoricalChildrenAreFlattenedAfterTheirParent) {
  ASSERT_OK_AND_ASSIGN(
      MarketsPage page,
      DecodeMarketListBody(List({Parent({Child(), Child({{"marketId", "16566"}})}), Market()})));
  EXPECT_EQ(page.total, 2);  // top-level rows
  ASSERT_THAT(page.markets, SizeIs(4));
  EXPECT_EQ(page.markets[0].market_id, 788);
  EXPECT_EQ(page.markets[0].market_type, db::MarketType::kCategorical);
  EXPECT_EQ(page.markets[0].yes_token_id, "");  // parents cannot be traded
  EXPECT_EQ(page.markets[0].parent_market_id, 0);
  for (int i : {1, 2}) {
    EXPECT_EQ(page.markets[i].parent_market_id, 788);
    EXPECT_EQ(page.markets[i].market_type, db::MarketType::kBinary);
    EXPECT_EQ(page.markets[i].volume_24h, "0");  // children have no rolling volumes
    EXPECT_EQ(page.markets[i].yes_token_id, kYesToken);
    EXPECT_EQ(page.markets[i].cutoff_time, absl::InfinitePast());
  }
  EXPECT_EQ(page.markets[1].market_id, 16565);
  EXPECT_EQ(page.markets[2].market_id, 16566);
  EXPECT_EQ(page.markets[3].market_id, 901);
}

TEST(MarketDecodeTest, ACategoricalRowWithoutChildrenIsReportedForE3) {
  ASSERT_OK_AND_ASSIGN(MarketsPage page,
                       DecodeMarketListBody(List({Parent({}, {{"childMarkets", std::nullopt}}),
                                                  Parent({}, {{"marketId", "789"}})})));
  ASSERT_THAT(page.markets, SizeIs(2));
  EXPECT_THAT(page.categorical_without_children, ElementsAre(788, 789));
}

TEST(MarketDecodeTest, ABadParentTakesItsChildrenAlongABadChildOnlyItself) {
  ASSERT_OK_AND_ASSIGN(
      MarketsPage bad_parent,
      DecodeMarketListBody(List({Parent({Child(), Child()}, {{"status", "99"}}), Market()})));
  ASSERT_THAT(bad_parent.markets, SizeIs(1));
  EXPECT_EQ(bad_parent.markets[0].market_id, 901);
  EXPECT_EQ(bad_parent.issues.skipped, 3);
  EXPECT_THAT(bad_parent.issues.reasons[0], HasSubstr("market 788: status: 99 is not 1..6"));
  EXPECT_THAT(bad_parent.issues.reasons[1], HasSubstr("2 child markets are skipped"));

  ASSERT_OK_AND_ASSIGN(MarketsPage bad_child,
                       DecodeMarketListBody(List({Parent({Child({{"yesTokenId", Str("0x1234")}}),
                                                          Child({{"marketId", "16566"}})})})));
  ASSERT_THAT(bad_child.markets, SizeIs(2));
  EXPECT_EQ(bad_child.markets[1].market_id, 16566);
  EXPECT_EQ(bad_child.issues.skipped, 1);
  EXPECT_THAT(bad_child.issues.reasons[0], HasSubstr("yes_token_id"));
}

struct MarketCase {
  std::string name;
  Edits edits;
  std::function<void(const db::Market&)> check;  // kept; else skipped with `reason`
  std::string reason;
};

TEST(MarketDecodeTest, FieldsTypesAndLimits) {
  const std::string digits78(78, '9');
  const std::vector<MarketCase> cases = {
      {"marketId as a string",
       {{"marketId", Str("901")}},
       [](const db::Market& m) { EXPECT_EQ(m.market_id, 901); },
       ""},
      {"statusEnum only",
       {{"status", std::nullopt}, {"statusEnum", Str("Resolved")}},
       [](const db::Market& m) { EXPECT_EQ(m.status, db::MarketStatus::kResolved); },
       ""},
      {"status missing",
       {{"status", std::nullopt}, {"statusEnum", std::nullopt}},
       [](const db::Market& m) { EXPECT_EQ(m.status, db::MarketStatus::kUnspecified); },
       ""},
      {"every status number",
       {{"status", "6"}},
       [](const db::Market& m) { EXPECT_EQ(m.status, db::MarketStatus::kDeleted); },
       ""},
      {"marketType missing",
       {{"marketType", std::nullopt}},
       [](const db::Market& m) { EXPECT_EQ(m.market_type, db::MarketType::kBinary); },
       ""},
      {"a 78-digit token id",
       {{"yesTokenId", Str(digits78)}},
       [&](const db::Market& m) { EXPECT_EQ(m.yes_token_id, digits78); },
       ""},
      {"a token id as a JSON number keeps its digits",
       {{"noTokenId", kNoToken}},
       [](const db::Market& m) { EXPECT_EQ(m.no_token_id, kNoToken); },
       ""},
      {"volumes as numbers",
       {{"volume", "250000.00"}, {"volume24h", "1e2"}},
       [](const db::Market& m) {
         EXPECT_EQ(m.volume, "250000");
         EXPECT_EQ(m.volume_24h, "100");
       },
       ""},
      {"volumes missing",
       {{"volume", std::nullopt}, {"volume7d", std::nullopt}},
       [](const db::Market& m) {
         EXPECT_EQ(m.volume, "0");
         EXPECT_EQ(m.volume_7d, "0");
       },
       ""},
      {"18-decimal volume",
       {{"volume", Str("0.000000000000000001")}},
       [](const db::Market& m) { EXPECT_EQ(m.volume, "0.000000000000000001"); },
       ""},
      {"resolved",
       {{"status", "4"}, {"resolvedAt", "1767139300"}, {"resultTokenId", Str(kYesToken)}},
       [](const db::Market& m) {
         EXPECT_EQ(m.resolved_time, absl::FromUnixSeconds(1767139300));
         EXPECT_EQ(m.result_token_id, kYesToken);
       },
       ""},
      {"no cutoff",
       {{"cutoffAt", "0"}},
       [](const db::Market& m) { EXPECT_EQ(m.cutoff_time, absl::InfinitePast()); },
       ""},
      {"createdAt missing",
       {{"createdAt", std::nullopt}},
       [](const db::Market& m) { EXPECT_EQ(m.created_time, absl::InfinitePast()); },
       ""},
      {"extra unknown fields",
       {{"somethingNew", "{\"a\":[1,2,{}]}"}},
       [](const db::Market& m) { EXPECT_EQ(m.market_id, 901); },
       ""},
      {"labels null",
       {{"labels", "null"}},
       [](const db::Market& m) { EXPECT_THAT(m.labels, IsEmpty()); },
       ""},
      {"marketId missing", {{"marketId", std::nullopt}}, nullptr, "marketId: missing"},
      {"marketId zero", {{"marketId", "0"}}, nullptr, "marketId: missing or not positive"},
      {"marketId a boolean", {{"marketId", "true"}}, nullptr, "expected an integer, got a boolean"},
      {"unknown status", {{"status", "9"}}, nullptr, "status: 9 is not 1..6"},
      {"unknown statusEnum",
       {{"status", std::nullopt}, {"statusEnum", Str("Paused")}},
       nullptr,
       "statusEnum"},
      {"unknown marketType", {{"marketType", "5"}}, nullptr, "marketType: 5"},
      {"a 79-digit token id", {{"yesTokenId", Str(digits78 + "9")}}, nullptr, "yes_token_id"},
      {"a hex token id", {{"noTokenId", Str("0x1234")}}, nullptr, "no_token_id"},
      {"negative volume", {{"volume", Str("-1")}}, nullptr, "volume: -1 is negative"},
      {"volume not a number", {{"volume24h", Str("lots")}}, nullptr, "volume24h"},
      {"volume an array", {{"volume7d", "[]"}}, nullptr, "volume7d: expected a decimal"},
      {"title longer than its column",
       {{"marketTitle", Str(std::string(1025, 'x'))}},
       nullptr,
       "title"},
      {"label longer than its column",
       {{"yesLabel", Str(std::string(256, 'y'))}},
       nullptr,
       "yes_label"},
      {"slug longer than its column", {{"slug", Str(std::string(513, 's'))}}, nullptr, "slug"},
      {"condition id longer than its column",
       {{"conditionId", Str(std::string(67, 'c'))}},
       nullptr,
       "condition_id"},
      {"bad UTF-8 title", {{"marketTitle", Str("\xc3\x28")}}, nullptr, "title"},
      {"labels not an array", {{"labels", Str("Crypto")}}, nullptr, "labels: expected an array"},
      {"a label that is an object", {{"labels", "[{}]"}}, nullptr, "labels"},
      {"childMarkets not an array", {{"childMarkets", "{}"}}, nullptr, "childMarkets"},
      {"title an object", {{"marketTitle", "{}"}}, nullptr, "marketTitle: expected a string"},
  };
  for (const MarketCase& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_OK_AND_ASSIGN(MarketsPage page,
                         DecodeMarketListBody(List({Market({{"marketId", "1"}}), Market(c.edits),
                                                    Market({{"marketId", "2"}})})));
    if (c.check) {
      ASSERT_THAT(page.markets, SizeIs(3));
      EXPECT_EQ(page.issues.skipped, 0) << absl::StrJoin(page.issues.reasons, "; ");
      c.check(page.markets[1]);
    } else {
      ASSERT_THAT(page.markets, SizeIs(2));
      EXPECT_EQ(page.markets[0].market_id, 1);
      EXPECT_EQ(page.markets[1].market_id, 2);
      EXPECT_EQ(page.issues.skipped, 1);
      ASSERT_THAT(page.issues.reasons, SizeIs(1));
      EXPECT_THAT(page.issues.reasons[0], HasSubstr(c.reason));
    }
  }
}

TEST(MarketDecodeTest, DetailResultHoldsTheMarketInData) {
  ASSERT_OK_AND_ASSIGN(MarketsPage page, DecodeMarketDetailBody(absl::StrCat(
                                             R"({"errno":0,"errmsg":"","result":{"data":)",
                                             Parent({Child()}), "}}")));
  ASSERT_THAT(page.markets, SizeIs(2));
  EXPECT_EQ(page.markets[0].market_id, 788);
  EXPECT_EQ(page.markets[1].parent_market_id, 788);
  EXPECT_THAT(DecodeMarketDetailBody(R"({"errno":0,"result":{}})"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("result.data")));
  EXPECT_THAT(
      DecodeMarketDetailBody(R"({"errno":10404,"errmsg":"market not found","result":null})"),
      StatusIs(absl::StatusCode::kNotFound));
}

// ---------------------------------------------------------------------------------------------
// Quote tokens.

TEST(QuoteTokenDecodeTest, DocumentedFieldsAndAnOptionalUsdPrice) {
  const std::string body = absl::StrCat(
      R"({"errno":0,"errmsg":"","result":{"total":3,"list":[)",
      R"({"id":1,"quoteTokenName":"Tether USD","quoteTokenAddress":"0x55d398326f99059fF775485246999027B3197955",)",
      R"("ctfExchangeAddress":"0xabc","decimal":18,"symbol":"USDT","chainId":"56","createdAt":1700000000},)",
      R"({"id":2,"quoteTokenName":"X","quoteTokenAddress":"0x01","decimal":6,"usdPrice":"0.9990"},)",
      R"({"id":3,"quoteTokenName":"Broken","decimal":6}]}})");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Envelope> e, Envelope::Parse(body));
  int64_t total = 0;
  DecodeIssues issues;
  ASSERT_OK_AND_ASSIGN(std::vector<QuoteToken> tokens,
                       DecodeQuoteTokenList(e->result(), &total, &issues));
  EXPECT_EQ(total, 3);
  ASSERT_THAT(tokens, SizeIs(2));
  EXPECT_EQ(tokens[0].symbol, "USDT");
  EXPECT_EQ(tokens[0].decimals, 18);
  EXPECT_EQ(tokens[0].address, "0x55d398326f99059fF775485246999027B3197955");
  EXPECT_EQ(tokens[0].usd_price, "1");
  EXPECT_FALSE(tokens[0].usd_price_known);
  EXPECT_EQ(tokens[1].usd_price, "0.999");
  EXPECT_TRUE(tokens[1].usd_price_known);
  EXPECT_EQ(issues.skipped, 1);
  EXPECT_THAT(issues.reasons[0], HasSubstr("quoteTokenAddress: missing"));
}

// ---------------------------------------------------------------------------------------------
// Exact decimals.

TEST(ExactDecimalTest, ParsesWithoutRounding) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0", "0"},
      {"-0", "0"},
      {"+1.50", "1.5"},
      {"000123.4500", "123.45"},
      {".5", "0.5"},
      {"5.", "5"},
      {"1e3", "1000"},
      {"1.5E-3", "0.0015"},
      {"-2e+2", "-200"},
      {"0.1e1", "1"},
      {"123456789012345678901234567890.000000000000000000001",
       "123456789012345678901234567890.000000000000000000001"},
  };
  for (const auto& [in, out] : cases) {
    absl::StatusOr<std::string> parsed = ParseExactDecimal(in, "f");
    ASSERT_OK(parsed.status()) << in;
    EXPECT_EQ(*parsed, out) << in;
  }
  for (const char* bad : {"", "-", ".", "e5", "1e", "1e5000", "abc", "1.2.3", "1,5", " 1", "0x10",
                          "Infinity", "NaN", "--1"}) {
    EXPECT_THAT(ParseExactDecimal(bad, "amount"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount")))
        << bad;
  }
}

TEST(ExactDecimalTest, MultipliesExactlyAndRoundsHalfToEvenAt18Places) {
  EXPECT_EQ(MultiplyDecimals("10000", "1"), "10000");
  EXPECT_EQ(MultiplyDecimals("10.25", "0.998"), "10.2295");
  EXPECT_EQ(MultiplyDecimals("-3", "0.5"), "-1.5");
  EXPECT_EQ(MultiplyDecimals("0", "123.45"), "0");
  EXPECT_EQ(MultiplyDecimals("99999999999999999999.999999999999999999", "1"),
            "99999999999999999999.999999999999999999");
  EXPECT_EQ(MultiplyDecimals("0.000000000000000001", "0.5"), "0");                     // tie, even
  EXPECT_EQ(MultiplyDecimals("0.000000000000000003", "0.5"), "0.000000000000000002");  // tie, odd
  EXPECT_EQ(MultiplyDecimals("0.000000000000000001", "0.51"), "0.000000000000000001");
  EXPECT_EQ(MultiplyDecimals("0.999999999999999999", "0.999999999999999999"),
            "0.999999999999999998");
  EXPECT_EQ(MultiplyDecimals("0.9999999999999999995", "1"), "1");  // carry through every digit
}

TEST(ExactDecimalTest, Compares) {
  EXPECT_EQ(CompareDecimals("1", "1"), 0);
  EXPECT_EQ(CompareDecimals("0.99", "1"), -1);
  EXPECT_EQ(CompareDecimals("1.0001", "1"), 1);
  EXPECT_EQ(CompareDecimals("-2", "-10"), 1);
  EXPECT_EQ(CompareDecimals("-0.5", "0"), -1);
  EXPECT_EQ(CompareDecimals("123", "45.678"), 1);
  EXPECT_EQ(DecimalSign("0"), 0);
  EXPECT_EQ(DecimalSign("-0.1"), -1);
}

}  // namespace
}  // namespace whalefeed::sync
