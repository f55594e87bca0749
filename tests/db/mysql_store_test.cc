// The store contract on a real MariaDB, plus what only MySqlStore has: migrations and connection
// handling.
#include "db/mysql_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "db/migrations.h"
#include "tests/db/store_contract.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::db {
namespace {

using ::whalefeed::testing::PrivateMariaDb;
using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::TestDatabase;

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
  auto store = MySqlStore::Create({holder->database->dsn()});
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

TEST(MySqlStoreTest, MigrationsAreIdempotentAndKeepTheFeedId) {
  ASSERT_OK_AND_ASSIGN(auto database, TestDatabase::Create());
  ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create({database->dsn()}));
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
    ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create({database->dsn()}));
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
  ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create({dsn}));
  ASSERT_OK(store->PrepareDatabase());
  EXPECT_OK(store->Ping());
  ASSERT_OK_AND_ASSIGN(FeedMeta meta, store->GetFeedMeta());
  EXPECT_EQ(meta.feed_id.size(), 32u);
  EXPECT_OK(TestDatabase::Drop(dsn));
}

TEST(MySqlStoreTest, ReconnectsAfterTheServerRestarts) {
  ASSERT_OK_AND_ASSIGN(auto server, PrivateMariaDb::Create());
  ASSERT_OK_AND_ASSIGN(auto store,
                       MySqlStore::Create({server->Dsn("restarts"), 4, absl::Seconds(5)}));
  ASSERT_OK(store->PrepareDatabase());
  // Fill the pool with several idle connections, all of which die with the server.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { EXPECT_OK(store->Ping()); });
  for (auto& t : threads) t.join();
  ASSERT_OK(store
                ->TrackWhale("0x" + std::string(40, 'a'), "before", WhaleSource::kApi,
                             absl::FromUnixSeconds(1767225600))
                .status());

  ASSERT_OK(server->Stop());
  EXPECT_THAT(store->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->GetWhale("0x" + std::string(40, 'a')),
              StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_OK(server->Start());
  // The first call after the restart already works: dead pooled connections were dropped.
  EXPECT_OK(store->Ping());
  ASSERT_OK_AND_ASSIGN(Whale whale, store->GetWhale("0x" + std::string(40, 'a')));
  EXPECT_EQ(whale.label, "before");
}

TEST(MySqlStoreTest, UnreachableServerIsUnavailable) {
  MySqlDsn dsn;
  dsn.user = "nobody";
  dsn.host = "127.0.0.1";
  dsn.port = 1;  // nothing listens on port 1
  dsn.database = "whalefeed";
  ASSERT_OK_AND_ASSIGN(auto store, MySqlStore::Create({dsn, 2, absl::Seconds(2)}));
  EXPECT_THAT(store->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->PrepareDatabase(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->GetWhale("0x" + std::string(40, '1')),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace whalefeed::db
