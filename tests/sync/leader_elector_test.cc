// The elector on an in-memory lock and store: one leader at a time, a fresh epoch per term, runs a
// lost leader left closed by the next one, leadership lost when the lock is lost or its check
// hangs, and given up on Resign and on Stop.
#include "sync/leader_elector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "db/in_memory_store.h"
#include "sync/leader_lock.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

// Records what the elector told it, in order: +epoch when elected, -1 when deposed.
class RecordingListener final : public LeadershipListener {
 public:
  void OnElected(const db::Fence& fence) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(fence.epoch);
  }
  void OnDeposed() override {
    absl::MutexLock lock(&mu_);
    events_.push_back(-1);
  }
  std::vector<int64_t> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // Waits until `n` events were recorded, up to `timeout`.
  bool WaitEvents(size_t n, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int64_t> events_ ABSL_GUARDED_BY(mu_);
};

struct Replica {
  Replica(InMemoryLockTable& table, db::Store& store, const Clock& clock, const std::string& id,
          absl::Duration interval = absl::Seconds(2))
      : lock(table.NewHandle()),
        elector(lock.get(), &store, &clock, &listener,
                LeaderElectorOptions{id, interval, interval}) {}
  std::unique_ptr<LeaderLock> lock;
  RecordingListener listener;
  LeaderElector elector;
};

TEST(LeaderElectorTest, ExactlyOneReplicaLeadsAndItsEpochIsFresh) {
  InMemoryLockTable table;
  db::InMemoryStore store;
  FakeClock clock(kT0);
  Replica a(table, store, clock, "replica-a"), b(table, store, clock, "replica-b");
  EXPECT_TRUE(a.elector.StepOnce());
  EXPECT_FALSE(b.elector.StepOnce());
  EXPECT_TRUE(a.elector.StepOnce());  // still holds it
  EXPECT_FALSE(b.elector.StepOnce());
  EXPECT_TRUE(a.elector.is_leader());
  EXPECT_FALSE(b.elector.is_leader());
  EXPECT_FALSE(b.elector.fence().has_value());
  ASSERT_OK_AND_ASSIGN(db::LeaderState leader, store.GetLeader());
  EXPECT_EQ(leader.replica_id, "replica-a");
  EXPECT_EQ(leader.epoch, 1);
  EXPECT_EQ(leader.acquired_time, kT0);
  EXPECT_THAT(a.listener.events(), ElementsAre(1));
  EXPECT_THAT(b.listener.events(), ::testing::IsEmpty());
}

TEST(LeaderElectorTest, ALostLockDeposesTheLeaderAndAnotherTakesOver) {
  InMemoryLockTable table;
  db::InMemoryStore store;
  FakeClock clock(kT0);
  Replica a(table, store, clock, "replica-a"), b(table, store, clock, "replica-b");
  ASSERT_TRUE(a.elector.StepOnce());
  const db::Fence old = *a.elector.fence();
  // A run in progress when the leader dies.
  ASSERT_OK_AND_ASSIGN(int64_t run,
                       store.StartSyncRun(old, db::SyncJob::kMarkets, "replica-a", kT0));

  table.Revoke();  // as when the lock's session is killed
  clock.Advance(absl::Seconds(3));
  EXPECT_TRUE(b.elector.StepOnce());
  EXPECT_THAT(b.listener.events(), ElementsAre(2));
  // The next leader closed the run the lost one left.
  ASSERT_OK_AND_ASSIGN(std::vector<db::SyncJobSummary> jobs, store.GetSyncJobSummaries());
  ASSERT_THAT(jobs, SizeIs(1));
  EXPECT_EQ(jobs[0].latest.run_id, run);
  EXPECT_EQ(jobs[0].latest.status, db::RunStatus::kFailed);
  EXPECT_THAT(jobs[0].latest.error, HasSubstr("replica-b took over at epoch 2"));
  // The old leader's late writes are refused.
  EXPECT_THAT(store.FinishSyncRun(old, run, db::RunStatus::kCompleted, 1, "", clock.Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // The old leader learns it at its next check.
  EXPECT_FALSE(a.elector.StepOnce());
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1));
  EXPECT_FALSE(a.elector.is_leader());
  EXPECT_FALSE(a.elector.StepOnce());  // and stays a follower while b leads
}

TEST(LeaderElectorTest, ALeaderWhoseCheckHangsGivesUpLeadership) {
  InMemoryLockTable table;
  db::InMemoryStore store;
  FakeClock clock(kT0);
  Replica a(table, store, clock, "replica-a");
  ASSERT_TRUE(a.elector.StepOnce());
  auto* handle = static_cast<InMemoryLeaderLock*>(a.lock.get());
  table.SetHung(handle->id(), true);
  EXPECT_FALSE(a.elector.StepOnce());
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1));
  // It lets the lock go, so that another can take it as soon as the session dies.
  EXPECT_EQ(table.holder(), 0);
  table.SetHung(handle->id(), false);
  EXPECT_TRUE(a.elector.StepOnce());
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1, 2));
}

TEST(LeaderElectorTest, NoLeadershipWithoutTheEpoch) {
  InMemoryLockTable table;
  db::InMemoryStore store;
  FakeClock clock(kT0);
  Replica a(table, store, clock, "replica-a"), b(table, store, clock, "replica-b");
  store.SetAvailable(false);
  EXPECT_FALSE(a.elector.StepOnce());
  EXPECT_EQ(table.holder(), 0);  // the lock was given back
  EXPECT_THAT(a.listener.events(), ::testing::IsEmpty());
  store.SetAvailable(true);
  EXPECT_TRUE(b.elector.StepOnce());
  EXPECT_THAT(b.listener.events(), ElementsAre(1));
}

TEST(LeaderElectorTest, ResignGivesTheLeadUpAtTheNextStep) {
  InMemoryLockTable table;
  db::InMemoryStore store;
  FakeClock clock(kT0);
  Replica a(table, store, clock, "replica-a"), b(table, store, clock, "replica-b");
  ASSERT_TRUE(a.elector.StepOnce());
  a.elector.Resign("a fenced write was refused");
  EXPECT_FALSE(a.elector.StepOnce());
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1));
  EXPECT_TRUE(b.elector.StepOnce());
}

TEST(LeaderElectorTest, DrainingGivesTheLeadUpAndStopsTrying) {
  InMemoryLockTable table;
  db::InMemoryStore store;
  FakeClock clock(kT0);
  Replica a(table, store, clock, "replica-a"), b(table, store, clock, "replica-b");
  ASSERT_TRUE(a.elector.StepOnce());
  a.elector.Drain();
  EXPECT_FALSE(a.elector.StepOnce());
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1));
  EXPECT_EQ(table.holder(), 0);
  EXPECT_FALSE(a.elector.StepOnce());  // a draining replica never takes the lead again
  EXPECT_EQ(table.holder(), 0);
  EXPECT_TRUE(b.elector.StepOnce());
  b.elector.Drain();
  table.Revoke();
  EXPECT_FALSE(a.elector.StepOnce());
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1));
}

TEST(LeaderElectorTest, StoppingTheLeaderHandsOverAtOnce) {
  InMemoryLockTable table;
  db::InMemoryStore store;
  RealClock clock;
  Replica a(table, store, clock, "replica-a", absl::Milliseconds(20));
  Replica b(table, store, clock, "replica-b", absl::Milliseconds(20));
  ASSERT_TRUE(a.elector.StepOnce());
  ASSERT_OK(a.elector.Start());
  ASSERT_OK(b.elector.Start());
  EXPECT_TRUE(a.elector.Stop(absl::Now() + absl::Seconds(10)));
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1));
  // b's loop takes over (a failure bound, not a schedule).
  ASSERT_TRUE(b.listener.WaitEvents(1, absl::Seconds(10)));
  EXPECT_THAT(b.listener.events(), ElementsAre(2));
  EXPECT_TRUE(b.elector.is_leader());
  EXPECT_TRUE(b.elector.Stop(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(table.holder(), 0);
}

TEST(LeaderElectorTest, DefaultReplicaIdsDiffer) {
  const std::string a = DefaultReplicaId(), b = DefaultReplicaId();
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), db::kMaxReplicaIdChars);
  EXPECT_THAT(a, HasSubstr(absl::StrCat("-", getpid(), "-")));
}

}  // namespace
}  // namespace whalefeed::sync
