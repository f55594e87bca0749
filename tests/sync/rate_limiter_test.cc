// RateLimiter, the backoff policy and the retry loop on a FakeClock: burst, sustained rate, the
// sliding-second bound under concurrent callers with retries, AIMD, Retry-After, cancellation.
#include "sync/rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "sync/backoff_policy.h"
#include "sync/retry.h"
#include "tests/sync/fake_sleeper.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::DoubleEq;
using ::testing::HasSubstr;
using ::whalefeed::testing::StatusIs;

// The most grants in any closed window [t, t + window].
int MaxInWindow(std::vector<absl::Time> times, absl::Duration window) {
  std::sort(times.begin(), times.end());
  int best = 0;
  size_t end = 0;
  for (size_t begin = 0; begin < times.size(); ++begin) {
    end = std::max(end, begin);
    while (end < times.size() && times[end] <= times[begin] + window) ++end;
    best = std::max(best, static_cast<int>(end - begin));
  }
  return best;
}

class RateLimiterTest : public ::testing::Test {
 protected:
  std::unique_ptr<RateLimiter> Make(RateLimiterOptions options = {}) {
    auto limiter = RateLimiter::Create(options, &clock_, &sleeper_);
    EXPECT_OK(limiter.status());
    return limiter.ok() ? *std::move(limiter) : nullptr;
  }
  absl::Time Grant(RateLimiter& limiter) {
    absl::StatusOr<absl::Time> t = limiter.Acquire(never_);
    EXPECT_OK(t.status());
    return t.ok() ? *t : absl::InfinitePast();
  }

  FakeClock clock_;
  FakeSleeper sleeper_{&clock_};
  CancelToken never_;
};

TEST_F(RateLimiterTest, CreateRefusesOptionsThatCouldExceedTheUpstreamLimit) {
  RateLimiterOptions o;
  o.burst = 3;
  EXPECT_THAT(RateLimiter::Create(o, &clock_, &sleeper_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("burst")));
  o = {};
  o.rate_per_second = 14;
  EXPECT_THAT(RateLimiter::Create(o, &clock_, &sleeper_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("15")));
  o = {};
  o.rate_per_second = 0;
  EXPECT_THAT(RateLimiter::Create(o, &clock_, &sleeper_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rate_per_second")));
  o = {};
  o.decrease_factor = 1;
  EXPECT_THAT(RateLimiter::Create(o, &clock_, &sleeper_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("decrease_factor")));
  o = {};
  o.rate_per_second = 13;  // 13 + 2 = 15: allowed
  EXPECT_OK(RateLimiter::Create(o, &clock_, &sleeper_).status());
}

TEST_F(RateLimiterTest, BurstIsAtMostTwoEvenAfterALongIdle) {
  auto limiter = Make();
  const absl::Time t0 = clock_.Now();
  EXPECT_EQ(Grant(*limiter), t0);
  EXPECT_EQ(Grant(*limiter), t0);
  EXPECT_EQ(Grant(*limiter), t0 + absl::Seconds(1) / 12);
  clock_.Advance(absl::Minutes(10));
  const absl::Time t1 = clock_.Now();
  EXPECT_EQ(Grant(*limiter), t1);
  EXPECT_EQ(Grant(*limiter), t1);
  EXPECT_GT(Grant(*limiter), t1);
}

TEST_F(RateLimiterTest, SustainedRateIsTheConfiguredOneAndNoSecondSeesMoreThanFourteen) {
  auto limiter = Make();
  std::vector<absl::Time> grants;
  for (int i = 0; i < 600; ++i) grants.push_back(Grant(*limiter));
  const absl::Duration span = grants.back() - grants.front();
  EXPECT_EQ(span, (600 - 2) * (absl::Seconds(1) / 12));
  EXPECT_LE(MaxInWindow(grants, absl::Seconds(1)), 14);
  EXPECT_EQ(limiter->Stats().requests_total, 600);
  // It waited by sleeping, a bounded number of times (no spinning).
  EXPECT_LE(sleeper_.sleeps().size(), 600u);
}

TEST_F(RateLimiterTest, ConcurrentCallersWithRetriesNeverPutMoreThanFifteenInASecond) {
  auto limiter = Make();
  ExponentialBackoffPolicy prototype(absl::Milliseconds(50), absl::Seconds(2), 2, /*seed=*/7);
  absl::Mutex mu;
  std::vector<absl::Time> sent;
  std::atomic<int64_t> attempts{0};
  std::atomic<int> failed{0};
  auto worker = [&] {
    for (int i = 0; i < 40; ++i) {
      std::unique_ptr<BackoffPolicy> backoff = prototype.clone();
      absl::Status s = RunWithRetries(
          *limiter, *backoff, sleeper_, RetryOptions{6}, never_, [&](const AttemptContext& c) {
            {
              absl::MutexLock lock(&mu);
              sent.push_back(c.granted);
            }
            const int64_t n = attempts.fetch_add(1);
            AttemptOutcome out;
            if (n % 5 == 0) {  // every fifth request is refused with 429
              out.status = absl::ResourceExhaustedError("429");
              out.retryable = true;
              out.throttled = true;
              if (n % 10 == 0) out.retry_after = absl::Seconds(1);
            } else if (n % 7 == 0) {
              out.status = absl::UnavailableError("503");
              out.retryable = true;
            }
            return out;
          });
      if (!s.ok()) failed.fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(failed.load(), 0);
  ASSERT_EQ(static_cast<int64_t>(sent.size()), attempts.load());
  EXPECT_GT(attempts.load(), 320);  // retries happened, and were paced like first attempts
  EXPECT_LE(MaxInWindow(sent, absl::Seconds(1)), 15);
  EXPECT_LE(MaxInWindow(sent, absl::Seconds(1)), 14);  // the bound the design gives: 2 + 12
  const LimiterStats stats = limiter->Stats();
  EXPECT_EQ(stats.requests_total, attempts.load());
  EXPECT_EQ(stats.throttled_total, (attempts.load() + 4) / 5);
}

TEST_F(RateLimiterTest, ConcurrentCallersRetryingServerErrorsAtFullRateStayUnderFifteen) {
  auto limiter = Make();
  ExponentialBackoffPolicy prototype(absl::Milliseconds(10), absl::Milliseconds(200), 2, 9);
  absl::Mutex mu;
  std::vector<absl::Time> sent;
  std::atomic<int64_t> attempts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        std::unique_ptr<BackoffPolicy> backoff = prototype.clone();
        EXPECT_OK(RunWithRetries(*limiter, *backoff, sleeper_, RetryOptions{6}, never_,
                                 [&](const AttemptContext& c) {
                                   {
                                     absl::MutexLock lock(&mu);
                                     sent.push_back(c.granted);
                                   }
                                   AttemptOutcome out;
                                   if (attempts.fetch_add(1) % 4 == 0) {
                                     out.status = absl::UnavailableError("503");
                                     out.retryable = true;
                                   }
                                   return out;
                                 }));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_GT(attempts.load(), 400);
  EXPECT_LE(MaxInWindow(sent, absl::Seconds(1)), 14);  // 2 + 12
}

TEST_F(RateLimiterTest, ThrottlingHalvesTheRateOncePerHoldoffAndQuietPeriodsBringItBack) {
  auto limiter = Make();
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(12));
  limiter->OnThrottled(std::nullopt);
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(6));
  limiter->OnThrottled(std::nullopt);  // within the holdoff: the same congestion event
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(6));
  clock_.Advance(absl::Seconds(1));
  limiter->OnThrottled(std::nullopt);
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(3));
  EXPECT_EQ(limiter->Stats().throttled_total, 3);

  // At 3/s, after the burst, grants are a third of a second apart.
  const absl::Time a = Grant(*limiter);
  Grant(*limiter);
  const absl::Time c = Grant(*limiter);
  EXPECT_EQ(c - a, absl::Seconds(1) / 3);

  // Additive increase: +1/s per 10 quiet seconds, counted from the last 429, capped at 12.
  clock_.Set(a + absl::Seconds(10) - absl::Milliseconds(1));
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(3));
  clock_.Set(a + absl::Seconds(10));
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(4));
  clock_.Advance(absl::Seconds(35));
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(7));
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(12));
  EXPECT_THAT(limiter->Stats().configured_rate_per_second, DoubleEq(12));

  // Never below the floor.
  for (int i = 0; i < 10; ++i) {
    limiter->OnThrottled(std::nullopt);
    clock_.Advance(absl::Seconds(2));
  }
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(1));
}

TEST_F(RateLimiterTest, RetryAfterPausesEveryCallerAndIsCapped) {
  RateLimiterOptions o;
  o.max_retry_after = absl::Seconds(30);
  auto limiter = Make(o);
  const absl::Time t0 = clock_.Now();
  limiter->OnThrottled(absl::Seconds(5));
  EXPECT_EQ(limiter->Stats().paused_until, t0 + absl::Seconds(5));
  EXPECT_GE(Grant(*limiter), t0 + absl::Seconds(5));

  const absl::Time t1 = clock_.Now();
  limiter->OnThrottled(absl::Hours(3));
  EXPECT_EQ(limiter->Stats().paused_until, t1 + absl::Seconds(30));
  EXPECT_EQ(Grant(*limiter), t1 + absl::Seconds(30));
}

TEST_F(RateLimiterTest, ACancelledCallerTakesNoToken) {
  auto limiter = Make();
  CancelToken cancel;
  cancel.Cancel();
  EXPECT_THAT(limiter->Acquire(cancel), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(limiter->Stats().requests_total, 0);
}

// A sleeper that says when someone starts waiting, then really waits.
class SignallingSleeper final : public Sleeper {
 public:
  absl::Status SleepFor(absl::Duration d, const CancelToken& cancel) override {
    if (!waiting_.HasBeenNotified()) waiting_.Notify();
    return real_.SleepFor(d, cancel);
  }
  absl::Notification waiting_;
  RealSleeper real_;
};

TEST(RateLimiterRealTimeTest, CancelWakesAWaitingCallerAtOnce) {
  RealClock clock;
  SignallingSleeper sleeper;
  auto limiter = RateLimiter::Create({}, &clock, &sleeper);
  ASSERT_OK(limiter.status());
  (*limiter)->OnThrottled(absl::Seconds(100));  // every caller now waits 100 s
  CancelToken cancel;
  absl::StatusOr<absl::Time> result;
  const absl::Time start = absl::Now();
  std::thread caller([&] { result = (*limiter)->Acquire(cancel); });
  ASSERT_TRUE(sleeper.waiting_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  cancel.Cancel();
  caller.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(RetryAfterTest, ParsesSecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseRetryAfter("3", now), absl::Seconds(3));
  EXPECT_EQ(ParseRetryAfter(" 120 ", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("0", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now), absl::Seconds(10));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:50:37 GMT", now), absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:40 1994", now), absl::Seconds(3));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", now), absl::InfiniteDuration());
}

TEST(BackoffPolicyTest, FullJitterWithinAnExponentialBoundThatStopsAtTheMaximum) {
  ExponentialBackoffPolicy policy(absl::Milliseconds(100), absl::Seconds(1), 2, /*seed=*/1);
  absl::Duration bound = absl::Milliseconds(100);
  absl::Duration total;
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(policy.current_limit(), bound);
    const absl::Duration d = policy.OnCompletion();
    EXPECT_GE(d, absl::ZeroDuration());
    EXPECT_LE(d, bound);
    total += d;
    bound = std::min(bound * 2, absl::Seconds(1));
  }
  EXPECT_GT(total, absl::ZeroDuration());  // jittered, not always zero
  std::unique_ptr<BackoffPolicy> fresh = policy.clone();
  EXPECT_EQ(static_cast<ExponentialBackoffPolicy&>(*fresh).current_limit(),
            absl::Milliseconds(100));
  // Jitter differs between clones (independent requests do not retry in lockstep).
  std::unique_ptr<BackoffPolicy> a = policy.clone();
  std::unique_ptr<BackoffPolicy> b = policy.clone();
  bool differ = false;
  for (int i = 0; i < 5; ++i) differ |= a->OnCompletion() != b->OnCompletion();
  EXPECT_TRUE(differ);
}

class RetryTest : public RateLimiterTest {
 protected:
  ExponentialBackoffPolicy backoff_{absl::Milliseconds(100), absl::Seconds(5), 2, 3};
};

TEST_F(RetryTest, ANonRetryableErrorIsReturnedAfterOneAttempt) {
  auto limiter = Make();
  int calls = 0;
  absl::Status s =
      RunWithRetries(*limiter, backoff_, sleeper_, {5}, never_, [&](const AttemptContext&) {
        ++calls;
        return AttemptOutcome{absl::UnauthenticatedError("bad key"), false, false, {}};
      });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated, "bad key"));
  EXPECT_EQ(calls, 1);
}

TEST_F(RetryTest, RetriesAreBoundedAndTheLastErrorSaysSo) {
  auto limiter = Make();
  std::vector<int> seen;
  absl::Status s =
      RunWithRetries(*limiter, backoff_, sleeper_, {3}, never_, [&](const AttemptContext& c) {
        seen.push_back(c.attempt);
        return AttemptOutcome{absl::UnavailableError("HTTP 503"),
                              /*retryable=*/true,
                              false,
                              {}};
      });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("gave up after 3 attempts")));
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(sleeper_.sleeps().size(), 2u);  // a backoff before each retry
  EXPECT_EQ(limiter->Stats().requests_total, 3);
}

TEST_F(RetryTest, SucceedsAfterTransientFailures) {
  auto limiter = Make();
  int calls = 0;
  absl::Status s =
      RunWithRetries(*limiter, backoff_, sleeper_, {5}, never_, [&](const AttemptContext&) {
        if (++calls < 3) {
          return AttemptOutcome{absl::DataLossError("cut"), true, false, {}};
        }
        return AttemptOutcome{};
      });
  EXPECT_OK(s);
  EXPECT_EQ(calls, 3);
}

TEST_F(RetryTest, ARetryAfterHoldsTheNextAttemptBackThatLong) {
  auto limiter = Make();
  std::vector<absl::Time> granted;
  absl::Status s =
      RunWithRetries(*limiter, backoff_, sleeper_, {5}, never_, [&](const AttemptContext& c) {
        granted.push_back(c.granted);
        if (granted.size() == 1) {
          return AttemptOutcome{absl::ResourceExhaustedError("429"), true, true, absl::Seconds(4)};
        }
        return AttemptOutcome{};
      });
  EXPECT_OK(s);
  ASSERT_EQ(granted.size(), 2u);
  EXPECT_GE(granted[1] - granted[0], absl::Seconds(4));
  EXPECT_EQ(limiter->Stats().throttled_total, 1);
  EXPECT_THAT(limiter->Stats().rate_per_second, DoubleEq(6));
}

TEST_F(RetryTest, ThrottledWithoutRetryAfterEndsAsResourceExhausted) {
  auto limiter = Make();
  absl::Status s =
      RunWithRetries(*limiter, backoff_, sleeper_, {4}, never_, [&](const AttemptContext&) {
        return AttemptOutcome{absl::ResourceExhaustedError("HTTP 429"), true, true, {}};
      });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("4 attempts")));
  EXPECT_EQ(limiter->Stats().throttled_total, 4);
  EXPECT_GE(sleeper_.sleeps().size(), 3u);
}

TEST_F(RetryTest, CancelDuringAnAttemptEndsAsCancelled) {
  auto limiter = Make();
  CancelToken cancel;
  int calls = 0;
  absl::Status s =
      RunWithRetries(*limiter, backoff_, sleeper_, {5}, cancel, [&](const AttemptContext&) {
        ++calls;
        cancel.Cancel();
        return AttemptOutcome{absl::UnavailableError("aborted"), true, false, {}};
      });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace whalefeed::sync
