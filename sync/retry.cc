#include "sync/retry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace whalefeed::sync {

absl::Status RunWithRetries(RateLimiter& limiter, BackoffPolicy& backoff, Sleeper& sleeper,
                            const RetryOptions& options, const CancelToken& cancel,
                            absl::FunctionRef<AttemptOutcome(const AttemptContext&)> attempt) {
  const int max_attempts = std::max(1, options.max_attempts);
  for (int n = 1;; ++n) {
    absl::StatusOr<absl::Time> granted = limiter.Acquire(cancel);
    if (!granted.ok()) return granted.status();
    AttemptOutcome outcome = attempt(AttemptContext{n, *granted});
    if (outcome.status.ok()) return outcome.status;
    if (cancel.cancelled()) {
      return absl::CancelledError(
          absl::StrCat("cancelled during the request (", outcome.status.message(), ")"));
    }
    if (outcome.throttled) limiter.OnThrottled(outcome.retry_after);
    if (!outcome.retryable) return outcome.status;
    if (n >= max_attempts) {
      return absl::Status(outcome.status.code(),
                          absl::StrCat(outcome.status.message(), " (gave up after ", n,
                                       n == 1 ? " attempt)" : " attempts)"));
    }
    // With a Retry-After the limiter itself holds every caller back until it has passed (at a
    // lowered rate); otherwise this request backs off with jitter.
    if (outcome.throttled && outcome.retry_after.has_value()) continue;
    absl::Status slept = sleeper.SleepFor(backoff.OnCompletion(), cancel);
    if (!slept.ok()) return slept;
  }
}

}  // namespace whalefeed::sync
