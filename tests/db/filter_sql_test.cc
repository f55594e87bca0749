// Compiled filters agree with the in-memory predicates on a real MariaDB: generated rows in the
// real schema (migrations applied), many generated filters over every field and operator with AND /
// OR / NOT, and the same rows selected both ways. Values that look like SQL, quotes, backslashes
// and LIKE wildcards stay data.
#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/filter.h"
#include "db/mysql_filter.h"
#include "db/mysql_rows.h"
#include "db/mysql_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::db {
namespace {

using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::TestDatabase;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

template <typename T>
const T& Pick(std::mt19937& rng, const std::vector<T>& pool) {
  return pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
}
bool Chance(std::mt19937& rng, double p) {
  return std::uniform_real_distribution<double>(0, 1)(rng) < p;
}

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Rfc3339(absl::Time t, int offset_hours) {
  const absl::TimeZone zone = absl::FixedTimeZone(offset_hours * 3600);
  return Quote(absl::FormatTime("%Y-%m-%dT%H:%M:%E*S%Ez", t, zone));
}

const std::vector<std::string> kOrderedOps = {"=", "!=", "<", "<=", ">", ">="};
const std::vector<std::string> kEqualityOps = {"=", "!="};

// Text shared by the market titles, labels, whale labels and the filter values, so that = and :
// hit and miss: case variants, trailing spaces, LIKE wildcards, quotes, backslashes, SQL, and
// letters that LOWER() folds beyond ASCII.
const std::vector<std::string> kTexts = {
    "Crypto",
    "crypto",
    "Crypto ",
    "Will BTC hit 100k?",
    "will btc hit 100k?",
    "50% off_sale!",
    "50 percent offXsale",
    R"(back\slash)",
    R"(quote's "double")",
    "x'; DROP TABLE markets; --",
    "ÉLECTIONS présidentielles",
    "elections presidentielles",
    "Москва",
    "ΑΘΗΝΑ",
    "Łódź",
    "",
};
const std::vector<std::string> kSubstrings = {
    "btc",        "BTC", "%",   "_",   "!",     R"(\)",  "'",      "\"",         "50%",
    "%_",         "f_s", "fXs", "t ",  "élect", "ÉLECT", "москва", "αθηνα",      "ŁÓDŹ",
    "drop table", "",    "o",   "zzz", "%%",    "_o_",   "!!",     "' OR '1'='1"};

std::string RandomText(std::mt19937& rng) { return Pick(rng, kTexts); }

// ---------------------------------------------------------------------------------------------
// Filter text generators: a restriction per call, combined with AND / OR / NOT up to a depth.

using RestrictionGen = std::function<std::string(std::mt19937&)>;

std::string GenerateFilter(std::mt19937& rng, const std::vector<RestrictionGen>& fields, int depth,
                           bool* is_group) {
  *is_group = false;
  std::string text;
  if (depth == 0 || Chance(rng, 0.4)) {
    text = Pick(rng, fields)(rng);
  } else {
    const int n = std::uniform_int_distribution<int>(2, 3)(rng);
    const char* connective = Chance(rng, 0.5) ? " AND " : " OR ";
    for (int i = 0; i < n; ++i) {
      bool child_group;
      std::string child = GenerateFilter(rng, fields, depth - 1, &child_group);
      if (child_group) child = absl::StrCat("(", child, ")");
      absl::StrAppend(&text, i ? connective : "", child);
    }
    *is_group = true;
  }
  if (Chance(rng, 0.2)) {
    text = absl::StrCat(Chance(rng, 0.5) ? "NOT " : "-", *is_group ? "(" : "", text,
                        *is_group ? ")" : "");
    *is_group = false;
  }
  return text;
}

std::string Enum(std::mt19937& rng, const std::string& prefix, const std::string& name) {
  switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
    case 0:
      return name;
    case 1:
      return Quote(absl::AsciiStrToLower(name));
    case 2:
      return prefix + name;
    default:
      return absl::AsciiStrToLower(prefix + name);
  }
}

// Runs `sql` (a SELECT of one integer column) with the filter's parameters and returns the ids.
std::set<int64_t> QueryIds(MySqlConnection& c, const std::string& sql, const SqlFilter& filter) {
  sql::PreparedStatement& ps = c.Prepare(sql);
  BindSqlParams(ps, 1, filter.params);
  std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
  std::set<int64_t> ids;
  while (rs->next()) ids.insert(rs->getInt64(1));
  return ids;
}

int64_t QueryInt(MySqlConnection& c, const std::string& sql) {
  std::unique_ptr<sql::Statement> st(c.raw().createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(sql));
  return rs->next() ? rs->getInt64(1) : -1;
}

class FilterSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    MySqlStoreOptions options;
    options.dsn = database_->dsn();
    ASSERT_OK_AND_ASSIGN(store_, MySqlStore::Create(options));
    ASSERT_OK(store_->PrepareDatabase());
    ASSERT_OK_AND_ASSIGN(fence_, store_->AdvanceLeaderEpoch("test", kT0));
    ASSERT_OK_AND_ASSIGN(conn_, database_->Connect());
  }

  // Counts how many generated filters selected some but not all rows, so that a run where every
  // filter selects nothing (or everything) fails instead of passing vacuously.
  void Check(const std::string& text, const std::set<int64_t>& in_memory,
             const std::set<int64_t>& in_sql, size_t total) {
    EXPECT_EQ(in_sql, in_memory) << text;
    if (!in_memory.empty() && in_memory.size() < total) ++selective_;
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<MySqlStore> store_;
  Fence fence_;
  std::unique_ptr<MySqlConnection> conn_;
  int selective_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Activity.

TEST_F(FilterSqlTest, ActivityFiltersSelectTheSameRowsInSqlAndInMemory) {
  std::mt19937 rng(20260101);
  const std::vector<std::string> wallets = {"0x" + std::string(40, 'a'),
                                            "0x" + std::string(39, 'b') + "c",
                                            "0x00000000000000000000000000000000000000ff"};
  const std::vector<int64_t> market_ids = {0, 7, 16565, -3, 9223372036854775807};
  const std::vector<std::string> amounts = {"0",
                                            "0.5",
                                            "10000",
                                            "10000.000000000000000001",
                                            "9999.99",
                                            "-3.25",
                                            "123456789.123456789",
                                            "99999999999999999999.999999999999999999"};
  std::vector<absl::Time> times;
  for (int i = 0; i < 6; ++i) times.push_back(kT0 + absl::Hours(i) + absl::Microseconds(i * 7));
  int tx = 0;
  for (const std::string& wallet : wallets) {
    ASSERT_OK(store_->TrackWhale(wallet, "", WhaleSource::kApi, kT0).status());
    for (int batch = 0; batch < 3; ++batch) {
      std::vector<Activity> trades;
      for (int i = 0; i < 15; ++i) {
        Activity a;
        a.tx_hash = absl::StrFormat("0x%064x", ++tx);
        a.wallet = wallet;
        a.market_id = Pick(rng, market_ids);
        a.root_market_id = Pick(rng, market_ids);
        a.side = static_cast<Side>(std::uniform_int_distribution<int>(1, 4)(rng));
        a.outcome = static_cast<Outcome>(std::uniform_int_distribution<int>(1, 2)(rng));
        a.price = "0.5";
        a.shares = "1";
        a.amount_usd = Pick(rng, amounts);
        a.traded_time = Pick(rng, times);
        a.origin = static_cast<Origin>(std::uniform_int_distribution<int>(1, 2)(rng));
        trades.push_back(a);
      }
      PollState poll{kT0, kT0, 1};
      ASSERT_OK(store_->IngestActivities(fence_, wallet, trades, poll, times[batch * 2]).status());
    }
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Activity> rows, store_->ReadActivitiesAfter(0, 1000));
  ASSERT_EQ(rows.size(), 135u);

  const std::vector<std::string> amount_values = {"0",
                                                  "0.50",
                                                  "10000",
                                                  "10000.0",
                                                  "10000.000000000000000001",
                                                  "9999.99",
                                                  "-3.25",
                                                  "-4",
                                                  "123456789.123456789",
                                                  "99999999999999999999.999999999999999999",
                                                  ".5"};
  const std::vector<RestrictionGen> fields = {
      [&](std::mt19937& r) {
        return absl::StrCat("sequence ", Pick(r, kOrderedOps), " ",
                            std::uniform_int_distribution<int>(0, 140)(r));
      },
      [&](std::mt19937& r) {
        std::string w = Pick(r, wallets);
        if (Chance(r, 0.3)) w = absl::AsciiStrToUpper(w.substr(2)).insert(0, "0x");
        if (Chance(r, 0.1)) w = "0x" + std::string(40, 'd');
        return absl::StrCat("wallet ", Pick(r, kEqualityOps), " ", Quote(w));
      },
      [&](std::mt19937& r) {
        return absl::StrCat(Chance(r, 0.5) ? "market_id " : "root_market_id ", Pick(r, kOrderedOps),
                            " ", Pick(r, market_ids));
      },
      [&](std::mt19937& r) {
        return absl::StrCat(
            "side ", Pick(r, kEqualityOps), " ",
            Enum(r, "SIDE_", Pick(r, std::vector<std::string>{"BUY", "SELL", "MERGE", "SPLIT"})));
      },
      [&](std::mt19937& r) {
        return absl::StrCat("outcome ", Pick(r, kEqualityOps), " ",
                            Enum(r, "OUTCOME_", Chance(r, 0.5) ? "YES" : "NO"));
      },
      [&](std::mt19937& r) {
        return absl::StrCat("origin ", Pick(r, kEqualityOps), " ",
                            Enum(r, "ORIGIN_", Chance(r, 0.5) ? "LIVE" : "BACKFILL"));
      },
      [&](std::mt19937& r) {
        return absl::StrCat("amount_usd ", Pick(r, kOrderedOps), " ", Pick(r, amount_values));
      },
      [&](std::mt19937& r) {
        absl::Time t = Pick(r, times);
        if (Chance(r, 0.3)) t += absl::Microseconds(Chance(r, 0.5) ? 1 : -1);
        return absl::StrCat(Chance(r, 0.5) ? "traded_time " : "ingested_time ",
                            Pick(r, kOrderedOps), " ",
                            Rfc3339(t, std::uniform_int_distribution<int>(-5, 5)(r)));
      },
  };
  SqlFieldMap columns;
  for (const char* name : {"sequence", "wallet", "market_id", "root_market_id", "side", "outcome",
                           "amount_usd", "traded_time", "ingested_time", "origin"}) {
    columns[name] = {absl::StrCat("wa.", name), ""};
  }
  std::set<int64_t> all;
  for (const Activity& a : rows) all.insert(static_cast<int64_t>(a.sequence));
  constexpr int kFilters = 400;
  for (int i = 0; i < kFilters; ++i) {
    bool group;
    const std::string text = GenerateFilter(rng, fields, 3, &group);
    ASSERT_OK_AND_ASSIGN(Filter filter, ParseActivityFilter(text));
    std::set<int64_t> expected;
    for (const Activity& a : rows) {
      if (MatchesActivity(filter, a)) expected.insert(static_cast<int64_t>(a.sequence));
    }
    ASSERT_OK_AND_ASSIGN(SqlFilter sql, ToSql(filter, columns));
    Check(text, expected,
          QueryIds(*conn_,
                   absl::StrCat("SELECT wa.sequence FROM whale_activity wa WHERE ", sql.sql), sql),
          all.size());
  }
  EXPECT_GT(selective_, kFilters / 3);
}

// ---------------------------------------------------------------------------------------------
// Markets.

SqlFieldMap MarketColumns() {
  SqlFieldMap columns;
  for (const char* name : {"market_id", "status", "market_type", "title", "volume", "volume_24h",
                           "volume_7d", "created_time", "cutoff_time"}) {
    columns[name] = {absl::StrCat("m.", name), ""};
  }
  columns["label"] = {"ml.label",
                      "EXISTS (SELECT 1 FROM market_labels ml WHERE ml.market_id = m.market_id "
                      "AND $cond)"};
  columns["whale_volume_24h"] = {
      "COALESCE((SELECT SUM(f.buy_volume_usd + f.sell_volume_usd) FROM market_whale_flow f "
      "WHERE f.market_id = m.market_id), 0)",
      ""};
  return columns;
}

class MarketFilterSqlTest : public FilterSqlTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(FilterSqlTest::SetUp());
    std::mt19937 rng(788);
    const std::vector<std::string> decimals = {
        "0", "1", "100", "100.5", "2500.000001", "99999999999999999999.999999999999999999"};
    std::vector<Market> markets;
    for (int id = 1; id <= 64; ++id) {
      Market m;
      m.market_id = id;
      // Every text as a title at least once, and as labels in random combinations.
      m.title = id <= static_cast<int>(kTexts.size())
                    ? kTexts[id - 1]
                    : absl::StrCat("Market ", id, " ", RandomText(rng));
      m.status = static_cast<MarketStatus>(std::uniform_int_distribution<int>(1, 6)(rng));
      m.market_type = static_cast<MarketType>(std::uniform_int_distribution<int>(1, 2)(rng));
      const int labels = std::uniform_int_distribution<int>(0, 3)(rng);
      for (int l = 0; l < labels; ++l) m.labels.push_back(RandomText(rng));
      m.volume = Pick(rng, decimals);
      m.volume_24h = Pick(rng, decimals);
      m.volume_7d = Pick(rng, decimals);
      m.created_time = Chance(rng, 0.2) ? absl::InfinitePast() : kT0 + absl::Hours(id % 5);
      m.cutoff_time = Chance(rng, 0.2) ? absl::InfinitePast() : kT0 + absl::Hours(24 + id % 3);
      m.rules = "";
      markets.push_back(m);
    }
    ASSERT_OK(store_->UpsertMarkets(fence_, markets, kT0).status());
    for (const Market& m : markets) {
      ASSERT_OK_AND_ASSIGN(Market stored, store_->GetMarket(m.market_id));
      if (Chance(rng, 0.7)) {
        // Kept below the largest decimal, so that the sum still fits DECIMAL(38,18).
        const std::vector<std::string> flows(decimals.begin(), decimals.end() - 1);
        for (int outcome = 1; outcome <= 2; ++outcome) {
          sql::PreparedStatement& ps = conn_->Prepare(
              "INSERT INTO market_whale_flow (market_id, outcome, buy_volume_usd, "
              "sell_volume_usd, computed_time) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))");
          ps.setInt64(1, m.market_id);
          ps.setInt(2, outcome);
          ps.setString(3, Pick(rng, flows));
          ps.setString(4, outcome == 1 ? "0.5" : "0");
          ps.execute();
        }
      }
      markets_.push_back(stored);
    }
    // Whale volume as the database sums it, read back for the in-memory side.
    std::unique_ptr<sql::Statement> st(conn_->raw().createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
        "SELECT market_id, SUM(buy_volume_usd + sell_volume_usd) AS v FROM market_whale_flow "
        "GROUP BY market_id"));
    while (rs->next()) {
      ASSERT_OK_AND_ASSIGN(whale_volume_[rs->getInt64("market_id")], GetDecimal(*rs, "v"));
    }
  }

  std::set<int64_t> InMemory(const Filter& filter) {
    std::set<int64_t> ids;
    for (const Market& m : markets_) {
      auto it = whale_volume_.find(m.market_id);
      if (MatchesMarket(filter, m, it == whale_volume_.end() ? "" : it->second)) {
        ids.insert(m.market_id);
      }
    }
    return ids;
  }

  std::set<int64_t> InSql(const Filter& filter) {
    absl::StatusOr<SqlFilter> sql = ToSql(filter, MarketColumns());
    EXPECT_OK(sql.status());
    if (!sql.ok()) return {};
    return QueryIds(*conn_, absl::StrCat("SELECT m.market_id FROM markets m WHERE ", sql->sql),
                    *sql);
  }

  std::vector<Market> markets_;
  std::map<int64_t, std::string> whale_volume_;
};

TEST_F(MarketFilterSqlTest, MarketFiltersSelectTheSameRowsInSqlAndInMemory) {
  std::mt19937 rng(16565);
  const std::vector<std::string> decimal_values = {
      "0",      "1.0",         "100",
      "100.50", "2500.000001", "2500.500001",
      "0.5",    "7.5",         "99999999999999999999.999999999999999999",
      "-1"};
  const std::vector<RestrictionGen> fields = {
      [&](std::mt19937& r) {
        return absl::StrCat("market_id ", Pick(r, kOrderedOps), " ",
                            std::uniform_int_distribution<int>(0, 65)(r));
      },
      [&](std::mt19937& r) {
        return absl::StrCat(
            "status ", Pick(r, kEqualityOps), " ",
            Enum(r, "MARKET_STATUS_",
                 Pick(r, std::vector<std::string>{"CREATED", "ACTIVATED", "RESOLVING", "RESOLVED",
                                                  "FAILED", "DELETED"})));
      },
      [&](std::mt19937& r) {
        return absl::StrCat("market_type ", Pick(r, kEqualityOps), " ",
                            Enum(r, "MARKET_TYPE_", Chance(r, 0.5) ? "BINARY" : "CATEGORICAL"));
      },
      [&](std::mt19937& r) {
        if (Chance(r, 0.5)) return absl::StrCat("label = ", Quote(RandomText(r)));
        return absl::StrCat("label:", Quote(Pick(r, kSubstrings)));
      },
      [&](std::mt19937& r) {
        if (Chance(r, 0.5)) {
          return absl::StrCat("title ", Pick(r, kEqualityOps), " ", Quote(RandomText(r)));
        }
        return absl::StrCat("title : ", Quote(Pick(r, kSubstrings)));
      },
      [&](std::mt19937& r) {
        return absl::StrCat(Pick(r, std::vector<std::string>{"volume", "volume_24h", "volume_7d",
                                                             "whale_volume_24h"}),
                            " ", Pick(r, kOrderedOps), " ", Pick(r, decimal_values));
      },
      [&](std::mt19937& r) {
        return absl::StrCat(Chance(r, 0.5) ? "created_time " : "cutoff_time ", Pick(r, kOrderedOps),
                            " ",
                            Rfc3339(kT0 + absl::Hours(std::uniform_int_distribution<int>(0, 27)(r)),
                                    std::uniform_int_distribution<int>(-3, 3)(r)));
      },
  };
  constexpr int kFilters = 400;
  for (int i = 0; i < kFilters; ++i) {
    bool group;
    const std::string text = GenerateFilter(rng, fields, 3, &group);
    ASSERT_OK_AND_ASSIGN(Filter filter, ParseMarketFilter(text));
    Check(text, InMemory(filter), InSql(filter), markets_.size());
  }
  EXPECT_GT(selective_, kFilters / 3);
}

TEST_F(MarketFilterSqlTest, EveryTextFieldOperatorAndValueAgrees) {
  for (const std::string& value : kTexts) {
    for (const std::string& text :
         {absl::StrCat("title = ", Quote(value)), absl::StrCat("title != ", Quote(value)),
          absl::StrCat("label = ", Quote(value)), absl::StrCat("NOT label = ", Quote(value))}) {
      ASSERT_OK_AND_ASSIGN(Filter filter, ParseMarketFilter(text));
      EXPECT_EQ(InSql(filter), InMemory(filter)) << text;
    }
  }
  for (const std::string& value : kSubstrings) {
    for (const std::string& text :
         {absl::StrCat("title:", Quote(value)), absl::StrCat("label:", Quote(value))}) {
      ASSERT_OK_AND_ASSIGN(Filter filter, ParseMarketFilter(text));
      EXPECT_EQ(InSql(filter), InMemory(filter)) << text;
    }
  }
}

TEST_F(MarketFilterSqlTest, InjectionAttemptsAndWildcardsStayData) {
  // Wildcards match only themselves: "%" selects the one title with a "%", not every title.
  ASSERT_OK_AND_ASSIGN(Filter percent, ParseMarketFilter("title:\"%\""));
  EXPECT_EQ(InSql(percent), InMemory(percent));
  EXPECT_EQ(InSql(percent).count(6), 1u);  // "50% off_sale!"
  EXPECT_LT(InSql(percent).size(), markets_.size() / 2);
  ASSERT_OK_AND_ASSIGN(Filter underscore, ParseMarketFilter("title:\"f_s\""));
  EXPECT_EQ(InSql(underscore), InMemory(underscore));
  EXPECT_EQ(InSql(underscore).count(7), 0u);  // "50 percent offXsale" is not "off_sale"
  ASSERT_OK_AND_ASSIGN(Filter backslash, ParseMarketFilter(R"(title:"\\")"));
  EXPECT_EQ(InSql(backslash), InMemory(backslash));
  EXPECT_EQ(InSql(backslash).count(8), 1u);
  // SQL in values is compared, never run.
  for (const char* text :
       {R"(title = "x'; DROP TABLE markets; --")", R"(title:"'; DROP TABLE market_labels; --")",
        R"(label:"' OR '1'='1")", R"(title = "\" OR 1=1 --")", R"(title:"quote's \"double\"")"}) {
    ASSERT_OK_AND_ASSIGN(Filter filter, ParseMarketFilter(text));
    EXPECT_EQ(InSql(filter), InMemory(filter)) << text;
  }
  ASSERT_OK_AND_ASSIGN(Filter drop, ParseMarketFilter(R"(title = "x'; DROP TABLE markets; --")"));
  EXPECT_EQ(InSql(drop), std::set<int64_t>{10});
  // A wallet that is SQL is refused before it gets anywhere.
  EXPECT_THAT(ParseActivityFilter(R"(wallet = "0x'; DROP TABLE whale_activity; --")"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(QueryInt(*conn_, "SELECT COUNT(*) FROM markets"), 64);
  EXPECT_EQ(
      QueryInt(*conn_,
               "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
               "AND TABLE_NAME IN ('markets', 'market_labels', 'whale_activity')"),
      3);
}

// ---------------------------------------------------------------------------------------------
// Whales.

TEST_F(FilterSqlTest, WhaleFiltersSelectTheSameRowsInSqlAndInMemory) {
  std::mt19937 rng(42);
  const std::vector<std::string> decimals = {"0",      "1",
                                             "1000.5", "1000.500000000000000001",
                                             "-2",     "99999999999999999999.999999999999999999"};
  struct Row {
    Whale whale;
    std::string volume;
    int64_t trades = 0;
  };
  std::vector<Row> rows;
  for (int i = 0; i < 48; ++i) {
    const std::string wallet = absl::StrFormat("0x%040x", i + 1);
    const std::string label = RandomText(rng);
    ASSERT_OK(store_->TrackWhale(wallet, label, WhaleSource::kApi, kT0).status());
    if (Chance(rng, 0.3)) {
      ASSERT_OK(store_->UntrackWhale(wallet).status());
    }
    Row row;
    if (Chance(rng, 0.8)) {
      row.volume = Pick(rng, decimals);
      row.trades = std::uniform_int_distribution<int>(-1, 5)(rng);
      sql::PreparedStatement& ps = conn_->Prepare(
          "INSERT INTO whale_stats (wallet, window_kind, volume_usd, trade_count, computed_time) "
          "VALUES (?, 1, ?, ?, UTC_TIMESTAMP(6))");
      ps.setString(1, wallet);
      ps.setString(2, row.volume);
      ps.setInt64(3, row.trades);
      ps.execute();
    }
    ASSERT_OK_AND_ASSIGN(row.whale, store_->GetWhale(wallet));
    rows.push_back(row);
  }
  SqlFieldMap columns;
  columns["tracked"] = {"w.tracked", ""};
  columns["label"] = {"w.label", ""};
  columns["volume_usd"] = {"COALESCE(s.volume_usd, 0)", ""};
  columns["trade_count"] = {"COALESCE(s.trade_count, 0)", ""};
  const std::vector<RestrictionGen> fields = {
      [&](std::mt19937& r) {
        return absl::StrCat("tracked ", Pick(r, kEqualityOps), " ",
                            Chance(r, 0.5) ? "true" : "FALSE");
      },
      [&](std::mt19937& r) {
        if (Chance(r, 0.5)) {
          return absl::StrCat("label ", Pick(r, kEqualityOps), " ", Quote(RandomText(r)));
        }
        return absl::StrCat("label:", Quote(Pick(r, kSubstrings)));
      },
      [&](std::mt19937& r) {
        return absl::StrCat("volume_usd ", Pick(r, kOrderedOps), " ", Pick(r, decimals));
      },
      [&](std::mt19937& r) {
        return absl::StrCat("trade_count ", Pick(r, kOrderedOps), " ",
                            std::uniform_int_distribution<int>(-1, 5)(r));
      },
  };
  constexpr int kFilters = 300;
  for (int i = 0; i < kFilters; ++i) {
    bool group;
    const std::string text = GenerateFilter(rng, fields, 3, &group);
    ASSERT_OK_AND_ASSIGN(Filter filter, ParseWhaleFilter(text));
    std::set<int64_t> expected;
    for (size_t k = 0; k < rows.size(); ++k) {
      if (MatchesWhale(filter, rows[k].whale, {rows[k].volume, rows[k].trades})) {
        expected.insert(static_cast<int64_t>(k + 1));
      }
    }
    ASSERT_OK_AND_ASSIGN(SqlFilter sql, ToSql(filter, columns));
    // The wallet is 0x + the row number in hex: select it back as that number.
    Check(
        text, expected,
        QueryIds(
            *conn_,
            absl::StrCat(
                "SELECT CAST(CONV(SUBSTRING(w.wallet, 3), 16, 10) AS UNSIGNED) FROM whales w LEFT "
                "JOIN whale_stats s ON s.wallet = w.wallet AND s.window_kind = 1 "
                "WHERE ",
                sql.sql),
            sql),
        rows.size());
  }
  EXPECT_GT(selective_, kFilters / 3);
}

}  // namespace
}  // namespace whalefeed::db
