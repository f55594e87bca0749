#include "sync/backoff_policy.h"

#include <algorithm>

namespace whalefeed::sync {

ExponentialBackoffPolicy::ExponentialBackoffPolicy(absl::Duration initial, absl::Duration maximum,
                                                   double scaling, uint64_t seed)
    : initial_(std::max(initial, absl::Milliseconds(1))),
      maximum_(std::max(maximum, initial_)),
      scaling_(std::max(scaling, 1.0)),
      seed_(seed),
      current_(initial_),
      rng_(seed) {}

std::unique_ptr<BackoffPolicy> ExponentialBackoffPolicy::clone() const {
  // SplitMix64 step: distinct, well-mixed seeds for successive clones.
  uint64_t z = seed_ + 0x9E3779B97F4A7C15ULL * ++clones_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return std::make_unique<ExponentialBackoffPolicy>(initial_, maximum_, scaling_, z);
}

absl::Duration ExponentialBackoffPolicy::OnCompletion() {
  const absl::Duration limit = current_;
  current_ = std::min(maximum_, current_ * scaling_);
  std::uniform_int_distribution<int64_t> jitter(0, absl::ToInt64Microseconds(limit));
  return absl::Microseconds(jitter(rng_));
}

absl::Status RealSleeper::SleepFor(absl::Duration d, const CancelToken& cancel) {
  if (cancel.WaitFor(d)) return absl::CancelledError("cancelled while waiting to retry");
  return absl::OkStatus();
}

}  // namespace whalefeed::sync
