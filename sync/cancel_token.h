// CancelToken: a cancellation flag shared between whoever runs upstream requests and whoever may
// need to stop them (a job losing leadership, shutdown). Cancelling wakes every wait on the token
// at once (limiter waits, backoff sleeps) and runs the registered callbacks, which is how an
// in-flight HTTP request is interrupted without waiting for its timeout.
#ifndef WHALEFEED_SYNC_CANCEL_TOKEN_H_
#define WHALEFEED_SYNC_CANCEL_TOKEN_H_

#include <cstdint>
#include <functional>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace whalefeed::sync {

// Thread-safe. Cancellation is one-way: a cancelled token stays cancelled.
class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Sets the flag, wakes every WaitFor and runs every registered callback (once each). Idempotent.
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    // Callbacks run under the lock so that RemoveCallback, once it returns, guarantees its
    // callback is not running and never will: they must be quick and must not use this token.
    for (auto& [id, callback] : callbacks_) callback();
  }

  bool cancelled() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  // Waits until `d` has passed or the token is cancelled, whichever comes first; true when
  // cancelled. Blocks on a condition, never spins.
  bool WaitFor(absl::Duration d) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (d > absl::ZeroDuration()) {
      mu_.AwaitWithTimeout(absl::Condition(&cancelled_), d);
    }
    return cancelled_;
  }

  // Registers `callback` to run when the token is cancelled (at once, on this thread, if it
  // already is). Returns an id for RemoveCallback.
  int64_t AddCallback(std::function<void()> callback) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (cancelled_) {
      callback();
      return 0;
    }
    const int64_t id = next_id_++;
    callbacks_.emplace(id, std::move(callback));
    return id;
  }

  // After this returns, the callback `id` is neither running nor will run.
  void RemoveCallback(int64_t id) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    callbacks_.erase(id);
  }

 private:
  // Registration is not a change of the token's state (cancelled or not), so it works through a
  // const reference, as every request method takes the token.
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  mutable int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  mutable std::map<int64_t, std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
};

// RAII registration of a cancel callback.
class ScopedCancelCallback {
 public:
  ScopedCancelCallback(const CancelToken* token, std::function<void()> callback)
      : token_(token), id_(token == nullptr ? 0 : token->AddCallback(std::move(callback))) {}
  ~ScopedCancelCallback() {
    if (token_ != nullptr && id_ != 0) token_->RemoveCallback(id_);
  }
  ScopedCancelCallback(const ScopedCancelCallback&) = delete;
  ScopedCancelCallback& operator=(const ScopedCancelCallback&) = delete;

 private:
  const CancelToken* const token_;
  const int64_t id_;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_CANCEL_TOKEN_H_
