// tsan_absl_annotations.cc at work (ThreadSanitizer builds only): plain data handed between threads
// through each absl primitive it annotates. Each scenario runs in a child process that stops at
// TSan's first report (exit code 66), so a missing or wrong annotation fails its test. The control
// scenario calls the real absl::Mutex::Lock / Unlock, past the annotations, and must be reported:
// that is what every scenario would do without them.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/config.h"
#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

constexpr int kTsanExitCode = 66;
constexpr int kRounds = 1000;

#define WF_STRINGIFY_INNER(x) #x
#define WF_STRINGIFY(x) WF_STRINGIFY_INNER(x)

// The mangled name of absl::<inline namespace>::<rest>, e.g. rest "5Mutex4LockEv" for
// Mutex::Lock().
std::string AbslSymbol(const char* rest) {
  const char* inline_namespace = WF_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return "_ZN4absl" + std::to_string(std::strlen(inline_namespace)) + inline_namespace + rest;
}

// The real member, from libabsl_synchronization itself (dlsym on its handle starts there).
void* RealAbsl(const char* rest) {
  const std::string library =
      "libabsl_synchronization.so." + std::to_string(ABSL_LTS_RELEASE_VERSION);
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_NOLOAD);
  return handle == nullptr ? nullptr : ::dlsym(handle, AbslSymbol(rest).c_str());
}

// The file that defines what `symbol` binds to from this executable.
std::string DefiningFile(void* symbol) {
  Dl_info info;
  if (symbol == nullptr || ::dladdr(symbol, &info) == 0) return "(none)";
  return info.dli_fname;
}

// Runs `body` on two threads at once and exits 0: reached only if TSan reported nothing.
template <typename Body>
[[noreturn]] void OnTwoThreadsThenExit(Body body) {
  std::thread a(body), b(body);
  a.join();
  b.join();
  std::exit(0);
}

// Each scenario hands plain data between threads through one primitive, then exits 0; reached only
// if TSan reported nothing.

[[noreturn]] void RaceUnderTheRealMutex() {
  using Fn = void (*)(absl::Mutex*);
  const auto real_lock = reinterpret_cast<Fn>(RealAbsl("5Mutex4LockEv"));
  const auto real_unlock = reinterpret_cast<Fn>(RealAbsl("5Mutex6UnlockEv"));
  if (real_lock == nullptr || real_unlock == nullptr) std::_Exit(3);
  absl::Mutex mu;
  int counter = 0;
  OnTwoThreadsThenExit([&] {
    for (int i = 0; i < kRounds; ++i) {
      real_lock(&mu);
      ++counter;
      real_unlock(&mu);
    }
  });
}

[[noreturn]] void CounterUnderMutexLock() {
  absl::Mutex mu;
  int counter = 0;
  OnTwoThreadsThenExit([&] {
    for (int i = 0; i < kRounds; ++i) {
      absl::MutexLock lock(&mu);
      ++counter;
    }
  });
}

[[noreturn]] void CounterUnderTryLock() {
  absl::Mutex mu;
  int counter = 0;
  OnTwoThreadsThenExit([&] {
    for (int i = 0; i < kRounds; ++i) {
      while (!mu.TryLock()) std::this_thread::yield();
      ++counter;
      mu.Unlock();
    }
  });
}

[[noreturn]] void ReadersSeeWhatWritersWrote() {
  absl::Mutex mu;
  std::vector<int> data;
  OnTwoThreadsThenExit([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (i % 2 == 0) {
        absl::MutexLock lock(&mu);
        data.push_back(i);
      } else if (mu.ReaderTryLock()) {
        if (!data.empty() && data.back() < 0) std::abort();
        mu.ReaderUnlock();
      } else {
        absl::ReaderMutexLock lock(&mu);
        if (!data.empty() && data.back() < 0) std::abort();
      }
    }
  });
}

// Two threads take turns: each writes `payload` under the mutex, then waits for its next turn
// through LockWhen, Await or CondVar::Wait, and reads what the other wrote. The conditions read
// `turn` while abseil holds the mutex.
[[noreturn]] void TurnsThroughLockWhenAwaitAndCondVar() {
  absl::Mutex mu;
  absl::CondVar cv;
  int turn = 0;
  std::string payload;
  std::thread other([&] {
    for (int i = 1; i < kRounds; i += 2) {
      mu.LockWhen(absl::Condition(
          +[](int* t) { return *t % 2 == 1; }, &turn));
      if (payload.size() > 5) std::abort();
      payload.assign(static_cast<size_t>(i % 7), 'x');
      ++turn;
      mu.Unlock();
      cv.Signal();
    }
  });
  for (int i = 0; i < kRounds; i += 2) {
    absl::MutexLock lock(&mu);
    payload.assign(static_cast<size_t>(i % 5), 'y');
    ++turn;
    if (i % 4 == 0) {
      mu.Await(absl::Condition(
          +[](int* t) { return *t % 2 == 0; }, &turn));
    } else {
      while (turn % 2 != 0) cv.Wait(&mu);
    }
    if (payload.size() > 7) std::abort();
  }
  other.join();
  std::exit(0);
}

// Await under a reader lock: the annotations must release and take it again as a reader.
[[noreturn]] void AwaitWithTimeoutUnderAReaderLock() {
  absl::Mutex mu;
  bool ready = false;
  int value = 0;
  std::thread writer([&] {
    absl::MutexLock lock(&mu);
    value = 42;
    ready = true;
  });
  {
    absl::ReaderMutexLock lock(&mu);
    while (!mu.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(10))) {
    }
    if (value != 42) std::abort();
  }
  writer.join();
  std::exit(0);
}

[[noreturn]] void HandOverThroughNotifications() {
  std::string first;
  std::string second;
  int third = 0;
  absl::Notification first_done;
  absl::Notification second_done;
  absl::Notification third_done;
  std::thread writer([&] {
    first = "written before Notify";
    first_done.Notify();
    second = "also written before Notify";
    second_done.Notify();
    third = 3;
    third_done.Notify();
  });
  first_done.WaitForNotification();
  if (first.empty()) std::abort();
  while (!second_done.HasBeenNotified()) std::this_thread::yield();
  if (second.empty()) std::abort();
  while (!third_done.WaitForNotificationWithTimeout(absl::Milliseconds(10))) {
  }
  if (third != 3) std::abort();
  writer.join();
  std::exit(0);
}

[[noreturn]] void DestroyALockedMutex() {
  auto* mu = new absl::Mutex;
  mu->Lock();
  delete mu;
  std::exit(0);
}

class TsanAbslAnnotationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    // The child reports to stderr (deploy/test sends reports to files, where an expected one would
    // count as a finding) and stops at the first report.
    ::setenv("TSAN_OPTIONS", "halt_on_error=1:exitcode=66:log_path=stderr", 1);
  }
};

TEST_F(TsanAbslAnnotationsTest, CallsReachTheAnnotationsAndTheyReachAbseil) {
  for (const char* member : {"5Mutex4LockEv", "5Mutex6UnlockEv", "5Mutex5AwaitERKNS0_9ConditionE",
                             "7CondVar4WaitEPNS0_5MutexE", "12Notification6NotifyEv"}) {
    EXPECT_NE(DefiningFile(::dlsym(RTLD_DEFAULT, AbslSymbol(member).c_str()))
                  .find("libwhalefeed_tsan_absl"),
              std::string::npos)
        << member;
    EXPECT_NE(DefiningFile(RealAbsl(member)).find("libabsl_synchronization"), std::string::npos)
        << member;
  }
}

// The control: what every scenario below would do without the annotations.
TEST_F(TsanAbslAnnotationsTest, WithoutTheAnnotationsTsanReportsARaceUnderAMutex) {
  EXPECT_EXIT(RaceUnderTheRealMutex(), ::testing::ExitedWithCode(kTsanExitCode), "data race");
}

TEST_F(TsanAbslAnnotationsTest, MutexLock) {
  EXPECT_EXIT(CounterUnderMutexLock(), ::testing::ExitedWithCode(0), "");
}

TEST_F(TsanAbslAnnotationsTest, TryLock) {
  EXPECT_EXIT(CounterUnderTryLock(), ::testing::ExitedWithCode(0), "");
}

TEST_F(TsanAbslAnnotationsTest, ReaderLocks) {
  EXPECT_EXIT(ReadersSeeWhatWritersWrote(), ::testing::ExitedWithCode(0), "");
}

TEST_F(TsanAbslAnnotationsTest, LockWhenAwaitAndCondVar) {
  EXPECT_EXIT(TurnsThroughLockWhenAwaitAndCondVar(), ::testing::ExitedWithCode(0), "");
}

TEST_F(TsanAbslAnnotationsTest, AwaitWithTimeoutUnderAReaderLock) {
  EXPECT_EXIT(AwaitWithTimeoutUnderAReaderLock(), ::testing::ExitedWithCode(0), "");
}

TEST_F(TsanAbslAnnotationsTest, Notification) {
  EXPECT_EXIT(HandOverThroughNotifications(), ::testing::ExitedWithCode(0), "");
}

// TSan still reports misuse: destroying a locked absl::Mutex.
TEST_F(TsanAbslAnnotationsTest, DestroyingALockedMutexIsReported) {
  EXPECT_EXIT(DestroyALockedMutex(), ::testing::ExitedWithCode(kTsanExitCode),
              "destroy of a locked mutex");
}

}  // namespace
