// InMemoryStore: the read API for the query services (store.h), as MySqlStore answers it.
#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "db/filter.h"
#include "db/in_memory_store.h"
#include "db/query_support.h"

namespace whalefeed::db {
namespace {

// A row's place in an order: (value, tiebreak), compared in the order's direction. The tiebreak
// is a number (market_id, sequence) or a string (wallet).
struct SortKey {
  SortNumber value = 0;
  SortNumber tiebreak_number = 0;
  std::string tiebreak_text;

  bool Before(const SortKey& other, bool descending) const {
    const auto a = std::tie(value, tiebreak_number, tiebreak_text);
    const auto b = std::tie(other.value, other.tiebreak_number, other.tiebreak_text);
    return descending ? b < a : a < b;
  }
};

// The position `after` as a SortKey; INVALID_ARGUMENT when it does not read as one of `type`.
absl::StatusOr<SortKey> AfterKey(const Keyset& after, SortValueType type, bool numeric_tiebreak) {
  SortKey key;
  ASSIGN_OR_RETURN(key.value, ParseSortValue(type, after.value, "after"));
  if (numeric_tiebreak) {
    ASSIGN_OR_RETURN(key.tiebreak_number,
                     ParseSortValue(SortValueType::kInt, after.tiebreak, "after"));
  } else {
    key.tiebreak_text = after.tiebreak;
  }
  return key;
}

// Sorts `rows` by key, drops those at or before `after`, keeps limit + 1 to tell whether more
// follow. Returns the rows of the page and sets `more` and `last`.
template <typename Row>
std::vector<Row> Page(std::vector<std::pair<SortKey, Row>> rows, bool descending,
                      const std::optional<SortKey>& after, int limit, SortValueType type,
                      bool* more, Keyset* last) {
  std::sort(rows.begin(), rows.end(), [descending](const auto& a, const auto& b) {
    return a.first.Before(b.first, descending);
  });
  std::vector<Row> out;
  *more = false;
  for (auto& [key, row] : rows) {
    if (after.has_value() && !after->Before(key, descending)) continue;
    if (static_cast<int>(out.size()) == limit) {
      *more = true;
      break;
    }
    last->value = SortValueText(type, key.value);
    last->tiebreak = key.tiebreak_text.empty()
                         ? SortValueText(SortValueType::kInt, key.tiebreak_number)
                         : key.tiebreak_text;
    out.push_back(std::move(row));
  }
  return out;
}

absl::int128 Lookup(const absl::flat_hash_map<int64_t, absl::int128>& map, int64_t id) {
  auto it = map.find(id);
  return it == map.end() ? absl::int128(0) : it->second;
}

}  // namespace

InMemoryStore::WhaleVolumes InMemoryStore::ComputeWhaleVolumes() const {
  WhaleVolumes volumes;
  for (const auto& [key, flow] : flows_) {
    auto market = markets_.find(flow.market_id);
    if (market == markets_.end()) continue;  // as the SQL join: flow of an unknown market
    const absl::int128 v =
        DecimalSortNumber(flow.buy_volume_usd) + DecimalSortNumber(flow.sell_volume_usd);
    volumes.own[flow.market_id] += v;
    const int64_t root =
        market->second.parent_market_id != 0 ? market->second.parent_market_id : flow.market_id;
    volumes.tree[root] += v;
  }
  return volumes;
}

MarketEntry InMemoryStore::MakeEntry(const Market& market, const WhaleVolumes& volumes,
                                     bool with_children) const {
  MarketEntry entry;
  entry.market = market;
  if (market.parent_market_id == 0) {
    entry.whale_volume_24h = FormatScaledDecimal(Lookup(volumes.tree, market.market_id));
  } else {
    entry.whale_volume_24h = FormatScaledDecimal(Lookup(volumes.own, market.market_id));
  }
  if (with_children && market.parent_market_id == 0) {
    for (const auto& [id, child] : markets_) {  // ascending market_id
      if (child.parent_market_id == market.market_id) {
        entry.children.push_back(MakeEntry(child, volumes, /*with_children=*/false));
      }
    }
  }
  return entry;
}

absl::StatusOr<MarketPage> InMemoryStore::ListMarketEntries(const MarketQuery& query) {
  RETURN_IF_ERROR(CheckLimit(query.limit, kMaxQueryLimit));
  const SortValueType type = ValueType(query.order.key);
  std::optional<SortKey> after;
  if (query.after.has_value()) {
    ASSIGN_OR_RETURN(after, AfterKey(*query.after, type, /*numeric_tiebreak=*/true));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  const WhaleVolumes volumes = ComputeWhaleVolumes();
  MarketPage page;
  std::vector<std::pair<SortKey, const Market*>> rows;
  for (const auto& [id, m] : markets_) {
    if (m.parent_market_id != 0) continue;
    const absl::int128 whale_volume = Lookup(volumes.tree, id);
    if (query.filter != nullptr &&
        !MatchesMarket(*query.filter, m, FormatScaledDecimal(whale_volume))) {
      continue;
    }
    ++page.total_size;
    SortKey key;
    key.value = MarketSortValue(query.order.key, m, whale_volume);
    key.tiebreak_number = id;
    rows.emplace_back(std::move(key), &m);
  }
  for (const Market* m : Page(std::move(rows), query.order.descending, after, query.limit, type,
                              &page.more, &page.last)) {
    page.markets.push_back(MakeEntry(*m, volumes, /*with_children=*/true));
  }
  return page;
}

absl::StatusOr<MarketEntry> InMemoryStore::GetMarketEntry(int64_t market_id) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  auto it = markets_.find(market_id);
  if (it == markets_.end()) {
    return absl::NotFoundError(absl::StrCat("market ", market_id, " is not known"));
  }
  return MakeEntry(it->second, ComputeWhaleVolumes(), /*with_children=*/true);
}

absl::StatusOr<WhalePage> InMemoryStore::ListWhaleEntries(const WhaleQuery& query) {
  RETURN_IF_ERROR(CheckLimit(query.limit, kMaxQueryLimit));
  const SortValueType type = ValueType(query.order.key);
  std::optional<SortKey> after;
  if (query.after.has_value()) {
    ASSIGN_OR_RETURN(after, AfterKey(*query.after, type, /*numeric_tiebreak=*/false));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<std::pair<SortKey, WhaleEntry>> rows;
  for (const auto& [wallet, w] : whales_) {
    WhaleEntry entry{w, ZeroWhaleStats(wallet, query.window)};
    auto stats = stats_.find({wallet, query.window});
    if (stats != stats_.end()) entry.stats = stats->second;
    if (query.filter != nullptr &&
        !MatchesWhale(*query.filter, w, {entry.stats.volume_usd, entry.stats.trade_count})) {
      continue;
    }
    SortKey key;
    key.value = WhaleSortValue(query.order.key, entry.stats);
    key.tiebreak_text = wallet;
    rows.emplace_back(std::move(key), std::move(entry));
  }
  WhalePage page;
  page.whales = Page(std::move(rows), query.order.descending, after, query.limit, type, &page.more,
                     &page.last);
  return page;
}

absl::StatusOr<std::vector<WhaleStats>> InMemoryStore::GetWhaleStats(absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<WhaleStats> out;
  for (StatsWindow window : kAllStatsWindows) {
    auto it = stats_.find({normalized, window});
    out.push_back(it != stats_.end() ? it->second : ZeroWhaleStats(normalized, window));
  }
  return out;
}

absl::StatusOr<std::vector<Activity>> InMemoryStore::ListRecentActivity(absl::string_view wallet,
                                                                        int limit) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  RETURN_IF_ERROR(CheckLimit(limit, 100));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<const Activity*> rows;
  for (const auto& [sequence, a] : activity_) {
    if (a.wallet == normalized) rows.push_back(&a);
  }
  std::sort(rows.begin(), rows.end(), [](const Activity* a, const Activity* b) {
    return std::tie(b->traded_time, b->sequence) < std::tie(a->traded_time, a->sequence);
  });
  if (rows.size() > static_cast<size_t>(limit)) rows.resize(limit);
  std::vector<Activity> out;
  for (const Activity* a : rows) out.push_back(*a);
  return out;
}

absl::StatusOr<ActivityPage> InMemoryStore::ListActivity(const ActivityQuery& query) {
  RETURN_IF_ERROR(CheckLimit(query.limit, kMaxQueryLimit));
  const SortValueType type = ValueType(query.order.key);
  std::optional<SortKey> after;
  if (query.after.has_value()) {
    ASSIGN_OR_RETURN(after, AfterKey(*query.after, type, /*numeric_tiebreak=*/true));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<std::pair<SortKey, const Activity*>> rows;
  for (auto it = activity_.begin(); it != activity_.end() && it->first <= query.high_water; ++it) {
    const Activity& a = it->second;
    if (!query.include_backfill && a.origin == Origin::kBackfill) continue;
    if (query.filter != nullptr && !MatchesActivity(*query.filter, a)) continue;
    SortKey key;
    key.value = ActivitySortValue(query.order.key, a);
    key.tiebreak_number = SortNumber(a.sequence);
    rows.emplace_back(std::move(key), &a);
  }
  ActivityPage page;
  for (const Activity* a : Page(std::move(rows), query.order.descending, after, query.limit, type,
                                &page.more, &page.last)) {
    page.activities.push_back(*a);
    auto whale = whales_.find(a->wallet);
    page.wallet_labels.push_back(whale == whales_.end() ? "" : whale->second.label);
  }
  return page;
}

absl::Status InMemoryStore::UpsertWhaleStats(const Fence& fence, absl::Span<const WhaleStats> stats,
                                             absl::Time now) {
  std::vector<WhaleStats> checked;
  for (const WhaleStats& in : stats) {
    ASSIGN_OR_RETURN(WhaleStats s, NormalizeWhaleStats(in, now));
    checked.push_back(std::move(s));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  ++versions_.whales;
  for (WhaleStats& s : checked) {
    const auto key = std::make_pair(s.wallet, s.window);
    stats_[key] = std::move(s);
  }
  return absl::OkStatus();
}

absl::Status InMemoryStore::UpsertMarketWhaleFlow(const Fence& fence,
                                                  absl::Span<const MarketWhaleFlow> flows,
                                                  absl::Time now) {
  std::vector<MarketWhaleFlow> checked;
  for (const MarketWhaleFlow& in : flows) {
    ASSIGN_OR_RETURN(MarketWhaleFlow f, NormalizeMarketWhaleFlow(in, now));
    checked.push_back(std::move(f));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  ++versions_.markets;
  for (MarketWhaleFlow& f : checked) flows_[{f.market_id, f.outcome}] = std::move(f);
  return absl::OkStatus();
}

}  // namespace whalefeed::db
