// The retry loop every upstream request runs: each attempt first takes a token from the shared
// RateLimiter (so retries are paced like first attempts), a 429 feeds the limiter back, and
// retryable failures wait for the backoff policy's delay before the next attempt.
#ifndef WHALEFEED_SYNC_RETRY_H_
#define WHALEFEED_SYNC_RETRY_H_

#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sync/backoff_policy.h"
#include "sync/cancel_token.h"
#include "sync/rate_limiter.h"

namespace whalefeed::sync {

// What one attempt came to.
struct AttemptOutcome {
  // OK, or the error to return if this is the last attempt (or not retryable). Its code is the
  // final one: RESOURCE_EXHAUSTED for a 429, UNAVAILABLE for 5xx and connection errors,
  // DEADLINE_EXCEEDED for a timeout, DATA_LOSS for a body that does not parse.
  absl::Status status;
  bool retryable = false;
  bool throttled = false;                     // a 429: reported to the limiter
  std::optional<absl::Duration> retry_after;  // with throttled: the upstream's Retry-After
};

// Passed to each attempt.
struct AttemptContext {
  int attempt = 1;                            // 1 for the first
  absl::Time granted = absl::InfinitePast();  // when the limiter let it go
};

struct RetryOptions {
  int max_attempts = 5;  // attempts per request, the first included (>= 1)
};

// Runs `attempt` until it succeeds, fails for good, attempts run out, or `cancel` fires
// (CANCELLED). A throttled attempt with a Retry-After waits for it (through the limiter, which
// pauses every caller); any other retryable failure waits for `backoff`'s next delay. The error
// after the last attempt says how many attempts were made. Thread-safe as far as its arguments
// are (each call needs its own `backoff`).
absl::Status RunWithRetries(RateLimiter& limiter, BackoffPolicy& backoff, Sleeper& sleeper,
                            const RetryOptions& options, const CancelToken& cancel,
                            absl::FunctionRef<AttemptOutcome(const AttemptContext&)> attempt);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_RETRY_H_
