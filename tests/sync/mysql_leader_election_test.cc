// Leader election on a real MariaDB: GET_LOCK on dedicated sessions, two electors on one database,
// takeover when the leader's session is killed or goes idle, a leader whose database freezes, the
// fence against a deposed leader's late writes, runs left RUNNING closed by the next leader.
// Measured takeover times are printed.
#include <cppconn/connection.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "db/mysql_store.h"
#include "sync/leader_elector.h"
#include "sync/mysql_leader_lock.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::sync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::PrivateMariaDb;
using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::TestDatabase;

constexpr absl::Duration kBound = absl::Seconds(20);  // failure bound only

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
  bool WaitEvents(size_t n, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int64_t> events_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<db::MySqlStore>> OpenStore(const db::MySqlDsn& dsn) {
  db::MySqlStoreOptions options;
  options.dsn = dsn;
  absl::StatusOr<std::unique_ptr<db::MySqlStore>> store = db::MySqlStore::Create(options);
  if (!store.ok()) return store.status();
  if (absl::Status s = (*store)->PrepareDatabase(); !s.ok()) return s;
  return store;
}

// One replica: its own store (pool), lock session and elector.
struct Replica {
  Replica(std::unique_ptr<db::MySqlStore> s, const std::string& id,
          absl::Duration ping = absl::Milliseconds(250),
          absl::Duration retry = absl::Milliseconds(250), MySqlLeaderLockOptions lock_options = {})
      : store(std::move(s)),
        lock(store.get(), lock_options),
        elector(&lock, store.get(), &clock, &listener, LeaderElectorOptions{id, ping, retry}) {}
  RealClock clock;
  std::unique_ptr<db::MySqlStore> store;
  MySqlLeaderLock lock;
  RecordingListener listener;
  LeaderElector elector;
};

int64_t QueryInt(db::MySqlConnection& c, const std::string& sql) {
  std::unique_ptr<sql::Statement> st(c.raw().createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(sql));
  return rs->next() && !rs->isNull(1) ? rs->getInt64(1) : 0;
}

class MySqlLeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    ASSERT_OK_AND_ASSIGN(admin_, database_->Connect());
  }
  std::unique_ptr<Replica> NewReplica(const std::string& id,
                                      absl::Duration ping = absl::Milliseconds(250),
                                      absl::Duration retry = absl::Milliseconds(250),
                                      MySqlLeaderLockOptions lock_options = {}) {
    absl::StatusOr<std::unique_ptr<db::MySqlStore>> store = OpenStore(database_->dsn());
    EXPECT_OK(store.status());
    if (!store.ok()) return nullptr;
    // Each test database is its own election: the lock name is per database.
    lock_options.lock_name = LockName();
    return std::make_unique<Replica>(*std::move(store), id, ping, retry, lock_options);
  }
  std::string LockName() const { return LeaderLockNameFor(database_->dsn().database); }
  // The server session holding the election lock (0: none).
  int64_t Holder() {
    return QueryInt(*admin_, absl::StrCat("SELECT IS_USED_LOCK('", LockName(), "')"));
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<db::MySqlConnection> admin_;
};

TEST_F(MySqlLeaderElectionTest, TwoElectorsOnOneDatabaseExactlyOneLeads) {
  auto a = NewReplica("replica-a");
  auto b = NewReplica("replica-b");
  ASSERT_TRUE(a && b);
  EXPECT_THAT(MySqlLeaderLock::IsHeldByAnyone(*a->store, LockName()), IsOkAndHolds(false));
  EXPECT_TRUE(a->elector.StepOnce());
  EXPECT_FALSE(b->elector.StepOnce());
  EXPECT_TRUE(a->elector.StepOnce());
  EXPECT_FALSE(b->elector.StepOnce());
  EXPECT_EQ(Holder(), a->lock.session_id());
  EXPECT_THAT(MySqlLeaderLock::IsHeldByAnyone(*b->store, LockName()), IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(db::LeaderState leader, b->store->GetLeader());
  EXPECT_EQ(leader.replica_id, "replica-a");
  EXPECT_EQ(leader.epoch, 1);
  EXPECT_THAT(a->listener.events(), ElementsAre(1));
  EXPECT_THAT(b->listener.events(), ::testing::IsEmpty());
}

TEST_F(MySqlLeaderElectionTest, KillingTheLeadersSessionHandsOverWithinSeconds) {
  // whaled's defaults: check and retry every 2 s (a would retake the lock only after 10 s: the
  // takeover measured is b's).
  auto a = NewReplica("replica-a", absl::Seconds(2), absl::Seconds(10));
  auto b = NewReplica("replica-b", absl::Seconds(2), absl::Seconds(2));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->elector.StepOnce());
  const db::Fence old = *a->elector.fence();
  ASSERT_OK_AND_ASSIGN(
      int64_t run, a->store->StartSyncRun(old, db::SyncJob::kMarkets, "replica-a", absl::Now()));
  ASSERT_OK(a->elector.Start());
  ASSERT_OK(b->elector.Start());

  // Both loops take their first step at once; the kill should come at a random point of their
  // rhythm, as in production. (Not a synchronisation: the test holds with or without it.)
  absl::SleepFor(absl::Milliseconds(700));
  const int64_t victim = Holder();
  ASSERT_EQ(victim, a->lock.session_id());
  const absl::Time killed = absl::Now();
  admin_->Execute(absl::StrCat("KILL CONNECTION ", victim));
  ASSERT_TRUE(b->listener.WaitEvents(1, kBound));
  const absl::Duration takeover = absl::Now() - killed;
  ASSERT_TRUE(a->listener.WaitEvents(2, kBound));
  const absl::Duration deposed = absl::Now() - killed;
  std::printf(
      "leader session killed: the other replica led after %s; the old leader knew after %s\n",
      absl::FormatDuration(takeover).c_str(), absl::FormatDuration(deposed).c_str());
  EXPECT_LT(takeover, absl::Seconds(5));
  EXPECT_THAT(b->listener.events(), ElementsAre(2));
  EXPECT_THAT(a->listener.events(), ElementsAre(1, -1));
  EXPECT_TRUE(b->elector.is_leader());
  EXPECT_FALSE(a->elector.is_leader());

  // The deposed leader's late writes are refused, and its run was closed by the new leader.
  EXPECT_THAT(a->store->FinishSyncRun(old, run, db::RunStatus::kCompleted, 5, "", absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("epoch")));
  EXPECT_THAT(a->store->PublishLimiter(old, {1, 1, 1}, absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(std::vector<db::SyncJobSummary> jobs, b->store->GetSyncJobSummaries());
  ASSERT_THAT(jobs, SizeIs(1));
  EXPECT_EQ(jobs[0].latest.status, db::RunStatus::kFailed);
  EXPECT_THAT(jobs[0].latest.error, HasSubstr("replica-b took over at epoch 2"));

  EXPECT_TRUE(a->elector.Stop(absl::Now() + kBound));
  EXPECT_TRUE(b->elector.Stop(absl::Now() + kBound));
  // Stopping the leader closed its session: the server frees the lock as it sees the session end
  // (asynchronously, so look until then; the bound is a failure bound).
  const absl::Time deadline = absl::Now() + kBound;
  while (Holder() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(Holder(), 0);
}

TEST_F(MySqlLeaderElectionTest, ALeaderThatStopsTalkingLosesTheLockWithinItsIdleTimeout) {
  MySqlLeaderLockOptions short_idle;
  short_idle.idle_timeout = absl::Seconds(2);
  // a pings only every minute: a hung process, as far as the server can tell.
  auto a = NewReplica("replica-a", absl::Seconds(60), absl::Seconds(60), short_idle);
  auto b = NewReplica("replica-b", absl::Milliseconds(200), absl::Milliseconds(200));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->elector.StepOnce());
  const absl::Time last_word = absl::Now();
  ASSERT_OK(b->elector.Start());
  ASSERT_TRUE(b->listener.WaitEvents(1, kBound));
  const absl::Duration takeover = absl::Now() - last_word;
  std::printf("a leader silent since %s ago lost the lock to the other replica (idle timeout 2s)\n",
              absl::FormatDuration(takeover).c_str());
  EXPECT_GE(takeover, absl::Seconds(1));
  EXPECT_LT(takeover, absl::Seconds(10));
  // When it wakes up, its check tells it.
  EXPECT_FALSE(a->elector.StepOnce());
  EXPECT_THAT(a->listener.events(), ElementsAre(1, -1));
  EXPECT_TRUE(b->elector.Stop(absl::Now() + kBound));
}

TEST(MySqlLeaderElectionFrozenTest, ALeaderWhoseDatabaseFreezesGivesUpLeadership) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateMariaDb::Create());
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(server->Dsn("frozen_leader")));
  MySqlLeaderLockOptions options;
  options.check_timeout = absl::Seconds(1);
  Replica a(std::move(store), "replica-a", absl::Seconds(1), absl::Seconds(1), options);
  ASSERT_TRUE(a.elector.StepOnce());

  ASSERT_OK(server->Pause());
  struct Resume {
    PrivateMariaDb* server;
    ~Resume() { (void)server->Resume(); }
  } resume{server.get()};
  const absl::Time begin = absl::Now();
  EXPECT_FALSE(a.elector.StepOnce());
  const absl::Duration took = absl::Now() - begin;
  std::printf("leader lock check on a frozen database gave up after %s\n",
              absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(8));
  EXPECT_THAT(a.listener.events(), ElementsAre(1, -1));
  EXPECT_FALSE(a.elector.is_leader());
}

}  // namespace
}  // namespace whalefeed::sync
