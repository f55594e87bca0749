// The contract every Store implementation passes. An implementation's test file instantiates it:
//   INSTANTIATE_TEST_SUITE_P(InMemory, StoreContractTest,
//                            ::testing::Values(StoreImplementation{"InMemoryStore",
//                            &MakeInMemoryStore}),
//                            [](const auto& info) { return std::string(info.param.name); });
#ifndef WHALEFEED_TESTS_DB_STORE_CONTRACT_H_
#define WHALEFEED_TESTS_DB_STORE_CONTRACT_H_

#include <gtest/gtest.h>

#include <memory>
#include <ostream>

#include "db/store.h"

namespace whalefeed::db {

// Owns a store and whatever it needs (for MySqlStore: a fresh database). Destroyed after each test.
struct StoreUnderTest {
  virtual ~StoreUnderTest() = default;
  virtual Store& store() = 0;
};

// One implementation under test: its name (for test names) and how to make a fresh one.
struct StoreImplementation {
  const char* name;
  std::unique_ptr<StoreUnderTest> (*make)();
  friend void PrintTo(const StoreImplementation& impl, std::ostream* os) { *os << impl.name; }
};

class StoreContractTest : public ::testing::TestWithParam<StoreImplementation> {
 protected:
  void SetUp() override {
    holder_ = GetParam().make();
    ASSERT_NE(holder_, nullptr) << "the store under test could not be made";
    absl::StatusOr<Fence> fence =
        store().AdvanceLeaderEpoch("contract-test", absl::FromUnixSeconds(1767225600));
    ASSERT_TRUE(fence.ok()) << fence.status();
    fence_ = *fence;
  }
  Store& store() { return holder_->store(); }
  // The epoch every leader-only write of a test carries, won in SetUp.
  const Fence& fence() const { return fence_; }

 private:
  std::unique_ptr<StoreUnderTest> holder_;
  Fence fence_;
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_TESTS_DB_STORE_CONTRACT_H_
