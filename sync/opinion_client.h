// CurlOpinionClient: the real OpinionApi, over libcurl (CurlHttpClient) against the Opinion
// OpenAPI or opinion-sim.
//
// Every request (retries included) takes a token from the RateLimiter it is given, which the
// process shares between every job; a 429 feeds that limiter back (Retry-After, AIMD). Retryable
// failures (429, 5xx, timeouts, dropped connections, a page that does not parse, a trades page
// with no record within its `total`) are retried up to RetryOptions::max_attempts with jittered
// exponential backoff; auth failures (401, errno 11001/11002) and region blocks (errno 10403) fail
// at once. Error codes: see opinion_api.h.
//
// The API key goes only into the `apikey` request header: never into a URL, a log line or a
// status message (any message that would quote it is redacted).
//
// Thread-safe: concurrent calls each borrow a CurlHttpClient (one CURL handle) from a small
// internal pool guarded by a mutex; a handle serves one request at a time and goes back to the pool
// afterwards (at most `max_idle_handles` are kept, with their open connections).
#ifndef WHALEFEED_SYNC_OPINION_CLIENT_H_
#define WHALEFEED_SYNC_OPINION_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "sync/backoff_policy.h"
#include "sync/http_client.h"
#include "sync/opinion_api.h"
#include "sync/opinion_decode.h"
#include "sync/rate_limiter.h"
#include "sync/retry.h"

namespace whalefeed::sync {

inline constexpr char kDefaultOpinionBaseUrl[] = "https://openapi.opinion.trade/openapi";
inline constexpr int kMaxPageLimit = 20;  // the upstream's largest page

struct OpinionClientOptions {
  std::string base_url = kDefaultOpinionBaseUrl;  // with the "/openapi" prefix, no trailing '/'
  std::string api_key;                            // required
  std::string chain_id = "56";                    // sent as chainId on E9 and E11; "" sends none
  HttpClientOptions http;
  RetryOptions retry;
  absl::Duration backoff_initial = absl::Milliseconds(500);
  absl::Duration backoff_maximum = absl::Seconds(30);
  double backoff_scaling = 2;
  absl::Duration quote_token_ttl = absl::Hours(1);
  int max_idle_handles = 4;
};

class CurlOpinionClient final : public OpinionApi {
 public:
  // INVALID_ARGUMENT for an empty key, a base URL that is not http(s), or retry options out of
  // range. `limiter`, `clock` and `sleeper` must outlive the client.
  static absl::StatusOr<std::unique_ptr<CurlOpinionClient>> Create(OpinionClientOptions options,
                                                                   RateLimiter* limiter,
                                                                   const Clock* clock,
                                                                   Sleeper* sleeper);

  absl::StatusOr<MarketsPage> ListMarkets(int page, int limit, const CancelToken& cancel) override;
  absl::StatusOr<db::Market> GetCategoricalMarket(int64_t market_id,
                                                  const CancelToken& cancel) override;
  absl::StatusOr<MarketsPage> GetCategoricalMarketWithChildren(int64_t market_id,
                                                               const CancelToken& cancel) override;
  absl::StatusOr<TradesPage> ListUserTrades(absl::string_view wallet, int page, int limit,
                                            const CancelToken& cancel) override;
  absl::StatusOr<std::vector<QuoteToken>> ListQuoteTokens(const CancelToken& cancel) override;

  const std::string& base_url() const { return options_.base_url; }

 private:
  CurlOpinionClient(OpinionClientOptions options, RateLimiter* limiter, const Clock* clock,
                    Sleeper* sleeper);

  // GET base_url + path (+ "?" + query) with retries; `decode` runs on each successful envelope
  // inside the attempt, so a DATA_LOSS from it is retried like a body that does not parse.
  absl::Status Fetch(const std::string& path, const std::string& query, const CancelToken& cancel,
                     absl::FunctionRef<absl::Status(const Envelope&)> decode);
  std::unique_ptr<CurlHttpClient> Borrow() ABSL_LOCKS_EXCLUDED(pool_mu_);
  void Return(std::unique_ptr<CurlHttpClient> http) ABSL_LOCKS_EXCLUDED(pool_mu_);
  // `status` with every occurrence of the API key replaced.
  absl::Status Redact(absl::Status status) const;

  const OpinionClientOptions options_;
  RateLimiter* const limiter_;
  const Clock* const clock_;
  Sleeper* const sleeper_;
  const ExponentialBackoffPolicy backoff_prototype_;

  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<CurlHttpClient>> idle_ ABSL_GUARDED_BY(pool_mu_);

  absl::Mutex cache_mu_;
  std::vector<QuoteToken> quote_tokens_ ABSL_GUARDED_BY(cache_mu_);
  absl::Time quote_tokens_expiry_ ABSL_GUARDED_BY(cache_mu_) = absl::InfinitePast();
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_OPINION_CLIENT_H_
