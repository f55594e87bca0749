// The upstream seam: what the sync jobs need from the Opinion OpenAPI (opinion-openapi.md), already
// decoded into store rows. CurlOpinionClient is the real implementation; tests may use a fake.
#ifndef WHALEFEED_SYNC_OPINION_API_H_
#define WHALEFEED_SYNC_OPINION_API_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "db/store.h"

namespace whalefeed::sync {

// Records the upstream sent that could not be stored (bad values, text longer than its column):
// skipped, counted, and the first few reasons kept for sync_logs.
struct DecodeIssues {
  int64_t skipped = 0;
  std::vector<std::string> reasons;  // at most kMaxReasons
  static constexpr size_t kMaxReasons = 20;
};

struct MarketsPage {
  // Parents and binary markets; a categorical parent's children follow it, with parent_market_id
  // set.
  std::vector<db::Market> markets;
  int64_t total = 0;
  DecodeIssues issues;
};

struct TradesPage {
  // Newest first, as upstream sends them; wallet set, origin left kUnspecified (the job decides).
  std::vector<db::Activity> trades;
  int64_t total = 0;
  DecodeIssues issues;
};

struct QuoteToken {
  std::string address;    // lower case
  std::string usd_price;  // exact decimal, "1" when upstream gives none
};

// Cancels in-flight and future upstream calls of whoever holds it (losing leadership, SIGTERM): a
// cancelled request returns CANCELLED at once, not after its timeout. Thread-safe.
class CancelToken {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Errors: UNAUTHENTICATED (bad API key: HTTP 401, errno 11001 / 11002) and PERMISSION_DENIED
// (region block: errno 10403) are never retried; RESOURCE_EXHAUSTED after the retries of 429s ran
// out; UNAVAILABLE / DEADLINE_EXCEEDED after the retries of 5xx, timeouts and dropped connections;
// a page that does not parse is retried, then UNAVAILABLE naming the endpoint; CANCELLED when
// `cancel` fires. No message ever contains the API key. Implementations are thread-safe.
class OpinionApi {
 public:
  virtual ~OpinionApi() = default;
  // E1 with marketType=2 (every type), every status.
  virtual absl::StatusOr<MarketsPage> ListMarkets(int page, int limit,
                                                  const CancelToken& cancel) = 0;
  // E3: a categorical parent with its children (for lists that do not carry them).
  virtual absl::StatusOr<MarketsPage> GetCategoricalMarket(int64_t market_id,
                                                           const CancelToken& cancel) = 0;
  // E11: a wallet's filled trades, newest first.
  virtual absl::StatusOr<TradesPage> ListUserTrades(absl::string_view wallet, int page, int limit,
                                                    const CancelToken& cancel) = 0;
  // E9, cached by the implementation.
  virtual absl::StatusOr<std::vector<QuoteToken>> ListQuoteTokens(const CancelToken& cancel) = 0;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_OPINION_API_H_
