// The filter language: what parses (every field with every operator it allows), what it means in
// memory, its canonical text, and the corpus of filters that must be refused with a message that
// names the problem.
#include "db/filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/db/allocation_counter.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::db {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::whalefeed::testing::StatusIs;

const std::string kWallet = "0x" + std::string(40, 'a');
const std::string kOtherWallet = "0x" + std::string(40, 'b');
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

Filter MustParse(FilterSchema schema, absl::string_view text) {
  absl::StatusOr<Filter> filter = ParseFilter(schema, text);
  EXPECT_TRUE(filter.ok()) << text << ": " << filter.status();
  return filter.ok() ? *std::move(filter) : Filter(schema);
}

Activity SampleActivity() {
  Activity a;
  a.sequence = 42;
  a.wallet = kWallet;
  a.market_id = 16565;
  a.root_market_id = 788;
  a.side = Side::kBuy;
  a.outcome = Outcome::kYes;
  a.amount_usd = "10000";
  a.traded_time = kT0;
  a.ingested_time = kT0 + absl::Seconds(30);
  a.origin = Origin::kLive;
  return a;
}

Market SampleMarket() {
  Market m;
  m.market_id = 788;
  m.title = "Will BTC close above $100k?";
  m.status = MarketStatus::kActivated;
  m.market_type = MarketType::kBinary;
  m.labels = {"Crypto", "Bitcoin"};
  m.volume = "12345.6789";
  m.volume_24h = "100";
  m.volume_7d = "700.5";
  m.created_time = kT0 - absl::Hours(24);
  m.cutoff_time = kT0 + absl::Hours(24);
  return m;
}

Whale SampleWhale() {
  Whale w;
  w.wallet = kWallet;
  w.label = "Big Fish";
  w.tracked = true;
  return w;
}

bool ActivityMatches(absl::string_view text, const Activity& a = SampleActivity()) {
  return MatchesActivity(MustParse(FilterSchema::kActivity, text), a);
}
bool MarketMatches(absl::string_view text, const Market& m = SampleMarket()) {
  return MatchesMarket(MustParse(FilterSchema::kMarket, text), m, "2500.5");
}
bool WhaleMatches(absl::string_view text) {
  return MatchesWhale(MustParse(FilterSchema::kWhale, text), SampleWhale(),
                      WhaleFilterStats{"50000.25", 17});
}

// ---------------------------------------------------------------------------------------------
// Every field with every operator it allows, evaluated against a sample row.

struct Case {
  std::string text;
  bool matches;
};

TEST(FilterTest, ActivityFieldsAndOperators) {
  const std::vector<Case> cases = {
      {"sequence = 42", true},
      {"sequence != 42", false},
      {"sequence < 42", false},
      {"sequence <= 42", true},
      {"sequence > 41", true},
      {"sequence >= 43", false},
      {"sequence < 18446744073709551615", true},
      {absl::StrCat("wallet = \"", kWallet, "\""), true},
      {absl::StrCat("wallet != \"", kWallet, "\""), false},
      {absl::StrCat("wallet = \"0x", std::string(40, 'A'), "\""), true},
      {absl::StrCat("wallet = \"", kOtherWallet, "\""), false},
      {"market_id = 16565", true},
      {"market_id != 16565", false},
      {"market_id < 16566", true},
      {"market_id <= 16564", false},
      {"market_id > -1", true},
      {"market_id >= 16565", true},
      {"root_market_id = 788", true},
      {"root_market_id != 788", false},
      {"root_market_id < 788", false},
      {"root_market_id <= 788", true},
      {"root_market_id > 787", true},
      {"root_market_id >= 789", false},
      {"side = BUY", true},
      {"side != BUY", true == false},
      {"side = SELL", false},
      {"side != SELL", true},
      {"outcome = YES", true},
      {"outcome != YES", false},
      {"outcome = NO", false},
      {"amount_usd = 10000", true},
      {"amount_usd = 10000.00", true},
      {"amount_usd = 0010000.000", true},
      {"amount_usd != 10000.0", false},
      {"amount_usd < 10000.000000000000000001", true},
      {"amount_usd <= 9999.999999999999999999", false},
      {"amount_usd > 9999.99", true},
      {"amount_usd >= 10000", true},
      {"amount_usd > -5", true},
      {"amount_usd > .5", true},
      {"traded_time = \"2026-01-01T00:00:00Z\"", true},
      {"traded_time = \"2026-01-01T01:00:00+01:00\"", true},
      {"traded_time != \"2026-01-01T00:00:00Z\"", false},
      {"traded_time < \"2026-01-01T00:00:00.000001Z\"", true},
      {"traded_time <= \"2025-12-31T23:59:59.999999Z\"", false},
      {"traded_time > \"2025-12-31T23:59:59Z\"", true},
      {"traded_time >= \"2026-01-01T00:00:00Z\"", true},
      {"ingested_time = \"2026-01-01T00:00:30Z\"", true},
      {"ingested_time != \"2026-01-01T00:00:30Z\"", false},
      {"ingested_time < \"2026-01-01T00:00:30Z\"", false},
      {"ingested_time <= \"2026-01-01T00:00:30Z\"", true},
      {"ingested_time > \"2026-01-01T00:00:29Z\"", true},
      {"ingested_time >= \"2026-01-01T00:00:31Z\"", false},
      {"origin = LIVE", true},
      {"origin != LIVE", false},
      {"origin = BACKFILL", false},
  };
  for (const Case& c : cases) EXPECT_EQ(ActivityMatches(c.text), c.matches) << c.text;
}

TEST(FilterTest, MarketFieldsAndOperators) {
  const std::vector<Case> cases = {
      {"market_id = 788", true},
      {"market_id != 788", false},
      {"market_id < 788", false},
      {"market_id <= 788", true},
      {"market_id > 0", true},
      {"market_id >= 789", false},
      {"status = ACTIVATED", true},
      {"status != ACTIVATED", false},
      {"status = RESOLVED", false},
      {"market_type = BINARY", true},
      {"market_type != BINARY", false},
      {"market_type = CATEGORICAL", false},
      {"label = \"Crypto\"", true},
      {"label = \"Bitcoin\"", true},
      {"label = \"crypto\"", false},  // = is exact
      {"label = \"Crypto \"", false},
      {"label:\"crypto\"", true},  // : is a case-insensitive substring
      {"label : \"COIN\"", true},
      {"label:\"sports\"", false},
      {"title = \"Will BTC close above $100k?\"", true},
      {"title = \"will btc close above $100k?\"", false},
      {"title != \"Will BTC close above $100k?\"", false},
      {"title:\"btc\"", true},
      {"title:\"$100K\"", true},
      {"title:\"\"", true},
      {"title:\"eth\"", false},
      {"volume = 12345.6789", true},
      {"volume != 12345.67890", false},
      {"volume < 12345.679", true},
      {"volume <= 12345.6788", false},
      {"volume > 12345", true},
      {"volume >= 12346", false},
      {"volume_24h = 100", true},
      {"volume_24h != 100", false},
      {"volume_24h < 100", false},
      {"volume_24h <= 100", true},
      {"volume_24h > 99.9", true},
      {"volume_24h >= 100.1", false},
      {"volume_7d = 700.5", true},
      {"volume_7d != 700.5", false},
      {"volume_7d < 701", true},
      {"volume_7d <= 700", false},
      {"volume_7d > 700", true},
      {"volume_7d >= 700.50", true},
      {"whale_volume_24h = 2500.5", true},
      {"whale_volume_24h != 2500.5", false},
      {"whale_volume_24h < 2500.5", false},
      {"whale_volume_24h <= 2500.5", true},
      {"whale_volume_24h > 2500", true},
      {"whale_volume_24h >= 2501", false},
      {"created_time = \"2025-12-31T00:00:00Z\"", true},
      {"created_time != \"2025-12-31T00:00:00Z\"", false},
      {"created_time < \"2026-01-01T00:00:00Z\"", true},
      {"created_time <= \"2025-12-30T00:00:00Z\"", false},
      {"created_time > \"2025-01-01T00:00:00Z\"", true},
      {"created_time >= \"2026-01-01T00:00:00Z\"", false},
      {"cutoff_time = \"2026-01-02T00:00:00Z\"", true},
      {"cutoff_time != \"2026-01-02T00:00:00Z\"", false},
      {"cutoff_time < \"2026-01-02T00:00:00Z\"", false},
      {"cutoff_time <= \"2026-01-02T00:00:00Z\"", true},
      {"cutoff_time > \"2026-01-01T00:00:00Z\"", true},
      {"cutoff_time >= \"2026-01-03T00:00:00Z\"", false},
  };
  for (const Case& c : cases) EXPECT_EQ(MarketMatches(c.text), c.matches) << c.text;
}

TEST(FilterTest, WhaleFieldsAndOperators) {
  const std::vector<Case> cases = {
      {"tracked = true", true},         {"tracked = FALSE", false},
      {"tracked != true", false},       {"label = \"Big Fish\"", true},
      {"label = \"big fish\"", false},  {"label != \"Big Fish\"", false},
      {"label:\"FISH\"", true},         {"label:\"shark\"", false},
      {"volume_usd = 50000.25", true},  {"volume_usd != 50000.25", false},
      {"volume_usd < 50000.25", false}, {"volume_usd <= 50000.25", true},
      {"volume_usd > 50000", true},     {"volume_usd >= 50001", false},
      {"trade_count = 17", true},       {"trade_count != 17", false},
      {"trade_count < 17", false},      {"trade_count <= 17", true},
      {"trade_count > 16", true},       {"trade_count >= 18", false},
  };
  for (const Case& c : cases) EXPECT_EQ(WhaleMatches(c.text), c.matches) << c.text;
}

TEST(FilterTest, EnumValuesAreSpelledAnyCaseWithOrWithoutPrefixBareOrQuoted) {
  for (const char* text : {"side = BUY", "side = buy", "side = \"sell\" OR side = Buy",
                           "side = SIDE_BUY", "side = \"side_buy\"", "side = Side_Buy"}) {
    EXPECT_TRUE(ActivityMatches(text)) << text;
  }
  EXPECT_EQ(MustParse(FilterSchema::kActivity, "side = \"buy\"").Canonical(), "side = SIDE_BUY");
  EXPECT_EQ(MustParse(FilterSchema::kMarket, "status = resolving").Canonical(),
            "status = MARKET_STATUS_RESOLVING");
  EXPECT_EQ(
      MustParse(FilterSchema::kMarket, "market_type = \"MARKET_TYPE_categorical\"").Canonical(),
      "market_type = MARKET_TYPE_CATEGORICAL");
  EXPECT_EQ(
      MustParse(FilterSchema::kActivity, "origin = backfill AND outcome = \"no\"").Canonical(),
      "origin = ORIGIN_BACKFILL AND outcome = OUTCOME_NO");
  Activity merge = SampleActivity();
  merge.side = Side::kMerge;
  EXPECT_TRUE(ActivityMatches("side = MERGE", merge));
  merge.side = Side::kSplit;
  EXPECT_TRUE(ActivityMatches("side = split", merge));
}

TEST(FilterTest, NotMinusAndNesting) {
  EXPECT_FALSE(ActivityMatches("NOT side = BUY"));
  EXPECT_FALSE(ActivityMatches("-side = BUY"));
  EXPECT_TRUE(ActivityMatches("not side = SELL"));
  EXPECT_TRUE(ActivityMatches("NOT NOT side = BUY"));
  EXPECT_FALSE(ActivityMatches("-(side = BUY OR side = SELL)"));
  EXPECT_TRUE(ActivityMatches("NOT (side = SELL AND amount_usd > 0)"));
  EXPECT_TRUE(ActivityMatches(absl::StrCat(
      "wallet = \"", kWallet, "\" AND amount_usd >= 10000 AND (side = BUY OR side = SELL)")));
  EXPECT_FALSE(ActivityMatches("amount_usd >= 10000 AND (side = SELL OR side = MERGE)"));
  EXPECT_TRUE(
      ActivityMatches("(side = SELL AND amount_usd > 0) OR (market_id = 16565 AND outcome = YES)"));
  EXPECT_TRUE(ActivityMatches("((((side = BUY))))"));
  EXPECT_TRUE(ActivityMatches("side = BUY and outcome = YES"));  // keywords in any case
  EXPECT_FALSE(ActivityMatches("side = SELL or outcome = NO"));
  // Negative numbers are values, not NOT.
  EXPECT_TRUE(ActivityMatches("market_id != -16565 AND market_id>-1"));
}

TEST(FilterTest, EmptyAndWhitespaceFiltersMatchEverything) {
  for (const char* text : {"", " ", "\t\n  "}) {
    Filter f = MustParse(FilterSchema::kActivity, text);
    EXPECT_TRUE(f.empty());
    EXPECT_EQ(f.Canonical(), "");
    EXPECT_TRUE(MatchesActivity(f, SampleActivity()));
  }
  EXPECT_TRUE(MatchesMarket(MustParse(FilterSchema::kMarket, ""), SampleMarket(), ""));
  EXPECT_TRUE(MatchesWhale(MustParse(FilterSchema::kWhale, " "), SampleWhale(), {}));
}

TEST(FilterTest, AFilterOfAnotherSchemaMatchesNothing) {
  EXPECT_FALSE(
      MatchesActivity(MustParse(FilterSchema::kMarket, "market_id = 16565"), SampleActivity()));
  EXPECT_FALSE(MatchesActivity(Filter(FilterSchema::kWhale), SampleActivity()));
  EXPECT_FALSE(
      MatchesMarket(MustParse(FilterSchema::kActivity, "market_id = 788"), SampleMarket(), ""));
  EXPECT_FALSE(MatchesWhale(MustParse(FilterSchema::kMarket, ""), SampleWhale(), {}));
}

TEST(FilterTest, UnsetTimesMatchNoRestrictionSoNotOfOneMatches) {
  Market m = SampleMarket();
  m.cutoff_time = absl::InfinitePast();
  for (const char* op : {"=", "!=", "<", "<=", ">", ">="}) {
    const std::string text = absl::StrCat("cutoff_time ", op, " \"2026-01-01T00:00:00Z\"");
    EXPECT_FALSE(MarketMatches(text, m)) << text;
    EXPECT_TRUE(MarketMatches(absl::StrCat("NOT ", text), m)) << text;
  }
}

TEST(FilterTest, EmptyDecimalsCountAsZeroAndBadOnesMatchNothing) {
  Filter f = MustParse(FilterSchema::kMarket, "whale_volume_24h = 0");
  EXPECT_TRUE(MatchesMarket(f, SampleMarket(), ""));
  EXPECT_FALSE(MatchesMarket(f, SampleMarket(), "abc"));
  Filter w = MustParse(FilterSchema::kWhale, "volume_usd >= 0");
  EXPECT_TRUE(MatchesWhale(w, SampleWhale(), {"", 0}));
  EXPECT_FALSE(MatchesWhale(w, SampleWhale(), {"1e5", 0}));
}

TEST(FilterTest, SubstringMatchesFoldCaseBeyondAscii) {
  Market m = SampleMarket();
  m.title = "ÉLECTIONS présidentielles — ΑΘΗΝΑ, Москва, Łódź";
  EXPECT_TRUE(MarketMatches("title:\"élections\"", m));
  EXPECT_TRUE(MarketMatches("title:\"PRÉSIDENTIELLES\"", m));
  EXPECT_TRUE(MarketMatches("title:\"αθηνα\"", m));
  EXPECT_TRUE(MarketMatches("title:\"МОСКВА\"", m));
  EXPECT_TRUE(MarketMatches("title:\"łÓDŹ\"", m));
  EXPECT_FALSE(MarketMatches("title:\"elections\"", m));  // accents are not folded
  EXPECT_TRUE(MarketMatches("title:\"— Α\"", m));
}

TEST(FilterTest, StringEscapes) {
  Market m = SampleMarket();
  m.title = R"(He said "yes" \ no)";
  EXPECT_TRUE(MarketMatches(R"(title = "He said \"yes\" \\ no")", m));
  EXPECT_TRUE(MarketMatches(R"(title:"\"YES\"")", m));
  EXPECT_EQ(MustParse(FilterSchema::kMarket, R"(title:"a\"b\\c")").Canonical(),
            R"(title : "a\"b\\c")");
}

TEST(FilterTest, MatchingAllocatesNothing) {
  const std::vector<Filter> activity = {
      MustParse(FilterSchema::kActivity,
                absl::StrCat("wallet = \"", kWallet,
                             "\" AND amount_usd >= 10000 AND (side = BUY OR side = SELL)")),
      MustParse(FilterSchema::kActivity,
                "NOT (sequence > 5 AND traded_time < \"2026-01-01T00:00:00Z\") OR origin = LIVE "
                "OR market_id != 3 OR root_market_id = 1 OR outcome = NO OR ingested_time >= "
                "\"2026-01-01T00:00:00Z\""),
      Filter(FilterSchema::kActivity),
  };
  const Filter market = MustParse(
      FilterSchema::kMarket,
      "title:\"BTC\" AND label:\"coin\" AND NOT label = \"x\" AND volume_24h > 1 AND "
      "whale_volume_24h >= 0.5 AND status != RESOLVED AND cutoff_time > \"2026-01-01T00:00:00Z\"");
  const Filter whale =
      MustParse(FilterSchema::kWhale, "tracked = true AND label:\"FISH\" AND volume_usd > 1");
  const db::Activity a = SampleActivity();
  const Market m = SampleMarket();
  const Whale w = SampleWhale();
  const WhaleFilterStats stats{"50000.25", 17};
  int matched = 0;
  const int64_t before = testing::AllocationCount();
  for (int i = 0; i < 100; ++i) {
    for (const Filter& f : activity) matched += MatchesActivity(f, a);
    matched += MatchesMarket(market, m, "2500.5");
    matched += MatchesWhale(whale, w, stats);
  }
  const int64_t allocations = testing::AllocationCount() - before;
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(matched, 500);  // every filter above matches its sample
}

// ---------------------------------------------------------------------------------------------
// Canonical text.

TEST(FilterTest, CanonicalTextIsTheSameForTheSameMeaning) {
  const std::vector<std::vector<std::string>> same = {
      {"side=BUY", "  side   =   buy ", "side = \"SIDE_BUY\"", "(side = Buy)"},
      {"amount_usd >= 10000", "amount_usd>=10000.00", "amount_usd >= 010000.0"},
      {absl::StrCat("wallet = \"0x", std::string(40, 'A'), "\""),
       absl::StrCat("wallet=\"", kWallet, "\"")},
      {"traded_time > \"2026-01-01T01:00:00+01:00\"", "traded_time > \"2026-01-01T00:00:00Z\"",
       "traded_time > \"2026-01-01T00:00:00.000000Z\""},
      {"NOT side = BUY", "-side = BUY", "not (side = BUY)"},
      {"side = BUY AND (outcome = YES AND market_id = 1)",
       "(side = BUY AND outcome = YES) AND market_id = 1",
       "side = BUY and outcome = yes and market_id = 1"},
      {"side = BUY OR (side = SELL OR side = MERGE)",
       "(side = BUY OR side = SELL) OR side = MERGE"},
  };
  for (const auto& group : same) {
    const std::string first = MustParse(FilterSchema::kActivity, group[0]).Canonical();
    for (const std::string& text : group) {
      EXPECT_EQ(MustParse(FilterSchema::kActivity, text).Canonical(), first) << text;
    }
  }
  EXPECT_EQ(
      MustParse(FilterSchema::kActivity,
                "amount_usd>=10000.50 AND (side=buy OR side=\"sell\") AND NOT origin=backfill")
          .Canonical(),
      "amount_usd >= 10000.5 AND (side = SIDE_BUY OR side = SIDE_SELL) AND NOT origin = "
      "ORIGIN_BACKFILL");
  EXPECT_EQ(MustParse(FilterSchema::kActivity, "traded_time < \"2026-01-01T00:00:00.5+00:00\"")
                .Canonical(),
            "traded_time < \"2026-01-01T00:00:00.500000Z\"");
  // Different meanings differ.
  EXPECT_NE(MustParse(FilterSchema::kActivity, "side = BUY").Canonical(),
            MustParse(FilterSchema::kActivity, "side = SELL").Canonical());
  EXPECT_NE(MustParse(FilterSchema::kMarket, "title = \"a\"").Canonical(),
            MustParse(FilterSchema::kMarket, "title:\"a\"").Canonical());
}

TEST(FilterTest, CanonicalTextParsesToTheSameFilter) {
  const std::vector<std::pair<FilterSchema, std::string>> filters = {
      {FilterSchema::kActivity,
       "sequence > 5 AND NOT (side = buy OR -(outcome = no AND amount_usd < -0.5)) AND "
       "traded_time >= \"2026-01-01T00:00:00.123456-05:00\""},
      {FilterSchema::kMarket,
       "label:\"a \\\"b\\\"\" OR (title = \"x\" AND volume_7d != 3.10) OR status = resolved"},
      {FilterSchema::kWhale, "tracked = TRUE AND (label:\"x\" OR trade_count >= -3)"},
  };
  for (const auto& [schema, text] : filters) {
    const std::string canonical = MustParse(schema, text).Canonical();
    EXPECT_EQ(MustParse(schema, canonical).Canonical(), canonical) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// Refused filters.

struct BadCase {
  FilterSchema schema;
  std::string text;
  std::vector<std::string> message_parts;
};

TEST(FilterTest, BadFiltersAreInvalidArgumentNamingTheProblem) {
  const FilterSchema kA = FilterSchema::kActivity;
  const FilterSchema kM = FilterSchema::kMarket;
  const FilterSchema kW = FilterSchema::kWhale;
  const std::vector<BadCase> cases = {
      // Syntax.
      {kA, "side", {"expected an operator", "side", "position 1"}},
      {kA, "side =", {"expected a value", "side", "end of the filter"}},
      {kA, "= BUY", {"expected a restriction", "\"=\"", "position 1"}},
      {kA, "side = BUY AND", {"expected a restriction", "end of the filter"}},
      {kA, "side = BUY outcome = YES", {"unexpected \"outcome\"", "position 12", "AND or OR"}},
      {kA, "(side = BUY", {"expected \")\"", "position 1"}},
      {kA, "side = BUY)", {"unmatched \")\"", "position 11"}},
      {kA, "()", {"empty parentheses", "position 1"}},
      {kA, "side == BUY", {"expected a value", "\"=\"", "position 7"}},
      {kA, "side ! BUY", {"unexpected \"!\"", "position 6"}},
      {kA, "side = BUY; DROP TABLE x", {"unexpected character \";\"", "position 11"}},
      {kA, "side = BUY AND OR outcome = YES", {"expected a restriction", "\"OR\""}},
      {kA, "NOT", {"expected a restriction", "end of the filter"}},
      // Mixed AND / OR.
      {kA, "side = BUY AND outcome = YES OR side = SELL", {"add parentheses", "position 30"}},
      {kA, "side = BUY OR outcome = YES AND side = SELL", {"add parentheses", "AND and OR"}},
      {kA, "(side = BUY OR side = SELL AND outcome = YES)", {"add parentheses"}},
      // Strings.
      {kA, "wallet = \"0xabc", {"unterminated string", "position 10"}},
      {kM, "title = \"a\\x\"", {"unknown escape", "\\x"}},
      {kM, "title = \"a\\", {"unterminated string"}},
      {kM, "title = btc", {"title", "expected a double-quoted string", "\"btc\""}},
      {kM, "title = \"\xff\xfe\"", {"title", "not valid UTF-8"}},
      // Unknown fields (and fields of another schema).
      {kA, "foo = 1", {"unknown field \"foo\"", "position 1", "activity fields are sequence"}},
      {kA, "title:\"x\"", {"unknown field \"title\""}},
      {kM, "wallet = \"x\"", {"unknown field \"wallet\"", "market fields are"}},
      {kW, "side = BUY", {"unknown field \"side\"", "whale fields are tracked"}},
      {kA, "Side = BUY", {"unknown field \"Side\""}},
      // Operators a field does not allow.
      {kA, "wallet < \"0x\"", {"operator < is not allowed for field wallet", "position 8"}},
      {kA, "side > BUY", {"operator > is not allowed for field side", "allowed: = !="}},
      {kA, "amount_usd : 5", {"operator : is not allowed for field amount_usd"}},
      {kA, "wallet:\"0xab\"", {"operator : is not allowed for field wallet"}},
      {kM, "label != \"x\"", {"operator != is not allowed for field label", "NOT label ="}},
      {kM, "label < \"x\"", {"operator < is not allowed for field label"}},
      {kM, "title >= \"a\"", {"operator >= is not allowed for field title"}},
      {kW, "tracked : true", {"operator : is not allowed for field tracked"}},
      // Wrong value types.
      {kA, "market_id = \"5\"", {"market_id", "expected an integer", "got \"5\""}},
      {kA, "market_id = 1.5", {"market_id", "expected an integer", "\"1.5\""}},
      {kA, "market_id = abc", {"market_id", "expected an integer"}},
      {kA, "sequence = -1", {"sequence", "is negative"}},
      {kA, "amount_usd = \"10\"", {"amount_usd", "expected a decimal number"}},
      {kA, "amount_usd = 1.2.3", {"amount_usd", "\"1.2.3\" is not a decimal number"}},
      {kA, "amount_usd = 1e5", {"amount_usd", "not a decimal number"}},
      {kA, "amount_usd = .", {"amount_usd", "not a decimal number"}},
      {kA, "side = 1", {"side", "expected an enum value"}},
      {kA, "side = HOLD", {"\"HOLD\" is not a value of side", "BUY, SELL, MERGE, SPLIT"}},
      {kA, "side = UNSPECIFIED", {"is not a value of side"}},
      {kA, "side = OUTCOME_YES", {"is not a value of side"}},
      {kA, "traded_time > 2026", {"traded_time", "expected a double-quoted RFC 3339 time"}},
      {kA, "traded_time > \"2026-01-01\"", {"traded_time", "is not an RFC 3339 time"}},
      {kA, "traded_time > \"2026-01-01T00:00:00\"", {"is not an RFC 3339 time"}},
      {kA, "traded_time > \"2026-13-01T00:00:00Z\"", {"is not an RFC 3339 time"}},
      {kA, "traded_time > \"yesterday\"", {"\"yesterday\" is not an RFC 3339 time"}},
      {kA, "traded_time > \"0999-01-01T00:00:00Z\"", {"out of range"}},
      {kA, "traded_time > \"2026-01-01T00:00:00.0000001Z\"", {"more precise than a microsecond"}},
      {kW, "tracked = yes", {"tracked", "expected true or false"}},
      {kW, "tracked = \"true\"", {"tracked", "expected true or false"}},
      {kW, "tracked = 1", {"tracked", "expected true or false"}},
      // Wallets.
      {kA, "wallet = \"0xabc\"", {"wallet", "\"0xabc\" is not a wallet address"}},
      {kA, "wallet = \"0x'; DROP TABLE x; --\"", {"wallet", "is not a wallet address"}},
      {kA, absl::StrCat("wallet = \"0x", std::string(40, 'g'), "\""), {"not a wallet address"}},
      // Overflow.
      {kA, "market_id = 9223372036854775808", {"market_id", "out of range for a 64-bit integer"}},
      {kA, "market_id = -9223372036854775809", {"out of range for a 64-bit integer"}},
      {kA, "sequence = 18446744073709551616", {"out of range for an unsigned 64-bit integer"}},
      {kW, "trade_count > 99999999999999999999999", {"trade_count", "out of range"}},
      {kA, "amount_usd > 123456789012345678901", {"amount_usd", "out of range"}},
      {kA, "amount_usd > 0.0000000000000000001", {"amount_usd", "out of range"}},
      // Bounds.
      {kA, std::string(kMaxFilterBytes + 1, ' '), {"2049 bytes long", "at most 2048"}},
      {kA,
       std::string(kMaxFilterDepth + 1, '(') + "side = BUY" + std::string(kMaxFilterDepth + 1, ')'),
       {"nested more than 16 levels deep"}},
      {kA, std::string(2 * kMaxFilterDepth, '-') + "side = BUY", {"nested more than 16 levels"}},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<Filter> filter = ParseFilter(c.schema, c.text);
    EXPECT_THAT(filter, StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("filter: ")))
        << c.text;
    for (const std::string& part : c.message_parts) {
      EXPECT_THAT(filter, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(part))) << c.text;
    }
  }
}

TEST(FilterTest, TooManyRestrictionsAreRefused) {
  std::string ok = "market_id = 0";
  for (int i = 1; i < kMaxFilterRestrictions; ++i) absl::StrAppend(&ok, " OR market_id = ", i);
  ASSERT_LE(ok.size(), kMaxFilterBytes);
  EXPECT_TRUE(ParseActivityFilter(ok).ok());
  const std::string too_many = absl::StrCat(ok, " OR market_id = 1");
  EXPECT_THAT(ParseActivityFilter(too_many),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than 64 restrictions")));
}

TEST(FilterTest, DeepestAllowedNestingParses) {
  const std::string text =
      std::string(kMaxFilterDepth, '(') + "side = BUY" + std::string(kMaxFilterDepth, ')');
  EXPECT_TRUE(ActivityMatches(text));
}

TEST(FilterTest, GarbageNeverCrashes) {
  // Every prefix of a rich filter, and a few byte soups: parse or refuse, never crash.
  const std::string rich =
      "sequence > 5 AND NOT (side = \"buy\" OR -(outcome = no AND amount_usd < -0.5)) AND "
      "traded_time >= \"2026-01-01T00:00:00.123456-05:00\" AND wallet != \"" +
      kWallet + "\"";
  for (size_t n = 0; n <= rich.size(); ++n) {
    absl::StatusOr<Filter> f = ParseActivityFilter(rich.substr(0, n));
    if (!f.ok()) {
      EXPECT_THAT(f, StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("filter: ")));
    }
  }
  std::string soup;
  for (int i = 0; i < 512; ++i) soup.push_back(static_cast<char>((i * 7919) % 256));
  for (size_t n = 0; n < soup.size(); n += 13) {
    absl::StatusOr<Filter> f = ParseMarketFilter(soup.substr(n, 40));
    if (!f.ok()) {
      EXPECT_THAT(f, StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("filter: ")));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SQL compilation (shape; the agreement with the predicate is checked on MariaDB in
// filter_sql_test).

SqlFieldMap ActivityColumns() {
  SqlFieldMap m;
  for (const char* name : {"sequence", "wallet", "market_id", "root_market_id", "side", "outcome",
                           "amount_usd", "traded_time", "ingested_time", "origin"}) {
    m[name] = SqlField{absl::StrCat("wa.", name), ""};
  }
  return m;
}

TEST(FilterSqlShapeTest, EmptyFilterIsTrue) {
  ASSERT_OK_AND_ASSIGN(SqlFilter sql, ToSql(Filter(FilterSchema::kActivity), ActivityColumns()));
  EXPECT_EQ(sql.sql, "TRUE");
  EXPECT_THAT(sql.params, IsEmpty());
}

TEST(FilterSqlShapeTest, ValuesAreParametersNeverSql) {
  ASSERT_OK_AND_ASSIGN(
      SqlFilter sql,
      ToSql(MustParse(FilterSchema::kActivity,
                      absl::StrCat("wallet = \"", kWallet,
                                   "\" AND amount_usd >= 10000.50 AND NOT (side = BUY OR "
                                   "sequence > 7) AND traded_time < \"2026-01-01T00:00:00Z\"")),
            ActivityColumns()));
  EXPECT_EQ(sql.sql,
            "((wa.wallet = ? AND CAST(wa.wallet AS BINARY) = CAST(? AS BINARY)) AND "
            "(wa.amount_usd >= CAST(? AS DECIMAL(38,18))) AND NOT (((wa.side = ?) OR "
            "(wa.sequence > ?))) AND (wa.traded_time IS NOT NULL AND wa.traded_time < CAST(? AS "
            "DATETIME(6))))");
  ASSERT_EQ(sql.params.size(), 6u);
  EXPECT_EQ(sql.params[0].type, SqlParam::Type::kString);
  EXPECT_EQ(sql.params[0].string_value, kWallet);
  EXPECT_EQ(sql.params[2].type, SqlParam::Type::kDecimal);
  EXPECT_EQ(sql.params[2].string_value, "10000.5");
  EXPECT_EQ(sql.params[3].type, SqlParam::Type::kInt64);
  EXPECT_EQ(sql.params[3].int_value, 1);
  EXPECT_EQ(sql.params[4].type, SqlParam::Type::kUint64);
  EXPECT_EQ(sql.params[4].uint_value, 7u);
  EXPECT_EQ(sql.params[5].type, SqlParam::Type::kTime);
  EXPECT_EQ(sql.params[5].time_value, kT0);
  EXPECT_THAT(sql.sql, ::testing::Not(HasSubstr(kWallet)));
}

TEST(FilterSqlShapeTest, SubstringPatternsEscapeWildcards) {
  SqlFieldMap fields;
  fields["title"] = {"m.title", ""};
  fields["label"] = {"ml.label", "EXISTS (SELECT 1 FROM market_labels ml WHERE $cond)"};
  ASSERT_OK_AND_ASSIGN(
      SqlFilter sql,
      ToSql(MustParse(FilterSchema::kMarket, R"(title:"50%_off!" OR label = "a'b")"), fields));
  EXPECT_EQ(sql.sql,
            "((CAST(LOWER(m.title) AS BINARY) LIKE CAST(LOWER(?) AS BINARY) ESCAPE '!') OR EXISTS "
            "(SELECT 1 FROM market_labels ml WHERE (ml.label = ? AND CAST(ml.label AS BINARY) = "
            "CAST(? AS BINARY))))");
  ASSERT_EQ(sql.params.size(), 3u);
  EXPECT_EQ(sql.params[0].string_value, "%50!%!_off!!%");
  EXPECT_EQ(sql.params[1].string_value, "a'b");
}

TEST(FilterSqlShapeTest, AMissingFieldExpressionIsInternal) {
  SqlFieldMap fields = ActivityColumns();
  fields.erase("origin");
  EXPECT_THAT(ToSql(MustParse(FilterSchema::kActivity, "side = BUY OR origin = LIVE"), fields),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("origin")));
  SqlFieldMap markets;
  markets["label"] = {"ml.label", ""};
  EXPECT_THAT(ToSql(MustParse(FilterSchema::kMarket, "label = \"x\""), markets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("$cond")));
  markets["label"] = {"ml.label", "EXISTS (SELECT $cond) OR EXISTS (SELECT $cond)"};
  EXPECT_THAT(ToSql(MustParse(FilterSchema::kMarket, "label = \"x\""), markets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("exactly once")));
}

TEST(ScaledDecimalTest, ParsesExactly) {
  ScaledDecimal a, b;
  ASSERT_TRUE(ParseScaledDecimal("10000", &a));
  ASSERT_TRUE(ParseScaledDecimal("10000.000000000000000000", &b));
  EXPECT_EQ(a, b);
  ASSERT_TRUE(ParseScaledDecimal("99999999999999999999.999999999999999999", &a));
  ASSERT_TRUE(ParseScaledDecimal("-99999999999999999999.999999999999999999", &b));
  EXPECT_EQ(a, -b);
  ASSERT_TRUE(ParseScaledDecimal("0.000000000000000001", &a));
  EXPECT_EQ(a, 1);
  ASSERT_TRUE(ParseScaledDecimal("-0", &a));
  EXPECT_EQ(a, 0);
  for (const char* bad : {"", "-", ".", "1.2.3", "1e5", "100000000000000000000", "0x10",
                          "0.0000000000000000001", " 1", "1 "}) {
    EXPECT_FALSE(ParseScaledDecimal(bad, &a)) << bad;
  }
  // 20 integer digits fit; 21 do not.
  EXPECT_TRUE(ParseScaledDecimal("10000000000000000000", &a));
}

}  // namespace
}  // namespace whalefeed::db
