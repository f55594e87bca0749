#include "sync/rate_limiter.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace whalefeed::sync {

absl::StatusOr<std::unique_ptr<RateLimiter>> RateLimiter::Create(RateLimiterOptions options,
                                                                 const Clock* clock,
                                                                 Sleeper* sleeper) {
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("rate limiter: ", what));
  };
  if (!(options.rate_per_second > 0)) {
    return bad(absl::StrCat("rate_per_second must be > 0, got ", options.rate_per_second));
  }
  if (options.burst < 1 || options.burst > 2) {
    return bad(absl::StrCat("burst must be 1 or 2, got ", options.burst));
  }
  if (options.burst + options.rate_per_second > kUpstreamRequestsPerSecond) {
    return bad(absl::StrCat("burst + rate_per_second (", options.burst, " + ",
                            options.rate_per_second, ") may exceed the upstream's ",
                            kUpstreamRequestsPerSecond, " requests in one second"));
  }
  if (!(options.min_rate_per_second > 0) || options.min_rate_per_second > options.rate_per_second) {
    return bad(absl::StrCat("min_rate_per_second must be in (0, rate_per_second], got ",
                            options.min_rate_per_second));
  }
  if (!(options.decrease_factor > 0 && options.decrease_factor < 1)) {
    return bad(absl::StrCat("decrease_factor must be in (0, 1), got ", options.decrease_factor));
  }
  if (!(options.increase_step > 0)) {
    return bad(absl::StrCat("increase_step must be > 0, got ", options.increase_step));
  }
  if (options.quiet_period <= absl::ZeroDuration() ||
      options.decrease_holdoff < absl::ZeroDuration() ||
      options.max_retry_after < absl::ZeroDuration()) {
    return bad("quiet_period must be > 0, decrease_holdoff and max_retry_after >= 0");
  }
  if (clock == nullptr || sleeper == nullptr) return bad("clock and sleeper are required");
  return std::unique_ptr<RateLimiter>(new RateLimiter(options, clock, sleeper));
}

RateLimiter::RateLimiter(RateLimiterOptions options, const Clock* clock, Sleeper* sleeper)
    : options_(options), clock_(clock), sleeper_(sleeper), rate_(options.rate_per_second) {}

double RateLimiter::RateAtLocked(absl::Time now, absl::Time* rate_event) const {
  double rate = rate_;
  absl::Time event = last_rate_event_;
  if (rate < options_.rate_per_second && now - event >= options_.quiet_period) {
    absl::Duration remainder;  // IDivDuration needs somewhere to put it
    const int64_t periods = absl::IDivDuration(now - event, options_.quiet_period, &remainder);
    const double needed = std::ceil((options_.rate_per_second - rate) / options_.increase_step);
    const int64_t steps = std::min<int64_t>(periods, static_cast<int64_t>(needed));
    rate = std::min(options_.rate_per_second, rate + steps * options_.increase_step);
    event += steps * options_.quiet_period;
  }
  if (rate_event != nullptr) *rate_event = event;
  return rate;
}

void RateLimiter::RecoverLocked(absl::Time now) {
  absl::Time event;
  rate_ = RateAtLocked(now, &event);
  last_rate_event_ = event;
}

absl::StatusOr<absl::Time> RateLimiter::Acquire(const CancelToken& cancel) {
  while (true) {
    if (cancel.cancelled()) {
      return absl::CancelledError("cancelled while waiting for the upstream rate limiter");
    }
    absl::Duration wait;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time now = clock_->Now();
      RecoverLocked(now);
      const absl::Duration interval = absl::Seconds(1) / rate_;
      const absl::Duration tolerance = (options_.burst - 1) * interval;
      const absl::Time earliest = std::max(paused_until_, tat_ - tolerance);
      if (now >= earliest) {
        tat_ = std::max(tat_, now) + interval;
        ++requests_total_;
        return now;
      }
      wait = earliest - now;
    }
    // Other callers may take the token first; then this one computes a new wait. Either way it
    // sleeps until a token can exist, never spins.
    absl::Status slept = sleeper_->SleepFor(wait, cancel);
    if (!slept.ok()) {
      return absl::CancelledError("cancelled while waiting for the upstream rate limiter");
    }
  }
}

void RateLimiter::OnThrottled(std::optional<absl::Duration> retry_after) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  RecoverLocked(now);
  ++throttled_total_;
  if (retry_after.has_value()) {
    const absl::Duration pause =
        std::clamp(*retry_after, absl::ZeroDuration(), options_.max_retry_after);
    paused_until_ = std::max(paused_until_, now + pause);
  }
  if (last_decrease_ == absl::InfinitePast() || now - last_decrease_ >= options_.decrease_holdoff) {
    rate_ = std::max(options_.min_rate_per_second, rate_ * options_.decrease_factor);
    last_decrease_ = now;
  }
  last_rate_event_ = now;  // the quiet period starts again
}

LimiterStats RateLimiter::Stats() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  LimiterStats stats;
  stats.rate_per_second = RateAtLocked(now, nullptr);
  stats.configured_rate_per_second = options_.rate_per_second;
  stats.requests_total = requests_total_;
  stats.throttled_total = throttled_total_;
  stats.paused_until = paused_until_;
  return stats;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds)) return absl::InfiniteDuration();  // absurdly large
    return absl::Seconds(seconds);
  }
  // IMF-fixdate, the obsolete RFC 850 form, and asctime (all GMT).
  for (const char* format :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    absl::Time when;
    std::string error;
    if (absl::ParseTime(format, std::string(value), absl::UTCTimeZone(), &when, &error)) {
      return std::max(absl::ZeroDuration(), when - now);
    }
  }
  return std::nullopt;
}

}  // namespace whalefeed::sync
