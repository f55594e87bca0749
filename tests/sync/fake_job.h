// A SyncJobRunner for scheduler and engine tests: runs every `interval` (at once when it never
// ran), counts its runs, and can be told to fail or to block until released or cancelled.
#ifndef WHALEFEED_TESTS_SYNC_FAKE_JOB_H_
#define WHALEFEED_TESTS_SYNC_FAKE_JOB_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sync/job.h"

namespace whalefeed::sync {

class FakeJob final : public SyncJobRunner {
 public:
  FakeJob(db::SyncJob job, absl::Duration interval) : job_(job), interval_(interval) {}

  db::SyncJob job() const override { return job_; }
  absl::Time NextRunTime(absl::Time last_started, absl::Time now) const override {
    if (last_started == absl::InfinitePast()) return now;
    return last_started + interval_;
  }

  absl::StatusOr<JobOutcome> RunOnce(const JobContext& context) override {
    absl::MutexLock lock(&mu_);
    ++starts_;
    contexts_.push_back(context);
    if (blocking_) {
      // Until released, or until the scheduler cancels the run (the token is not under mu_, so
      // look at it often).
      auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return released_; };
      while (!mu_.AwaitWithTimeout(absl::Condition(&released), absl::Milliseconds(5))) {
        if (context.cancel->cancelled()) {
          ++ends_;
          return absl::CancelledError("fake job: cancelled");
        }
      }
      released_ = false;
    }
    ++ends_;
    if (!result_.ok()) return result_;
    JobOutcome outcome;
    outcome.item_count = items_;
    return outcome;
  }

  void SetResult(absl::Status result) {
    absl::MutexLock lock(&mu_);
    result_ = std::move(result);
  }
  void SetItems(int64_t items) {
    absl::MutexLock lock(&mu_);
    items_ = items;
  }
  // Runs from now on wait in RunOnce until Release() (one run per call) or cancellation.
  void SetBlocking(bool blocking) {
    absl::MutexLock lock(&mu_);
    blocking_ = blocking;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }
  // Waits until `n` runs have begun, up to `timeout`.
  bool WaitStarts(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return starts_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  int starts() const {
    absl::MutexLock lock(&mu_);
    return starts_;
  }
  int ends() const {
    absl::MutexLock lock(&mu_);
    return ends_;
  }
  std::vector<JobContext> contexts() const {
    absl::MutexLock lock(&mu_);
    return contexts_;
  }

 private:
  const db::SyncJob job_;
  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  absl::Status result_ ABSL_GUARDED_BY(mu_);
  int64_t items_ ABSL_GUARDED_BY(mu_) = 3;
  bool blocking_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  int starts_ ABSL_GUARDED_BY(mu_) = 0;
  int ends_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<JobContext> contexts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_TESTS_SYNC_FAKE_JOB_H_
