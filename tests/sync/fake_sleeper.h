// A Sleeper for tests on a FakeClock: "sleeping" advances the clock by the duration at once, so
// code that waits runs in no real time and the test sees exactly what it waited for.
#ifndef WHALEFEED_TESTS_SYNC_FAKE_SLEEPER_H_
#define WHALEFEED_TESTS_SYNC_FAKE_SLEEPER_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "sync/backoff_policy.h"

namespace whalefeed::sync {

// Thread-safe. Concurrent sleepers each advance the clock (time only moves forward).
class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(FakeClock* clock) : clock_(clock) {}

  absl::Status SleepFor(absl::Duration d, const CancelToken& cancel) override {
    if (cancel.cancelled()) return absl::CancelledError("cancelled");
    {
      absl::MutexLock lock(&mu_);
      sleeps_.push_back(d);
    }
    if (d > absl::ZeroDuration()) clock_->Advance(d);
    return absl::OkStatus();
  }

  std::vector<absl::Duration> sleeps() const {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

 private:
  FakeClock* const clock_;
  mutable absl::Mutex mu_;
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_TESTS_SYNC_FAKE_SLEEPER_H_
