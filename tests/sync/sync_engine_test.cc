// Two sync engines (elector + scheduler) on one real MariaDB, with fake jobs: only the leader runs
// them; killing the leader's lock session cancels its running job at once, the other engine takes
// over, and a RunSyncJob request queued meanwhile runs on the new leader. The measured handover is
// printed.
#include "sync/sync_engine.h"

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
#include "sync/mysql_leader_lock.h"
#include "tests/sync/fake_job.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::sync {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::TestDatabase;

constexpr absl::Duration kBound = absl::Seconds(20);  // failure bound only

struct Replica {
  std::unique_ptr<db::MySqlStore> store;
  FakeJob* markets = nullptr;  // owned by the engine
  std::unique_ptr<SyncEngine> engine;
};

class SyncEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    ASSERT_OK_AND_ASSIGN(admin_, database_->Connect());
  }

  std::string LockName() const { return LeaderLockNameFor(database_->dsn().database); }

  Replica NewReplica(const std::string& id) {
    Replica r;
    db::MySqlStoreOptions options;
    options.dsn = database_->dsn();
    absl::StatusOr<std::unique_ptr<db::MySqlStore>> store = db::MySqlStore::Create(options);
    EXPECT_OK(store.status());
    if (!store.ok()) return r;
    r.store = *std::move(store);
    EXPECT_OK(r.store->PrepareDatabase());
    MySqlLeaderLockOptions lock_options;
    lock_options.lock_name = LockName();
    auto job = std::make_unique<FakeJob>(db::SyncJob::kMarkets, absl::Hours(1));
    r.markets = job.get();
    std::vector<std::unique_ptr<SyncJobRunner>> jobs;
    jobs.push_back(std::move(job));
    SyncEngineOptions engine_options;
    engine_options.replica_id = id;
    engine_options.elector.ping_interval = absl::Milliseconds(250);
    engine_options.elector.retry_interval = absl::Milliseconds(250);
    engine_options.scheduler.loop_interval = absl::Milliseconds(50);
    engine_options.scheduler.request_poll_interval = absl::Milliseconds(250);
    r.engine = std::make_unique<SyncEngine>(
        r.store.get(), std::make_unique<MySqlLeaderLock>(r.store.get(), lock_options), &clock_,
        std::move(jobs), engine_options);
    return r;
  }

  int64_t Holder() {
    std::unique_ptr<sql::Statement> st(admin_->raw().createStatement());
    std::unique_ptr<sql::ResultSet> rs(
        st->executeQuery(absl::StrCat("SELECT IS_USED_LOCK('", LockName(), "')")));
    return rs->next() && !rs->isNull(1) ? rs->getInt64(1) : 0;
  }

  RealClock clock_;
  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<db::MySqlConnection> admin_;
};

TEST_F(SyncEngineTest, OnlyTheLeaderRunsJobsAndLosingTheLockCancelsThemAtOnce) {
  Replica a = NewReplica("replica-a");
  ASSERT_NE(a.engine, nullptr);
  a.markets->SetBlocking(true);
  ASSERT_OK(a.engine->Start());
  // a leads and starts markets (never ran: due at once).
  ASSERT_TRUE(a.markets->WaitStarts(1, kBound));
  ASSERT_TRUE(a.engine->elector().is_leader());

  Replica b = NewReplica("replica-b");
  ASSERT_NE(b.engine, nullptr);
  ASSERT_OK(b.engine->Start());
  // Ask for a markets run: refused while a's run is RUNNING.
  ASSERT_OK_AND_ASSIGN(db::SyncRequestResult refused,
                       b.store->RequestSyncRun(db::SyncJob::kMarkets, clock_.Now()));
  EXPECT_FALSE(refused.accepted);

  const absl::Time killed = absl::Now();
  admin_->Execute(absl::StrCat("KILL CONNECTION ", Holder()));
  // a's running job is cancelled as soon as a learns it lost the lock.
  ASSERT_TRUE(a.engine->scheduler().WaitRunsFinished(1, kBound));
  const absl::Duration cancelled = absl::Now() - killed;
  EXPECT_EQ(a.markets->ends(), 1);
  EXPECT_FALSE(a.engine->scheduler().is_leader());

  // b takes over; it keeps a's rhythm (markets ran just now), so it runs markets only when asked.
  // The request is accepted once a's run is closed, by a itself or by b as it takes over: ask
  // until then (polling the database; the bound is a failure bound).
  bool accepted = false;
  for (const absl::Time deadline = absl::Now() + kBound; !accepted && absl::Now() < deadline;) {
    ASSERT_OK_AND_ASSIGN(db::SyncRequestResult queued,
                         b.store->RequestSyncRun(db::SyncJob::kMarkets, clock_.Now()));
    accepted = queued.accepted;
    if (!accepted) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(accepted);
  ASSERT_TRUE(b.markets->WaitStarts(1, kBound));
  const absl::Duration handover = absl::Now() - killed;
  std::printf(
      "leader's lock session killed: its job cancelled after %s; the new leader ran the requested "
      "job %s after the kill\n",
      absl::FormatDuration(cancelled).c_str(), absl::FormatDuration(handover).c_str());
  EXPECT_LT(handover, absl::Seconds(10));
  ASSERT_TRUE(b.engine->scheduler().WaitRunsFinished(1, kBound));
  EXPECT_TRUE(b.engine->elector().is_leader());
  EXPECT_FALSE(a.engine->elector().is_leader());
  EXPECT_EQ(a.markets->starts(), 1);  // a ran nothing more

  ASSERT_OK_AND_ASSIGN(db::LeaderState leader, b.store->GetLeader());
  EXPECT_EQ(leader.replica_id, "replica-b");
  EXPECT_EQ(leader.epoch, 2);
  ASSERT_OK_AND_ASSIGN(std::vector<db::SyncJobSummary> jobs, b.store->GetSyncJobSummaries());
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].latest.replica_id, "replica-b");
  EXPECT_EQ(jobs[0].latest.status, db::RunStatus::kCompleted);

  EXPECT_TRUE(a.engine->Stop(absl::Now() + kBound));
  EXPECT_TRUE(b.engine->Stop(absl::Now() + kBound));
  // The server frees the lock as it sees the closed session end (asynchronously).
  const absl::Time deadline = absl::Now() + kBound;
  while (Holder() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(Holder(), 0);
}

}  // namespace
}  // namespace whalefeed::sync
