#include "sim/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace whalefeed::sim {

absl::Duration SteadyNow() {
  return absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

SlidingWindowRateLimiter::SlidingWindowRateLimiter(int limit, absl::Duration window,
                                                   MonotonicClock clock)
    : limit_(limit), window_(window), clock_(std::move(clock)) {}

void SlidingWindowRateLimiter::Prune(Track& track, absl::Duration now) const {
  // Keep times t with t >= now - window: a request exactly one window ago still shares a closed
  // window with this one.
  const absl::Duration oldest = now - window_;
  while (!track.accepted.empty() && track.accepted.front() < oldest) track.accepted.pop_front();
  while (!track.offered.empty() && track.offered.front() < oldest) track.offered.pop_front();
}

void SlidingWindowRateLimiter::Record(Track& track, absl::Duration now, bool accepted) const {
  track.offered.push_back(now);
  track.counters.worst_window_offered =
      std::max<int64_t>(track.counters.worst_window_offered, track.offered.size());
  if (accepted) {
    track.accepted.push_back(now);
    ++track.counters.accepted;
    track.counters.worst_window_accepted =
        std::max<int64_t>(track.counters.worst_window_accepted, track.accepted.size());
  } else {
    ++track.counters.rejected;
  }
}

bool SlidingWindowRateLimiter::TryAcquire(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  const absl::Duration now = clock_();
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(std::string(key), Track()).first;
  Track& track = it->second;
  Prune(track, now);
  Prune(overall_, now);
  const bool accepted = limit_ <= 0 || static_cast<int64_t>(track.accepted.size()) < limit_;
  Record(track, now, accepted);
  Record(overall_, now, accepted);
  return accepted;
}

SlidingWindowRateLimiter::Counters SlidingWindowRateLimiter::Report(const Track& track,
                                                                    absl::Duration now) const {
  Counters c = track.counters;
  const absl::Duration oldest = now - window_;
  c.last_window_accepted = std::count_if(track.accepted.begin(), track.accepted.end(),
                                         [&](absl::Duration t) { return t >= oldest; });
  c.last_window_offered = std::count_if(track.offered.begin(), track.offered.end(),
                                        [&](absl::Duration t) { return t >= oldest; });
  return c;
}

SlidingWindowRateLimiter::Snapshot SlidingWindowRateLimiter::GetSnapshot() const {
  absl::MutexLock lock(&mu_);
  const absl::Duration now = clock_();
  Snapshot snapshot;
  snapshot.overall = Report(overall_, now);
  for (const auto& [key, track] : keys_) snapshot.per_key[key] = Report(track, now);
  return snapshot;
}

void SlidingWindowRateLimiter::ResetStats() {
  absl::MutexLock lock(&mu_);
  overall_.counters = Counters();
  for (auto& [key, track] : keys_) track.counters = Counters();
}

}  // namespace whalefeed::sim
