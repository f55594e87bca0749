#include "db/mysql_rows.h"

#include <cppconn/datatype.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "db/mysql_connection.h"
#include "db/query_support.h"

namespace whalefeed::db {
namespace {

std::string SqlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", t, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<int> GetEnumNumber(sql::ResultSet& rs, const char* column, int last) {
  const int value = rs.getInt(column);
  if (value < 0 || value > last) {
    return absl::InternalError(
        absl::StrCat("column ", column, " holds ", value, ", which is not a known value"));
  }
  return value;
}

void SetTime(sql::PreparedStatement& ps, int index, absl::Time t) {
  if (t == absl::InfinitePast()) {
    ps.setNull(index, sql::DataType::TIMESTAMP);
  } else {
    ps.setDateTime(index, SqlTime(t));
  }
}

absl::StatusOr<absl::Time> GetTime(sql::ResultSet& rs, const char* column) {
  if (rs.isNull(column)) return absl::InfinitePast();
  const std::string text = rs.getString(column);
  absl::Time t;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", text, absl::UTCTimeZone(), &t, &error)) {
    return absl::InternalError(absl::StrCat("column ", column, " holds \"", text.substr(0, 40),
                                            "\", which is not a time: ", error));
  }
  return t;
}

absl::StatusOr<std::string> GetDecimal(sql::ResultSet& rs, const char* column) {
  absl::StatusOr<std::string> normalized =
      NormalizeDecimal(std::string(rs.getString(column)), column);
  if (!normalized.ok()) {
    return absl::InternalError(absl::StrCat("stored value of ", normalized.status().message()));
  }
  return normalized;
}

size_t InListSize(size_t n) {
  size_t size = 1;
  while (size < n) size *= 2;
  return size;
}

std::string InList(size_t n) {
  std::string out;
  for (size_t i = 0; i < InListSize(n); ++i) absl::StrAppend(&out, i ? ",?" : "?");
  return out;
}

std::vector<int64_t> PaddedInList(std::vector<int64_t> ids) {
  ids.resize(InListSize(ids.size()), ids.back());
  return ids;
}

const char kMarketColumns[] =
    "market_id, parent_market_id, title, status, market_type, yes_label, no_label, yes_token_id, "
    "no_token_id, condition_id, result_token_id, volume, volume_24h, volume_7d, slug, rules, "
    "created_time, cutoff_time, resolved_time, synced_at, updated_at";

absl::StatusOr<Market> MarketFromRow(sql::ResultSet& rs) {
  Market m;
  m.market_id = rs.getInt64("market_id");
  m.parent_market_id = rs.getInt64("parent_market_id");
  m.title = rs.getString("title");
  ASSIGN_OR_RETURN(m.status, GetEnum(rs, "status", MarketStatus::kDeleted));
  ASSIGN_OR_RETURN(m.market_type, GetEnum(rs, "market_type", MarketType::kCategorical));
  m.yes_label = rs.getString("yes_label");
  m.no_label = rs.getString("no_label");
  m.yes_token_id = rs.getString("yes_token_id");
  m.no_token_id = rs.getString("no_token_id");
  m.condition_id = rs.getString("condition_id");
  m.result_token_id = rs.getString("result_token_id");
  ASSIGN_OR_RETURN(m.volume, GetDecimal(rs, "volume"));
  ASSIGN_OR_RETURN(m.volume_24h, GetDecimal(rs, "volume_24h"));
  ASSIGN_OR_RETURN(m.volume_7d, GetDecimal(rs, "volume_7d"));
  m.slug = rs.getString("slug");
  m.rules = rs.getString("rules");
  ASSIGN_OR_RETURN(m.created_time, GetTime(rs, "created_time"));
  ASSIGN_OR_RETURN(m.cutoff_time, GetTime(rs, "cutoff_time"));
  ASSIGN_OR_RETURN(m.resolved_time, GetTime(rs, "resolved_time"));
  ASSIGN_OR_RETURN(m.synced_time, GetTime(rs, "synced_at"));
  ASSIGN_OR_RETURN(m.updated_time, GetTime(rs, "updated_at"));
  return m;
}

const char kWhaleColumns[] =
    "wallet, label, source, tracked, tracked_since, last_polled_time, next_poll_time, "
    "checkpoint_tx_hash, checkpoint_traded_time, trades_seen";

absl::StatusOr<Whale> WhaleFromRow(sql::ResultSet& rs) {
  Whale w;
  w.wallet = rs.getString("wallet");
  w.label = rs.getString("label");
  ASSIGN_OR_RETURN(w.source, GetEnum(rs, "source", WhaleSource::kApi));
  w.tracked = rs.getBoolean("tracked");
  ASSIGN_OR_RETURN(w.tracked_since, GetTime(rs, "tracked_since"));
  ASSIGN_OR_RETURN(w.last_polled_time, GetTime(rs, "last_polled_time"));
  ASSIGN_OR_RETURN(w.next_poll_time, GetTime(rs, "next_poll_time"));
  w.checkpoint_tx_hash = rs.getString("checkpoint_tx_hash");
  ASSIGN_OR_RETURN(w.checkpoint_traded_time, GetTime(rs, "checkpoint_traded_time"));
  w.trades_seen = rs.getInt64("trades_seen");
  return w;
}

const char kActivityColumns[] =
    "sequence, activity_id, tx_hash, wallet, market_id, root_market_id, market_title, "
    "root_market_title, side, outcome, outcome_label, price, shares, amount_usd, fee_usd, "
    "profit_usd, traded_time, ingested_time, origin";

absl::StatusOr<Activity> ActivityFromRow(sql::ResultSet& rs) {
  Activity a;
  a.sequence = rs.getUInt64("sequence");
  a.activity_id = rs.getString("activity_id");
  a.tx_hash = rs.getString("tx_hash");
  a.wallet = rs.getString("wallet");
  a.market_id = rs.getInt64("market_id");
  a.root_market_id = rs.getInt64("root_market_id");
  a.market_title = rs.getString("market_title");
  a.root_market_title = rs.getString("root_market_title");
  ASSIGN_OR_RETURN(a.side, GetEnum(rs, "side", Side::kSplit));
  ASSIGN_OR_RETURN(a.outcome, GetEnum(rs, "outcome", Outcome::kNo));
  a.outcome_label = rs.getString("outcome_label");
  ASSIGN_OR_RETURN(a.price, GetDecimal(rs, "price"));
  ASSIGN_OR_RETURN(a.shares, GetDecimal(rs, "shares"));
  ASSIGN_OR_RETURN(a.amount_usd, GetDecimal(rs, "amount_usd"));
  ASSIGN_OR_RETURN(a.fee_usd, GetDecimal(rs, "fee_usd"));
  ASSIGN_OR_RETURN(a.profit_usd, GetDecimal(rs, "profit_usd"));
  ASSIGN_OR_RETURN(a.traded_time, GetTime(rs, "traded_time"));
  ASSIGN_OR_RETURN(a.ingested_time, GetTime(rs, "ingested_time"));
  ASSIGN_OR_RETURN(a.origin, GetEnum(rs, "origin", Origin::kBackfill));
  return a;
}

std::string ActivityInsertSql(size_t rows, absl::string_view table) {
  std::string sql = absl::StrCat(
      "INSERT INTO ", table,
      " (activity_id, tx_hash, wallet, market_id, root_market_id, market_title, "
      "root_market_title, side, outcome, outcome_label, price, shares, amount_usd, fee_usd, "
      "profit_usd, traded_time, ingested_time, origin) VALUES ");
  for (size_t r = 0; r < rows; ++r) {
    absl::StrAppend(&sql, r ? "," : "", "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  }
  absl::StrAppend(&sql, " ON DUPLICATE KEY UPDATE sequence = sequence");
  return sql;
}

void BindActivity(sql::PreparedStatement& ps, int offset, const Activity& a, absl::Time now) {
  ps.setString(offset + 1, a.activity_id);
  ps.setString(offset + 2, a.tx_hash);
  ps.setString(offset + 3, a.wallet);
  ps.setInt64(offset + 4, a.market_id);
  ps.setInt64(offset + 5, a.root_market_id);
  ps.setString(offset + 6, a.market_title);
  ps.setString(offset + 7, a.root_market_title);
  ps.setInt(offset + 8, static_cast<int>(a.side));
  ps.setInt(offset + 9, static_cast<int>(a.outcome));
  ps.setString(offset + 10, a.outcome_label);
  ps.setString(offset + 11, a.price);
  ps.setString(offset + 12, a.shares);
  ps.setString(offset + 13, a.amount_usd);
  ps.setString(offset + 14, a.fee_usd);
  ps.setString(offset + 15, a.profit_usd);
  SetTime(ps, offset + 16, a.traded_time);
  SetTime(ps, offset + 17, now);
  ps.setInt(offset + 18, static_cast<int>(a.origin));
}

// Locks the leader row until the end of the transaction and returns its epoch. A missing row is
// FAILED_PRECONDITION: locking a row that does not exist locks nothing under READ COMMITTED (so
// commits could interleave), and re-creating it would restart the epochs.
absl::StatusOr<int64_t> LockLeaderRow(MySqlConnection& c) {
  std::unique_ptr<sql::ResultSet> rs(
      c.Prepare("SELECT epoch FROM leader WHERE id = 1 FOR UPDATE").executeQuery());
  if (!rs->next()) {
    return absl::FailedPreconditionError(
        "the leader row is missing (the schema is damaged: restore the row with id 1 in table "
        "leader); nothing was written");
  }
  return rs->getInt64(1);
}

// Every leader-only write starts here: a deposed leader is refused, and writers of activity
// serialise on the lock, so sequence order is commit order.
absl::Status LockLeaderRowAndCheck(MySqlConnection& c, const Fence& fence) {
  ASSIGN_OR_RETURN(const int64_t epoch, LockLeaderRow(c));
  return CheckFence(fence, epoch);
}

const char kWhaleStatsColumns[] =
    "s.window_kind AS s_window_kind, s.volume_usd AS s_volume_usd, s.buy_volume_usd AS "
    "s_buy_volume_usd, s.sell_volume_usd AS s_sell_volume_usd, s.realized_profit_usd AS "
    "s_realized_profit_usd, s.largest_trade_usd AS s_largest_trade_usd, s.average_trade_usd AS "
    "s_average_trade_usd, s.trade_count AS s_trade_count, s.markets_traded AS s_markets_traded, "
    "s.first_trade_time AS s_first_trade_time, s.last_trade_time AS s_last_trade_time, "
    "s.`rank` AS s_rank, s.computed_time AS s_computed_time";

absl::StatusOr<WhaleStats> StatsFromRow(sql::ResultSet& rs, absl::string_view wallet,
                                        StatsWindow window) {
  WhaleStats s = ZeroWhaleStats(wallet, window);
  if (rs.isNull("s_window_kind")) return s;
  ASSIGN_OR_RETURN(s.window, GetEnum(rs, "s_window_kind", StatsWindow::kAll));
  ASSIGN_OR_RETURN(s.volume_usd, GetDecimal(rs, "s_volume_usd"));
  ASSIGN_OR_RETURN(s.buy_volume_usd, GetDecimal(rs, "s_buy_volume_usd"));
  ASSIGN_OR_RETURN(s.sell_volume_usd, GetDecimal(rs, "s_sell_volume_usd"));
  ASSIGN_OR_RETURN(s.realized_profit_usd, GetDecimal(rs, "s_realized_profit_usd"));
  ASSIGN_OR_RETURN(s.largest_trade_usd, GetDecimal(rs, "s_largest_trade_usd"));
  ASSIGN_OR_RETURN(s.average_trade_usd, GetDecimal(rs, "s_average_trade_usd"));
  s.trade_count = rs.getInt64("s_trade_count");
  s.markets_traded = rs.getInt64("s_markets_traded");
  ASSIGN_OR_RETURN(s.first_trade_time, GetTime(rs, "s_first_trade_time"));
  ASSIGN_OR_RETURN(s.last_trade_time, GetTime(rs, "s_last_trade_time"));
  s.rank = rs.getInt("s_rank");
  ASSIGN_OR_RETURN(s.computed_time, GetTime(rs, "s_computed_time"));
  return s;
}

absl::Status BumpDataVersion(MySqlConnection& c, DataDomain domain) {
  sql::PreparedStatement& ps =
      c.Prepare("UPDATE data_versions SET version = version + 1 WHERE domain = ?");
  ps.setString(1, domain == DataDomain::kMarkets ? "markets" : "whales");
  if (ps.executeUpdate() != 1) {
    return absl::FailedPreconditionError(
        "data_versions has no row for a domain: the schema was not set up by this whaled");
  }
  return absl::OkStatus();
}

}  // namespace whalefeed::db
