// Backoff and retry policies for upstream requests, as policy objects (google-cloud-cpp style): a
// prototype is configured once, and every request clones it so that its state (the attempt count)
// is per request.
#ifndef WHALEFEED_SYNC_BACKOFF_POLICY_H_
#define WHALEFEED_SYNC_BACKOFF_POLICY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sync/cancel_token.h"

namespace whalefeed::sync {

// How long to wait before the next attempt. OnCompletion is not thread-safe: one policy per
// request, made by clone(), which is thread-safe.
class BackoffPolicy {
 public:
  virtual ~BackoffPolicy() = default;
  // A fresh policy (attempt count zero) with the same configuration.
  virtual std::unique_ptr<BackoffPolicy> clone() const = 0;
  // Called after each failed attempt: the delay before the next one.
  virtual absl::Duration OnCompletion() = 0;
};

// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
// after the n-th failure (n from 0) the delay is uniform in [0, min(maximum, initial * scaling^n)],
// so that clients that failed together do not retry together.
class ExponentialBackoffPolicy final : public BackoffPolicy {
 public:
  // `initial` > 0, `maximum` >= initial, `scaling` >= 1 (coerced otherwise). `seed` makes the
  // jitter reproducible in tests; each clone continues from a seed derived from it.
  ExponentialBackoffPolicy(absl::Duration initial, absl::Duration maximum, double scaling,
                           uint64_t seed = std::random_device{}());

  std::unique_ptr<BackoffPolicy> clone() const override;
  absl::Duration OnCompletion() override;

  // The upper bound of the next delay (before jitter).
  absl::Duration current_limit() const { return current_; }

 private:
  const absl::Duration initial_;
  const absl::Duration maximum_;
  const double scaling_;
  const uint64_t seed_;
  absl::Duration current_;
  std::mt19937_64 rng_;
  // Each clone gets its own stream. Atomic: one prototype is cloned by concurrent requests.
  mutable std::atomic<uint64_t> clones_{0};
};

// Waits for a while unless cancelled: the seam that lets limiter and retry tests run on a fake
// clock. Thread-safe.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Waits `d` (or not at all when d <= 0); CANCELLED when `cancel` fires first (at once, not at the
  // end of `d`), else OK.
  virtual absl::Status SleepFor(absl::Duration d, const CancelToken& cancel) = 0;
};

// Sleeps on the token's condition: real time, woken at once by Cancel().
class RealSleeper final : public Sleeper {
 public:
  absl::Status SleepFor(absl::Duration d, const CancelToken& cancel) override;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_BACKOFF_POLICY_H_
