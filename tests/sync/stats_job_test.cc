// StatsJob on InMemoryStore and FakeClock: late folding into all-time totals, windows, ranks and
// the market flow with known answers, the hourly schedule.
#include "sync/stats_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "db/in_memory_store.h"
#include "tests/sync/fake_opinion_api.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

const absl::Time kStart = absl::FromUnixSeconds(1767225600);

std::string Wallet(int n) { return absl::StrFormat("0x%040x", n); }

db::Activity Fill(const std::string& wallet, int n, db::Side side, const std::string& amount,
                  absl::Time traded) {
  db::Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", n);
  a.wallet = wallet;
  a.market_id = 100 + n % 2;
  a.root_market_id = a.market_id;
  a.side = side;
  a.outcome = db::Outcome::kYes;
  a.price = "0.5";
  a.shares = "10";
  a.amount_usd = amount;
  a.traded_time = traded;
  a.origin = db::Origin::kLive;
  return a;
}

const db::WhaleStats* Window(const std::vector<db::WhaleStats>& rows, db::StatsWindow w) {
  for (const db::WhaleStats& s : rows) {
    if (s.window == w) return &s;
  }
  return nullptr;
}

TEST(StatsJobTest, FoldsMissedTradesAndRecomputesWindowsRanksAndFlow) {
  FakeClock clock(kStart);
  db::InMemoryStore store;
  FakeOpinionApi api;
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store.AdvanceLeaderEpoch("t", kStart));
  const std::string a = Wallet(1), b = Wallet(2);
  for (const std::string& w : {a, b}) {
    ASSERT_OK(store.TrackWhale(w, "", db::WhaleSource::kApi, kStart).status());
  }
  clock.Advance(absl::Hours(24 * 10));
  const absl::Time now = clock.Now();
  // Ingested without the after-commit counters (as if the process died right after the commit).
  ASSERT_OK(store
                .IngestActivities(fence, a,
                                  {Fill(a, 1, db::Side::kBuy, "100.5", now - absl::Hours(1)),
                                   Fill(a, 2, db::Side::kSell, "50", now - absl::Hours(24 * 2)),
                                   Fill(a, 3, db::Side::kMerge, "1000", now - absl::Hours(1))},
                                  {now, now, 3}, now)
                .status());
  ASSERT_OK(store
                .IngestActivities(fence, b,
                                  {Fill(b, 4, db::Side::kBuy, "120", now - absl::Hours(2)),
                                   Fill(b, 5, db::Side::kBuy, "500", now - absl::Hours(24 * 9))},
                                  {now, now, 2}, now)
                .status());
  ASSERT_OK(store.UntrackWhale(b).status());  // its history still counts

  StatsJob job(store, api, clock, StatsJobOptions{});
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, job.RunOnce({fence, nullptr, now, "t"}));
  EXPECT_THAT(outcome.note, ::testing::HasSubstr("4 trades"));
  // a: 24h, 7d, 30d; b: 24h, 7d, 30d; flow: market 101 YES (a's buy), 100 YES (b's buy).
  EXPECT_EQ(outcome.item_count, 6 + 2);

  ASSERT_OK_AND_ASSIGN(std::vector<db::WhaleStats> sa, store.ReadWhaleStatsOfWallet(a));
  ASSERT_THAT(sa, SizeIs(4));
  EXPECT_EQ(Window(sa, db::StatsWindow::k24h)->volume_usd, "100.5");
  EXPECT_EQ(Window(sa, db::StatsWindow::k24h)->rank, 2);
  EXPECT_EQ(Window(sa, db::StatsWindow::k7d)->volume_usd, "150.5");
  EXPECT_EQ(Window(sa, db::StatsWindow::k7d)->rank, 1);
  EXPECT_EQ(Window(sa, db::StatsWindow::kAll)->trade_count, 2);
  EXPECT_EQ(Window(sa, db::StatsWindow::kAll)->average_trade_usd, "75.25");
  EXPECT_EQ(Window(sa, db::StatsWindow::kAll)->rank, 2);
  ASSERT_OK_AND_ASSIGN(std::vector<db::WhaleStats> sb, store.ReadWhaleStatsOfWallet(b));
  EXPECT_EQ(Window(sb, db::StatsWindow::k24h)->rank, 1);
  EXPECT_EQ(Window(sb, db::StatsWindow::k7d)->volume_usd, "120");
  EXPECT_EQ(Window(sb, db::StatsWindow::k30d)->volume_usd, "620");
  EXPECT_EQ(Window(sb, db::StatsWindow::kAll)->rank, 1);

  ASSERT_OK_AND_ASSIGN(std::vector<db::MarketWhaleFlow> flow, store.ReadMarketWhaleFlow());
  ASSERT_THAT(flow, SizeIs(2));
  EXPECT_EQ(flow[0].market_id, 100);
  EXPECT_EQ(flow[0].buy_volume_usd, "120");
  EXPECT_EQ(flow[1].market_id, 101);
  EXPECT_EQ(flow[1].buy_volume_usd, "100.5");

  // A second run folds nothing again: the all-time totals stay.
  ASSERT_OK_AND_ASSIGN(outcome, job.RunOnce({fence, nullptr, now, "t"}));
  EXPECT_EQ(outcome.note, "");
  ASSERT_OK_AND_ASSIGN(sa, store.ReadWhaleStatsOfWallet(a));
  EXPECT_EQ(Window(sa, db::StatsWindow::kAll)->volume_usd, "150.5");

  EXPECT_THAT(job.RunOnce({db::Fence{fence.epoch + 1}, nullptr, now, "t"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  CancelToken cancelled;
  cancelled.Cancel();
  EXPECT_THAT(job.RunOnce({fence, &cancelled, now, "t"}), StatusIs(absl::StatusCode::kCancelled));
}

TEST(StatsJobTest, RunsHourlyAndCoalesces) {
  FakeClock clock(kStart);
  db::InMemoryStore store;
  FakeOpinionApi api;
  StatsJobOptions options;
  options.interval = absl::Hours(1);
  StatsJob job(store, api, clock, options);
  EXPECT_EQ(job.NextRunTime(absl::InfinitePast(), kStart), kStart);
  EXPECT_EQ(job.NextRunTime(kStart, kStart + absl::Minutes(59)), kStart + absl::Hours(1));
  EXPECT_EQ(job.NextRunTime(kStart, kStart + absl::Hours(30)), kStart + absl::Hours(30));
}

}  // namespace
}  // namespace whalefeed::sync
