// An OpinionApi in memory for the sync jobs' unit tests: markets pages, per-wallet trades served
// newest first in pages as upstream does, counted requests, injected errors, and a hook that runs
// after each trades page is served (to change the list while a poll is reading it).
#ifndef WHALEFEED_TESTS_SYNC_FAKE_OPINION_API_H_
#define WHALEFEED_TESTS_SYNC_FAKE_OPINION_API_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

class FakeOpinionApi final : public OpinionApi {
 public:
  // ---- markets ----
  // The E1 list: top-level rows, each followed by its children when `with_children`.
  void SetMarkets(std::vector<db::Market> top_level, std::vector<db::Market> children,
                  bool children_in_list) {
    absl::MutexLock lock(&mu_);
    top_level_ = std::move(top_level);
    children_ = std::move(children);
    children_in_list_ = children_in_list;
  }
  // Records on page `page` of E1 that "could not be decoded" (reported as skipped).
  void SetSkippedOnMarketsPage(int page, int64_t skipped) {
    absl::MutexLock lock(&mu_);
    skipped_on_page_[page] = skipped;
  }

  // ---- trades ----
  // Adds a trade upstream (as if indexed now); the list stays newest first by traded time, a trade
  // added later first among equal times.
  void AddTrade(db::Activity trade) {
    absl::MutexLock lock(&mu_);
    AddTradeLocked(std::move(trade));
  }
  // Runs after each ListUserTrades page is served, outside the lock: (wallet, page).
  void SetAfterTradesPage(std::function<void(const std::string&, int)> hook) {
    absl::MutexLock lock(&mu_);
    after_trades_page_ = std::move(hook);
  }

  // ---- errors and counters ----
  // The next calls (of any method) fail with these, in order.
  void FailNext(absl::Status status) {
    absl::MutexLock lock(&mu_);
    failures_.push_back(std::move(status));
  }
  // Every ListUserTrades of this wallet fails with `status`.
  void FailWallet(const std::string& wallet, absl::Status status) {
    absl::MutexLock lock(&mu_);
    wallet_failures_[wallet] = std::move(status);
  }
  int trades_requests(const std::string& wallet) const {
    absl::MutexLock lock(&mu_);
    auto it = trades_requests_.find(wallet);
    return it == trades_requests_.end() ? 0 : it->second;
  }
  int total_trades_requests() const {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& [w, count] : trades_requests_) n += count;
    return n;
  }
  int markets_requests() const {
    absl::MutexLock lock(&mu_);
    return markets_requests_;
  }
  std::vector<int64_t> categorical_requests() const {
    absl::MutexLock lock(&mu_);
    return categorical_requests_;
  }

  absl::StatusOr<MarketsPage> ListMarkets(int page, int limit, const CancelToken& cancel) override {
    absl::MutexLock lock(&mu_);
    ++markets_requests_;
    if (cancel.cancelled()) return absl::CancelledError("cancelled");
    if (absl::Status s = TakeFailure(); !s.ok()) return s;
    MarketsPage out;
    out.total = static_cast<int64_t>(top_level_.size());
    const size_t begin = static_cast<size_t>(page - 1) * limit;
    size_t end = std::min(top_level_.size(), begin + limit);
    auto skipped = skipped_on_page_.find(page);
    if (skipped != skipped_on_page_.end()) {
      // The last top-level rows of the page (and their children) could not be decoded.
      end = std::max(begin, end - std::min<size_t>(end - begin, skipped->second));
      out.issues.skipped = skipped->second;
      out.issues.reasons.push_back(absl::StrCat("market on page ", page, ": bad volume"));
    }
    for (size_t i = begin; i < end; ++i) {
      out.markets.push_back(top_level_[i]);
      if (!children_in_list_) continue;
      for (const db::Market& c : children_) {
        if (c.parent_market_id == top_level_[i].market_id) out.markets.push_back(c);
      }
    }
    return out;
  }

  absl::StatusOr<db::Market> GetCategoricalMarket(int64_t market_id,
                                                  const CancelToken& cancel) override {
    absl::StatusOr<MarketsPage> page = GetCategoricalMarketWithChildren(market_id, cancel);
    if (!page.ok()) return page.status();
    return page->markets.front();
  }

  absl::StatusOr<MarketsPage> GetCategoricalMarketWithChildren(int64_t market_id,
                                                               const CancelToken& cancel) override {
    absl::MutexLock lock(&mu_);
    categorical_requests_.push_back(market_id);
    if (cancel.cancelled()) return absl::CancelledError("cancelled");
    if (absl::Status s = TakeFailure(); !s.ok()) return s;
    MarketsPage out;
    for (const db::Market& m : top_level_) {
      if (m.market_id == market_id) out.markets.push_back(m);
    }
    if (out.markets.empty()) return absl::NotFoundError(absl::StrCat("market ", market_id));
    for (const db::Market& c : children_) {
      if (c.parent_market_id == market_id) out.markets.push_back(c);
    }
    out.total = 1;
    return out;
  }

  absl::StatusOr<TradesPage> ListUserTrades(absl::string_view wallet, int page, int limit,
                                            const CancelToken& cancel) override {
    std::function<void(const std::string&, int)> hook;
    TradesPage out;
    {
      absl::MutexLock lock(&mu_);
      const std::string w(wallet);
      ++trades_requests_[w];
      if (cancel.cancelled()) return absl::CancelledError("cancelled");
      if (absl::Status s = TakeFailure(); !s.ok()) return s;
      auto failing = wallet_failures_.find(w);
      if (failing != wallet_failures_.end()) return failing->second;
      const std::vector<Entry>& trades = trades_[w];
      out.total = static_cast<int64_t>(trades.size());
      const size_t begin = static_cast<size_t>(page - 1) * std::min(limit, 20);
      for (size_t i = begin; i < trades.size() && i < begin + std::min(limit, 20); ++i) {
        out.trades.push_back(trades[i].trade);
      }
      hook = after_trades_page_;
    }
    if (hook) hook(std::string(wallet), page);
    return out;
  }

  absl::StatusOr<std::vector<QuoteToken>> ListQuoteTokens(const CancelToken& cancel) override {
    if (cancel.cancelled()) return absl::CancelledError("cancelled");
    QuoteToken usdt;
    usdt.address = "0x55d398326f99059fF775485246999027B3197955";
    usdt.symbol = "USDT";
    usdt.decimals = 18;
    return std::vector<QuoteToken>{usdt};
  }

 private:
  struct Entry {
    db::Activity trade;
    int64_t added = 0;
  };

  void AddTradeLocked(db::Activity trade) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Entry>& list = trades_[trade.wallet];
    list.push_back({std::move(trade), next_added_++});
    std::sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) {
      if (a.trade.traded_time != b.trade.traded_time) {
        return a.trade.traded_time > b.trade.traded_time;
      }
      return a.added > b.added;
    });
  }
  absl::Status TakeFailure() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (failures_.empty()) return absl::OkStatus();
    absl::Status s = failures_.front();
    failures_.pop_front();
    return s;
  }

  mutable absl::Mutex mu_;
  std::vector<db::Market> top_level_ ABSL_GUARDED_BY(mu_);
  std::vector<db::Market> children_ ABSL_GUARDED_BY(mu_);
  bool children_in_list_ ABSL_GUARDED_BY(mu_) = true;
  std::map<int, int64_t> skipped_on_page_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<Entry>> trades_ ABSL_GUARDED_BY(mu_);
  int64_t next_added_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void(const std::string&, int)> after_trades_page_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> wallet_failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> trades_requests_ ABSL_GUARDED_BY(mu_);
  int markets_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> categorical_requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_TESTS_SYNC_FAKE_OPINION_API_H_
