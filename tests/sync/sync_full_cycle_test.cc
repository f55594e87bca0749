// The full sync cycle: the real upstream client (CurlOpinionClient) against opinion-sim over HTTP
// on loopback, into a real MariaDB. Markets, the watched wallets, their activity (late-indexed
// trades and multi-fill transactions included) and their stats land and equal what the simulator
// says it served (/admin/trades): nothing missing, nothing twice, exact amounts; re-running changes
// nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "db/mysql_store.h"
#include "sim/opinion_sim.h"
#include "sync/backoff_policy.h"
#include "sync/markets_job.h"
#include "sync/opinion_client.h"
#include "sync/rate_limiter.h"
#include "sync/stats_job.h"
#include "sync/whale_trades_job.h"
#include "tests/testing/sim_ground_truth.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::sync {
namespace {

using ::testing::SizeIs;
using ::whalefeed::testing::CompareWithSim;
using ::whalefeed::testing::DecimalUnits;
using ::whalefeed::testing::FetchSimTrades;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::SimTrades;
using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::TestDatabase;
using ::whalefeed::testing::TradeDiff;

const absl::Time kStart = absl::FromUnixSeconds(1767225600);

class SyncFullCycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    db::MySqlStoreOptions store_options;
    store_options.dsn = database_->dsn();
    ASSERT_OK_AND_ASSIGN(store_, db::MySqlStore::Create(store_options));
    ASSERT_OK(store_->PrepareDatabase());
    ASSERT_OK_AND_ASSIGN(fence_, store_->AdvanceLeaderEpoch("full-cycle", kStart));

    sim::OpinionSim::Options sim_options;
    sim_options.markets = 40;
    sim_options.wallets = 20;
    sim_options.history_days = 1;
    sim_options.trades_per_minute = 1;
    sim_options.index_lag_max_s = 120;  // trades appear up to two minutes late
    sim_options.manual_clock = true;
    sim_options.start_time = kStart;
    sim_options.api_keys = {"full-cycle-key"};
    ASSERT_OK_AND_ASSIGN(sim_, sim::OpinionSim::Create(sim_options, &sim_clock_));

    ASSERT_OK_AND_ASSIGN(limiter_, RateLimiter::Create({}, &real_clock_, &sleeper_));
    OpinionClientOptions client_options;
    client_options.base_url = sim_->base_url();
    client_options.api_key = "full-cycle-key";
    client_options.backoff_initial = absl::Milliseconds(5);
    client_options.backoff_maximum = absl::Milliseconds(50);
    ASSERT_OK_AND_ASSIGN(client_, CurlOpinionClient::Create(client_options, limiter_.get(),
                                                            &real_clock_, &sleeper_));
    clock_.Set(sim_->SimNow());
  }

  JobContext Context() { return {fence_, &cancel_, clock_.Now(), "full-cycle"}; }
  void Advance(absl::Duration d) {
    ASSERT_OK(sim_->AdvanceManualClock(d));
    clock_.Set(sim_->SimNow());
  }

  // What the simulator has made visible for `wallet`, by natural key.
  SimTrades AdminTrades(const std::string& wallet) {
    absl::StatusOr<SimTrades> trades = FetchSimTrades(sim_->port(), wallet);
    EXPECT_TRUE(trades.ok()) << trades.status();
    return trades.ok() ? *std::move(trades) : SimTrades();
  }

  FakeClock sim_clock_;
  FakeClock clock_;
  RealClock real_clock_;
  RealSleeper sleeper_;
  CancelToken cancel_;
  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<db::MySqlStore> store_;
  db::Fence fence_;
  std::unique_ptr<sim::OpinionSim> sim_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<CurlOpinionClient> client_;
};

TEST_F(SyncFullCycleTest, MarketsWalletsActivityAndStatsEqualWhatUpstreamServed) {
  // Markets: every one, parents and children.
  MarketsJob markets(*store_, *client_, clock_, MarketsJobOptions{});
  ASSERT_OK_AND_ASSIGN(JobOutcome market_run, markets.RunOnce(Context()));
  EXPECT_EQ(market_run.note, "");
  // The simulator lists markets from their creation on: those created later are not served yet.
  int64_t listed = 0;
  for (const sim::Market& m : sim_->world().markets()) {
    if (m.created_at > absl::ToUnixSeconds(kStart)) {
      EXPECT_THAT(store_->GetMarket(m.id), StatusIs(absl::StatusCode::kNotFound));
      continue;
    }
    ++listed;
    ASSERT_OK_AND_ASSIGN(db::Market stored, store_->GetMarket(m.id));
    EXPECT_EQ(stored.title, m.title);
  }
  EXPECT_EQ(market_run.item_count, listed);

  // The four most active wallets, from a watch-list file.
  std::vector<std::string> wallets;
  for (int i = 0; i < 4; ++i) wallets.push_back(sim_->world().wallets()[i].address);
  const std::string path = absl::StrCat(::testing::TempDir(), "/full_cycle_watchlist_", getpid());
  {
    std::ofstream out(path);
    out << "# the busiest wallets\n";
    for (const std::string& w : wallets)
      out << w << " "
          << "whale " << w.substr(2, 4) << "\n";
  }
  WhaleTradesJobOptions options;
  options.watchlist_path = path;
  uint64_t last_commit = 0;
  options.on_commit = [&](uint64_t s) { last_commit = s; };
  WhaleTradesJob trades(*store_, *client_, clock_, options);

  // An hour and a half of simulated time, polled every five minutes.
  for (int round = 0; round < 18; ++round) {
    ASSERT_OK_AND_ASSIGN(JobOutcome run, trades.RunOnce(Context()));
    EXPECT_EQ(run.note, "") << "round " << round;
    Advance(absl::Minutes(5));
  }
  ASSERT_OK(trades.RunOnce(Context()).status());
  std::remove(path.c_str());

  ASSERT_OK_AND_ASSIGN(std::vector<db::Activity> stored, store_->ReadActivitiesAfter(0, 1000000));
  EXPECT_EQ(last_commit, stored.back().sequence);
  size_t expected_total = 0;
  int64_t late_indexed = 0, multi_fill = 0;
  for (const std::string& w : wallets) {
    const SimTrades expected = AdminTrades(w);
    ASSERT_FALSE(expected.empty()) << w;
    expected_total += expected.size();
    const TradeDiff diff = CompareWithSim(stored, w, expected);
    EXPECT_TRUE(diff.empty()) << w << ": " << diff.ToString();
    __int128 volume = 0;
    int64_t counted = 0;
    for (const db::Activity& a : stored) {
      if (a.wallet != w) continue;
      EXPECT_EQ(a.origin, a.traded_time < kStart ? db::Origin::kBackfill : db::Origin::kLive);
    }
    std::map<std::string, int> fills;
    for (const auto& [key, e] : expected) {
      if (++fills[std::get<0>(key)] == 2) ++multi_fill;
      // Live trades that became visible after a trade traded later than them already was.
      if (e.traded < kStart) continue;
      for (const auto& [other_key, other] : expected) {
        if (other.traded > e.traded && other.appeared < e.appeared) {
          ++late_indexed;
          break;
        }
      }
    }
    for (const auto& [key, e] : expected) {
      if (e.side == db::Side::kBuy || e.side == db::Side::kSell) {
        volume += DecimalUnits(e.amount_usd);
        ++counted;
      }
    }
    ASSERT_OK_AND_ASSIGN(std::vector<db::WhaleStats> stats, store_->ReadWhaleStatsOfWallet(w));
    ASSERT_THAT(stats, SizeIs(1));
    EXPECT_EQ(stats[0].trade_count, counted) << w;
    EXPECT_TRUE(DecimalUnits(stats[0].volume_usd) == volume) << w << " " << stats[0].volume_usd;
    ASSERT_OK_AND_ASSIGN(db::Whale whale, store_->GetWhale(w));
    EXPECT_EQ(whale.source, db::WhaleSource::kFile);
    EXPECT_EQ(whale.label, absl::StrCat("whale ", w.substr(2, 4)));
    EXPECT_EQ(whale.trades_seen, static_cast<int64_t>(expected.size()));
  }
  EXPECT_EQ(stored.size(), expected_total);
  // The cycle really met trades that appeared after a newer one had been stored (late indexing),
  // and says how many transactions had several fills.
  EXPECT_GT(late_indexed, 0);
  RecordProperty("late_indexed_trades", static_cast<int>(late_indexed));
  RecordProperty("multi_fill_transactions", static_cast<int>(multi_fill));
  RecordProperty("trades", static_cast<int>(expected_total));

  // Polling again with nothing new upstream changes nothing.
  ASSERT_OK_AND_ASSIGN(const uint64_t latest, store_->GetLatestSequence());
  clock_.Advance(absl::Minutes(11));
  ASSERT_OK_AND_ASSIGN(JobOutcome again, trades.RunOnce(Context()));
  EXPECT_EQ(again.item_count, 0);
  EXPECT_THAT(store_->GetLatestSequence(), IsOkAndHolds(latest));

  // The hourly stats: nothing left to fold, windows written.
  StatsJob stats_job(*store_, *client_, clock_, StatsJobOptions{});
  ASSERT_OK_AND_ASSIGN(JobOutcome stats_run, stats_job.RunOnce(Context()));
  EXPECT_EQ(stats_run.note, "");
  EXPECT_GT(stats_run.item_count, 0);
}

}  // namespace
}  // namespace whalefeed::sync
