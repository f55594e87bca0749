// A strict per-key sliding-window rate limiter, with the statistics a test needs to prove a
// client's pacing ("the busiest second ever seen").
#ifndef WHALEFEED_SIM_RATE_LIMITER_H_
#define WHALEFEED_SIM_RATE_LIMITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace whalefeed::sim {

// A monotonic time source: any origin, never goes backwards.
using MonotonicClock = std::function<absl::Duration()>;
// The process's steady clock (std::chrono::steady_clock), independent of wall-clock changes.
absl::Duration SteadyNow();

// Accepts a request for a key only if, counting it, no time window of length `window` (closed at
// both ends) holds more than `limit` accepted requests for that key. Only accepted requests count:
// a client that keeps hammering still gets `limit` requests through per window. `limit` <= 0
// disables limiting.
//
// Besides accepted requests it tracks "offered" ones (every request presented, accepted or not), so
// that the busiest window of what a client *sent* can be compared with the upstream limit.
//
// Time is read from `clock` while holding the lock, so the recorded times are ordered. Thread-safe.
class SlidingWindowRateLimiter {
 public:
  struct Counters {
    int64_t accepted = 0;
    int64_t rejected = 0;
    int64_t worst_window_accepted = 0;  // most accepted requests ever seen in one window
    int64_t worst_window_offered = 0;   // most offered requests ever seen in one window
    int64_t last_window_accepted = 0;   // accepted in the window ending now
    int64_t last_window_offered = 0;
  };
  struct Snapshot {
    Counters overall;  // all keys together
    std::map<std::string, Counters> per_key;
  };

  SlidingWindowRateLimiter(int limit, absl::Duration window, MonotonicClock clock = SteadyNow);

  // Records the request as offered; returns true (and records it as accepted) if it fits the limit.
  bool TryAcquire(absl::string_view key) ABSL_LOCKS_EXCLUDED(mu_);

  Snapshot GetSnapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets counters and worst windows (keeps the limiter's memory of recent requests).
  void ResetStats() ABSL_LOCKS_EXCLUDED(mu_);

  int limit() const { return limit_; }

 private:
  struct Track {
    std::deque<absl::Duration> accepted;  // times of accepted requests within the last window
    std::deque<absl::Duration> offered;
    Counters counters;
  };
  // Drops times older than now - window.
  void Prune(Track& track, absl::Duration now) const;
  void Record(Track& track, absl::Duration now, bool accepted) const;
  Counters Report(const Track& track, absl::Duration now) const;

  const int limit_;
  const absl::Duration window_;
  const MonotonicClock clock_;
  mutable absl::Mutex mu_;
  Track overall_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Track, std::less<>> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_RATE_LIMITER_H_
