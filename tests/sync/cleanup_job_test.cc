// CleanupJob on InMemoryStore and FakeClock: the daily 03:00 UTC schedule (coalescing, UTC has no
// DST), batched deletes of expired activity raising the retention floor, pruned sync history, and
// all-time stats kept.
#include "sync/cleanup_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "db/in_memory_store.h"
#include "sync/job_schedule.h"
#include "tests/sync/fake_opinion_api.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::StatusIs;

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

TEST(CleanupScheduleTest, DailyAtThreeUtcCoalescingMissedDays) {
  FakeClock clock;
  db::InMemoryStore store;
  FakeOpinionApi api;
  CleanupJob job(store, api, clock, CleanupJobOptions{});
  // Never ran: the next 03:00 at or after now.
  EXPECT_EQ(job.NextRunTime(absl::InfinitePast(), Utc(2026, 3, 28, 14, 0)), Utc(2026, 3, 29, 3, 0));
  EXPECT_EQ(job.NextRunTime(absl::InfinitePast(), Utc(2026, 3, 29, 2, 59)), Utc(2026, 3, 29, 3, 0));
  EXPECT_EQ(job.NextRunTime(absl::InfinitePast(), Utc(2026, 3, 29, 3, 0)), Utc(2026, 3, 29, 3, 0));
  // Ran at 03:00: tomorrow 03:00, 24 h later also across the European DST change (29 March).
  EXPECT_EQ(job.NextRunTime(Utc(2026, 3, 28, 3, 0), Utc(2026, 3, 28, 3, 1)),
            Utc(2026, 3, 29, 3, 0));
  EXPECT_EQ(job.NextRunTime(Utc(2026, 3, 29, 3, 0), Utc(2026, 3, 29, 9, 0)),
            Utc(2026, 3, 30, 3, 0));
  // A manual run at 10:00 does not skip the next 03:00.
  EXPECT_EQ(job.NextRunTime(Utc(2026, 3, 29, 10, 0), Utc(2026, 3, 29, 11, 0)),
            Utc(2026, 3, 30, 3, 0));
  // Stopped for five days: one run now, then back on 03:00.
  EXPECT_EQ(job.NextRunTime(Utc(2026, 3, 20, 3, 0), Utc(2026, 3, 25, 17, 30)),
            Utc(2026, 3, 25, 17, 30));
  // Year end and leap day.
  EXPECT_EQ(job.NextRunTime(Utc(2027, 12, 31, 3, 0), Utc(2027, 12, 31, 4, 0)),
            Utc(2028, 1, 1, 3, 0));
  EXPECT_EQ(job.NextRunTime(Utc(2028, 2, 28, 3, 0), Utc(2028, 2, 28, 4, 0)),
            Utc(2028, 2, 29, 3, 0));
  CleanupJobOptions late;
  late.time_of_day = absl::Hours(23) + absl::Minutes(30);
  CleanupJob at_2330(store, api, clock, late);
  EXPECT_EQ(at_2330.NextRunTime(Utc(2026, 1, 1, 23, 30), Utc(2026, 1, 1, 23, 31)),
            Utc(2026, 1, 2, 23, 30));
}

TEST(CleanupScheduleTest, ParseTimeOfDay) {
  EXPECT_THAT(ParseTimeOfDay("03:00", "--cleanup_time"), IsOkAndHolds(absl::Hours(3)));
  EXPECT_THAT(ParseTimeOfDay("23:59", "--cleanup_time"),
              IsOkAndHolds(absl::Hours(23) + absl::Minutes(59)));
  EXPECT_THAT(ParseTimeOfDay("7:05", "--cleanup_time"),
              IsOkAndHolds(absl::Hours(7) + absl::Minutes(5)));
  for (const char* bad : {"24:00", "03:60", "3", "03:0", "-1:00", "03:00Z", "", "ab:cd", ":30"}) {
    EXPECT_THAT(ParseTimeOfDay(bad, "--cleanup_time"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--cleanup_time")))
        << bad;
  }
}

TEST(CleanupJobTest, DeletesExpiredActivityInBatchesAndKeepsAllTimeStats) {
  const absl::Time start = Utc(2026, 1, 1, 0, 0);
  FakeClock clock(start);
  db::InMemoryStore store;
  FakeOpinionApi api;
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store.AdvanceLeaderEpoch("t", start));
  const std::string w = absl::StrFormat("0x%040x", 7);
  ASSERT_OK(store.TrackWhale(w, "", db::WhaleSource::kApi, start).status());
  // 25 trades ingested on day 0, 5 on day 50.
  std::vector<uint64_t> sequences;
  for (int day : {0, 50}) {
    std::vector<db::Activity> trades;
    for (int n = 0; n < (day == 0 ? 25 : 5); ++n) {
      db::Activity a;
      a.tx_hash = absl::StrFormat("0x%064x", day * 100 + n);
      a.wallet = w;
      a.market_id = 1;
      a.root_market_id = 1;
      a.side = db::Side::kBuy;
      a.outcome = db::Outcome::kYes;
      a.amount_usd = "2";
      a.traded_time = start + absl::Hours(24 * day);
      a.origin = db::Origin::kLive;
      trades.push_back(a);
    }
    const absl::Time at = start + absl::Hours(24 * day);
    ASSERT_OK_AND_ASSIGN(db::IngestResult r,
                         store.IngestActivities(fence, w, trades, {at, at, 0}, at));
    sequences.insert(sequences.end(), r.inserted_sequences.begin(), r.inserted_sequences.end());
    ASSERT_OK(store.AddToAllTimeStats(fence, w, at).status());
  }
  ASSERT_OK_AND_ASSIGN(int64_t old_run,
                       store.StartSyncRun(fence, db::SyncJob::kMarkets, "t", start));
  ASSERT_OK(store.FinishSyncRun(fence, old_run, db::RunStatus::kCompleted, 1, "", start));

  CleanupJobOptions options;
  options.batch_size = 10;
  CleanupJob job(store, api, clock, options);
  clock.Set(start + absl::Hours(24 * 95));  // day 0 is past 90 days, day 50 is not
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, job.RunOnce({fence, nullptr, clock.Now(), "t"}));
  EXPECT_EQ(outcome.item_count, 25);
  ASSERT_OK_AND_ASSIGN(std::vector<db::Activity> left, store.ReadActivitiesAfter(0, 100));
  ASSERT_THAT(left, SizeIs(5));
  EXPECT_EQ(left[0].sequence, sequences[25]);
  ASSERT_OK_AND_ASSIGN(db::FeedMeta meta, store.GetFeedMeta());
  EXPECT_EQ(meta.retention_floor, sequences[25]);
  ASSERT_OK_AND_ASSIGN(std::vector<db::SyncJobSummary> runs, store.GetSyncJobSummaries());
  EXPECT_THAT(runs, ::testing::IsEmpty());  // the 95-day-old run went too
  ASSERT_OK_AND_ASSIGN(std::vector<db::WhaleStats> stats, store.ReadWhaleStatsOfWallet(w));
  ASSERT_THAT(stats, SizeIs(1));
  EXPECT_EQ(stats[0].trade_count, 30);
  EXPECT_EQ(stats[0].volume_usd, "60");

  // Again: nothing more to do, the floor stays.
  ASSERT_OK_AND_ASSIGN(outcome, job.RunOnce({fence, nullptr, clock.Now(), "t"}));
  EXPECT_EQ(outcome.item_count, 0);
  ASSERT_OK_AND_ASSIGN(meta, store.GetFeedMeta());
  EXPECT_EQ(meta.retention_floor, sequences[25]);

  EXPECT_THAT(job.RunOnce({db::Fence{fence.epoch + 1}, nullptr, clock.Now(), "t"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CleanupJobTest, ACancelledRunStopsBetweenBatches) {
  FakeClock clock;
  db::InMemoryStore store;
  FakeOpinionApi api;
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store.AdvanceLeaderEpoch("t", clock.Now()));
  CleanupJob job(store, api, clock, CleanupJobOptions{});
  CancelToken cancel;
  cancel.Cancel();
  EXPECT_THAT(job.RunOnce({fence, &cancel, clock.Now(), "t"}),
              StatusIs(absl::StatusCode::kCancelled));
}

}  // namespace
}  // namespace whalefeed::sync
