// The scheduler on a FakeClock and an InMemoryStore: when jobs run, coalescing, no overlap,
// RunSyncJob requests, cancellation on leadership loss, failures and limiter publishing. Runs are
// handed out by Poll() at fake times; the tests wait for the handed-out runs (never for time).
#include "sync/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "db/in_memory_store.h"
#include "sync/job_health.h"
#include "tests/sync/fake_job.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::whalefeed::testing::IsOkAndHolds;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
constexpr absl::Duration kWait = absl::Seconds(10);  // a failure bound, never a schedule

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : clock_(kT0), markets_(db::SyncJob::kMarkets, absl::Minutes(5)) {}

  // Makes and starts the scheduler (workers only: the test calls Poll) and makes it leader.
  void StartLeader(std::vector<SyncJobRunner*> jobs, SchedulerOptions options = {}) {
    options.replica_id = "replica-a";
    options.on_run_finished = [this](const RunReport& report) {
      absl::MutexLock lock(&mu_);
      reports_.push_back(report);
    };
    options.on_fence_refused = [this](const absl::Status& status) {
      absl::MutexLock lock(&mu_);
      refused_.push_back(status);
    };
    scheduler_ = std::make_unique<Scheduler>(&store_, &clock_, std::move(jobs), options);
    ASSERT_OK(scheduler_->Start(/*run_loop=*/false));
    absl::StatusOr<db::Fence> fence = store_.AdvanceLeaderEpoch("replica-a", clock_.Now());
    ASSERT_OK(fence.status());
    fence_ = *fence;
    scheduler_->BecomeLeader(fence_);
  }

  // One Poll, then waits until whatever it handed out has finished.
  void PollAndSettle() {
    scheduler_->Poll();
    ASSERT_TRUE(scheduler_->WaitIdle(kWait));
  }

  db::SyncJobSummary Summary(db::SyncJob job) {
    absl::StatusOr<std::vector<db::SyncJobSummary>> all = store_.GetSyncJobSummaries();
    EXPECT_OK(all.status());
    if (all.ok()) {
      for (const db::SyncJobSummary& s : *all) {
        if (s.latest.job == job) return s;
      }
    }
    return {};
  }

  std::vector<RunReport> reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }
  std::vector<absl::Status> refused() {
    absl::MutexLock lock(&mu_);
    return refused_;
  }

  FakeClock clock_;
  db::InMemoryStore store_;
  FakeJob markets_;
  db::Fence fence_;
  std::unique_ptr<Scheduler> scheduler_;
  absl::Mutex mu_;
  std::vector<RunReport> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> refused_ ABSL_GUARDED_BY(mu_);
};

TEST_F(SchedulerTest, RunsADueJobAndRecordsTheRun) {
  StartLeader({&markets_});
  markets_.SetItems(42);
  PollAndSettle();  // never ran: due at once
  ASSERT_EQ(markets_.starts(), 1);
  db::SyncJobSummary summary = Summary(db::SyncJob::kMarkets);
  EXPECT_EQ(summary.latest.status, db::RunStatus::kCompleted);
  EXPECT_EQ(summary.latest.item_count, 42);
  EXPECT_EQ(summary.latest.started_time, kT0);
  EXPECT_EQ(summary.latest.replica_id, "replica-a");
  EXPECT_EQ(summary.last_completed_time, kT0);
  const std::vector<JobContext> contexts = markets_.contexts();
  EXPECT_EQ(contexts[0].fence.epoch, fence_.epoch);
  EXPECT_EQ(contexts[0].now, kT0);
  EXPECT_EQ(contexts[0].replica_id, "replica-a");

  // Not again before its interval has passed.
  clock_.Advance(absl::Minutes(5) - absl::Seconds(1));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 1);
  clock_.Advance(absl::Seconds(1));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 2);
  EXPECT_EQ(Summary(db::SyncJob::kMarkets).latest.started_time, kT0 + absl::Minutes(5));
  ASSERT_THAT(reports(), SizeIs(2));
  EXPECT_EQ(reports()[1].status, db::RunStatus::kCompleted);
  EXPECT_EQ(reports()[1].item_count, 42);
}

TEST_F(SchedulerTest, MissedRunsCoalesceIntoOne) {
  StartLeader({&markets_});
  PollAndSettle();
  ASSERT_EQ(markets_.starts(), 1);
  clock_.Advance(absl::Hours(1));  // twelve runs missed
  for (int i = 0; i < 5; ++i) PollAndSettle();
  EXPECT_EQ(markets_.starts(), 2);
  // The next one counts from the run that made up for them.
  clock_.Advance(absl::Minutes(4));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 2);
  clock_.Advance(absl::Minutes(1));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 3);
}

TEST_F(SchedulerTest, AJobNeverOverlapsItself) {
  StartLeader({&markets_});
  markets_.SetBlocking(true);
  scheduler_->Poll();
  ASSERT_TRUE(markets_.WaitStarts(1, kWait));
  // The run takes longer than several intervals: while it runs, nothing else of it starts.
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(absl::Minutes(6));
    scheduler_->Poll();
  }
  EXPECT_EQ(markets_.starts(), 1);
  EXPECT_EQ(Summary(db::SyncJob::kMarkets).latest.status, db::RunStatus::kRunning);
  markets_.Release();
  ASSERT_TRUE(scheduler_->WaitRunsFinished(1, kWait));
  EXPECT_EQ(Summary(db::SyncJob::kMarkets).latest.ended_time, kT0 + absl::Minutes(24));
  // Overdue now: one run, not four.
  markets_.SetBlocking(false);
  PollAndSettle();
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 2);
}

TEST_F(SchedulerTest, JobsRunIndependently) {
  FakeJob stats(db::SyncJob::kStats, absl::Hours(1));
  StartLeader({&markets_, &stats});
  markets_.SetBlocking(true);
  scheduler_->Poll();
  ASSERT_TRUE(markets_.WaitStarts(1, kWait));
  // A long markets run does not hold stats up.
  ASSERT_TRUE(stats.WaitStarts(1, kWait));
  ASSERT_TRUE(scheduler_->WaitRunsFinished(1, kWait));
  EXPECT_EQ(Summary(db::SyncJob::kStats).latest.status, db::RunStatus::kCompleted);
  markets_.Release();
  ASSERT_TRUE(scheduler_->WaitIdle(kWait));
}

TEST_F(SchedulerTest, RequestedRunsStartPromptlyAndOnlyOnce) {
  FakeJob stats(db::SyncJob::kStats, absl::Hours(1));
  StartLeader({&markets_, &stats});
  PollAndSettle();
  ASSERT_EQ(stats.starts(), 1);

  ASSERT_OK_AND_ASSIGN(db::SyncRequestResult queued,
                       store_.RequestSyncRun(db::SyncJob::kStats, clock_.Now()));
  ASSERT_TRUE(queued.accepted);
  // The leader looks for requests every second; the job is not due for an hour.
  clock_.Advance(absl::Seconds(1));
  PollAndSettle();
  EXPECT_EQ(stats.starts(), 2);
  ASSERT_FALSE(reports().empty());
  EXPECT_TRUE(reports().back().requested);
  EXPECT_EQ(reports().back().job, db::SyncJob::kStats);
  clock_.Advance(absl::Seconds(1));
  PollAndSettle();
  EXPECT_EQ(stats.starts(), 2);  // taken once

  // While it runs, another request is refused; a request made just before it started is run
  // right after.
  stats.SetBlocking(true);
  ASSERT_OK(store_.RequestSyncRun(db::SyncJob::kStats, clock_.Now()).status());
  clock_.Advance(absl::Seconds(1));
  scheduler_->Poll();
  ASSERT_TRUE(stats.WaitStarts(3, kWait));
  EXPECT_THAT(store_.RequestSyncRun(db::SyncJob::kStats, clock_.Now()),
              IsOkAndHolds(::testing::Field(&db::SyncRequestResult::accepted, false)));
  stats.Release();
  ASSERT_TRUE(scheduler_->WaitIdle(kWait));
  EXPECT_EQ(stats.starts(), 3);
}

TEST_F(SchedulerTest, LosingLeadershipCancelsRunningJobsAndStopsScheduling) {
  StartLeader({&markets_});
  markets_.SetBlocking(true);
  scheduler_->Poll();
  ASSERT_TRUE(markets_.WaitStarts(1, kWait));
  scheduler_->LoseLeadership();
  EXPECT_FALSE(scheduler_->is_leader());
  // The run sees its token fire and ends without being released.
  ASSERT_TRUE(scheduler_->WaitRunsFinished(1, kWait));
  db::SyncJobSummary summary = Summary(db::SyncJob::kMarkets);
  EXPECT_EQ(summary.latest.status, db::RunStatus::kFailed);
  EXPECT_THAT(summary.latest.error, StartsWith("CANCELLED:"));
  // Nothing more runs, however late it gets, nor for a request.
  ASSERT_OK(store_.RequestSyncRun(db::SyncJob::kMarkets, clock_.Now()).status());
  clock_.Advance(absl::Hours(2));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 1);
}

TEST_F(SchedulerTest, AFollowerRunsNothing) {
  scheduler_ = std::make_unique<Scheduler>(&store_, &clock_, std::vector<SyncJobRunner*>{&markets_},
                                           SchedulerOptions{});
  ASSERT_OK(scheduler_->Start(/*run_loop=*/false));
  ASSERT_OK(store_.RequestSyncRun(db::SyncJob::kMarkets, clock_.Now()).status());
  PollAndSettle();
  clock_.Advance(absl::Hours(1));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 0);
}

TEST_F(SchedulerTest, ANewLeaderKeepsItsPredecessorsRhythm) {
  // The previous leader ran markets two minutes ago.
  ASSERT_OK_AND_ASSIGN(db::Fence old, store_.AdvanceLeaderEpoch("replica-b", kT0));
  ASSERT_OK_AND_ASSIGN(int64_t run, store_.StartSyncRun(old, db::SyncJob::kMarkets, "replica-b",
                                                        kT0 - absl::Minutes(2)));
  ASSERT_OK(store_.FinishSyncRun(old, run, db::RunStatus::kCompleted, 1, "", kT0));
  StartLeader({&markets_});
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 0);
  clock_.Advance(absl::Minutes(3));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 1);
}

TEST_F(SchedulerTest, AnUpstreamAuthFailureIsReportedAtOnceAndNotRetriedInALoop) {
  StartLeader({&markets_});
  markets_.SetResult(absl::UnauthenticatedError("upstream: HTTP 401 (check the API key)"));
  PollAndSettle();
  db::SyncJobSummary summary = Summary(db::SyncJob::kMarkets);
  EXPECT_EQ(summary.latest.status, db::RunStatus::kFailed);
  EXPECT_EQ(summary.latest.error, "UNAUTHENTICATED: upstream: HTTP 401 (check the API key)");
  // The job is unhealthy at once, even though it completed a minute ago.
  summary.last_completed_time = kT0 - absl::Minutes(1);
  EXPECT_FALSE(IsJobHealthy(summary, absl::Minutes(5), kT0));
  // Not tried again until its next scheduled run.
  for (int i = 0; i < 9; ++i) {
    clock_.Advance(absl::Seconds(31));
    PollAndSettle();
  }
  EXPECT_EQ(markets_.starts(), 1);
  clock_.Advance(absl::Seconds(21));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 2);
}

TEST_F(SchedulerTest, ATransientFailureIsRetriedSooner) {
  SchedulerOptions options;
  options.retry_after_failure = absl::Seconds(30);
  StartLeader({&markets_}, options);
  markets_.SetResult(absl::UnavailableError("upstream: HTTP 503 after 4 attempts"));
  PollAndSettle();
  EXPECT_EQ(Summary(db::SyncJob::kMarkets).latest.error,
            "UNAVAILABLE: upstream: HTTP 503 after 4 attempts");
  clock_.Advance(absl::Seconds(29));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 1);
  markets_.SetResult(absl::OkStatus());
  clock_.Advance(absl::Seconds(1));
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 2);
  EXPECT_EQ(Summary(db::SyncJob::kMarkets).latest.status, db::RunStatus::kCompleted);
}

TEST_F(SchedulerTest, ARefusedFenceIsReportedAndNothingRuns) {
  StartLeader({&markets_});
  // Another replica has taken over behind this one's back.
  ASSERT_OK(store_.AdvanceLeaderEpoch("replica-b", kT0).status());
  PollAndSettle();
  EXPECT_EQ(markets_.starts(), 0);
  ASSERT_THAT(refused(), ::testing::Not(::testing::IsEmpty()));
  EXPECT_EQ(refused()[0].code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SchedulerTest, TheLeaderPublishesItsLimiterEveryFewSeconds) {
  SchedulerOptions options;
  options.limiter_publish_interval = absl::Seconds(5);
  int64_t requests = 100;
  options.limiter = [&requests] { return db::LimiterSnapshot{12, requests, 2}; };
  StartLeader({}, options);
  PollAndSettle();
  ASSERT_OK_AND_ASSIGN(db::PublishedLimiter published, store_.GetPublishedLimiter());
  EXPECT_EQ(published.limiter.requests_total, 100);
  EXPECT_EQ(published.published_time, kT0);
  requests = 150;
  clock_.Advance(absl::Seconds(4));
  PollAndSettle();
  ASSERT_OK_AND_ASSIGN(published, store_.GetPublishedLimiter());
  EXPECT_EQ(published.limiter.requests_total, 100);
  clock_.Advance(absl::Seconds(1));
  PollAndSettle();
  ASSERT_OK_AND_ASSIGN(published, store_.GetPublishedLimiter());
  EXPECT_EQ(published.limiter.requests_total, 150);
  EXPECT_DOUBLE_EQ(published.limiter.rate_per_second, 12);
  EXPECT_EQ(published.published_time, kT0 + absl::Seconds(5));
}

TEST_F(SchedulerTest, StopCancelsARunningJob) {
  StartLeader({&markets_});
  markets_.SetBlocking(true);
  scheduler_->Poll();
  ASSERT_TRUE(markets_.WaitStarts(1, kWait));
  EXPECT_TRUE(scheduler_->Stop(absl::Now() + kWait));
  EXPECT_EQ(markets_.ends(), 1);
  EXPECT_EQ(Summary(db::SyncJob::kMarkets).latest.status, db::RunStatus::kFailed);
}

}  // namespace
}  // namespace whalefeed::sync
