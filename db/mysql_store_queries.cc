// MySqlStore: the read API for the query services (store.h). Filters compile to parameterised SQL
// (db/filter.h); keyset positions and limits are bound as parameters too, so each query shape is
// prepared once per connection.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "db/filter.h"
#include "db/mysql_filter.h"
#include "db/mysql_rows.h"
#include "db/mysql_store.h"
#include "db/query_support.h"

namespace whalefeed::db {
namespace {

constexpr size_t kStatsBatch = 64;  // rows per multi-row upsert (padded to a power of two)
constexpr int kMaxRecentActivity = 100;

// "a, b, c" with every column prefixed by `alias.`.
std::string Qualified(absl::string_view columns, absl::string_view alias) {
  std::vector<std::string> out;
  for (absl::string_view column : absl::StrSplit(columns, ", ")) {
    out.push_back(absl::StrCat(alias, ".", column));
  }
  return absl::StrJoin(out, ", ");
}

// The smallest DATETIME, where unset times sort (kUnsetTimeSortMicros).
constexpr char kUnsetTime[] = "CAST('1000-01-01 00:00:00' AS DATETIME(6))";

// A statement's parameters, bound in order once the SQL is complete.
class Params {
 public:
  void Add(SqlParam p) { params_.push_back(std::move(p)); }
  void AddAll(const std::vector<SqlParam>& ps) {
    params_.insert(params_.end(), ps.begin(), ps.end());
  }
  void Int(int64_t v) {
    SqlParam p;
    p.type = SqlParam::Type::kInt64;
    p.int_value = v;
    Add(std::move(p));
  }
  void Uint(uint64_t v) {
    SqlParam p;
    p.type = SqlParam::Type::kUint64;
    p.uint_value = v;
    Add(std::move(p));
  }
  void Text(std::string v) {
    SqlParam p;
    p.type = SqlParam::Type::kString;
    p.string_value = std::move(v);
    Add(std::move(p));
  }
  void Time(absl::Time t) {
    SqlParam p;
    p.type = SqlParam::Type::kTime;
    p.time_value = t;
    Add(std::move(p));
  }
  void Bind(sql::PreparedStatement& ps) const { BindSqlParams(ps, 1, params_); }

 private:
  std::vector<SqlParam> params_;
};

// The SQL of an order key's value, and how a keyset value compares with it.
struct SortSql {
  std::string expression;   // e.g. "m.volume_24h"
  std::string placeholder;  // "?" or a CAST of it to the expression's type
};

// `nullable`: the expression may be NULL (a time that is not set, a LEFT JOIN miss); it then
// sorts as kUnsetTimeSortMicros. A NOT NULL column is compared as it is, so its index serves.
SortSql SortSqlFor(SortValueType type, std::string expression, bool nullable) {
  switch (type) {
    case SortValueType::kDecimal:
      return {std::move(expression), "CAST(? AS DECIMAL(38,18))"};
    case SortValueType::kTime:
      if (!nullable) return {std::move(expression), "CAST(? AS DATETIME(6))"};
      return {absl::StrCat("COALESCE(", expression, ", ", kUnsetTime, ")"),
              "CAST(? AS DATETIME(6))"};
    case SortValueType::kInt:
      break;
  }
  return {std::move(expression), "?"};
}

// Binds a keyset value of `type` (already checked by ParseSortValue).
void AddSortValue(Params& params, SortValueType type, SortNumber value, bool unsigned_int) {
  switch (type) {
    case SortValueType::kDecimal:
      params.Text(FormatScaledDecimal(value));
      return;
    case SortValueType::kTime:
      params.Time(SortMicrosToTime(static_cast<int64_t>(value)));
      return;
    case SortValueType::kInt:
      if (unsigned_int) {
        params.Uint(static_cast<uint64_t>(value));
      } else {
        params.Int(static_cast<int64_t>(value));
      }
      return;
  }
}

// " AND (K < v OR (K = v AND T < t))" (">" ascending) for a walk after `after`.
absl::Status AppendKeyset(const std::optional<Keyset>& after, SortValueType type,
                          const SortSql& sort, bool unsigned_sort, const std::string& tiebreak,
                          bool text_tiebreak, bool descending, std::string* sql, Params* params) {
  if (!after.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const SortNumber value, ParseSortValue(type, after->value, "after"));
  const char* op = descending ? "<" : ">";
  absl::StrAppend(sql, " AND (", sort.expression, " ", op, " ", sort.placeholder, " OR (",
                  sort.expression, " = ", sort.placeholder, " AND ", tiebreak, " ", op, " ?))");
  AddSortValue(*params, type, value, unsigned_sort);
  AddSortValue(*params, type, value, unsigned_sort);
  if (!text_tiebreak) {
    ASSIGN_OR_RETURN(const SortNumber t,
                     ParseSortValue(SortValueType::kInt, after->tiebreak, "after"));
    if (unsigned_sort || t >= 0) {
      params->Uint(static_cast<uint64_t>(t));
    } else {
      params->Int(static_cast<int64_t>(t));
    }
  } else {
    params->Text(after->tiebreak);
  }
  return absl::OkStatus();
}

absl::StatusOr<SqlFilter> CompileFilter(const Filter* filter, const SqlFieldMap& fields) {
  if (filter == nullptr) return SqlFilter{"TRUE", {}};
  return ToSql(*filter, fields);
}

const SqlFieldMap& MarketFields() {
  static const auto* const fields = new SqlFieldMap{
      {"market_id", {"m.market_id", ""}},
      {"status", {"m.status", ""}},
      {"market_type", {"m.market_type", ""}},
      {"label",
       {"ml.label",
        "EXISTS (SELECT 1 FROM market_labels ml WHERE ml.market_id = m.market_id AND $cond)"}},
      {"title", {"m.title", ""}},
      {"volume", {"m.volume", ""}},
      {"volume_24h", {"m.volume_24h", ""}},
      {"volume_7d", {"m.volume_7d", ""}},
      {"whale_volume_24h", {"COALESCE(wv.volume, 0)", ""}},
      {"created_time", {"m.created_time", ""}},
      {"cutoff_time", {"m.cutoff_time", ""}},
  };
  return *fields;
}

const SqlFieldMap& WhaleFields() {
  static const auto* const fields = new SqlFieldMap{
      {"tracked", {"w.tracked", ""}},
      {"label", {"w.label", ""}},
      {"volume_usd", {"COALESCE(s.volume_usd, 0)", ""}},
      {"trade_count", {"COALESCE(s.trade_count, 0)", ""}},
  };
  return *fields;
}

const SqlFieldMap& ActivityFields() {
  static const auto* const fields = new SqlFieldMap{
      {"sequence", {"wa.sequence", ""}},
      {"wallet", {"wa.wallet", ""}},
      {"market_id", {"wa.market_id", ""}},
      {"root_market_id", {"wa.root_market_id", ""}},
      {"side", {"wa.side", ""}},
      {"outcome", {"wa.outcome", ""}},
      {"amount_usd", {"wa.amount_usd", ""}},
      {"traded_time", {"wa.traded_time", ""}},
      {"ingested_time", {"wa.ingested_time", ""}},
      {"origin", {"wa.origin", ""}},
  };
  return *fields;
}

std::string MarketSortColumn(MarketOrderKey key) {
  switch (key) {
    case MarketOrderKey::kVolume:
      return "m.volume";
    case MarketOrderKey::kVolume24h:
      return "m.volume_24h";
    case MarketOrderKey::kVolume7d:
      return "m.volume_7d";
    case MarketOrderKey::kWhaleVolume24h:
      return "COALESCE(wv.volume, 0)";
    case MarketOrderKey::kCreatedTime:
      return "m.created_time";
    case MarketOrderKey::kCutoffTime:
      return "m.cutoff_time";
    case MarketOrderKey::kMarketId:
      return "m.market_id";
  }
  return "m.market_id";
}

std::string WhaleSortColumn(WhaleOrderKey key) {
  switch (key) {
    case WhaleOrderKey::kVolumeUsd:
      return "COALESCE(s.volume_usd, 0)";
    case WhaleOrderKey::kTradeCount:
      return "COALESCE(s.trade_count, 0)";
    case WhaleOrderKey::kRealizedProfitUsd:
      return "COALESCE(s.realized_profit_usd, 0)";
    case WhaleOrderKey::kLastTradeTime:
      return "s.last_trade_time";
  }
  return "COALESCE(s.volume_usd, 0)";
}

std::string ActivitySortColumn(ActivityOrderKey key) {
  switch (key) {
    case ActivityOrderKey::kSequence:
      return "wa.sequence";
    case ActivityOrderKey::kTradedTime:
      return "wa.traded_time";
    case ActivityOrderKey::kAmountUsd:
      return "wa.amount_usd";
  }
  return "wa.sequence";
}

// Whale volume over 24h of every top-level market: buy + sell of every outcome of the market and
// of its children. A derived table to join on m.market_id as `wv`.
constexpr char kWhaleVolumeJoin[] =
    " LEFT JOIN (SELECT CASE WHEN c.parent_market_id = 0 THEN c.market_id ELSE "
    "c.parent_market_id END AS root_id, SUM(f.buy_volume_usd + f.sell_volume_usd) AS volume "
    "FROM market_whale_flow f JOIN markets c ON c.market_id = f.market_id GROUP BY root_id) wv "
    "ON wv.root_id = m.market_id";

// A market's own whale volume (children: their own flow only), as a column of a query on `m`.
constexpr char kOwnWhaleVolume[] =
    "(SELECT COALESCE(SUM(f.buy_volume_usd + f.sell_volume_usd), 0) FROM market_whale_flow f "
    "WHERE f.market_id = m.market_id) AS whale_volume_24h";

// Fills in the labels of `markets` (one query).
void AttachLabels(MySqlConnection& c, const std::vector<Market*>& markets) {
  if (markets.empty()) return;
  absl::flat_hash_map<int64_t, Market*> by_id;
  std::vector<int64_t> ids;
  for (Market* m : markets) {
    by_id[m->market_id] = m;
    ids.push_back(m->market_id);
  }
  sql::PreparedStatement& ps =
      c.Prepare(absl::StrCat("SELECT market_id, label FROM market_labels WHERE market_id IN (",
                             InList(ids.size()), ") ORDER BY market_id, position"));
  ids = PaddedInList(std::move(ids));
  for (size_t i = 0; i < ids.size(); ++i) ps.setInt64(static_cast<int>(i + 1), ids[i]);
  std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
  while (rs->next()) {
    auto it = by_id.find(rs->getInt64("market_id"));
    if (it != by_id.end()) it->second->labels.push_back(rs->getString("label"));
  }
}

// The children of `parents` (each with its own whale volume, in market_id order) and every
// market's labels.
absl::Status AttachChildrenAndLabels(MySqlConnection& c, std::vector<MarketEntry*> parents) {
  std::vector<Market*> labelled;
  for (MarketEntry* p : parents) labelled.push_back(&p->market);
  if (!parents.empty()) {
    absl::flat_hash_map<int64_t, MarketEntry*> by_id;
    std::vector<int64_t> ids;
    for (MarketEntry* p : parents) {
      by_id[p->market.market_id] = p;
      ids.push_back(p->market.market_id);
    }
    sql::PreparedStatement& ps =
        c.Prepare(absl::StrCat("SELECT ", Qualified(kMarketColumns, "m"), ", ", kOwnWhaleVolume,
                               " FROM markets m WHERE m.parent_market_id IN (", InList(ids.size()),
                               ") ORDER BY m.parent_market_id, m.market_id"));
    ids = PaddedInList(std::move(ids));
    for (size_t i = 0; i < ids.size(); ++i) ps.setInt64(static_cast<int>(i + 1), ids[i]);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      MarketEntry child;
      ASSIGN_OR_RETURN(child.market, MarketFromRow(*rs));
      ASSIGN_OR_RETURN(child.whale_volume_24h, GetDecimal(*rs, "whale_volume_24h"));
      auto it = by_id.find(child.market.parent_market_id);
      if (it != by_id.end()) it->second->children.push_back(std::move(child));
    }
    // Pointers into the children vectors are taken only now that they are complete.
    for (MarketEntry* p : parents) {
      for (MarketEntry& child : p->children) labelled.push_back(&child.market);
    }
  }
  AttachLabels(c, labelled);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MarketPage> MySqlStore::ListMarketEntries(const MarketQuery& query) {
  RETURN_IF_ERROR(CheckLimit(query.limit, kMaxQueryLimit));
  ASSIGN_OR_RETURN(const SqlFilter filter, CompileFilter(query.filter, MarketFields()));
  const SortValueType type = ValueType(query.order.key);
  const SortSql sort = SortSqlFor(type, MarketSortColumn(query.order.key), /*nullable=*/true);
  const char* dir = query.order.descending ? " DESC" : "";
  const std::string from = absl::StrCat(" FROM markets m", kWhaleVolumeJoin,
                                        " WHERE m.parent_market_id = 0 AND (", filter.sql, ")");
  std::string select = absl::StrCat("SELECT ", Qualified(kMarketColumns, "m"),
                                    ", COALESCE(wv.volume, 0) AS whale_volume_24h", from);
  Params params;
  params.AddAll(filter.params);
  RETURN_IF_ERROR(AppendKeyset(query.after, type, sort, false, "m.market_id",
                               /*text_tiebreak=*/false, query.order.descending, &select, &params));
  absl::StrAppend(&select, " ORDER BY ", sort.expression, dir, ", m.market_id", dir, " LIMIT ?");
  params.Int(query.limit + 1);
  Params count_params;
  count_params.AddAll(filter.params);
  const std::string count = absl::StrCat("SELECT COUNT(*)", from);

  MarketPage page;
  RETURN_IF_ERROR(pool_.Run("listing markets", [&](MySqlConnection& c) -> absl::Status {
    page = {};
    {
      sql::PreparedStatement& ps = c.Prepare(select);
      params.Bind(ps);
      std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
      while (rs->next()) {
        if (static_cast<int>(page.markets.size()) == query.limit) {
          page.more = true;
          break;
        }
        MarketEntry entry;
        ASSIGN_OR_RETURN(entry.market, MarketFromRow(*rs));
        ASSIGN_OR_RETURN(entry.whale_volume_24h, GetDecimal(*rs, "whale_volume_24h"));
        page.markets.push_back(std::move(entry));
      }
    }
    {
      sql::PreparedStatement& ps = c.Prepare(count);
      count_params.Bind(ps);
      std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
      if (rs->next()) page.total_size = rs->getInt64(1);
    }
    std::vector<MarketEntry*> parents;
    for (MarketEntry& e : page.markets) parents.push_back(&e);
    return AttachChildrenAndLabels(c, std::move(parents));
  }));
  if (!page.markets.empty()) {
    const MarketEntry& last = page.markets.back();
    page.last.value = SortValueText(
        type,
        MarketSortValue(query.order.key, last.market, DecimalSortNumber(last.whale_volume_24h)));
    page.last.tiebreak = absl::StrCat(last.market.market_id);
  }
  return page;
}

absl::StatusOr<MarketEntry> MySqlStore::GetMarketEntry(int64_t market_id) {
  MarketEntry entry;
  bool found = false;
  RETURN_IF_ERROR(pool_.Run("reading a market", [&](MySqlConnection& c) -> absl::Status {
    entry = {};
    sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
        "SELECT ", Qualified(kMarketColumns, "m"), ", ", kOwnWhaleVolume,
        ", (SELECT COALESCE(SUM(f.buy_volume_usd + f.sell_volume_usd), 0) FROM market_whale_flow "
        "f JOIN markets c ON c.market_id = f.market_id WHERE c.market_id = m.market_id OR "
        "c.parent_market_id = m.market_id) AS tree_whale_volume_24h FROM markets m WHERE "
        "m.market_id = ?"));
    ps.setInt64(1, market_id);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    found = rs->next();
    if (!found) return absl::OkStatus();
    ASSIGN_OR_RETURN(entry.market, MarketFromRow(*rs));
    const bool top_level = entry.market.parent_market_id == 0;
    ASSIGN_OR_RETURN(entry.whale_volume_24h,
                     GetDecimal(*rs, top_level ? "tree_whale_volume_24h" : "whale_volume_24h"));
    rs.reset();
    std::vector<MarketEntry*> parents;
    if (top_level) parents.push_back(&entry);
    RETURN_IF_ERROR(AttachChildrenAndLabels(c, parents));
    if (!top_level) AttachLabels(c, {&entry.market});
    return absl::OkStatus();
  }));
  if (!found) return absl::NotFoundError(absl::StrCat("market ", market_id, " is not known"));
  return entry;
}

absl::StatusOr<WhalePage> MySqlStore::ListWhaleEntries(const WhaleQuery& query) {
  RETURN_IF_ERROR(CheckLimit(query.limit, kMaxQueryLimit));
  ASSIGN_OR_RETURN(const SqlFilter filter, CompileFilter(query.filter, WhaleFields()));
  const SortValueType type = ValueType(query.order.key);
  const SortSql sort = SortSqlFor(type, WhaleSortColumn(query.order.key), /*nullable=*/true);
  const char* dir = query.order.descending ? " DESC" : "";
  std::string select = absl::StrCat(
      "SELECT ", Qualified(kWhaleColumns, "w"), ", ", kWhaleStatsColumns,
      " FROM whales w LEFT JOIN whale_stats s ON s.wallet = w.wallet AND s.window_kind = ? WHERE (",
      filter.sql, ")");
  Params params;
  params.Int(static_cast<int>(query.window));
  params.AddAll(filter.params);
  RETURN_IF_ERROR(AppendKeyset(query.after, type, sort, false, "w.wallet", /*text_tiebreak=*/true,
                               query.order.descending, &select, &params));
  absl::StrAppend(&select, " ORDER BY ", sort.expression, dir, ", w.wallet", dir, " LIMIT ?");
  params.Int(query.limit + 1);

  WhalePage page;
  RETURN_IF_ERROR(pool_.Run("listing whales", [&](MySqlConnection& c) -> absl::Status {
    page = {};
    sql::PreparedStatement& ps = c.Prepare(select);
    params.Bind(ps);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      if (static_cast<int>(page.whales.size()) == query.limit) {
        page.more = true;
        break;
      }
      WhaleEntry entry;
      ASSIGN_OR_RETURN(entry.whale, WhaleFromRow(*rs));
      ASSIGN_OR_RETURN(entry.stats, StatsFromRow(*rs, entry.whale.wallet, query.window));
      page.whales.push_back(std::move(entry));
    }
    return absl::OkStatus();
  }));
  if (!page.whales.empty()) {
    const WhaleEntry& last = page.whales.back();
    page.last.value = SortValueText(type, WhaleSortValue(query.order.key, last.stats));
    page.last.tiebreak = last.whale.wallet;
  }
  return page;
}

absl::StatusOr<std::vector<WhaleStats>> MySqlStore::GetWhaleStats(absl::string_view wallet) {
  ASSIGN_OR_RETURN(const std::string normalized, NormalizeWallet(wallet));
  std::vector<WhaleStats> out;
  RETURN_IF_ERROR(pool_.Run("reading whale stats", [&](MySqlConnection& c) -> absl::Status {
    out.clear();
    absl::flat_hash_map<int, WhaleStats> by_window;
    sql::PreparedStatement& ps = c.Prepare(
        absl::StrCat("SELECT ", kWhaleStatsColumns, " FROM whale_stats s WHERE s.wallet = ?"));
    ps.setString(1, normalized);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      ASSIGN_OR_RETURN(WhaleStats s, StatsFromRow(*rs, normalized, StatsWindow::kUnspecified));
      by_window[static_cast<int>(s.window)] = std::move(s);
    }
    for (StatsWindow window : kAllStatsWindows) {
      auto it = by_window.find(static_cast<int>(window));
      out.push_back(it != by_window.end() ? std::move(it->second)
                                          : ZeroWhaleStats(normalized, window));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Activity>> MySqlStore::ListRecentActivity(absl::string_view wallet,
                                                                     int limit) {
  ASSIGN_OR_RETURN(const std::string normalized, NormalizeWallet(wallet));
  RETURN_IF_ERROR(CheckLimit(limit, kMaxRecentActivity));
  std::vector<Activity> out;
  RETURN_IF_ERROR(pool_.Run("reading recent activity", [&](MySqlConnection& c) -> absl::Status {
    out.clear();
    sql::PreparedStatement& ps = c.Prepare(
        absl::StrCat("SELECT ", kActivityColumns,
                     " FROM whale_activity WHERE wallet = ? ORDER BY traded_time DESC, sequence "
                     "DESC LIMIT ?"));
    ps.setString(1, normalized);
    ps.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      ASSIGN_OR_RETURN(Activity a, ActivityFromRow(*rs));
      out.push_back(std::move(a));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ActivityPage> MySqlStore::ListActivity(const ActivityQuery& query) {
  RETURN_IF_ERROR(CheckLimit(query.limit, kMaxQueryLimit));
  ASSIGN_OR_RETURN(const SqlFilter filter, CompileFilter(query.filter, ActivityFields()));
  const SortValueType type = ValueType(query.order.key);
  const SortSql sort = SortSqlFor(type, ActivitySortColumn(query.order.key), /*nullable=*/false);
  const bool unsigned_sort = query.order.key == ActivityOrderKey::kSequence;
  const char* dir = query.order.descending ? " DESC" : "";
  std::string select = absl::StrCat(
      "SELECT ", Qualified(kActivityColumns, "wa"),
      ", COALESCE(w.label, '') AS wallet_label FROM whale_activity wa LEFT JOIN whales w ON "
      "w.wallet = wa.wallet WHERE wa.sequence <= ?",
      query.include_backfill ? "" : " AND wa.origin <> ?", " AND (", filter.sql, ")");
  Params params;
  params.Uint(query.high_water);
  if (!query.include_backfill) params.Int(static_cast<int>(Origin::kBackfill));
  params.AddAll(filter.params);
  RETURN_IF_ERROR(AppendKeyset(query.after, type, sort, unsigned_sort, "wa.sequence",
                               /*text_tiebreak=*/false, query.order.descending, &select, &params));
  absl::StrAppend(&select, " ORDER BY ", sort.expression, dir, ", wa.sequence", dir, " LIMIT ?");
  params.Int(query.limit + 1);

  ActivityPage page;
  RETURN_IF_ERROR(pool_.Run("listing activity", [&](MySqlConnection& c) -> absl::Status {
    page = {};
    sql::PreparedStatement& ps = c.Prepare(select);
    params.Bind(ps);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      if (static_cast<int>(page.activities.size()) == query.limit) {
        page.more = true;
        break;
      }
      ASSIGN_OR_RETURN(Activity a, ActivityFromRow(*rs));
      page.activities.push_back(std::move(a));
      page.wallet_labels.push_back(rs->getString("wallet_label"));
    }
    return absl::OkStatus();
  }));
  if (!page.activities.empty()) {
    const Activity& last = page.activities.back();
    page.last.value = SortValueText(type, ActivitySortValue(query.order.key, last));
    page.last.tiebreak = absl::StrCat(last.sequence);
  }
  return page;
}

absl::Status MySqlStore::UpsertWhaleStats(const Fence& fence, absl::Span<const WhaleStats> stats,
                                          absl::Time now) {
  std::vector<WhaleStats> checked;
  checked.reserve(stats.size());
  for (const WhaleStats& in : stats) {
    ASSIGN_OR_RETURN(WhaleStats s, NormalizeWhaleStats(in, now));
    checked.push_back(std::move(s));
  }
  if (checked.empty()) return absl::OkStatus();
  return pool_.RunInTransaction("storing whale stats", [&](MySqlConnection& c) -> absl::Status {
    RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
    RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kWhales));
    for (size_t begin = 0; begin < checked.size(); begin += kStatsBatch) {
      const size_t count = std::min(kStatsBatch, checked.size() - begin);
      const size_t rows = InListSize(count);
      std::string sql =
          "INSERT INTO whale_stats (wallet, window_kind, volume_usd, buy_volume_usd, "
          "sell_volume_usd, realized_profit_usd, largest_trade_usd, average_trade_usd, "
          "trade_count, markets_traded, first_trade_time, last_trade_time, `rank`, "
          "computed_time) VALUES ";
      for (size_t r = 0; r < rows; ++r) {
        absl::StrAppend(&sql, r ? "," : "", "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
      }
      absl::StrAppend(&sql,
                      " ON DUPLICATE KEY UPDATE volume_usd = VALUES(volume_usd), buy_volume_usd = "
                      "VALUES(buy_volume_usd), sell_volume_usd = VALUES(sell_volume_usd), "
                      "realized_profit_usd = VALUES(realized_profit_usd), largest_trade_usd = "
                      "VALUES(largest_trade_usd), average_trade_usd = VALUES(average_trade_usd), "
                      "trade_count = VALUES(trade_count), markets_traded = VALUES(markets_traded), "
                      "first_trade_time = VALUES(first_trade_time), last_trade_time = "
                      "VALUES(last_trade_time), `rank` = VALUES(`rank`), computed_time = "
                      "VALUES(computed_time)");
      sql::PreparedStatement& ps = c.Prepare(sql);
      for (size_t r = 0; r < rows; ++r) {
        // Padding repeats the last row: the same values twice change nothing.
        const WhaleStats& s = checked[begin + std::min(r, count - 1)];
        const int o = static_cast<int>(r * 14);
        ps.setString(o + 1, s.wallet);
        ps.setInt(o + 2, static_cast<int>(s.window));
        ps.setString(o + 3, s.volume_usd);
        ps.setString(o + 4, s.buy_volume_usd);
        ps.setString(o + 5, s.sell_volume_usd);
        ps.setString(o + 6, s.realized_profit_usd);
        ps.setString(o + 7, s.largest_trade_usd);
        ps.setString(o + 8, s.average_trade_usd);
        ps.setInt64(o + 9, s.trade_count);
        ps.setInt64(o + 10, s.markets_traded);
        SetTime(ps, o + 11, s.first_trade_time);
        SetTime(ps, o + 12, s.last_trade_time);
        ps.setInt(o + 13, s.rank);
        SetTime(ps, o + 14, s.computed_time);
      }
      ps.executeUpdate();
    }
    return absl::OkStatus();
  });
}

absl::Status MySqlStore::UpsertMarketWhaleFlow(const Fence& fence,
                                               absl::Span<const MarketWhaleFlow> flows,
                                               absl::Time now) {
  std::vector<MarketWhaleFlow> checked;
  checked.reserve(flows.size());
  for (const MarketWhaleFlow& in : flows) {
    ASSIGN_OR_RETURN(MarketWhaleFlow f, NormalizeMarketWhaleFlow(in, now));
    checked.push_back(std::move(f));
  }
  if (checked.empty()) return absl::OkStatus();
  return pool_.RunInTransaction("storing market whale flow", [&](MySqlConnection& c) {
    RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
    RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kMarkets));
    for (size_t begin = 0; begin < checked.size(); begin += kStatsBatch) {
      const size_t count = std::min(kStatsBatch, checked.size() - begin);
      const size_t rows = InListSize(count);
      std::string sql =
          "INSERT INTO market_whale_flow (market_id, outcome, buy_volume_usd, sell_volume_usd, "
          "computed_time) VALUES ";
      for (size_t r = 0; r < rows; ++r) absl::StrAppend(&sql, r ? "," : "", "(?,?,?,?,?)");
      absl::StrAppend(&sql,
                      " ON DUPLICATE KEY UPDATE buy_volume_usd = VALUES(buy_volume_usd), "
                      "sell_volume_usd = VALUES(sell_volume_usd), computed_time = "
                      "VALUES(computed_time)");
      sql::PreparedStatement& ps = c.Prepare(sql);
      for (size_t r = 0; r < rows; ++r) {
        const MarketWhaleFlow& f = checked[begin + std::min(r, count - 1)];
        const int o = static_cast<int>(r * 5);
        ps.setInt64(o + 1, f.market_id);
        ps.setInt(o + 2, static_cast<int>(f.outcome));
        ps.setString(o + 3, f.buy_volume_usd);
        ps.setString(o + 4, f.sell_volume_usd);
        SetTime(ps, o + 5, f.computed_time);
      }
      ps.executeUpdate();
    }
    return absl::OkStatus();
  });
}

}  // namespace whalefeed::db
