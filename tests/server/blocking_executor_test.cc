#include "server/blocking_executor.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/synchronization/notification.h"

namespace whalefeed::server {
namespace {

TEST(BlockingExecutorTest, RunsEverythingScheduledBeforeItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    BlockingExecutor executor(3, 1000);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(executor.Schedule([&ran] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(BlockingExecutorTest, RefusesWorkBeyondItsQueueBound) {
  absl::Notification started;
  absl::Notification release;
  std::atomic<int> ran{0};
  {
    BlockingExecutor executor(1, 2);
    ASSERT_TRUE(executor.Schedule([&] {
      started.Notify();
      release.WaitForNotification();
      ++ran;
    }));
    started.WaitForNotification();  // its only thread is busy: what follows waits in the queue
    EXPECT_TRUE(executor.Schedule([&ran] { ++ran; }));
    EXPECT_TRUE(executor.Schedule([&ran] { ++ran; }));
    EXPECT_FALSE(executor.Schedule([&ran] { ++ran; }));
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace whalefeed::server
