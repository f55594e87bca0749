#include "db/migrations.h"

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/mysql_connection.h"

namespace whalefeed::db {

MigrationStep Sql(std::string sql) { return {std::move(sql), "", "", ""}; }

MigrationStep AddColumn(std::string table, std::string column, std::string definition) {
  std::string sql =
      absl::StrCat("ALTER TABLE `", table, "` ADD COLUMN `", column, "` ", definition);
  return {std::move(sql), std::move(table), std::move(column), ""};
}

MigrationStep AddIndex(std::string table, std::string index, std::string columns, bool unique) {
  std::string sql = absl::StrCat("ALTER TABLE `", table, "` ADD ", unique ? "UNIQUE " : "",
                                 "INDEX `", index, "` (", columns, ")");
  return {std::move(sql), std::move(table), "", std::move(index)};
}

const std::vector<Migration>& AllMigrations() {
  // Money, prices and shares are DECIMAL(38,18); token ids VARCHAR(78); times DATETIME(6) in UTC
  // (every connection sets time_zone = '+00:00'); enums are TINYINTs numbered as in the
  // whalefeed.v1 API.
  static const auto* const kMigrations = new std::vector<Migration>{
      {1,
       "initial schema",
       {
           Sql(R"sql(CREATE TABLE IF NOT EXISTS feed_meta (
  id TINYINT NOT NULL PRIMARY KEY,
  feed_id CHAR(32) NOT NULL,
  retention_floor BIGINT UNSIGNED NOT NULL DEFAULT 0,
  token_key CHAR(64) NOT NULL,
  created_time DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           // The feed id and the page-token key are made here, once per database.
           Sql(R"sql(INSERT IGNORE INTO feed_meta (id, feed_id, token_key, created_time)
VALUES (1, LOWER(HEX(RANDOM_BYTES(16))), LOWER(HEX(RANDOM_BYTES(32))), UTC_TIMESTAMP(6)))sql"),
           Sql(R"sql(CREATE TABLE IF NOT EXISTS markets (
  market_id BIGINT NOT NULL PRIMARY KEY,
  parent_market_id BIGINT NOT NULL DEFAULT 0,
  title VARCHAR(1024) NOT NULL,
  status TINYINT NOT NULL,
  market_type TINYINT NOT NULL,
  yes_label VARCHAR(255) NOT NULL DEFAULT '',
  no_label VARCHAR(255) NOT NULL DEFAULT '',
  yes_token_id VARCHAR(78) NOT NULL DEFAULT '',
  no_token_id VARCHAR(78) NOT NULL DEFAULT '',
  condition_id VARCHAR(66) NOT NULL DEFAULT '',
  result_token_id VARCHAR(78) NOT NULL DEFAULT '',
  volume DECIMAL(38,18) NOT NULL DEFAULT 0,
  volume_24h DECIMAL(38,18) NOT NULL DEFAULT 0,
  volume_7d DECIMAL(38,18) NOT NULL DEFAULT 0,
  slug VARCHAR(512) NOT NULL DEFAULT '',
  rules MEDIUMTEXT NOT NULL,
  created_time DATETIME(6) NULL,
  cutoff_time DATETIME(6) NULL,
  resolved_time DATETIME(6) NULL,
  synced_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY markets_parent (parent_market_id),
  KEY markets_volume_24h (volume_24h)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql(R"sql(CREATE TABLE IF NOT EXISTS market_labels (
  market_id BIGINT NOT NULL,
  position INT NOT NULL,
  label VARCHAR(255) NOT NULL,
  PRIMARY KEY (market_id, position),
  KEY market_labels_label (label)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql(R"sql(CREATE TABLE IF NOT EXISTS whales (
  wallet CHAR(42) NOT NULL PRIMARY KEY,
  label VARCHAR(255) NOT NULL DEFAULT '',
  source TINYINT NOT NULL,
  tracked BOOLEAN NOT NULL,
  tracked_since DATETIME(6) NOT NULL,
  last_polled_time DATETIME(6) NULL,
  next_poll_time DATETIME(6) NULL,
  checkpoint_tx_hash VARCHAR(66) NOT NULL DEFAULT '',
  checkpoint_traded_time DATETIME(6) NULL,
  trades_seen BIGINT NOT NULL DEFAULT 0,
  KEY whales_next_poll (tracked, next_poll_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           // sequence is the feed position: writers serialise on the leader row, so AUTO_INCREMENT
           // order is commit order. Numbers may skip (rollbacks, duplicates); committed rows are
           // never missing.
           Sql(R"sql(CREATE TABLE IF NOT EXISTS whale_activity (
  sequence BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  activity_id CHAR(32) NOT NULL,
  tx_hash VARCHAR(66) NOT NULL,
  wallet CHAR(42) NOT NULL,
  market_id BIGINT NOT NULL,
  root_market_id BIGINT NOT NULL,
  market_title VARCHAR(1024) NOT NULL DEFAULT '',
  root_market_title VARCHAR(1024) NOT NULL DEFAULT '',
  side TINYINT NOT NULL,
  outcome TINYINT NOT NULL,
  outcome_label VARCHAR(255) NOT NULL DEFAULT '',
  price DECIMAL(38,18) NOT NULL,
  shares DECIMAL(38,18) NOT NULL,
  amount_usd DECIMAL(38,18) NOT NULL,
  fee_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  profit_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  traded_time DATETIME(6) NOT NULL,
  ingested_time DATETIME(6) NOT NULL,
  origin TINYINT NOT NULL,
  UNIQUE KEY whale_activity_natural (tx_hash, wallet, market_id, outcome, side, shares, price),
  UNIQUE KEY whale_activity_id (activity_id),
  KEY whale_activity_wallet (wallet, sequence),
  KEY whale_activity_ingested (ingested_time),
  KEY whale_activity_traded (traded_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql(R"sql(CREATE TABLE IF NOT EXISTS whale_stats (
  wallet CHAR(42) NOT NULL,
  window_kind TINYINT NOT NULL,
  volume_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  buy_volume_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  sell_volume_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  realized_profit_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  largest_trade_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  average_trade_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  trade_count BIGINT NOT NULL DEFAULT 0,
  markets_traded BIGINT NOT NULL DEFAULT 0,
  first_trade_time DATETIME(6) NULL,
  last_trade_time DATETIME(6) NULL,
  `rank` INT NOT NULL DEFAULT 0,
  computed_time DATETIME(6) NOT NULL,
  PRIMARY KEY (wallet, window_kind),
  KEY whale_stats_volume (window_kind, volume_usd)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql(R"sql(CREATE TABLE IF NOT EXISTS market_whale_flow (
  market_id BIGINT NOT NULL,
  outcome TINYINT NOT NULL,
  buy_volume_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  sell_volume_usd DECIMAL(38,18) NOT NULL DEFAULT 0,
  computed_time DATETIME(6) NOT NULL,
  PRIMARY KEY (market_id, outcome)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql(R"sql(CREATE TABLE IF NOT EXISTS sync_logs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job TINYINT NOT NULL,
  status TINYINT NOT NULL,
  started_time DATETIME(6) NOT NULL,
  ended_time DATETIME(6) NULL,
  item_count BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL,
  replica_id VARCHAR(128) NOT NULL,
  KEY sync_logs_job (job, id),
  KEY sync_logs_completed (job, status, ended_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql(R"sql(CREATE TABLE IF NOT EXISTS sync_requests (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job TINYINT NOT NULL,
  requested_time DATETIME(6) NOT NULL,
  taken_time DATETIME(6) NULL,
  KEY sync_requests_pending (job, taken_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           // One row. Writers of leader-only data lock it (SELECT ... FOR UPDATE) and check the
           // epoch.
           Sql(R"sql(CREATE TABLE IF NOT EXISTS leader (
  id TINYINT NOT NULL PRIMARY KEY,
  epoch BIGINT NOT NULL DEFAULT 0,
  replica_id VARCHAR(128) NOT NULL DEFAULT '',
  acquired_time DATETIME(6) NULL,
  limiter_rate_per_second DOUBLE NOT NULL DEFAULT 0,
  limiter_requests_total BIGINT NOT NULL DEFAULT 0,
  limiter_throttled_total BIGINT NOT NULL DEFAULT 0,
  limiter_published_time DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql("INSERT IGNORE INTO leader (id, epoch) VALUES (1, 0)"),
       }},
      // Read API for the query services: GetWhale's recent activity (a wallet's newest trades)
      // and ListWhaleActivity in amount order walk an index instead of sorting the table.
      {2,
       "query service indexes",
       {
           AddIndex("whale_activity", "whale_activity_wallet_traded",
                    "wallet, traded_time, sequence"),
           AddIndex("whale_activity", "whale_activity_amount", "amount_usd, sequence"),
       }},
      // ---- Sync jobs: what the all-time stats keep beside whale_stats, so that they are running
      // totals that retention cleanup never reduces and folding a trade twice is impossible.
      {3,
       "all-time stats progress",
       {
           // Per wallet: the highest sequence folded into its all-time whale_stats row.
           Sql(R"sql(CREATE TABLE IF NOT EXISTS whale_stats_progress (
  wallet CHAR(42) NOT NULL PRIMARY KEY,
  counted_through BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           // Every market a wallet has traded (BUY or SELL), for its all-time markets_traded.
           Sql(R"sql(CREATE TABLE IF NOT EXISTS whale_alltime_markets (
  wallet CHAR(42) NOT NULL,
  market_id BIGINT NOT NULL,
  PRIMARY KEY (wallet, market_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
       }},
      // ---- Data versions: one counter per domain of read data, raised in the transaction of
      // every write to it, so that the query services know when a cached answer went stale.
      {4,
       "data versions",
       {
           Sql(R"sql(CREATE TABLE IF NOT EXISTS data_versions (
  domain VARCHAR(16) NOT NULL PRIMARY KEY,
  version BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4)sql"),
           Sql("INSERT IGNORE INTO data_versions (domain, version) VALUES ('markets', 0), "
               "('whales', 0)"),
       }},
  };
  return *kMigrations;
}

int LatestSchemaVersion() { return AllMigrations().back().version; }

namespace {

constexpr char kMigrationLock[] = "whalefeed.migrate";

// Whether `step` is already in place (only AddColumn / AddIndex steps can tell).
bool AlreadyApplied(MySqlConnection& c, const MigrationStep& step) {
  if (step.table.empty()) return false;
  sql::PreparedStatement& ps =
      step.column.empty()
          ? c.Prepare(
                "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                "DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?")
          : c.Prepare(
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                "DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?");
  ps.setString(1, step.table);
  ps.setString(2, step.column.empty() ? step.index : step.column);
  std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
  return rs->next() && rs->getInt64(1) > 0;
}

absl::Status ApplyLocked(MySqlConnection& c, absl::Span<const Migration> migrations) {
  c.Execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, "
      "name VARCHAR(255) NOT NULL, applied_time DATETIME(6) NOT NULL) ENGINE=InnoDB");
  int current = 0;
  {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").executeQuery());
    if (rs->next()) current = rs->getInt(1);
  }
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return absl::FailedPreconditionError(absl::StrCat("the database schema is at version ", current,
                                                      ", newer than this build's ", latest,
                                                      ": upgrade whaled"));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    for (const MigrationStep& step : m.steps) {
      if (!AlreadyApplied(c, step)) c.Execute(step.sql);
    }
    sql::PreparedStatement& record = c.Prepare(
        "INSERT IGNORE INTO schema_migrations (version, name, applied_time) "
        "VALUES (?, ?, UTC_TIMESTAMP(6))");
    record.setInt(1, m.version);
    record.setString(2, m.name);
    record.execute();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMigrations(MySqlConnection& c, absl::Span<const Migration> migrations,
                             absl::Duration lock_wait) {
  try {
    sql::PreparedStatement& lock = c.Prepare("SELECT GET_LOCK(?, ?)");
    lock.setString(1, kMigrationLock);
    lock.setInt(2, static_cast<int>(absl::ToInt64Seconds(lock_wait)));
    {
      std::unique_ptr<sql::ResultSet> got(lock.executeQuery());
      if (!got->next() || got->isNull(1) || got->getInt(1) != 1) {
        return absl::DeadlineExceededError(
            absl::StrCat("migrations: another replica held the migration lock for more than ",
                         absl::FormatDuration(lock_wait)));
      }
    }
    const absl::Status status = ApplyLocked(c, migrations);
    sql::PreparedStatement& unlock = c.Prepare("SELECT RELEASE_LOCK(?)");
    unlock.setString(1, kMigrationLock);
    std::unique_ptr<sql::ResultSet> released(unlock.executeQuery());
    return status;
  } catch (const sql::SQLException& e) {
    // The lock is the session's: it goes when the caller closes the connection.
    return StatusFromSqlException(e, "applying migrations");
  }
}

}  // namespace whalefeed::db
