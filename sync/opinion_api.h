// OpinionApi: the upstream seam the sync jobs use. CurlOpinionClient (sync/opinion_client.h) is the
// real one; tests may put a fake behind it.
//
// Errors every method returns (canonical codes; messages name the endpoint and never carry the API
// key):
//   UNAUTHENTICATED     the upstream refused the key (HTTP 401, errno 11001/11002); not retried.
//   PERMISSION_DENIED   a region block (errno 10403) or HTTP 403; not retried.
//   RESOURCE_EXHAUSTED  still throttled (429) after every retry.
//   UNAVAILABLE         5xx or connection errors after every retry.
//   DEADLINE_EXCEEDED   timeouts after every retry.
//   DATA_LOSS           a page that does not parse (or lacks its result), after every retry.
//   NOT_FOUND           an unknown market id (E3).
//   INVALID_ARGUMENT    a bad argument (wallet, page) or a request the upstream calls malformed.
//   UNKNOWN             any other upstream errno (its number and message in the message).
//   CANCELLED           the CancelToken fired; the request in flight stops at once.
// A record that cannot be stored (missing key fields, wrong types, text longer than its column,
// bad UTF-8, out-of-range values) is skipped and counted in the page's DecodeIssues; the rest of
// the page is kept.
#ifndef WHALEFEED_SYNC_OPINION_API_H_
#define WHALEFEED_SYNC_OPINION_API_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "db/store.h"
#include "sync/cancel_token.h"

namespace whalefeed::sync {

// The records of one page that were skipped, and why.
struct DecodeIssues {
  static constexpr size_t kMaxReasons = 20;

  int64_t skipped = 0;
  std::vector<std::string> reasons;  // the first kMaxReasons only

  // `count` records skipped for one `reason`.
  void Add(std::string reason, int64_t count = 1) {
    skipped += count;
    if (reasons.size() < kMaxReasons) reasons.push_back(std::move(reason));
  }
  void Merge(const DecodeIssues& other) {
    skipped += other.skipped;
    for (const std::string& r : other.reasons) {
      if (reasons.size() < kMaxReasons) reasons.push_back(r);
    }
  }
};

struct MarketsPage {
  // Parents and, for categorical ones, their children flattened right after them with
  // parent_market_id set. Every market has passed db::NormalizeMarket.
  std::vector<db::Market> markets;
  int64_t total = 0;  // top-level markets matching, over all pages (upstream's `total`)
  DecodeIssues issues;
  // Categorical parents of this page whose row carried no children (E3 gives them).
  std::vector<int64_t> categorical_without_children;
};

struct TradesPage {
  // Newest first as the upstream sends them; wallet set (normalised), origin left kUnspecified.
  // Every trade has passed db::NormalizeActivity (activity_id set).
  std::vector<db::Activity> trades;
  int64_t total = 0;  // the wallet's trades over all pages
  DecodeIssues issues;
};

// A quote currency (E9).
struct QuoteToken {
  int64_t id = 0;
  std::string name;
  std::string symbol;
  std::string address;  // as the upstream spells it (checksummed); compare case-insensitively
  std::string ctf_exchange_address;
  int decimals = 0;
  std::string chain_id;
  // USD price of one token as an exact decimal. E9 documents no such field: when the upstream
  // sends none (usd_price_known false) it is "1", as for trades without quoteTokenUsdPrice.
  std::string usd_price = "1";
  bool usd_price_known = false;
};

class OpinionApi {
 public:
  virtual ~OpinionApi() = default;

  // E1 with marketType=2 (all types) and no status filter (all statuses). `page` from 1, `limit`
  // 1..20.
  virtual absl::StatusOr<MarketsPage> ListMarkets(int page, int limit,
                                                  const CancelToken& cancel) = 0;
  // E3: a categorical parent (without its children; see GetCategoricalMarketWithChildren).
  virtual absl::StatusOr<db::Market> GetCategoricalMarket(int64_t market_id,
                                                          const CancelToken& cancel) = 0;
  // E11: one page of a wallet's trades, newest first. `wallet` is any-case 0x + 40 hex.
  virtual absl::StatusOr<TradesPage> ListUserTrades(absl::string_view wallet, int page, int limit,
                                                    const CancelToken& cancel) = 0;
  // E9 (all pages), cached by the client.
  virtual absl::StatusOr<std::vector<QuoteToken>> ListQuoteTokens(const CancelToken& cancel) = 0;

  // E3 with the parent's children, flattened as in ListMarkets (parent first). The default gives
  // the parent only; CurlOpinionClient gives the children too.
  virtual absl::StatusOr<MarketsPage> GetCategoricalMarketWithChildren(int64_t market_id,
                                                                       const CancelToken& cancel) {
    absl::StatusOr<db::Market> parent = GetCategoricalMarket(market_id, cancel);
    if (!parent.ok()) return parent.status();
    MarketsPage page;
    page.markets.push_back(*std::move(parent));
    page.total = 1;
    return page;
  }
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_OPINION_API_H_
