// The one rate limiter every upstream request of every job goes through, retries included.
//
// A token bucket (implemented as GCRA, exact in absl::Duration): `rate_per_second` tokens a second,
// at most `burst` saved up. In any window of W seconds it grants at most burst + rate * W requests:
// with the defaults (12/s, burst 2) at most 14 in any sliding second, under the upstream's 15 per
// key, whatever the number of concurrent callers. Create refuses options that could exceed
// kUpstreamRequestsPerSecond.
//
// 429s feed back (OnThrottled): a Retry-After pauses every caller until it has passed, and the rate
// drops multiplicatively (at most once per `decrease_holdoff`, so a burst of 429s from requests
// that were already in flight counts once), then climbs back additively by `increase_step` per
// `quiet_period` without a 429, up to the configured rate (AIMD).
//
// Time comes from a Clock and waits go through a Sleeper, so tests run on a FakeClock. Waiting is
// cancellable (CancelToken) and never spins. Thread-safe.
#ifndef WHALEFEED_SYNC_RATE_LIMITER_H_
#define WHALEFEED_SYNC_RATE_LIMITER_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "sync/backoff_policy.h"
#include "sync/cancel_token.h"

namespace whalefeed::sync {

// What the upstream allows per API key per second.
inline constexpr double kUpstreamRequestsPerSecond = 15;

struct RateLimiterOptions {
  double rate_per_second = 12;  // the configured (and highest) rate
  int burst = 2;                // 1 or 2
  // AIMD.
  double min_rate_per_second = 1;  // multiplicative decrease never goes below this
  double decrease_factor = 0.5;    // in (0, 1)
  absl::Duration decrease_holdoff = absl::Seconds(1);
  double increase_step = 1;  // requests/s added back per quiet period
  absl::Duration quiet_period = absl::Seconds(10);
  // A Retry-After longer than this is cut to it, so one odd header cannot stall sync for hours.
  absl::Duration max_retry_after = absl::Seconds(120);
};

// For status publishing (LimiterStatus in the API).
struct LimiterStats {
  double rate_per_second = 0;  // current rate (below the configured one after 429s)
  double configured_rate_per_second = 0;
  int64_t requests_total = 0;                      // grants, i.e. requests sent (retries included)
  int64_t throttled_total = 0;                     // 429s reported
  absl::Time paused_until = absl::InfinitePast();  // a Retry-After in force, if after now
};

class RateLimiter {
 public:
  // INVALID_ARGUMENT naming the option when the options are out of range or could exceed the
  // upstream limit (burst + rate > 15). `clock` and `sleeper` must outlive the limiter.
  static absl::StatusOr<std::unique_ptr<RateLimiter>> Create(RateLimiterOptions options,
                                                             const Clock* clock, Sleeper* sleeper);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Waits for a token; returns the clock time it was granted at. CANCELLED (and no token taken)
  // when `cancel` fires first.
  absl::StatusOr<absl::Time> Acquire(const CancelToken& cancel) ABSL_LOCKS_EXCLUDED(mu_);

  // Reports a 429. `retry_after`: the upstream's Retry-After (already converted to a duration).
  void OnThrottled(std::optional<absl::Duration> retry_after) ABSL_LOCKS_EXCLUDED(mu_);

  LimiterStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  RateLimiter(RateLimiterOptions options, const Clock* clock, Sleeper* sleeper);
  // The current rate at `now`, with the additive increases due since the last rate event applied.
  double RateAtLocked(absl::Time now, absl::Time* rate_event) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecoverLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimiterOptions options_;
  const Clock* const clock_;
  Sleeper* const sleeper_;

  mutable absl::Mutex mu_;
  double rate_ ABSL_GUARDED_BY(mu_);
  // GCRA's theoretical arrival time: when the bucket would be full again at the current rate.
  absl::Time tat_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_decrease_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_rate_event_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t requests_total_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t throttled_total_ ABSL_GUARDED_BY(mu_) = 0;
};

// Parses a Retry-After header value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to
// `now`. nullopt when empty or unparseable; a date in the past gives zero.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_RATE_LIMITER_H_
