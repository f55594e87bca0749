// The sync jobs on a real MariaDB (MySqlStore) with the fake upstream: polling with shifting pages,
// shared tx hashes and late trades lands every trade exactly once with exact amounts; a re-run
// changes nothing; stats and cleanup give the known answers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "db/mysql_store.h"
#include "sync/cleanup_job.h"
#include "sync/markets_job.h"
#include "sync/stats_job.h"
#include "sync/whale_trades_job.h"
#include "tests/sync/fake_opinion_api.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::sync {
namespace {

using ::testing::SizeIs;
using ::whalefeed::testing::TestDatabase;

const absl::Time kStart = absl::FromUnixSeconds(1767225600);

std::string Wallet(int n) { return absl::StrFormat("0x%040x", n); }

db::Activity Trade(const std::string& wallet, int n, absl::Time traded) {
  db::Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", 5000 + n / 3);  // three fills per transaction
  a.wallet = wallet;
  a.market_id = 200 + n % 4;
  a.root_market_id = 200;
  a.market_title = "Child";
  a.root_market_title = "Parent";
  a.side = n % 5 == 0 ? db::Side::kSell : db::Side::kBuy;
  a.outcome = n % 2 == 0 ? db::Outcome::kYes : db::Outcome::kNo;
  a.outcome_label = "YES";
  a.price = absl::StrCat("0.", 10 + n % 80);
  a.shares = absl::StrCat(n + 1, ".123456789012345678");
  a.amount_usd = absl::StrCat(n + 1, ".000000000000000001");
  a.fee_usd = "0.01";
  a.profit_usd = "0";
  a.traded_time = traded;
  return a;
}

class SyncJobsMySqlTest : public ::testing::Test {
 protected:
  SyncJobsMySqlTest() : clock_(kStart) {}
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    db::MySqlStoreOptions options;
    options.dsn = database_->dsn();
    ASSERT_OK_AND_ASSIGN(store_, db::MySqlStore::Create(options));
    ASSERT_OK(store_->PrepareDatabase());
    ASSERT_OK_AND_ASSIGN(fence_, store_->AdvanceLeaderEpoch("test", kStart));
  }
  JobContext Context() { return {fence_, nullptr, clock_.Now(), "test"}; }

  FakeClock clock_;
  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<db::MySqlStore> store_;
  FakeOpinionApi api_;
  db::Fence fence_;
};

TEST_F(SyncJobsMySqlTest, PollingLandsEveryTradeExactlyOnceAndStatsMatch) {
  const std::vector<std::string> wallets = {Wallet(1), Wallet(2)};
  for (const std::string& w : wallets) {
    ASSERT_OK(store_->TrackWhale(w, "", db::WhaleSource::kApi, kStart).status());
  }
  // Expected: everything upstream has for each wallet, by activity id.
  std::map<std::string, db::Activity> expected;
  auto add = [&](const db::Activity& a) {
    api_.AddTrade(a);
    absl::StatusOr<db::Activity> n = db::NormalizeActivity(a, a.wallet);
    ASSERT_TRUE(n.ok()) << n.status();
    expected[n->activity_id] = *n;
  };
  for (const std::string& w : wallets) {
    for (int n = 0; n < 47; ++n) add(Trade(w, n, kStart - absl::Minutes(47 - n)));
  }
  // Upstream indexes new trades while the first page of every poll is being read.
  int next = 100;
  api_.SetAfterTradesPage([&](const std::string& wallet, int page) {
    if (page == 1 && next < 106) add(Trade(wallet, next++, clock_.Now() - absl::Seconds(1)));
  });
  WhaleTradesJobOptions options;
  uint64_t last_commit = 0;
  options.on_commit = [&](uint64_t s) { last_commit = s; };
  WhaleTradesJob job(*store_, api_, clock_, options);
  for (int round = 0; round < 6; ++round) {
    ASSERT_OK(job.RunOnce(Context()).status());
    if (round == 2) {
      // A trade that appears upstream five minutes after it was traded.
      add(Trade(wallets[0], 300, clock_.Now() - absl::Minutes(5)));
    }
    clock_.Advance(absl::Minutes(11));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<db::Activity> stored, store_->ReadActivitiesAfter(0, 10000));
  ASSERT_THAT(stored, SizeIs(expected.size()));
  EXPECT_EQ(last_commit, stored.back().sequence);
  for (const db::Activity& a : stored) {
    auto it = expected.find(a.activity_id);
    ASSERT_NE(it, expected.end()) << a.tx_hash;
    EXPECT_EQ(a.amount_usd, it->second.amount_usd);
    EXPECT_EQ(a.shares, it->second.shares);
    EXPECT_EQ(a.price, it->second.price);
    EXPECT_EQ(a.traded_time, it->second.traded_time);
  }
  // Re-running changes nothing.
  ASSERT_OK_AND_ASSIGN(const uint64_t latest, store_->GetLatestSequence());
  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(JobOutcome again, job.RunOnce(Context()));
  EXPECT_EQ(again.item_count, 0);
  EXPECT_THAT(store_->GetLatestSequence(), ::whalefeed::testing::IsOkAndHolds(latest));

  // All-time trade counts: every BUY and SELL of the wallet.
  for (const std::string& w : wallets) {
    int64_t trades = 0;
    for (const auto& [id, a] : expected) trades += a.wallet == w;
    ASSERT_OK_AND_ASSIGN(std::vector<db::WhaleStats> rows, store_->ReadWhaleStatsOfWallet(w));
    ASSERT_THAT(rows, SizeIs(1));
    EXPECT_EQ(rows[0].trade_count, trades) << w;
  }
  StatsJob stats(*store_, api_, clock_, StatsJobOptions{});
  ASSERT_OK_AND_ASSIGN(JobOutcome stats_outcome, stats.RunOnce(Context()));
  EXPECT_EQ(stats_outcome.note, "");  // nothing was left for the hourly fold
  EXPECT_GT(stats_outcome.item_count, 0);
}

TEST_F(SyncJobsMySqlTest, CleanupDeletesInBatchesAndRaisesTheFloor) {
  const std::string w = Wallet(3);
  ASSERT_OK(store_->TrackWhale(w, "", db::WhaleSource::kApi, kStart).status());
  std::vector<db::Activity> trades;
  for (int n = 0; n < 30; ++n) trades.push_back(Trade(w, n, kStart));
  ASSERT_OK_AND_ASSIGN(db::IngestResult r,
                       store_->IngestActivities(fence_, w, trades, {kStart, kStart, 30}, kStart));
  ASSERT_OK_AND_ASSIGN(
      db::IngestResult later,
      store_->IngestActivities(fence_, w, {Trade(w, 99, kStart)}, {kStart, kStart, 31},
                               kStart + absl::Hours(24 * 60)));
  CleanupJobOptions options;
  options.batch_size = 7;
  CleanupJob cleanup(*store_, api_, clock_, options);
  clock_.Set(kStart + absl::Hours(24 * 91));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, cleanup.RunOnce(Context()));
  EXPECT_EQ(outcome.item_count, 30);
  ASSERT_OK_AND_ASSIGN(db::FeedMeta meta, store_->GetFeedMeta());
  EXPECT_EQ(meta.retention_floor, later.inserted_sequences[0]);
  ASSERT_OK_AND_ASSIGN(std::vector<db::Activity> left, store_->ReadActivitiesAfter(0, 100));
  ASSERT_THAT(left, SizeIs(1));
}

TEST_F(SyncJobsMySqlTest, MarketsLandAndARerunTouchesOnlySyncedTime) {
  std::vector<db::Market> top;
  for (int64_t id = 1; id <= 30; ++id) {
    db::Market m;
    m.market_id = id;
    m.title = absl::StrCat("Market ", id);
    m.status = db::MarketStatus::kActivated;
    m.market_type = db::MarketType::kBinary;
    m.volume = "12.5";
    top.push_back(m);
  }
  api_.SetMarkets(top, {}, true);
  MarketsJob markets(*store_, api_, clock_, MarketsJobOptions{});
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, markets.RunOnce(Context()));
  EXPECT_EQ(outcome.item_count, 30);
  clock_.Advance(absl::Minutes(5));
  ASSERT_OK(markets.RunOnce(Context()).status());
  ASSERT_OK_AND_ASSIGN(db::Market m, store_->GetMarket(17));
  EXPECT_EQ(m.updated_time, kStart);
  EXPECT_EQ(m.synced_time, kStart + absl::Minutes(5));
}

}  // namespace
}  // namespace whalefeed::sync
