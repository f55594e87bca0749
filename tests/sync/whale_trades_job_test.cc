// WhaleTradesJob on InMemoryStore, FakeOpinionApi and FakeClock: paging down to the checkpoint
// minus the overlap and no further, dedupe when pages shift or fills share a tx hash, late-indexed
// trades, the backfill bound, adaptive cadence, the watch-list and the error paths.
#include "sync/whale_trades_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "db/in_memory_store.h"
#include "tests/sync/fake_opinion_api.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

const absl::Time kStart = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

std::string Wallet(int n) { return absl::StrFormat("0x%040x", n); }

// Trade n of `wallet`: amounts that differ per trade so that sums check exactly.
db::Activity Trade(const std::string& wallet, int n, absl::Time traded,
                   db::Side side = db::Side::kBuy) {
  db::Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", 1000 + n);
  a.wallet = wallet;
  a.market_id = 16565 + n % 3;
  a.root_market_id = 788;
  a.market_title = "Team A";
  a.root_market_title = "Who wins the final?";
  a.side = side;
  a.outcome = n % 2 == 0 ? db::Outcome::kYes : db::Outcome::kNo;
  a.outcome_label = n % 2 == 0 ? "YES" : "NO";
  a.price = "0.62";
  a.shares = absl::StrCat(100 + n, ".5");
  a.amount_usd = absl::StrCat(n, ".01");
  a.fee_usd = "0.02";
  a.profit_usd = "0";
  a.traded_time = traded;
  return a;
}

class WhaleTradesJobTest : public ::testing::Test {
 protected:
  WhaleTradesJobTest() : clock_(kStart) {}

  void SetUp() override {
    absl::StatusOr<db::Fence> fence = store_.AdvanceLeaderEpoch("test", kStart);
    ASSERT_TRUE(fence.ok());
    fence_ = *fence;
  }

  WhaleTradesJob& Job() {
    if (job_ == nullptr) {
      options_.on_commit = [this](uint64_t sequence) { commits_.push_back(sequence); };
      job_ = std::make_unique<WhaleTradesJob>(store_, api_, clock_, options_);
    }
    return *job_;
  }
  JobContext Context() { return {fence_, &cancel_, clock_.Now(), "test"}; }
  absl::StatusOr<JobOutcome> Run() { return Job().RunOnce(Context()); }
  db::Whale Track(const std::string& wallet) {
    absl::StatusOr<db::Whale> w =
        store_.TrackWhale(wallet, "", db::WhaleSource::kApi, clock_.Now());
    EXPECT_TRUE(w.ok()) << w.status();
    return *w;
  }
  std::vector<db::Activity> Stored() {
    absl::StatusOr<std::vector<db::Activity>> all = store_.ReadActivitiesAfter(0, 100000);
    EXPECT_TRUE(all.ok()) << all.status();
    return *all;
  }
  // Stored tx hashes of `wallet`, in sequence order.
  std::vector<std::string> StoredHashes(const std::string& wallet) {
    std::vector<std::string> out;
    for (const db::Activity& a : Stored()) {
      if (a.wallet == wallet) out.push_back(a.tx_hash);
    }
    return out;
  }

  FakeClock clock_;
  db::InMemoryStore store_;
  FakeOpinionApi api_;
  CancelToken cancel_;
  db::Fence fence_;
  WhaleTradesJobOptions options_;
  std::vector<uint64_t> commits_;
  std::unique_ptr<WhaleTradesJob> job_;
};

TEST_F(WhaleTradesJobTest, FirstPollStoresEveryTradeOldestFirstWithExactAmounts) {
  const std::string w = Wallet(1);
  Track(w);
  // 45 trades in the hour before tracking started: three pages, all BACKFILL.
  for (int n = 0; n < 45; ++n) {
    api_.AddTrade(Trade(w, n, kStart - absl::Hours(1) + absl::Seconds(60 * n)));
  }
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 45);
  EXPECT_EQ(outcome.note, "");
  EXPECT_EQ(api_.trades_requests(w), 3);
  const std::vector<db::Activity> stored = Stored();
  ASSERT_THAT(stored, SizeIs(45));
  for (int n = 0; n < 45; ++n) {
    const db::Activity& a = stored[n];
    EXPECT_EQ(a.tx_hash, Trade(w, n, kStart).tx_hash) << "oldest first";
    EXPECT_EQ(a.amount_usd, absl::StrCat(n, ".01"));
    EXPECT_EQ(a.shares, absl::StrCat(100 + n, ".5"));
    EXPECT_EQ(a.origin, db::Origin::kBackfill);
    EXPECT_EQ(a.traded_time, kStart - absl::Hours(1) + absl::Seconds(60 * n));
  }
  ASSERT_OK_AND_ASSIGN(db::Whale whale, store_.GetWhale(w));
  EXPECT_EQ(whale.trades_seen, 45);
  EXPECT_EQ(whale.last_polled_time, clock_.Now());
  EXPECT_EQ(whale.checkpoint_tx_hash, Trade(w, 44, kStart).tx_hash);
  // The feed hears of the commit once, with its highest sequence; the all-time counters follow.
  EXPECT_THAT(commits_, ElementsAre(stored.back().sequence));
  ASSERT_OK_AND_ASSIGN(std::vector<db::WhaleStats> stats, store_.ReadWhaleStatsOfWallet(w));
  ASSERT_THAT(stats, SizeIs(1));
  EXPECT_EQ(stats[0].window, db::StatsWindow::kAll);
  EXPECT_EQ(stats[0].trade_count, 45);
  EXPECT_EQ(stats[0].volume_usd, "990.45");  // sum of n + 0.01 for n < 45
}

TEST_F(WhaleTradesJobTest, NewTradesAfterTrackingAreLive) {
  const std::string w = Wallet(2);
  Track(w);
  api_.AddTrade(Trade(w, 1, kStart - absl::Minutes(1)));
  api_.AddTrade(Trade(w, 2, kStart + absl::Seconds(30)));
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK(Run().status());
  const std::vector<db::Activity> stored = Stored();
  ASSERT_THAT(stored, SizeIs(2));
  EXPECT_EQ(stored[0].origin, db::Origin::kBackfill);
  EXPECT_EQ(stored[1].origin, db::Origin::kLive);
}

TEST_F(WhaleTradesJobTest, BackfillStopsAtItsBoundAndReadsNoFurther) {
  options_.backfill_max_age = absl::Hours(24 * 7);
  const std::string w = Wallet(3);
  Track(w);
  // One trade every 6 hours for 20 days before tracking: 28 of them inside the 7-day bound.
  for (int n = 0; n < 80; ++n) api_.AddTrade(Trade(w, n, kStart - absl::Hours(6 * (80 - n))));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 28);
  for (const db::Activity& a : Stored()) {
    EXPECT_GE(a.traded_time, kStart - absl::Hours(24 * 7));
  }
  // 28 new, 20 a page: page 2 reaches below the bound, so page 3 is never read.
  EXPECT_EQ(api_.trades_requests(w), 2);
}

TEST_F(WhaleTradesJobTest, BackfillNeverReachesPastTheRetentionWindow) {
  options_.backfill_max_age = absl::Hours(24 * 365);
  options_.retention = absl::Hours(24 * 90);
  const std::string w = Wallet(4);
  Track(w);
  api_.AddTrade(Trade(w, 1, kStart - absl::Hours(24 * 91)));
  api_.AddTrade(Trade(w, 2, kStart - absl::Hours(24 * 89)));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 1);
  EXPECT_THAT(StoredHashes(w), ElementsAre(Trade(w, 2, kStart).tx_hash));
}

TEST_F(WhaleTradesJobTest, APageOfKnownTradesCostsOneRequestAndNoWrite) {
  const std::string w = Wallet(5);
  Track(w);
  // 60 trades, the newest an hour old: far below the checkpoint minus the overlap after poll 1.
  for (int n = 0; n < 60; ++n) {
    api_.AddTrade(Trade(w, n, kStart - absl::Hours(2) + absl::Seconds(60 * n)));
  }
  ASSERT_OK(Run().status());
  EXPECT_EQ(api_.trades_requests(w), 3);
  ASSERT_OK_AND_ASSIGN(const uint64_t latest, store_.GetLatestSequence());
  commits_.clear();

  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(WalletPollResult poll, Job().PollWallet(Context(), *store_.GetWhale(w)));
  EXPECT_EQ(poll.requests, 1);
  EXPECT_EQ(poll.inserted, 0);
  EXPECT_EQ(api_.trades_requests(w), 4);
  EXPECT_THAT(store_.GetLatestSequence(), ::whalefeed::testing::IsOkAndHolds(latest));
  EXPECT_THAT(commits_, IsEmpty());
}

TEST_F(WhaleTradesJobTest, RereadTradesInsideTheOverlapAreFilteredBeforeTheIngest) {
  options_.overlap = absl::Minutes(10);
  const std::string w = Wallet(6);
  Track(w);
  // 30 trades in the last 5 minutes: all inside the overlap window, re-read by every poll.
  for (int n = 0; n < 30; ++n) api_.AddTrade(Trade(w, n, kStart - absl::Seconds(300 - 10 * n)));
  ASSERT_OK(Run().status());
  ASSERT_THAT(Stored(), SizeIs(30));
  clock_.Advance(absl::Minutes(1));
  api_.AddTrade(Trade(w, 30, kStart + absl::Seconds(30)));
  ASSERT_OK_AND_ASSIGN(WalletPollResult poll, Job().PollWallet(Context(), *store_.GetWhale(w)));
  EXPECT_EQ(poll.inserted, 1);
  EXPECT_EQ(poll.known, 30);  // found by the lookup, never sent to the ingest
  EXPECT_EQ(poll.ingest_duplicates, 0);
  EXPECT_EQ(poll.requests, 2);
  EXPECT_THAT(Stored(), SizeIs(31));
}

TEST_F(WhaleTradesJobTest, PagesThatShiftWhileReadLoseAndRepeatNothing) {
  const std::string w = Wallet(7);
  Track(w);
  for (int n = 0; n < 50; ++n) api_.AddTrade(Trade(w, n, kStart - absl::Minutes(50 - n)));
  // Between pages, upstream indexes two new trades: everything after shifts down by two, so
  // page 2 starts with the last two trades of page 1.
  int added = 0;
  api_.SetAfterTradesPage([&](const std::string& wallet, int page) {
    if (page == 1 && added == 0) {
      ++added;
      api_.AddTrade(Trade(wallet, 100, kStart - absl::Seconds(5)));
      api_.AddTrade(Trade(wallet, 101, kStart - absl::Seconds(4)));
    }
  });
  ASSERT_OK_AND_ASSIGN(JobOutcome first, Run());
  // Trades 100 and 101 are on no page this poll read from its start; the next poll gets them.
  std::vector<std::string> hashes = StoredHashes(w);
  EXPECT_THAT(hashes, SizeIs(first.item_count));
  std::set<std::string> unique(hashes.begin(), hashes.end());
  EXPECT_EQ(unique.size(), hashes.size()) << "no duplicates";
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK(Run().status());
  hashes = StoredHashes(w);
  ASSERT_THAT(hashes, SizeIs(52));
  unique = std::set<std::string>(hashes.begin(), hashes.end());
  EXPECT_EQ(unique.size(), 52u);
  for (int n = 0; n < 50; ++n) EXPECT_TRUE(unique.count(Trade(w, n, kStart).tx_hash) == 1) << n;
  EXPECT_TRUE(unique.count(Trade(w, 100, kStart).tx_hash) == 1);
  EXPECT_TRUE(unique.count(Trade(w, 101, kStart).tx_hash) == 1);
}

TEST_F(WhaleTradesJobTest, FillsSharingATxHashAndASecondAreAllKept) {
  const std::string w = Wallet(8);
  Track(w);
  // One transaction, one second, five fills at different prices and sizes, split over two pages
  // by 18 older trades in front of them... newest first, so the fills straddle pages 1 and 2.
  const absl::Time second = kStart - absl::Seconds(30);
  for (int n = 0; n < 17; ++n) api_.AddTrade(Trade(w, n, kStart - absl::Seconds(20 - n)));
  for (int f = 0; f < 5; ++f) {
    db::Activity fill = Trade(w, 500, second);
    fill.price = absl::StrCat("0.6", f);
    fill.shares = absl::StrCat(10 + f);
    fill.amount_usd = absl::StrCat(f + 1, ".5");
    api_.AddTrade(fill);
  }
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 22);
  std::vector<std::string> amounts;
  for (const db::Activity& a : Stored()) {
    if (a.tx_hash == Trade(w, 500, second).tx_hash) amounts.push_back(a.amount_usd);
  }
  // Oldest first; within the second, upstream's order reversed (it lists newest first).
  EXPECT_THAT(amounts, ElementsAre("1.5", "2.5", "3.5", "4.5", "5.5"));
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(JobOutcome again, Run());
  EXPECT_EQ(again.item_count, 0);
  EXPECT_THAT(Stored(), SizeIs(22));
}

TEST_F(WhaleTradesJobTest, ALateIndexedTradeInsideTheOverlapIsFound) {
  options_.overlap = absl::Minutes(10);
  const std::string w = Wallet(9);
  Track(w);
  api_.AddTrade(Trade(w, 1, kStart + absl::Minutes(30)));
  clock_.Advance(absl::Minutes(31));
  ASSERT_OK(Run().status());
  // Upstream indexes two older trades late: 5 and 15 minutes below the checkpoint.
  api_.AddTrade(Trade(w, 2, kStart + absl::Minutes(25)));
  api_.AddTrade(Trade(w, 3, kStart + absl::Minutes(15)));
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 1);
  // The one inside the overlap window is stored (LIVE: traded after tracking began); the one
  // below it is beyond what the window promises.
  EXPECT_THAT(StoredHashes(w),
              ElementsAre(Trade(w, 1, kStart).tx_hash, Trade(w, 2, kStart).tx_hash));
  EXPECT_EQ(Stored().back().origin, db::Origin::kLive);
}

TEST_F(WhaleTradesJobTest, CadenceAdaptsToTradingAndOnlyDueWalletsArePolled) {
  options_.min_poll_interval = absl::Seconds(10);
  options_.max_poll_interval = absl::Minutes(10);
  const std::string busy = Wallet(10), quiet = Wallet(11);
  Track(busy);
  Track(quiet);
  api_.AddTrade(Trade(busy, 1, kStart - absl::Seconds(1)));
  ASSERT_OK(Run().status());
  ASSERT_OK_AND_ASSIGN(db::Whale b, store_.GetWhale(busy));
  EXPECT_EQ(b.next_poll_time, kStart + absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(db::Whale q, store_.GetWhale(quiet));
  EXPECT_EQ(q.next_poll_time, kStart + absl::Seconds(20));

  // The quiet wallet backs off, doubling up to the bound; each run polls only who is due.
  std::vector<absl::Duration> quiet_intervals;
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK_AND_ASSIGN(q, store_.GetWhale(quiet));
    clock_.Set(q.next_poll_time);
    const int busy_before = api_.trades_requests(busy);
    ASSERT_OK_AND_ASSIGN(b, store_.GetWhale(busy));
    const bool busy_due = b.next_poll_time <= clock_.Now();
    ASSERT_OK(Run().status());
    EXPECT_EQ(api_.trades_requests(busy) - busy_before, busy_due ? 1 : 0);
    ASSERT_OK_AND_ASSIGN(q, store_.GetWhale(quiet));
    quiet_intervals.push_back(q.next_poll_time - q.last_polled_time);
  }
  EXPECT_THAT(quiet_intervals, ElementsAre(absl::Seconds(40), absl::Seconds(80), absl::Seconds(160),
                                           absl::Seconds(320), absl::Minutes(10), absl::Minutes(10),
                                           absl::Minutes(10), absl::Minutes(10)));
  // A trade brings it back to the minimum.
  api_.AddTrade(Trade(quiet, 2, clock_.Now()));
  clock_.Set(q.next_poll_time);
  ASSERT_OK(Run().status());
  ASSERT_OK_AND_ASSIGN(q, store_.GetWhale(quiet));
  EXPECT_EQ(q.next_poll_time - q.last_polled_time, absl::Seconds(10));
  // Not due: no request at all.
  const int before = api_.total_trades_requests();
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(JobOutcome idle, Run());
  EXPECT_EQ(idle.item_count, 0);
  EXPECT_EQ(api_.total_trades_requests(), before);
}

TEST_F(WhaleTradesJobTest, EachRunPollsAtMostItsBoundLongestOverdueFirst) {
  options_.max_wallets_per_run = 3;
  for (int i = 0; i < 5; ++i) Track(Wallet(20 + i));
  ASSERT_OK(Run().status());
  EXPECT_EQ(api_.total_trades_requests(), 3);
  ASSERT_OK(Run().status());
  EXPECT_EQ(api_.total_trades_requests(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(api_.trades_requests(Wallet(20 + i)), 1);
}

TEST_F(WhaleTradesJobTest, TickIsTheScheduleAndMissedTicksCoalesce) {
  options_.tick_interval = absl::Seconds(2);
  EXPECT_EQ(Job().NextRunTime(absl::InfinitePast(), kStart), kStart);
  EXPECT_EQ(Job().NextRunTime(kStart, kStart + absl::Seconds(1)), kStart + absl::Seconds(2));
  EXPECT_EQ(Job().NextRunTime(kStart, kStart + absl::Hours(5)), kStart + absl::Hours(5));
}

TEST_F(WhaleTradesJobTest, AuthAndOutageErrorsEndTheRunAndKeepWhatWasCommitted) {
  const std::string a = Wallet(30), b = Wallet(31);
  Track(a);
  Track(b);
  api_.AddTrade(Trade(a, 1, kStart - absl::Seconds(5)));
  api_.AddTrade(Trade(b, 1, kStart - absl::Seconds(5)));
  api_.FailWallet(b, absl::UnauthenticatedError("upstream: invalid API key (errno 11002)"));
  EXPECT_THAT(Run(), StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr(b)));
  EXPECT_THAT(StoredHashes(a), SizeIs(1));
  EXPECT_THAT(StoredHashes(b), IsEmpty());

  api_.FailWallet(b, absl::UnavailableError("upstream: 503 after 4 attempts"));
  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(Run(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(WhaleTradesJobTest, AWalletUpstreamRefusesIsPutBackAndTheOthersGoOn) {
  options_.max_poll_interval = absl::Minutes(10);
  const std::string bad = Wallet(32), good = Wallet(33);
  Track(bad);
  Track(good);
  api_.AddTrade(Trade(good, 1, kStart - absl::Seconds(5)));
  api_.FailWallet(bad, absl::InvalidArgumentError("upstream: bad walletAddress"));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 1);
  EXPECT_THAT(outcome.note, HasSubstr(bad));
  ASSERT_OK_AND_ASSIGN(db::Whale w, store_.GetWhale(bad));
  EXPECT_EQ(w.next_poll_time, kStart + absl::Minutes(10));
  EXPECT_EQ(w.last_polled_time, absl::InfinitePast());  // never successfully polled
  clock_.Advance(absl::Seconds(30));
  ASSERT_OK(Run().status());
  EXPECT_EQ(api_.trades_requests(bad), 1);  // not retried at every tick
}

TEST_F(WhaleTradesJobTest, ACancelledRunStopsWithCancelled) {
  Track(Wallet(34));
  cancel_.Cancel();
  EXPECT_THAT(Run(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(api_.total_trades_requests(), 0);
}

// ---- Early polls: spare upstream budget is spent on wallets that are not due yet ----

// The fixture's job with a budget: the limiter grants at `budget_rate_` and has counted the job's
// requests plus `other_requests_` (the other jobs').
class EarlyPollTest : public WhaleTradesJobTest {
 protected:
  EarlyPollTest() {
    options_.min_poll_interval = absl::Seconds(10);
    options_.max_poll_interval = absl::Minutes(10);
    options_.upstream_budget = [this] {
      LimiterStats stats;
      stats.rate_per_second = budget_rate_;
      stats.configured_rate_per_second = budget_rate_;
      stats.requests_total = api_.total_trades_requests() + other_requests_;
      stats.paused_until = paused_until_;
      return stats;
    };
    api_.SetAfterTradesPage([this](const std::string& wallet, int) { polled_.push_back(wallet); });
  }
  // The wallet's poll state as if its last poll was at `last`, the next due at `next`.
  void SetPolled(const std::string& wallet, absl::Time last, absl::Time next) {
    ASSERT_OK(store_.IngestActivities(fence_, wallet, {}, {last, next, 0}, last).status());
  }

  double budget_rate_ = 12;
  int64_t other_requests_ = 0;
  absl::Time paused_until_ = absl::InfinitePast();
  std::vector<std::string> polled_;
};

TEST_F(EarlyPollTest, SpareBudgetPollsWalletsFurthestThroughTheirIntervalFirst) {
  options_.budget_share = 0.5;
  budget_rate_ = 3;  // 0.5 x 3/s x 2 s: 3 requests spare per 2-second tick
  const absl::Time now = kStart + absl::Minutes(10);
  const std::string half = Wallet(40), recent = Wallet(41), quiet = Wallet(42),
                    just_polled = Wallet(43), due = Wallet(44);
  for (const std::string& w : {half, recent, quiet, just_polled, due}) Track(w);
  SetPolled(half, now - absl::Minutes(5), now + absl::Minutes(5));         // 50% waited
  SetPolled(recent, now - absl::Seconds(30), now + absl::Seconds(10));     // 75%
  SetPolled(quiet, now - absl::Minutes(8), now + absl::Minutes(2));        // 80%
  SetPolled(just_polled, now - absl::Seconds(5), now + absl::Seconds(5));  // under the minimum
  SetPolled(due, now - absl::Seconds(41), now - absl::Seconds(1));

  // The first run has no budget history yet: nothing is spare (and nothing is due).
  clock_.Set(now - absl::Seconds(2));
  ASSERT_OK(Run().status());
  EXPECT_THAT(polled_, IsEmpty());
  // Two seconds on: 3 requests spare, one of them taken by the due wallet, which goes first.
  clock_.Set(now);
  ASSERT_OK(Run().status());
  EXPECT_THAT(polled_, ElementsAre(due, quiet, recent));
  // An early poll that finds nothing adds the quiet time it saw to the interval, up to the bound.
  ASSERT_OK_AND_ASSIGN(db::Whale q, store_.GetWhale(quiet));
  EXPECT_EQ(q.last_polled_time, now);
  EXPECT_EQ(q.next_poll_time, now + absl::Minutes(10));  // 10 min + 8 min quiet, bounded
  ASSERT_OK_AND_ASSIGN(db::Whale r, store_.GetWhale(recent));
  EXPECT_EQ(r.next_poll_time, now + absl::Seconds(70));  // 40 s + 30 s quiet
  ASSERT_OK_AND_ASSIGN(db::Whale d, store_.GetWhale(due));
  EXPECT_EQ(d.next_poll_time, now + absl::Seconds(80));  // polled on time: doubled
  // Two seconds on, 6 requests in the 4 s window, 3 used: room for the last candidate, whose early
  // poll finds a trade and brings it to the minimum like any other (the others were polled within
  // the minimum interval).
  api_.AddTrade(Trade(half, 1, now + absl::Seconds(1)));
  polled_.clear();
  clock_.Set(now + absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 1);
  EXPECT_THAT(polled_, ElementsAre(half));
  ASSERT_OK_AND_ASSIGN(db::Whale h, store_.GetWhale(half));
  EXPECT_EQ(h.next_poll_time, now + absl::Seconds(12));
}

TEST_F(EarlyPollTest, OtherJobsRequestsAndARetryAfterLeaveNothingSpare) {
  const absl::Time now = kStart + absl::Minutes(10);
  const std::string w = Wallet(45);
  Track(w);
  SetPolled(w, now - absl::Minutes(5), now + absl::Minutes(5));
  clock_.Set(now - absl::Seconds(2));
  ASSERT_OK(Run().status());
  // 0.8 x 12/s x 2 s = 19 requests, all taken by the other jobs.
  other_requests_ = 19;
  clock_.Set(now);
  ASSERT_OK(Run().status());
  EXPECT_THAT(polled_, IsEmpty());
  // The other jobs idle, but a Retry-After is in force.
  paused_until_ = now + absl::Seconds(30);
  clock_.Set(now + absl::Seconds(10));
  ASSERT_OK(Run().status());
  EXPECT_THAT(polled_, IsEmpty());
  paused_until_ = absl::InfinitePast();
  clock_.Set(now + absl::Seconds(12));
  ASSERT_OK(Run().status());
  EXPECT_THAT(polled_, ElementsAre(w));
}

TEST_F(EarlyPollTest, AShareOfZeroOrNoBudgetPollsOnlyDueWallets) {
  for (double share : {0.0, 0.8}) {
    SCOPED_TRACE(share);
    job_.reset();
    options_.budget_share = share;
    if (share > 0) options_.upstream_budget = nullptr;
    const absl::Time now = clock_.Now() + absl::Minutes(10);
    const std::string w = Wallet(share > 0 ? 46 : 47);
    Track(w);
    SetPolled(w, now - absl::Minutes(5), now + absl::Minutes(5));
    for (int i = 0; i < 5; ++i) {
      clock_.Set(now + absl::Seconds(2 * i));
      ASSERT_OK(Run().status());
    }
    EXPECT_EQ(api_.trades_requests(w), 0);
  }
}

// Many wallets over simulated hours, run as the scheduler runs the job (a tick every 2 s; each
// request takes 1/12 s as the limiter paces them), with the trades the script adds upstream.
struct PollEvent {
  absl::Time at;
  std::string wallet;
  bool operator==(const PollEvent& o) const { return at == o.at && wallet == o.wallet; }
};

enum class OtherJobs {
  kNoBudget,  // the job has no budget to read (as before early polls)
  kSaturate,  // the other jobs use the whole rate: nothing is ever spare
  kIdle,      // the other jobs send nothing
  kBursts,    // the other jobs use the whole rate one minute in three
};

struct CadenceRun {
  std::vector<PollEvent> polls;
  std::vector<absl::Time> requests;  // the job's, when each was sent
  // Per trade of the busiest wallet: its time, and from then to the poll that stored it.
  std::vector<std::pair<absl::Time, absl::Duration>> busy_lags;
};

CadenceRun SimulateCadence(OtherJobs other, int wallets, absl::Duration total) {
  constexpr double kRate = 12;
  const absl::Duration request_time = absl::Seconds(1) / kRate;
  FakeClock clock(kStart);
  db::InMemoryStore store;
  FakeOpinionApi api;
  CancelToken cancel;
  absl::StatusOr<db::Fence> fence = store.AdvanceLeaderEpoch("test", kStart);
  EXPECT_TRUE(fence.ok());
  CadenceRun run;
  api.SetAfterTradesPage([&](const std::string& wallet, int page) {
    if (page == 1) run.polls.push_back({clock.Now(), wallet});
    run.requests.push_back(clock.Now());
    clock.Advance(request_time);
  });
  int64_t other_requests = 0;
  WhaleTradesJobOptions options;
  options.max_wallets_per_run = 25;
  if (other != OtherJobs::kNoBudget) {
    options.upstream_budget = [&] {
      LimiterStats stats;
      stats.rate_per_second = kRate;
      stats.requests_total = api.total_trades_requests() + other_requests;
      return stats;
    };
  }
  WhaleTradesJob job(store, api, clock, options);
  for (int i = 0; i < wallets; ++i) {
    EXPECT_TRUE(store.TrackWhale(Wallet(100 + i), "", db::WhaleSource::kApi, kStart).ok());
  }
  // Wallets 0 and 1 trade every 7 s and every 25 s; every tenth wallet once in 17 minutes.
  auto trades_at = [](int i, int64_t second) {
    if (i == 0) return second % 7 == 0;
    if (i == 1) return second % 25 == 0;
    return i % 10 == 0 && second % 1020 == i;
  };
  std::vector<absl::Time> pending;  // the busiest wallet's trades not stored yet
  int trade = 0;
  absl::Time last_started = absl::InfinitePast();
  int64_t added_through = 0;
  while (clock.Now() < kStart + total) {
    const absl::Time next = job.NextRunTime(last_started, clock.Now());
    const absl::Duration since_start = next - kStart;
    // Upstream trades up to the run's start, and the other jobs' requests.
    for (int64_t second = added_through + 1; second <= absl::ToInt64Seconds(since_start);
         ++second) {
      for (int i = 0; i < wallets; ++i) {
        if (!trades_at(i, second)) continue;
        const std::string w = Wallet(100 + i);
        api.AddTrade(Trade(w, ++trade, kStart + absl::Seconds(second)));
        if (i == 0) pending.push_back(kStart + absl::Seconds(second));
      }
      const bool saturated =
          other == OtherJobs::kSaturate || (other == OtherJobs::kBursts && second % 180 < 60);
      if (saturated) other_requests += static_cast<int64_t>(kRate);
    }
    added_through = absl::ToInt64Seconds(since_start);
    clock.Set(std::max(next, clock.Now()));
    last_started = clock.Now();
    const size_t before = run.polls.size();
    absl::StatusOr<JobOutcome> outcome = job.RunOnce({*fence, &cancel, last_started, "test"});
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    // A poll of the busiest wallet in this run found every trade made before the run started.
    for (size_t p = before; p < run.polls.size(); ++p) {
      if (run.polls[p].wallet != Wallet(100)) continue;
      for (absl::Time t : pending) run.busy_lags.push_back({t, run.polls[p].at - t});
      pending.clear();
    }
  }
  return run;
}

// Per wallet, the gaps between its consecutive polls.
absl::flat_hash_map<std::string, std::vector<absl::Duration>> PollGaps(
    const std::vector<PollEvent>& polls) {
  absl::flat_hash_map<std::string, absl::Time> last;
  absl::flat_hash_map<std::string, std::vector<absl::Duration>> gaps;
  for (const PollEvent& p : polls) {
    auto it = last.find(p.wallet);
    if (it != last.end()) gaps[p.wallet].push_back(p.at - it->second);
    last[p.wallet] = p.at;
  }
  return gaps;
}

TEST(EarlyPollCadenceTest, WithoutSpareBudgetThePollsAreExactlyTheBackOffSchedule) {
  const CadenceRun plain = SimulateCadence(OtherJobs::kNoBudget, 40, absl::Minutes(40));
  const CadenceRun saturated = SimulateCadence(OtherJobs::kSaturate, 40, absl::Minutes(40));
  ASSERT_FALSE(plain.polls.empty());
  EXPECT_TRUE(plain.polls == saturated.polls);
  // The back-off reaches its bound: quiet wallets are polled every 10 minutes.
  const auto gaps = PollGaps(plain.polls);
  EXPECT_GE(gaps.at(Wallet(100 + 39)).back(), absl::Minutes(10));
}

TEST(EarlyPollCadenceTest, SpareBudgetLooksAtQuietWalletsFarMoreOftenWithinTheMinimum) {
  const CadenceRun plain = SimulateCadence(OtherJobs::kNoBudget, 40, absl::Minutes(40));
  const CadenceRun spare = SimulateCadence(OtherJobs::kIdle, 40, absl::Minutes(40));
  const auto plain_gaps = PollGaps(plain.polls);
  const auto spare_gaps = PollGaps(spare.polls);
  for (int i = 0; i < 40; ++i) {
    const std::string w = Wallet(100 + i);
    SCOPED_TRACE(w);
    // 40 wallets at 0.8 x 12 requests/s: each could be looked at every 4 s, so the minimum
    // interval is what bounds them.
    ASSERT_TRUE(spare_gaps.contains(w));
    for (absl::Duration gap : spare_gaps.at(w)) {
      EXPECT_GE(gap, absl::Seconds(10));
      EXPECT_LE(gap, absl::Seconds(14));
    }
    // The quiet ones (not the two trading every 7 and 25 s) are looked at many times more often
    // than their back-off alone would.
    if (i >= 2) {
      EXPECT_GT(spare_gaps.at(w).size(), 4 * plain_gaps.at(w).size());
    }
  }
}

TEST(EarlyPollCadenceTest, DueWalletsComeFirstAndTheBoundHoldsWhenTheBudgetComesAndGoes) {
  // 400 wallets: more than the spare budget can look at every 10 s, with the other jobs taking
  // the whole rate one minute in three.
  const CadenceRun run = SimulateCadence(OtherJobs::kBursts, 400, absl::Minutes(60));
  const auto gaps = PollGaps(run.polls);
  ASSERT_EQ(gaps.size(), 400u);
  for (const auto& [wallet, list] : gaps) {
    for (absl::Duration gap : list) {
      EXPECT_GE(gap, absl::Seconds(10)) << wallet;
      // Due within the 10-minute bound, polled at the next tick.
      EXPECT_LE(gap, absl::Minutes(10) + absl::Seconds(4)) << wallet;
    }
  }
  // The busiest wallet (a trade every 7 s) is never starved by early polls: each of its trades is
  // stored within the minimum interval and a tick or so. Not checked in the first two minutes: the
  // first pass over 400 never-polled wallets, and the wave of them due again together after it,
  // fill whole runs with due wallets, ordered by when they fell due (no early poll then).
  absl::flat_hash_set<std::string> seen;
  for (const PollEvent& p : run.polls) {
    seen.insert(p.wallet);
    if (p.at >= kStart + absl::Seconds(40)) break;
  }
  ASSERT_EQ(seen.size(), 400u) << "the first pass took more than 40 s";
  int checked = 0;
  for (const auto& [traded, lag] : run.busy_lags) {
    if (traded < kStart + absl::Minutes(2)) continue;
    ++checked;
    EXPECT_LE(lag, absl::Seconds(14)) << "trade at " << traded;
  }
  EXPECT_GT(checked, 400);
  // While the other jobs are idle (two minutes in three) the job fills its share of the rate, and
  // no more: 0.8 x 12/s, less the window it takes the other jobs' minute to leave.
  for (int cycle = 0; cycle < 20; ++cycle) {
    const absl::Time from = kStart + absl::Seconds(180 * cycle + 60);
    const absl::Time to = from + absl::Seconds(120);
    const auto n = std::count_if(run.requests.begin(), run.requests.end(),
                                 [&](absl::Time t) { return t >= from && t < to; });
    SCOPED_TRACE(cycle);
    EXPECT_GE(n, 0.6 * 12 * 120);
    EXPECT_LE(n, 0.8 * 12 * 120 + 30);
  }
}

class WatchlistJobTest : public WhaleTradesJobTest {
 protected:
  void SetUp() override {
    WhaleTradesJobTest::SetUp();
    path_ = absl::StrCat(::testing::TempDir(), "/watchlist_", getpid(), "_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    options_.watchlist_path = path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) {
    std::ofstream out(path_, std::ios::trunc);
    out << text;
  }
  std::string path_;
};

TEST_F(WatchlistJobTest, TheFileIsMergedWithApiTrackedWalletsAndReloaded) {
  const std::string api_wallet = Wallet(40);
  ASSERT_OK(store_.TrackWhale(api_wallet, "from api", db::WhaleSource::kApi, kStart).status());
  Write(absl::StrCat("# desk A\n", Wallet(41), "  Big fish  # the biggest\n\n",
                     absl::AsciiStrToUpper(Wallet(42)).replace(0, 2, "0x"), "\n", api_wallet,
                     " file label\n"));
  ASSERT_OK(Run().status());
  ASSERT_OK_AND_ASSIGN(std::vector<db::Whale> whales, store_.ListWhales(true));
  ASSERT_THAT(whales, SizeIs(3));
  EXPECT_EQ(whales[0].wallet, api_wallet);
  EXPECT_EQ(whales[0].source, db::WhaleSource::kApi);  // left as the API made it
  EXPECT_EQ(whales[0].label, "from api");
  EXPECT_EQ(whales[1].wallet, Wallet(41));
  EXPECT_EQ(whales[1].label, "Big fish");
  EXPECT_EQ(whales[1].source, db::WhaleSource::kFile);
  EXPECT_EQ(whales[2].wallet, Wallet(42));
  EXPECT_EQ(api_.total_trades_requests(), 3);  // all three polled

  // SIGHUP: 41 relabelled, 42 gone, 43 new.
  Write(absl::StrCat(Wallet(41), " Bigger fish\n", Wallet(43), "\n"));
  ASSERT_OK(Job().Reload());
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(Run().status());
  ASSERT_OK_AND_ASSIGN(whales, store_.ListWhales(true));
  std::vector<std::string> wallets;
  for (const db::Whale& w : whales) wallets.push_back(w.wallet);
  EXPECT_THAT(wallets, ElementsAre(api_wallet, Wallet(41), Wallet(43)));
  EXPECT_EQ(whales[1].label, "Bigger fish");
  EXPECT_EQ(whales[1].tracked_since, kStart);  // kept
  ASSERT_OK_AND_ASSIGN(db::Whale gone, store_.GetWhale(Wallet(42)));
  EXPECT_FALSE(gone.tracked);
}

TEST_F(WatchlistJobTest, ABadFileIsRefusedWholeAndTheListInForceStays) {
  Write(absl::StrCat(Wallet(50), "\n"));
  ASSERT_OK(Run().status());
  Write(absl::StrCat(Wallet(51), "\nnot-a-wallet label\n"));
  EXPECT_THAT(Job().Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(absl::StrCat(path_, ":2"))));
  ASSERT_OK(Run().status());
  ASSERT_OK_AND_ASSIGN(std::vector<db::Whale> whales, store_.ListWhales(true));
  ASSERT_THAT(whales, SizeIs(1));
  EXPECT_EQ(whales[0].wallet, Wallet(50));
}

TEST_F(WatchlistJobTest, AMissingFileDoesNotStopPollingApiWallets) {
  Track(Wallet(60));
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_THAT(outcome.note, HasSubstr(path_));
  EXPECT_EQ(api_.trades_requests(Wallet(60)), 1);
}

TEST(WatchlistTest, ParsesCommentsLabelsAndDuplicates) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<WatchlistEntry> entries,
      ParseWatchlist(absl::StrCat("  # comment only\n", Wallet(1), "\t desk one \n", Wallet(2),
                                  "#no label\n\n", Wallet(1), " desk 1\r\n"),
                     "list.txt"));
  ASSERT_THAT(entries, SizeIs(2));
  EXPECT_EQ(entries[0].wallet, Wallet(1));
  EXPECT_EQ(entries[0].label, "desk 1");
  EXPECT_EQ(entries[1].wallet, Wallet(2));
  EXPECT_EQ(entries[1].label, "");
  EXPECT_THAT(ParseWatchlist("0x12 short\n", "list.txt"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("list.txt:1")));
  EXPECT_THAT(ParseWatchlist(absl::StrCat(Wallet(1), " ", std::string(300, 'x')), "l"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("l:1 label")));
  EXPECT_THAT(ReadWatchlistFile("/nonexistent/watchlist"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/watchlist")));
}

}  // namespace
}  // namespace whalefeed::sync
