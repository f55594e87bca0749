// InMemoryStore: what the sync jobs add (polling schedule, dedupe lookups, stats, retention). The
// arithmetic follows MySQL's DECIMAL(38,18) exactly, so both stores give the same answers.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "db/in_memory_store.h"

namespace whalefeed::db {
namespace {

using Fixed = __int128;  // a decimal scaled by 10^18, as DECIMAL(38,18) holds it
constexpr int kScale = 18;

Fixed Pow10(int n) {
  Fixed p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// A canonical decimal (store.h) as a scaled integer. Stored values are canonical already, so a
// malformed one is a broken invariant; it reads as 0 rather than crashing.
Fixed ParseFixed(const std::string& text) {
  absl::string_view v = text;
  bool negative = false;
  if (!v.empty() && v[0] == '-') {
    negative = true;
    v.remove_prefix(1);
  }
  Fixed out = 0;
  int frac_digits = -1;
  for (char c : v) {
    if (c == '.') {
      frac_digits = 0;
      continue;
    }
    if (c < '0' || c > '9') return 0;
    out = out * 10 + (c - '0');
    if (frac_digits >= 0) ++frac_digits;
  }
  out *= Pow10(kScale - std::max(frac_digits, 0));
  return negative ? -out : out;
}

// The canonical form of a scaled integer.
std::string FormatFixed(Fixed value) {
  const bool negative = value < 0;
  if (negative) value = -value;
  const Fixed one = Pow10(kScale);
  Fixed int_part = value / one;
  Fixed frac = value % one;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(int_part % 10)));
    int_part /= 10;
  } while (int_part > 0);
  std::string frac_text(kScale, '0');
  for (int i = kScale - 1; i >= 0; --i) {
    frac_text[i] = static_cast<char>('0' + static_cast<int>(frac % 10));
    frac /= 10;
  }
  while (!frac_text.empty() && frac_text.back() == '0') frac_text.pop_back();
  std::string out = negative ? "-" : "";
  absl::StrAppend(&out, digits);
  if (!frac_text.empty()) absl::StrAppend(&out, ".", frac_text);
  return out;
}

// a / b rounded half away from zero to `extra` more decimal places than a has (b > 0).
Fixed DivRound(Fixed a, int64_t b, int extra) {
  const bool negative = a < 0;
  if (negative) a = -a;
  const Fixed scale = Pow10(extra);
  const Fixed q = a / b, r = a % b;
  Fixed out = q * scale + (r * scale) / b;
  const Fixed r2 = (r * scale) % b;
  if (2 * r2 >= b) ++out;
  return negative ? -out : out;
}

// What ROUND(sum / count, 18) gives in MySQL: the division is rounded to 18 + 4
// (div_precision_increment) decimals first, then to 18.
Fixed MySqlAverage(Fixed sum, int64_t count) {
  if (count <= 0) return 0;
  const Fixed at22 = DivRound(sum, count, 4);
  return DivRound(at22, 10000, 0);
}

bool CountsAsTrade(const Activity& a) { return a.side == Side::kBuy || a.side == Side::kSell; }

// Running figures of one wallet over one set of trades.
struct Totals {
  Fixed volume = 0, buy = 0, sell = 0, profit = 0, largest = 0;
  int64_t count = 0;
  absl::Time first = absl::InfinitePast(), last = absl::InfinitePast();

  void Add(const Activity& a) {
    const Fixed amount = ParseFixed(a.amount_usd);
    volume += amount;
    (a.side == Side::kBuy ? buy : sell) += amount;
    profit += ParseFixed(a.profit_usd);
    largest = count == 0 ? amount : std::max(largest, amount);
    if (count == 0 || a.traded_time < first) first = a.traded_time;
    if (count == 0 || a.traded_time > last) last = a.traded_time;
    ++count;
  }
};

absl::Duration WindowLength(StatsWindow w) {
  switch (w) {
    case StatsWindow::k24h:
      return absl::Hours(24);
    case StatsWindow::k7d:
      return absl::Hours(24 * 7);
    case StatsWindow::k30d:
      return absl::Hours(24 * 30);
    default:
      return absl::InfiniteDuration();
  }
}

// Ranks the rows of one window by volume, largest first; equal volumes share a rank (as RANK()).
void RankWindow(std::vector<WhaleStats*> rows) {
  std::sort(rows.begin(), rows.end(), [](const WhaleStats* a, const WhaleStats* b) {
    return ParseFixed(a->volume_usd) > ParseFixed(b->volume_usd);
  });
  for (size_t i = 0; i < rows.size(); ++i) {
    const bool tie =
        i > 0 && ParseFixed(rows[i]->volume_usd) == ParseFixed(rows[i - 1]->volume_usd);
    rows[i]->rank = tie ? rows[i - 1]->rank : static_cast<int32_t>(i + 1);
  }
}

}  // namespace

absl::StatusOr<std::vector<Whale>> InMemoryStore::ListDueWhales(absl::Time now, int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("limit: ", limit, " is not positive"));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<Whale> due;
  for (const auto& [wallet, w] : whales_) {
    if (w.tracked && w.next_poll_time <= now) due.push_back(w);
  }
  std::sort(due.begin(), due.end(), [](const Whale& a, const Whale& b) {
    return std::tie(a.next_poll_time, a.wallet) < std::tie(b.next_poll_time, b.wallet);
  });
  if (due.size() > static_cast<size_t>(limit)) due.resize(limit);
  return due;
}

absl::StatusOr<std::vector<std::string>> InMemoryStore::FindStoredActivityIds(
    absl::Span<const std::string> activity_ids) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<std::string> found;
  for (const std::string& id : activity_ids) {
    if (activity_ids_.contains(id) && std::find(found.begin(), found.end(), id) == found.end()) {
      found.push_back(id);
    }
  }
  return found;
}

absl::StatusOr<int64_t> InMemoryStore::AddToAllTimeStats(const Fence& fence,
                                                         absl::string_view wallet, absl::Time now) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  ++versions_.whales;
  uint64_t& counted = counted_through_[normalized];
  Totals add;
  for (auto it = activity_.upper_bound(counted); it != activity_.end(); ++it) {
    const Activity& a = it->second;
    if (a.wallet != normalized) continue;
    counted = a.sequence;
    if (!CountsAsTrade(a)) continue;
    add.Add(a);
    alltime_markets_.insert({normalized, a.market_id});
  }
  if (add.count == 0) return 0;
  auto [it, inserted] = stats_.try_emplace({normalized, StatsWindow::kAll});
  WhaleStats& s = it->second;
  if (inserted) {
    s.wallet = normalized;
    s.window = StatsWindow::kAll;
  }
  const bool had_trades = s.trade_count > 0;
  s.volume_usd = FormatFixed(ParseFixed(s.volume_usd) + add.volume);
  s.buy_volume_usd = FormatFixed(ParseFixed(s.buy_volume_usd) + add.buy);
  s.sell_volume_usd = FormatFixed(ParseFixed(s.sell_volume_usd) + add.sell);
  s.realized_profit_usd = FormatFixed(ParseFixed(s.realized_profit_usd) + add.profit);
  s.largest_trade_usd = FormatFixed(
      had_trades ? std::max(ParseFixed(s.largest_trade_usd), add.largest) : add.largest);
  s.trade_count += add.count;
  s.average_trade_usd = FormatFixed(MySqlAverage(ParseFixed(s.volume_usd), s.trade_count));
  if (!had_trades || add.first < s.first_trade_time) s.first_trade_time = add.first;
  if (!had_trades || add.last > s.last_trade_time) s.last_trade_time = add.last;
  s.markets_traded = 0;
  for (auto m = alltime_markets_.lower_bound({normalized, INT64_MIN});
       m != alltime_markets_.end() && m->first == normalized; ++m) {
    ++s.markets_traded;
  }
  s.computed_time = now;
  return add.count;
}

absl::StatusOr<int64_t> InMemoryStore::RecomputeWindowStats(const Fence& fence, absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  ++versions_.whales;
  int64_t written = 0;
  for (StatsWindow window : {StatsWindow::k24h, StatsWindow::k7d, StatsWindow::k30d}) {
    for (auto it = stats_.begin(); it != stats_.end();) {
      it = it->first.second == window ? stats_.erase(it) : std::next(it);
    }
    const absl::Time after = now - WindowLength(window);
    std::map<std::string, Totals> totals;
    std::map<std::string, std::set<int64_t>> markets;
    for (const auto& [sequence, a] : activity_) {
      if (!CountsAsTrade(a) || a.traded_time <= after) continue;
      totals[a.wallet].Add(a);
      markets[a.wallet].insert(a.market_id);
    }
    for (const auto& [wallet, t] : totals) {
      WhaleStats s;
      s.wallet = wallet;
      s.window = window;
      s.volume_usd = FormatFixed(t.volume);
      s.buy_volume_usd = FormatFixed(t.buy);
      s.sell_volume_usd = FormatFixed(t.sell);
      s.realized_profit_usd = FormatFixed(t.profit);
      s.largest_trade_usd = FormatFixed(t.largest);
      s.average_trade_usd = FormatFixed(MySqlAverage(t.volume, t.count));
      s.trade_count = t.count;
      s.markets_traded = static_cast<int64_t>(markets[wallet].size());
      s.first_trade_time = t.first;
      s.last_trade_time = t.last;
      s.computed_time = now;
      stats_[{wallet, window}] = std::move(s);
      ++written;
    }
  }
  for (StatsWindow window :
       {StatsWindow::k24h, StatsWindow::k7d, StatsWindow::k30d, StatsWindow::kAll}) {
    std::vector<WhaleStats*> rows;
    for (auto& [key, s] : stats_) {
      if (key.second == window) rows.push_back(&s);
    }
    RankWindow(std::move(rows));
  }
  return written;
}

absl::StatusOr<int64_t> InMemoryStore::RecomputeMarketWhaleFlow(const Fence& fence,
                                                                absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  ++versions_.markets;
  std::map<std::pair<int64_t, Outcome>, std::pair<Fixed, Fixed>> sums;
  const absl::Time after = now - absl::Hours(24);
  for (const auto& [sequence, a] : activity_) {
    if (!CountsAsTrade(a) || a.traded_time <= after) continue;
    auto& [buy, sell] = sums[{a.market_id, a.outcome}];
    (a.side == Side::kBuy ? buy : sell) += ParseFixed(a.amount_usd);
  }
  flows_.clear();
  for (const auto& [key, sum] : sums) {
    MarketWhaleFlow f;
    f.market_id = key.first;
    f.outcome = key.second;
    f.buy_volume_usd = FormatFixed(sum.first);
    f.sell_volume_usd = FormatFixed(sum.second);
    f.computed_time = now;
    flows_[key] = std::move(f);
  }
  return static_cast<int64_t>(flows_.size());
}

absl::StatusOr<std::vector<WhaleStats>> InMemoryStore::ReadWhaleStatsOfWallet(
    absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<WhaleStats> out;
  for (auto it = stats_.lower_bound({normalized, StatsWindow::kUnspecified});
       it != stats_.end() && it->first.first == normalized; ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<std::vector<MarketWhaleFlow>> InMemoryStore::ReadMarketWhaleFlow() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<MarketWhaleFlow> out;
  for (const auto& [key, f] : flows_) out.push_back(f);
  return out;
}

absl::StatusOr<CleanupBatch> InMemoryStore::DeleteExpiredActivity(const Fence& fence,
                                                                  absl::Time ingested_before,
                                                                  int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("limit: ", limit, " is not positive"));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  ++versions_.whales;
  CleanupBatch batch;
  uint64_t last_deleted = 0;
  auto it = activity_.begin();
  while (it != activity_.end() && it->second.ingested_time < ingested_before) {
    if (batch.deleted == limit) {
      batch.more = true;
      break;
    }
    last_deleted = it->first;
    activity_ids_.erase(it->second.activity_id);
    it = activity_.erase(it);
    ++batch.deleted;
  }
  if (batch.deleted > 0) {
    const uint64_t floor = activity_.empty() ? last_deleted + 1 : activity_.begin()->first;
    retention_floor_ = std::max(retention_floor_, floor);
  }
  batch.retention_floor = retention_floor_;
  return batch;
}

absl::StatusOr<int64_t> InMemoryStore::PruneSyncHistory(const Fence& fence, absl::Time before,
                                                        int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("limit: ", limit, " is not positive"));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  // This store keeps no requested runs; only ended runs are pruned.
  int64_t deleted = 0;
  for (auto it = runs_.begin(); it != runs_.end() && deleted < limit;) {
    const SyncRun& run = it->second;
    if (run.status != RunStatus::kRunning && run.ended_time < before) {
      it = runs_.erase(it);
      ++deleted;
    } else {
      ++it;
    }
  }
  return deleted;
}

// ---- Sync jobs: early polls ----
absl::StatusOr<std::vector<Whale>> InMemoryStore::ListEarlyPollWhales(absl::Time now,
                                                                      absl::Time polled_before,
                                                                      absl::Duration max_interval,
                                                                      int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("limit: ", limit, " is not positive"));
  }
  if (max_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_interval: ", absl::FormatDuration(max_interval), " is not positive"));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  // Microseconds, as the database stores times, divided in double as MySqlStore does.
  auto waited = [now](const Whale& w) {
    return static_cast<double>(absl::ToInt64Microseconds(now - w.last_polled_time)) /
           static_cast<double>(absl::ToInt64Microseconds(w.next_poll_time - w.last_polled_time));
  };
  std::vector<std::pair<double, Whale>> early;
  for (const auto& [wallet, w] : whales_) {
    if (w.tracked && w.last_polled_time != absl::InfinitePast() &&
        w.last_polled_time <= polled_before && w.next_poll_time > now &&
        w.next_poll_time > w.last_polled_time &&
        w.next_poll_time - w.last_polled_time <= max_interval) {
      early.emplace_back(waited(w), w);
    }
  }
  std::sort(early.begin(), early.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return std::tie(a.second.last_polled_time, a.second.wallet) <
           std::tie(b.second.last_polled_time, b.second.wallet);
  });
  if (early.size() > static_cast<size_t>(limit)) early.resize(limit);
  std::vector<Whale> out;
  out.reserve(early.size());
  for (auto& [share, w] : early) out.push_back(std::move(w));
  return out;
}
// ---- end of early polls ----

}  // namespace whalefeed::db
