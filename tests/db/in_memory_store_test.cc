#include "db/in_memory_store.h"

#include <gtest/gtest.h>

#include "tests/db/store_contract.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::db {
namespace {

struct InMemoryUnderTest : StoreUnderTest {
  InMemoryStore in_memory{"0123456789abcdef0123456789abcdef"};
  Store& store() override { return in_memory; }
};

std::unique_ptr<StoreUnderTest> MakeInMemoryStore() {
  return std::make_unique<InMemoryUnderTest>();
}

INSTANTIATE_TEST_SUITE_P(InMemory, StoreContractTest,
                         ::testing::Values(StoreImplementation{"InMemoryStore",
                                                               &MakeInMemoryStore}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(InMemoryStoreTest, UnavailableWhileMarkedDown) {
  InMemoryStore store;
  store.SetAvailable(false);
  EXPECT_THAT(store.Ping(), testing::StatusIs(absl::StatusCode::kUnavailable));
  store.SetAvailable(true);
  EXPECT_OK(store.Ping());
}

}  // namespace
}  // namespace whalefeed::db
