// The store contract on a real MariaDB, plus what only MySqlStore has: migrations, transactions,
// fencing under the row lock, the pool and connection handling.
#include "db/mysql_store.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "db/migrations.h"
#include "tests/db/store_contract.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::db {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::PrivateMariaDb;
using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::TestDatabase;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
const std::string kWallet = "0x" + std::string(40, 'a');

MySqlStoreOptions Options(const MySqlDsn& dsn) {
  MySqlStoreOptions options;
  options.dsn = dsn;
  return options;
}

// A single-value query on a connection of the test's own.
int64_t QueryInt(MySqlConnection& c, const std::string& sql) {
  std::unique_ptr<sql::Statement> st(c.raw().createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(sql));
  return rs->next() ? rs->getInt64(1) : -1;
}

Activity Trade(int n) {
  Activity a;
  a.tx_hash = absl::StrCat("0x", std::string(60, 'e'), 1000 + n);
  a.wallet = kWallet;
  a.market_id = 16565;
  a.root_market_id = 788;
  a.side = Side::kBuy;
  a.outcome = Outcome::kYes;
  a.price = "0.5";
  a.shares = "100";
  a.amount_usd = "50";
  a.traded_time = kT0 + absl::Seconds(n);
  a.origin = Origin::kLive;
  return a;
}

PollState Poll() { return {kT0, kT0 + absl::Minutes(1), 1}; }

// Opens as many connections as the pool may have (concurrent calls), which then idle in it.
void FillPool(MySqlStore& store) {
  const int n = store.pool().options().max_connections;
  auto* all_inside = new absl::Barrier(n);  // deleted by the thread that Block() tells to
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      EXPECT_OK(store.pool().Run("fill", [&](MySqlConnection&) {
        // Every connection is leased at once, so each is a separate one.
        if (all_inside->Block()) delete all_inside;
        return absl::OkStatus();
      }));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store.pool().idle_connections(), n);
}

// A migrated store whose pool is full of idle connections (see FillPool).
absl::StatusOr<std::unique_ptr<MySqlStore>> FilledStore(const MySqlStoreOptions& options) {
  absl::StatusOr<std::unique_ptr<MySqlStore>> store = MySqlStore::Create(options);
  if (!store.ok()) return store.status();
  if (absl::Status s = (*store)->PrepareDatabase(); !s.ok()) return s;
  FillPool(**store);
  return store;
}

struct MySqlUnderTest : StoreUnderTest {
  std::unique_ptr<TestDatabase> database;
  std::unique_ptr<MySqlStore> mysql;
  Store& store() override { return *mysql; }
};

std::unique_ptr<StoreUnderTest> MakeMySqlStore() {
  auto holder = std::make_unique<MySqlUnderTest>();
  auto database = TestDatabase::Create();
  if (!database.ok()) {
    ADD_FAILURE() << database.status();
    return nullptr;
  }
  holder->database = *std::move(database);
  auto store = MySqlStore::Create(Options(holder->database->dsn()));
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return nullptr;
  }
  holder->mysql = *std::move(store);
  if (absl::Status s = holder->mysql->PrepareDatabase(); !s.ok()) {
    ADD_FAILURE() << s;
    return nullptr;
  }
  return holder;
}

INSTANTIATE_TEST_SUITE_P(MySql, StoreContractTest,
                         ::testing::Values(StoreImplementation{"MySqlStore", &MakeMySqlStore}),
                         [](const auto& info) { return std::string(info.param.name); });

// A migrated database with a store on it, a tracked wallet and the leader's fence.
class MySqlStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open(Options({}))); }

  void Open(MySqlStoreOptions options) {
    if (database_ == nullptr) {
      ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    }
    options.dsn = database_->dsn();
    ASSERT_OK_AND_ASSIGN(store_, MySqlStore::Create(options));
    ASSERT_OK(store_->PrepareDatabase());
    ASSERT_OK(store_->TrackWhale(kWallet, "", WhaleSource::kApi, kT0).status());
    ASSERT_OK_AND_ASSIGN(fence_, store_->AdvanceLeaderEpoch("test", kT0));
    ASSERT_OK_AND_ASSIGN(other_, database_->Connect());
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<MySqlStore> store_;
  Fence fence_;
  std::unique_ptr<MySqlConnection> other_;  // another session, as another replica would have
};

TEST(MySqlStoreTest, MigrationsAreIdempotentAndKeepTheFeedId) {
  ASSERT_OK_AND_ASSIGN(auto database, TestDatabase::Create());
  ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create(Options(database->dsn())));
  ASSERT_OK(store->PrepareDatabase());
  ASSERT_OK_AND_ASSIGN(FeedMeta before, store->GetFeedMeta());
  ASSERT_OK(store->PrepareDatabase());
  ASSERT_OK_AND_ASSIGN(FeedMeta after, store->GetFeedMeta());
  EXPECT_EQ(before.feed_id, after.feed_id);
  EXPECT_EQ(before.token_key, after.token_key);
  ASSERT_OK_AND_ASSIGN(int version, store->GetSchemaVersion());
  EXPECT_EQ(version, LatestSchemaVersion());
}

TEST(MySqlStoreTest, ConcurrentStartsApplyMigrationsOnce) {
  ASSERT_OK_AND_ASSIGN(auto database, TestDatabase::Create());
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<MySqlStore>> stores;
  for (int i = 0; i < kReplicas; ++i) {
    ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create(Options(database->dsn())));
    stores.push_back(std::move(store));
  }
  std::vector<absl::Status> results(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] { results[i] = stores[i]->PrepareDatabase(); });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_OK(s);
  ASSERT_OK_AND_ASSIGN(FeedMeta first, stores[0]->GetFeedMeta());
  for (auto& store : stores) {
    ASSERT_OK_AND_ASSIGN(FeedMeta meta, store->GetFeedMeta());
    EXPECT_EQ(meta.feed_id, first.feed_id);
  }
}

TEST(MySqlStoreTest, CreatesTheDatabaseWhenMissing) {
  ASSERT_OK_AND_ASSIGN(auto database, TestDatabase::Create());
  MySqlDsn dsn = database->dsn();
  dsn.database += "_made";
  ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create(Options(dsn)));
  ASSERT_OK(store->PrepareDatabase());
  EXPECT_OK(store->Ping());
  ASSERT_OK_AND_ASSIGN(FeedMeta meta, store->GetFeedMeta());
  EXPECT_EQ(meta.feed_id.size(), 32u);
  EXPECT_OK(TestDatabase::Drop(dsn));
}

TEST(MySqlStoreTest, ReconnectsAfterTheServerRestarts) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateMariaDb::Create());
  MySqlStoreOptions options = Options(server->Dsn("restarts"));
  options.pool.max_connections = 4;
  // Its idle connections all die with the server.
  ASSERT_OK_AND_ASSIGN(auto store, FilledStore(options));
  ASSERT_OK(store->TrackWhale(kWallet, "before", WhaleSource::kApi, kT0).status());

  ASSERT_OK(server->Stop());
  EXPECT_THAT(store->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->GetWhale(kWallet), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_OK(server->Start());
  // The first call after the restart works: the failed calls dropped the dead pooled connections.
  EXPECT_OK(store->Ping());
  ASSERT_OK_AND_ASSIGN(Whale whale, store->GetWhale(kWallet));
  EXPECT_EQ(whale.label, "before");
}

TEST(MySqlStoreTest, DroppingConnectionsToAFrozenServerDoesNotWaitForIt) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateMariaDb::Create());
  MySqlStoreOptions options = Options(server->Dsn("frozen"));
  options.pool.max_connections = 3;
  ASSERT_OK_AND_ASSIGN(auto store, FilledStore(options));
  ASSERT_OK_AND_ASSIGN(auto dedicated, store->OpenDedicatedConnection(options.pool.session));
  dedicated->Prepare("SELECT 1");

  ASSERT_OK(server->Pause());
  struct Resume {
    PrivateMariaDb* server;
    ~Resume() { (void)server->Resume(); }
  } resume{server.get()};
  // Closing sends COM_STMT_CLOSE / COM_QUIT and waits for nothing: a ping would block for the
  // read timeout (5 s) here.
  const absl::Time begin = absl::Now();
  dedicated.reset();
  store.reset();  // the pool's idle connections
  const absl::Duration took = absl::Now() - begin;
  std::printf("closed 4 connections to a frozen server in %s\n",
              absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(1));
}

TEST(MySqlStoreTest, UnreachableServerIsUnavailable) {
  MySqlDsn dsn;
  dsn.user = "nobody";
  dsn.host = "127.0.0.1";
  dsn.port = 1;  // nothing listens on port 1
  dsn.database = "whalefeed";
  MySqlStoreOptions options = Options(dsn);
  options.pool.session.connect_timeout = absl::Seconds(2);
  ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create(options));
  EXPECT_THAT(store->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->PrepareDatabase(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->GetWhale("0x" + std::string(40, '1')),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(MySqlStoreTest, FirstCallAfterARestartWithNoCallsInBetweenSucceeds) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateMariaDb::Create());
  MySqlStoreOptions options = Options(server->Dsn("quiet_restart"));
  options.pool.max_connections = 4;
  // Check every idle connection before use: a restart here can be faster than the default
  // threshold.
  options.pool.check_idle_after = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(auto store, FilledStore(options));
  ASSERT_OK(store->TrackWhale(kWallet, "before", WhaleSource::kApi, kT0).status());

  ASSERT_OK(server->Stop());
  ASSERT_OK(server->Start());
  // Every pooled connection died with the server, and no call failed on one to tell the pool.
  ASSERT_OK_AND_ASSIGN(Whale whale, store->GetWhale(kWallet));
  EXPECT_EQ(whale.label, "before");
  EXPECT_OK(store->Ping());
}

TEST_F(MySqlStoreFixture, ALostCommitIsUnavailableAndStoresNothing) {
  const absl::Status status =
      store_->pool().RunInTransaction("test", [&](MySqlConnection& c) -> absl::Status {
        c.Execute("INSERT INTO sync_requests (job, requested_time) VALUES (1, UTC_TIMESTAMP(6))");
        // The connection dies between the last statement and COMMIT.
        other_->Execute(absl::StrCat("KILL CONNECTION ", c.ServerId()));
        return absl::OkStatus();
      });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("COMMIT")));
  EXPECT_EQ(QueryInt(*other_, "SELECT COUNT(*) FROM sync_requests"), 0);
  EXPECT_OK(store_->Ping());  // the pool replaced the dead connection
}

TEST_F(MySqlStoreFixture, AnAbortedTransactionIsRolledBackAndRetried) {
  int attempts = 0;
  ASSERT_OK(store_->pool().RunInTransaction("test", [&](MySqlConnection& c) -> absl::Status {
    ++attempts;
    c.Execute("INSERT INTO sync_requests (job, requested_time) VALUES (1, UTC_TIMESTAMP(6))");
    if (attempts == 1) throw sql::SQLException("Deadlock found", "40001", 1213);
    return absl::OkStatus();
  }));
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(QueryInt(*other_, "SELECT COUNT(*) FROM sync_requests"), 1);

  attempts = 0;
  EXPECT_THAT(store_->pool().RunInTransaction("test",
                                              [&](MySqlConnection& c) -> absl::Status {
                                                ++attempts;
                                                c.Execute(
                                                    "INSERT INTO sync_requests (job, "
                                                    "requested_time) VALUES (2, NOW())");
                                                return absl::AbortedError("lost a race");
                                              }),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(attempts, MySqlConnectionPool::kTransactionAttempts);
  EXPECT_EQ(QueryInt(*other_, "SELECT COUNT(*) FROM sync_requests"), 1);
}

TEST_F(MySqlStoreFixture, ALockWaitTimeoutIsAbortedAfterRetriesAndStoresNothing) {
  MySqlStoreOptions options;
  options.pool.session.lock_wait_timeout = absl::Seconds(1);
  ASSERT_NO_FATAL_FAILURE(Open(options));
  other_->Execute("START TRANSACTION");
  QueryInt(*other_, "SELECT epoch FROM leader WHERE id = 1 FOR UPDATE");
  const absl::Time begin = absl::Now();
  EXPECT_THAT(store_->IngestActivities(fence_, kWallet, {Trade(1)}, Poll(), kT0),
              StatusIs(absl::StatusCode::kAborted));
  std::printf("3 attempts, each waiting for the leader row, took %s\n",
              absl::FormatDuration(absl::Now() - begin).c_str());
  other_->Execute("ROLLBACK");
  EXPECT_THAT(store_->ReadActivitiesAfter(0, 10), IsOkAndHolds(IsEmpty()));
  EXPECT_OK(store_->IngestActivities(fence_, kWallet, {Trade(1)}, Poll(), kT0).status());
}

TEST_F(MySqlStoreFixture, LeaderOnlyWritesFailWithoutTheLeaderRow) {
  other_->Execute("DELETE FROM leader");
  EXPECT_THAT(store_->IngestActivities(fence_, kWallet, {Trade(1)}, Poll(), kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("leader row is missing")));
  EXPECT_THAT(store_->StartSyncRun(fence_, SyncJob::kMarkets, "test", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->AdvanceLeaderEpoch("test", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->ReadActivitiesAfter(0, 10), IsOkAndHolds(IsEmpty()));
}

// The epoch is read under the row lock, inside the writing transaction: a takeover that commits
// while the write waits for the lock fences it.
TEST_F(MySqlStoreFixture, TheFenceIsCheckedUnderTheLeaderRowLock) {
  other_->Execute("START TRANSACTION");
  QueryInt(*other_, "SELECT epoch FROM leader WHERE id = 1 FOR UPDATE");
  absl::StatusOr<IngestResult> result;
  std::thread writer(
      [&] { result = store_->IngestActivities(fence_, kWallet, {Trade(1)}, Poll(), kT0); });
  // Wait (bounded) until the write is blocked on the lock.
  bool waiting = false;
  for (int i = 0; i < 200 && !waiting; ++i) {
    waiting = QueryInt(*other_,
                       "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> "
                       "CONNECTION_ID() AND INFO LIKE 'SELECT epoch FROM leader%'") > 0;
    if (!waiting) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(waiting) << "the write never waited for the leader row";
  other_->Execute("UPDATE leader SET epoch = epoch + 1 WHERE id = 1");
  other_->Execute("COMMIT");
  writer.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("fenced")));
  EXPECT_THAT(store_->ReadActivitiesAfter(0, 10), IsOkAndHolds(IsEmpty()));
}

TEST_F(MySqlStoreFixture, StoredValuesThatDoNotParseAreErrorsNamingTheColumn) {
  Market m;
  m.market_id = 1;
  m.title = "m";
  m.status = MarketStatus::kActivated;
  m.market_type = MarketType::kBinary;
  ASSERT_OK(store_->UpsertMarkets(fence_, {m}, kT0).status());
  other_->Execute("SET SESSION sql_mode = ''");
  other_->Execute("UPDATE markets SET created_time = '0000-00-00 00:00:00' WHERE market_id = 1");
  EXPECT_THAT(store_->GetMarket(1),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("created_time")));
  other_->Execute("UPDATE markets SET created_time = NULL, status = 42 WHERE market_id = 1");
  EXPECT_THAT(store_->GetMarket(1), StatusIs(absl::StatusCode::kInternal, HasSubstr("status")));
  other_->Execute(
      "INSERT INTO sync_logs (job, status, started_time, error, replica_id) VALUES (9, 1, "
      "UTC_TIMESTAMP(6), '', 'r')");
  EXPECT_THAT(store_->GetSyncJobSummaries(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("job")));
}

TEST_F(MySqlStoreFixture, ValuesTheColumnCannotHoldAreInvalidArgument) {
  // What the store's own checks keep out, the server refuses too (strict mode), and the errno maps
  // to INVALID_ARGUMENT rather than INTERNAL.
  EXPECT_THAT(store_->pool().Run("test",
                                 [](MySqlConnection& c) {
                                   c.Execute("UPDATE whales SET label = REPEAT('x', 300)");
                                   return absl::OkStatus();
                                 }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1406")));
  EXPECT_THAT(store_->pool().Run("test",
                                 [](MySqlConnection& c) {
                                   c.Execute("UPDATE whales SET trades_seen = 1e30");
                                   return absl::OkStatus();
                                 }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1264")));
}

TEST_F(MySqlStoreFixture, ThePoolCapsOpenConnectionsAndBoundsTheWait) {
  MySqlStoreOptions options;
  options.pool.max_connections = 2;
  options.pool.acquire_timeout = absl::Milliseconds(300);
  ASSERT_NO_FATAL_FAILURE(Open(options));
  absl::BlockingCounter holding(2);
  absl::Notification release;
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&] {
      EXPECT_OK(store_->pool().Run("hold", [&](MySqlConnection&) {
        holding.DecrementCount();
        release.WaitForNotification();
        return absl::OkStatus();
      }));
    });
  }
  holding.Wait();
  EXPECT_EQ(store_->pool().open_connections(), 2);
  EXPECT_THAT(store_->Ping(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("db_pool_size")));
  // A waiting call gets the first connection that comes free.
  absl::Status waited;
  std::thread waiter([&] { waited = store_->Ping(); });
  release.Notify();
  waiter.join();
  for (auto& t : holders) t.join();
  EXPECT_OK(waited);
  EXPECT_EQ(store_->pool().open_connections(), 2);
}

TEST_F(MySqlStoreFixture, ThePreparedStatementCacheIsBounded) {
  MySqlSessionOptions session;
  ASSERT_OK_AND_ASSIGN(auto c, ConnectMySql(database_->dsn(), true, session, 4));
  auto closed = [&] {
    std::unique_ptr<sql::Statement> st(c->raw().createStatement());
    std::unique_ptr<sql::ResultSet> rs(
        st->executeQuery("SHOW SESSION STATUS LIKE 'Com_stmt_close'"));
    return rs->next() ? rs->getInt64(2) : -1;
  };
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10; ++i) {
      std::unique_ptr<sql::ResultSet> rs(c->Prepare(absl::StrCat("SELECT ", i)).executeQuery());
      ASSERT_TRUE(rs->next());
      EXPECT_EQ(rs->getInt(1), i);
    }
  }
  EXPECT_EQ(c->cached_statements(), 4u);
  EXPECT_EQ(closed(), 16);  // 20 prepared, the 4 most recent kept
}

TEST_F(MySqlStoreFixture, ADedicatedConnectionHasItsOwnSessionSettings) {
  MySqlSessionOptions session;
  session.idle_timeout = absl::Seconds(7);
  session.lock_wait_timeout = absl::Seconds(2);
  ASSERT_OK_AND_ASSIGN(auto c, store_->OpenDedicatedConnection(session));
  EXPECT_EQ(QueryInt(*c, "SELECT @@SESSION.wait_timeout"), 7);
  EXPECT_EQ(QueryInt(*c, "SELECT @@SESSION.innodb_lock_wait_timeout"), 2);
  EXPECT_EQ(store_->pool().open_connections(), 1);  // outside the pool: only the fixture's own
  // The pool's sessions keep theirs.
  ASSERT_OK(store_->pool().Run("test", [](MySqlConnection& pooled) {
    EXPECT_EQ(QueryInt(pooled, "SELECT @@SESSION.innodb_lock_wait_timeout"), 3);
    EXPECT_EQ(QueryInt(pooled, "SELECT @@SESSION.time_zone = '+00:00'"), 1);
    return absl::OkStatus();
  }));
}

TEST_F(MySqlStoreFixture, MigrationsWaitForTheLockLongerThanTheReadTimeout) {
  // Another replica is migrating: it holds the lock for longer than a pooled connection's read
  // timeout. PrepareDatabase waits on a connection of its own and succeeds.
  other_->Execute("DO GET_LOCK('whalefeed.migrate', 0)");
  MySqlStoreOptions options = Options(database_->dsn());
  options.pool.session.read_timeout = absl::Seconds(1);
  options.migration_lock_wait = absl::Seconds(30);
  ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create(options));
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(2500));
    other_->Execute("DO RELEASE_LOCK('whalefeed.migrate')");
  });
  const absl::Time begin = absl::Now();
  EXPECT_OK(store->PrepareDatabase());
  release.join();
  EXPECT_GE(absl::Now() - begin, absl::Seconds(2));
}

TEST_F(MySqlStoreFixture, MigrationStepsAreIdempotentAndCheckTheSchema) {
  // Versions after this build's own, on a database migrated to this build's.
  const int v = LatestSchemaVersion() + 1;
  const std::vector<Migration> first = {
      {v, "table", {Sql("CREATE TABLE IF NOT EXISTS m_test (id INT NOT NULL PRIMARY KEY)")}}};
  std::vector<Migration> both = first;
  both.push_back({v + 1,
                  "column and index",
                  {AddColumn("m_test", "amount", "INT NOT NULL DEFAULT 0"),
                   AddIndex("m_test", "m_test_amount", "amount")}});
  ASSERT_OK_AND_ASSIGN(auto c, database_->Connect());
  ASSERT_OK(ApplyMigrations(*c, first, absl::Seconds(5)));
  // Migration 2 was cut short after its first step by a crash: the next start completes it.
  other_->Execute("ALTER TABLE m_test ADD COLUMN amount INT NOT NULL DEFAULT 0");
  ASSERT_OK(ApplyMigrations(*c, both, absl::Seconds(5)));
  ASSERT_OK(ApplyMigrations(*c, both, absl::Seconds(5)));
  EXPECT_EQ(QueryInt(*other_,
                     "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                     "DATABASE() AND INDEX_NAME = 'm_test_amount'"),
            1);
  EXPECT_EQ(QueryInt(*other_, "SELECT MAX(version) FROM schema_migrations"), v + 1);
  // Code that knows fewer migrations than the database has applied must not run on it.
  EXPECT_THAT(ApplyMigrations(*c, first, absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("upgrade")));
}

}  // namespace
}  // namespace whalefeed::db
