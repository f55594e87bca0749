// HealthProber on the in-memory store and a fake clock: each step called directly, no waiting.
#include "server/health_prober.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "db/in_memory_store.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::server {
namespace {

using Health = grpc::health::v1::HealthCheckResponse;
using ::whalefeed::testing::StatusIs;

class HealthProberTest : public ::testing::Test {
 protected:
  HealthProber MakeProber() {
    return HealthProber(&store_, [this] { return prepare_status_; }, &health_, &clock_, {});
  }
  Health::ServingStatus Status(const char* service) { return health_.GetStatus(service); }
  void CompleteRun(db::SyncJob job, absl::Time ended,
                   db::RunStatus status = db::RunStatus::kCompleted) {
    ASSERT_OK_AND_ASSIGN(db::Fence fence, store_.AdvanceLeaderEpoch("replica", ended));
    ASSERT_OK_AND_ASSIGN(int64_t run,
                         store_.StartSyncRun(fence, job, "replica", ended - absl::Seconds(3)));
    ASSERT_OK(store_.FinishSyncRun(fence, run, status, 1, "", ended));
  }

  FakeClock clock_;
  db::InMemoryStore store_;
  HealthService health_;
  absl::Status prepare_status_ = absl::UnavailableError("connection refused");
};

TEST_F(HealthProberTest, EverythingStartsNotServing) {
  HealthProber prober = MakeProber();
  EXPECT_EQ(Status(""), Health::NOT_SERVING);
  for (const auto& job : kSyncJobHealth) EXPECT_EQ(Status(job.service), Health::NOT_SERVING);
}

TEST_F(HealthProberTest, ServingOnlyOnceTheDatabaseIsPrepared) {
  HealthProber prober = MakeProber();
  EXPECT_FALSE(prober.ProbeOnce());
  EXPECT_EQ(Status(""), Health::NOT_SERVING);
  prepare_status_ = absl::OkStatus();
  EXPECT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status(""), Health::SERVING);
}

TEST_F(HealthProberTest, FollowsTheDatabaseAfterItWasPrepared) {
  prepare_status_ = absl::OkStatus();
  HealthProber prober = MakeProber();
  ASSERT_TRUE(prober.ProbeOnce());
  store_.SetAvailable(false);
  EXPECT_FALSE(prober.ProbeOnce());
  EXPECT_EQ(Status(""), Health::NOT_SERVING);
  store_.SetAvailable(true);
  EXPECT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status(""), Health::SERVING);
}

TEST_F(HealthProberTest, JobIsServingWhileItsLastCompletedRunIsYoungerThanThreeIntervals) {
  prepare_status_ = absl::OkStatus();
  HealthProber prober = MakeProber();
  CompleteRun(db::SyncJob::kMarkets, clock_.Now() - absl::Minutes(1));
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.markets"), Health::SERVING);
  EXPECT_EQ(Status("whalefeed.sync.whale_trades"), Health::NOT_SERVING);  // never ran
  EXPECT_EQ(Status("whalefeed.sync.stats"), Health::NOT_SERVING);
  EXPECT_EQ(Status("whalefeed.sync.cleanup"), Health::NOT_SERVING);

  // A failed run after it does not matter while the last success is fresh...
  CompleteRun(db::SyncJob::kMarkets, clock_.Now(), db::RunStatus::kFailed);
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.markets"), Health::SERVING);
  // ...until three intervals (3 x 5 min) have passed since it.
  clock_.Advance(absl::Minutes(13));
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.markets"), Health::SERVING);
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.markets"), Health::NOT_SERVING);
}

TEST_F(HealthProberTest, EachJobHasItsOwnInterval) {
  prepare_status_ = absl::OkStatus();
  HealthProber prober = MakeProber();
  const absl::Time two_hours_ago = clock_.Now() - absl::Hours(2);
  for (db::SyncJob job : {db::SyncJob::kMarkets, db::SyncJob::kWhaleTrades, db::SyncJob::kStats,
                          db::SyncJob::kCleanup}) {
    CompleteRun(job, two_hours_ago);
  }
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.markets"), Health::NOT_SERVING);       // 3 x 5 min
  EXPECT_EQ(Status("whalefeed.sync.whale_trades"), Health::NOT_SERVING);  // 3 x 1 min
  EXPECT_EQ(Status("whalefeed.sync.stats"), Health::SERVING);             // 3 x 1 h
  EXPECT_EQ(Status("whalefeed.sync.cleanup"), Health::SERVING);           // 3 x 24 h
}

TEST_F(HealthProberTest, JobsAreNotServingWhileTheDatabaseIsDown) {
  prepare_status_ = absl::OkStatus();
  HealthProber prober = MakeProber();
  CompleteRun(db::SyncJob::kStats, clock_.Now());
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.stats"), Health::SERVING);
  store_.SetAvailable(false);
  EXPECT_FALSE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.stats"), Health::NOT_SERVING);
}

// The prober as a component, on its own thread (real time: these wait for the thread).

TEST_F(HealthProberTest, StopEndsAnIdleLoopAtOnce) {
  HealthProberOptions options;
  options.interval = absl::Hours(1);  // the loop waits between probes, not on this
  HealthProber prober(
      &store_, [] { return absl::OkStatus(); }, &health_, &clock_, options);
  EXPECT_EQ(prober.name(), "health-prober");
  EXPECT_TRUE(prober.Stop(absl::Now()));  // never started
  ASSERT_OK(prober.Start());
  EXPECT_THAT(prober.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(prober.Stop(absl::Now() + absl::Seconds(30)));
  ASSERT_OK(prober.Start());  // it can run again
  EXPECT_TRUE(prober.Stop(absl::Now() + absl::Seconds(30)));
}

TEST_F(HealthProberTest, StopDoesNotWaitForABlockedProbePastItsDeadline) {
  absl::Notification entered, release;
  HealthProber prober(&store_,
                      [&] {
                        // As a database call that hangs: the first probe blocks until released.
                        if (!entered.HasBeenNotified()) entered.Notify();
                        release.WaitForNotification();
                        return absl::OkStatus();
                      },
                      &health_, &clock_, {});
  ASSERT_OK(prober.Start());
  entered.WaitForNotification();

  const absl::Time begin = absl::Now();
  EXPECT_FALSE(prober.Stop(begin + absl::Milliseconds(100)));
  const absl::Duration took = absl::Now() - begin;
  EXPECT_GE(took, absl::Milliseconds(100));
  EXPECT_LT(took, absl::Seconds(2));

  // Once the call returns, the loop ends without another probe, and Stop says so.
  release.Notify();
  EXPECT_TRUE(prober.Stop(absl::Now() + absl::Seconds(30)));
}

// ---- Sync control: upstream auth failures ----

// An upstream refusal (bad API key, region block) marks the job at once, however fresh its last
// success; "" stays SERVING, so a load balancer does not drop every replica over one bad key.
TEST_F(HealthProberTest, AnUpstreamAuthFailureMarksTheJobAtOnceButNeverTheServer) {
  prepare_status_ = absl::OkStatus();
  HealthProber prober = MakeProber();
  CompleteRun(db::SyncJob::kMarkets, clock_.Now() - absl::Minutes(1));
  CompleteRun(db::SyncJob::kStats, clock_.Now() - absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store_.AdvanceLeaderEpoch("replica", clock_.Now()));
  for (const auto& [job, error] :
       {std::pair{db::SyncJob::kMarkets, "UNAUTHENTICATED: upstream: HTTP 401"},
        std::pair{db::SyncJob::kStats, "PERMISSION_DENIED: upstream: errno 10403"}}) {
    ASSERT_OK_AND_ASSIGN(int64_t run, store_.StartSyncRun(fence, job, "replica", clock_.Now()));
    ASSERT_OK(store_.FinishSyncRun(fence, run, db::RunStatus::kFailed, 0, error, clock_.Now()));
  }
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status(""), Health::SERVING);
  EXPECT_EQ(Status("whalefeed.sync.markets"), Health::NOT_SERVING);
  EXPECT_EQ(Status("whalefeed.sync.stats"), Health::NOT_SERVING);
  // The next successful run clears it.
  CompleteRun(db::SyncJob::kMarkets, clock_.Now());
  ASSERT_TRUE(prober.ProbeOnce());
  EXPECT_EQ(Status("whalefeed.sync.markets"), Health::SERVING);
}

// ---- end of Sync control ----

}  // namespace
}  // namespace whalefeed::server
