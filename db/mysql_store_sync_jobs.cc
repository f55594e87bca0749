// MySqlStore: what the sync jobs add (polling schedule, dedupe lookups, stats, retention). The
// aggregation runs in SQL; every leader-only write locks the leader row and checks the fence first,
// and the cleanup deletes in short transactions so that ingest never waits long.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "db/mysql_rows.h"
#include "db/mysql_store.h"

namespace whalefeed::db {
namespace {

constexpr size_t kIdLookupBatch = 256;
constexpr int kAllWindow = static_cast<int>(StatsWindow::kAll);
constexpr int kBuy = static_cast<int>(Side::kBuy);
constexpr int kSell = static_cast<int>(Side::kSell);

absl::Status CheckLimit(int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("limit: ", limit, " is not positive"));
  }
  return absl::OkStatus();
}

constexpr char kStatsColumns[] =
    "wallet, window_kind, volume_usd, buy_volume_usd, sell_volume_usd, realized_profit_usd, "
    "largest_trade_usd, average_trade_usd, trade_count, markets_traded, first_trade_time, "
    "last_trade_time, `rank`, computed_time";

// The aggregate of whale_activity rows (BUY and SELL only) into the value columns of whale_stats
// after wallet and window_kind; `rank` 0; the caller binds computed_time first.
constexpr char kStatsAggregate[] =
    "SUM(amount_usd), SUM(CASE WHEN side = 1 THEN amount_usd ELSE 0 END), "
    "SUM(CASE WHEN side = 2 THEN amount_usd ELSE 0 END), SUM(profit_usd), MAX(amount_usd), "
    "ROUND(SUM(amount_usd) / COUNT(*), 18), COUNT(*), COUNT(DISTINCT market_id), "
    "MIN(traded_time), MAX(traded_time), 0";

}  // namespace

absl::StatusOr<std::vector<Whale>> MySqlStore::ListDueWhales(absl::Time now, int limit) {
  RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<Whale> due;
  RETURN_IF_ERROR(pool().Run("listing due whales", [&](MySqlConnection& c) -> absl::Status {
    // NULL next_poll_time (never polled) sorts first.
    sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
        "SELECT ", kWhaleColumns,
        " FROM whales WHERE tracked AND (next_poll_time IS NULL OR next_poll_time <= ?) "
        "ORDER BY next_poll_time, wallet LIMIT ?"));
    SetTime(ps, 1, now);
    ps.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      ASSIGN_OR_RETURN(Whale w, WhaleFromRow(*rs));
      due.push_back(std::move(w));
    }
    return absl::OkStatus();
  }));
  return due;
}

absl::StatusOr<std::vector<std::string>> MySqlStore::FindStoredActivityIds(
    absl::Span<const std::string> activity_ids) {
  std::vector<std::string> found;
  if (activity_ids.empty()) return found;
  RETURN_IF_ERROR(pool().Run("looking up activity ids", [&](MySqlConnection& c) -> absl::Status {
    found.clear();
    for (size_t begin = 0; begin < activity_ids.size(); begin += kIdLookupBatch) {
      const size_t count = std::min(kIdLookupBatch, activity_ids.size() - begin);
      const size_t padded = InListSize(count);
      sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
          "SELECT activity_id FROM whale_activity WHERE activity_id IN (", InList(padded), ")"));
      for (size_t i = 0; i < padded; ++i) {
        ps.setString(static_cast<int>(i + 1), activity_ids[begin + std::min(i, count - 1)]);
      }
      std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
      while (rs->next()) found.push_back(rs->getString(1));
    }
    return absl::OkStatus();
  }));
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

absl::StatusOr<int64_t> MySqlStore::AddToAllTimeStats(const Fence& fence, absl::string_view wallet,
                                                      absl::Time now) {
  ASSIGN_OR_RETURN(const std::string normalized, NormalizeWallet(wallet));
  int64_t counted = 0;
  RETURN_IF_ERROR(
      pool().RunInTransaction("adding to all-time stats", [&](MySqlConnection& c) -> absl::Status {
        counted = 0;
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kWhales));
        uint64_t from = 0;
        {
          sql::PreparedStatement& ps = c.Prepare(
              "SELECT counted_through FROM whale_stats_progress WHERE wallet = ? FOR UPDATE");
          ps.setString(1, normalized);
          std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
          if (rs->next()) from = rs->getUInt64(1);
        }
        uint64_t through = 0;
        {
          sql::PreparedStatement& ps = c.Prepare(
              "SELECT MAX(sequence) FROM whale_activity WHERE wallet = ? AND sequence > ?");
          ps.setString(1, normalized);
          ps.setUInt64(2, from);
          std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
          if (!rs->next() || rs->isNull(1)) return absl::OkStatus();  // nothing new
          through = rs->getUInt64(1);
        }
        const std::string range =
            " FROM whale_activity WHERE wallet = ? AND sequence > ? AND sequence <= ? AND side IN "
            "(1, 2)";
        auto bind_range = [&](sql::PreparedStatement& ps, int first) {
          ps.setString(first, normalized);
          ps.setUInt64(first + 1, from);
          ps.setUInt64(first + 2, through);
        };
        {
          sql::PreparedStatement& ps = c.Prepare(absl::StrCat("SELECT COUNT(*)", range));
          bind_range(ps, 1);
          std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
          if (rs->next()) counted = rs->getInt64(1);
        }
        if (counted > 0) {
          sql::PreparedStatement& markets = c.Prepare(absl::StrCat(
              "INSERT IGNORE INTO whale_alltime_markets (wallet, market_id) SELECT DISTINCT "
              "wallet, market_id",
              range));
          bind_range(markets, 1);
          markets.executeUpdate();
          // Running totals: sums add up, extremes widen; average and markets follow below.
          sql::PreparedStatement& add = c.Prepare(absl::StrCat(
              "INSERT INTO whale_stats (", kStatsColumns, ") SELECT wallet, ", kAllWindow, ", ",
              kStatsAggregate, ", ?", range,
              " GROUP BY wallet ON DUPLICATE KEY UPDATE "
              "volume_usd = volume_usd + VALUES(volume_usd), "
              "buy_volume_usd = buy_volume_usd + VALUES(buy_volume_usd), "
              "sell_volume_usd = sell_volume_usd + VALUES(sell_volume_usd), "
              "realized_profit_usd = realized_profit_usd + VALUES(realized_profit_usd), "
              "largest_trade_usd = GREATEST(largest_trade_usd, VALUES(largest_trade_usd)), "
              "trade_count = trade_count + VALUES(trade_count), "
              "first_trade_time = IF(first_trade_time IS NULL OR VALUES(first_trade_time) < "
              "first_trade_time, VALUES(first_trade_time), first_trade_time), "
              "last_trade_time = IF(last_trade_time IS NULL OR VALUES(last_trade_time) > "
              "last_trade_time, VALUES(last_trade_time), last_trade_time), "
              "computed_time = VALUES(computed_time)"));
          SetTime(add, 1, now);
          bind_range(add, 2);
          add.executeUpdate();
          sql::PreparedStatement& derived = c.Prepare(
              "UPDATE whale_stats SET markets_traded = (SELECT COUNT(*) FROM whale_alltime_markets "
              "WHERE wallet = ?), average_trade_usd = IF(trade_count > 0, ROUND(volume_usd / "
              "trade_count, 18), 0) WHERE wallet = ? AND window_kind = ?");
          derived.setString(1, normalized);
          derived.setString(2, normalized);
          derived.setInt(3, kAllWindow);
          derived.executeUpdate();
        }
        sql::PreparedStatement& progress = c.Prepare(
            "INSERT INTO whale_stats_progress (wallet, counted_through) VALUES (?, ?) ON "
            "DUPLICATE KEY UPDATE counted_through = VALUES(counted_through)");
        progress.setString(1, normalized);
        progress.setUInt64(2, through);
        progress.executeUpdate();
        return absl::OkStatus();
      }));
  return counted;
}

absl::StatusOr<int64_t> MySqlStore::RecomputeWindowStats(const Fence& fence, absl::Time now) {
  int64_t written = 0;
  RETURN_IF_ERROR(
      pool().RunInTransaction("recomputing window stats", [&](MySqlConnection& c) -> absl::Status {
        written = 0;
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kWhales));
        sql::PreparedStatement& clear =
            c.Prepare("DELETE FROM whale_stats WHERE window_kind IN (?, ?, ?)");
        clear.setInt(1, static_cast<int>(StatsWindow::k24h));
        clear.setInt(2, static_cast<int>(StatsWindow::k7d));
        clear.setInt(3, static_cast<int>(StatsWindow::k30d));
        clear.executeUpdate();
        for (const auto& [window, length] : {std::pair{StatsWindow::k24h, absl::Hours(24)},
                                             std::pair{StatsWindow::k7d, absl::Hours(24 * 7)},
                                             std::pair{StatsWindow::k30d, absl::Hours(24 * 30)}}) {
          sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
              "INSERT INTO whale_stats (", kStatsColumns, ") SELECT wallet, ?, ", kStatsAggregate,
              ", ? FROM whale_activity WHERE traded_time > ? AND side IN (1, 2) GROUP BY wallet"));
          ps.setInt(1, static_cast<int>(window));
          SetTime(ps, 2, now);
          SetTime(ps, 3, now - length);
          written += ps.executeUpdate();
        }
        // Ranks of every window, all-time included: equal volumes share a rank.
        c.Prepare(
             "UPDATE whale_stats s JOIN (SELECT wallet, window_kind, RANK() OVER (PARTITION BY "
             "window_kind ORDER BY volume_usd DESC) AS r FROM whale_stats) ranked ON s.wallet = "
             "ranked.wallet AND s.window_kind = ranked.window_kind SET s.`rank` = ranked.r")
            .executeUpdate();
        return absl::OkStatus();
      }));
  return written;
}

absl::StatusOr<int64_t> MySqlStore::RecomputeMarketWhaleFlow(const Fence& fence, absl::Time now) {
  int64_t written = 0;
  RETURN_IF_ERROR(pool().RunInTransaction(
      "recomputing market whale flow", [&](MySqlConnection& c) -> absl::Status {
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kMarkets));
        c.Prepare("DELETE FROM market_whale_flow").executeUpdate();
        sql::PreparedStatement& ps = c.Prepare(
            "INSERT INTO market_whale_flow (market_id, outcome, buy_volume_usd, sell_volume_usd, "
            "computed_time) SELECT market_id, outcome, SUM(CASE WHEN side = 1 THEN amount_usd "
            "ELSE 0 END), SUM(CASE WHEN side = 2 THEN amount_usd ELSE 0 END), ? FROM "
            "whale_activity WHERE traded_time > ? AND side IN (1, 2) GROUP BY market_id, outcome");
        SetTime(ps, 1, now);
        SetTime(ps, 2, now - absl::Hours(24));
        written = ps.executeUpdate();
        return absl::OkStatus();
      }));
  return written;
}

absl::StatusOr<std::vector<WhaleStats>> MySqlStore::ReadWhaleStatsOfWallet(
    absl::string_view wallet) {
  ASSIGN_OR_RETURN(const std::string normalized, NormalizeWallet(wallet));
  std::vector<WhaleStats> out;
  RETURN_IF_ERROR(pool().Run("reading whale stats", [&](MySqlConnection& c) -> absl::Status {
    out.clear();
    sql::PreparedStatement& ps =
        c.Prepare(absl::StrCat("SELECT ", kWhaleStatsColumns,
                               " FROM whale_stats s WHERE s.wallet = ? ORDER BY "
                               "s.window_kind"));
    ps.setString(1, normalized);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      ASSIGN_OR_RETURN(WhaleStats s, StatsFromRow(*rs, normalized, StatsWindow::kUnspecified));
      out.push_back(std::move(s));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<MarketWhaleFlow>> MySqlStore::ReadMarketWhaleFlow() {
  std::vector<MarketWhaleFlow> out;
  RETURN_IF_ERROR(pool().Run("reading market whale flow", [&](MySqlConnection& c) -> absl::Status {
    out.clear();
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT market_id, outcome, buy_volume_usd, sell_volume_usd, computed_time FROM "
                  "market_whale_flow ORDER BY market_id, outcome")
            .executeQuery());
    while (rs->next()) {
      MarketWhaleFlow f;
      f.market_id = rs->getInt64("market_id");
      ASSIGN_OR_RETURN(f.outcome, GetEnum(*rs, "outcome", Outcome::kNo));
      ASSIGN_OR_RETURN(f.buy_volume_usd, GetDecimal(*rs, "buy_volume_usd"));
      ASSIGN_OR_RETURN(f.sell_volume_usd, GetDecimal(*rs, "sell_volume_usd"));
      ASSIGN_OR_RETURN(f.computed_time, GetTime(*rs, "computed_time"));
      out.push_back(std::move(f));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<CleanupBatch> MySqlStore::DeleteExpiredActivity(const Fence& fence,
                                                               absl::Time ingested_before,
                                                               int limit) {
  RETURN_IF_ERROR(CheckLimit(limit));
  CleanupBatch batch;
  RETURN_IF_ERROR(
      pool().RunInTransaction("deleting expired activity", [&](MySqlConnection& c) -> absl::Status {
        batch = {};
        // The leader row lock also keeps ingest out for the length of this short transaction, so
        // the prefix read here is the prefix deleted.
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kWhales));
        uint64_t last_deleted = 0;
        {
          sql::PreparedStatement& ps = c.Prepare(
              "SELECT sequence, ingested_time FROM whale_activity ORDER BY sequence LIMIT ?");
          ps.setInt(1, limit + 1);
          std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
          while (rs->next()) {
            ASSIGN_OR_RETURN(const absl::Time ingested, GetTime(*rs, "ingested_time"));
            if (ingested >= ingested_before) break;
            if (batch.deleted == limit) {
              batch.more = true;
              break;
            }
            last_deleted = rs->getUInt64("sequence");
            ++batch.deleted;
          }
        }
        if (batch.deleted > 0) {
          sql::PreparedStatement& del =
              c.Prepare("DELETE FROM whale_activity WHERE sequence <= ? ORDER BY sequence");
          del.setUInt64(1, last_deleted);
          del.executeUpdate();
          uint64_t floor = last_deleted + 1;
          std::unique_ptr<sql::ResultSet> rs(
              c.Prepare("SELECT MIN(sequence) FROM whale_activity").executeQuery());
          if (rs->next() && !rs->isNull(1)) floor = rs->getUInt64(1);
          sql::PreparedStatement& raise = c.Prepare(
              "UPDATE feed_meta SET retention_floor = GREATEST(retention_floor, ?) WHERE id = 1");
          raise.setUInt64(1, floor);
          raise.executeUpdate();
        }
        std::unique_ptr<sql::ResultSet> meta(
            c.Prepare("SELECT retention_floor FROM feed_meta WHERE id = 1").executeQuery());
        if (meta->next()) batch.retention_floor = meta->getUInt64(1);
        return absl::OkStatus();
      }));
  return batch;
}

absl::StatusOr<int64_t> MySqlStore::PruneSyncHistory(const Fence& fence, absl::Time before,
                                                     int limit) {
  RETURN_IF_ERROR(CheckLimit(limit));
  int64_t deleted = 0;
  RETURN_IF_ERROR(
      pool().RunInTransaction("pruning sync history", [&](MySqlConnection& c) -> absl::Status {
        deleted = 0;
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        sql::PreparedStatement& runs = c.Prepare(
            "DELETE FROM sync_logs WHERE status <> ? AND ended_time < ? ORDER BY id LIMIT ?");
        runs.setInt(1, static_cast<int>(RunStatus::kRunning));
        SetTime(runs, 2, before);
        runs.setInt(3, limit);
        deleted = runs.executeUpdate();
        if (deleted < limit) {
          sql::PreparedStatement& requests = c.Prepare(
              "DELETE FROM sync_requests WHERE taken_time IS NOT NULL AND taken_time < ? ORDER BY "
              "id LIMIT ?");
          SetTime(requests, 1, before);
          requests.setInt(2, static_cast<int>(limit - deleted));
          deleted += requests.executeUpdate();
        }
        return absl::OkStatus();
      }));
  return deleted;
}

// ---- Sync jobs: early polls ----
absl::StatusOr<std::vector<Whale>> MySqlStore::ListEarlyPollWhales(absl::Time now,
                                                                   absl::Time polled_before,
                                                                   absl::Duration max_interval,
                                                                   int limit) {
  RETURN_IF_ERROR(CheckLimit(limit));
  if (max_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_interval: ", absl::FormatDuration(max_interval), " is not positive"));
  }
  std::vector<Whale> early;
  RETURN_IF_ERROR(
      pool().Run("listing whales to poll early", [&](MySqlConnection& c) -> absl::Status {
        early.clear();
        // The share of its interval each wallet has waited, in double arithmetic (1E0), so that the
        // order is the in-memory store's exactly (integer division would round to 4 decimals).
        sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
            "SELECT ", kWhaleColumns,
            " FROM whales WHERE tracked AND last_polled_time IS NOT NULL AND last_polled_time <= ? "
            "AND next_poll_time > ? AND next_poll_time > last_polled_time "
            "AND TIMESTAMPDIFF(MICROSECOND, last_polled_time, next_poll_time) <= ? "
            "ORDER BY (TIMESTAMPDIFF(MICROSECOND, last_polled_time, ?) * 1E0) / "
            "TIMESTAMPDIFF(MICROSECOND, last_polled_time, next_poll_time) DESC, "
            "last_polled_time, wallet LIMIT ?"));
        SetTime(ps, 1, polled_before);
        SetTime(ps, 2, now);
        ps.setInt64(3, absl::ToInt64Microseconds(max_interval));
        SetTime(ps, 4, now);
        ps.setInt(5, limit);
        std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
        while (rs->next()) {
          ASSIGN_OR_RETURN(Whale w, WhaleFromRow(*rs));
          early.push_back(std::move(w));
        }
        return absl::OkStatus();
      }));
  return early;
}
// ---- end of early polls ----

}  // namespace whalefeed::db
