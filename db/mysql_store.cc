#include "db/mysql_store.h"

#include <cppconn/connection.h>
#include <cppconn/datatype.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "db/migrations.h"

namespace whalefeed::db {
namespace {

constexpr char kMigrationLock[] = "whalefeed.migrate";
constexpr int kMigrationLockWaitSeconds = 120;
constexpr size_t kMarketBatch = 200;
constexpr size_t kIngestBatch = 256;  // rows per INSERT (18 parameters each)

sql::mysql::MySQL_Driver* Driver() {
  // Creating the driver is not thread-safe: MySqlStore::Create calls this once before any other
  // thread does.
  static sql::mysql::MySQL_Driver* const driver = sql::mysql::get_mysql_driver_instance();
  return driver;
}

bool IsConnectionErrno(int code) {
  switch (code) {
    case 1927:  // ER_CONNECTION_KILLED
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 1053:  // ER_SERVER_SHUTDOWN
      return true;
    default:
      return false;
  }
}

// --- Value conversion ---

std::string SqlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", t, absl::UTCTimeZone());
}

void SetTime(sql::PreparedStatement& ps, int index, absl::Time t) {
  if (t == absl::InfinitePast()) {
    ps.setNull(index, sql::DataType::TIMESTAMP);
  } else {
    ps.setDateTime(index, SqlTime(t));
  }
}

absl::Time GetTime(sql::ResultSet& rs, const char* column) {
  if (rs.isNull(column)) return absl::InfinitePast();
  const std::string text = rs.getString(column);
  absl::Time t;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", text, absl::UTCTimeZone(), &t, &error)) {
    return absl::InfinitePast();
  }
  return t;
}

std::string GetDecimal(sql::ResultSet& rs, const char* column) {
  auto normalized = NormalizeDecimal(std::string(rs.getString(column)), column);
  return normalized.ok() ? *std::move(normalized) : "0";
}

// IN lists are padded to a power of two by repeating their last id, so that a query has a handful
// of shapes and each connection prepares each shape once (the statement cache stays small).
size_t InListSize(size_t n) {
  size_t size = 1;
  while (size < n) size *= 2;
  return size;
}

// "?,?,...": the placeholders of an IN list of n ids (padded).
std::string InList(size_t n) {
  std::string out;
  for (size_t i = 0; i < InListSize(n); ++i) absl::StrAppend(&out, i ? ",?" : "?");
  return out;
}

// The ids to bind to InList(ids.size()). `ids` must not be empty.
std::vector<int64_t> PaddedInList(std::vector<int64_t> ids) {
  ids.resize(InListSize(ids.size()), ids.back());
  return ids;
}

// --- Row mapping ---

constexpr char kMarketColumns[] =
    "market_id, parent_market_id, title, status, market_type, yes_label, no_label, yes_token_id, "
    "no_token_id, condition_id, result_token_id, volume, volume_24h, volume_7d, slug, rules, "
    "created_time, "
    "cutoff_time, resolved_time, synced_at, updated_at";

Market MarketFromRow(sql::ResultSet& rs) {
  Market m;
  m.market_id = rs.getInt64("market_id");
  m.parent_market_id = rs.getInt64("parent_market_id");
  m.title = rs.getString("title");
  m.status = static_cast<MarketStatus>(rs.getInt("status"));
  m.market_type = static_cast<MarketType>(rs.getInt("market_type"));
  m.yes_label = rs.getString("yes_label");
  m.no_label = rs.getString("no_label");
  m.yes_token_id = rs.getString("yes_token_id");
  m.no_token_id = rs.getString("no_token_id");
  m.condition_id = rs.getString("condition_id");
  m.result_token_id = rs.getString("result_token_id");
  m.volume = GetDecimal(rs, "volume");
  m.volume_24h = GetDecimal(rs, "volume_24h");
  m.volume_7d = GetDecimal(rs, "volume_7d");
  m.slug = rs.getString("slug");
  m.rules = rs.getString("rules");
  m.created_time = GetTime(rs, "created_time");
  m.cutoff_time = GetTime(rs, "cutoff_time");
  m.resolved_time = GetTime(rs, "resolved_time");
  m.synced_time = GetTime(rs, "synced_at");
  m.updated_time = GetTime(rs, "updated_at");
  return m;
}

constexpr char kWhaleColumns[] =
    "wallet, label, source, tracked, tracked_since, last_polled_time, next_poll_time, "
    "checkpoint_tx_hash, "
    "checkpoint_traded_time, trades_seen";

Whale WhaleFromRow(sql::ResultSet& rs) {
  Whale w;
  w.wallet = rs.getString("wallet");
  w.label = rs.getString("label");
  w.source = static_cast<WhaleSource>(rs.getInt("source"));
  w.tracked = rs.getBoolean("tracked");
  w.tracked_since = GetTime(rs, "tracked_since");
  w.last_polled_time = GetTime(rs, "last_polled_time");
  w.next_poll_time = GetTime(rs, "next_poll_time");
  w.checkpoint_tx_hash = rs.getString("checkpoint_tx_hash");
  w.checkpoint_traded_time = GetTime(rs, "checkpoint_traded_time");
  w.trades_seen = rs.getInt64("trades_seen");
  return w;
}

constexpr char kActivityColumns[] =
    "sequence, activity_id, tx_hash, wallet, market_id, root_market_id, market_title, "
    "root_market_title, side, outcome, outcome_label, price, shares, amount_usd, fee_usd, "
    "profit_usd, "
    "traded_time, ingested_time, origin";

Activity ActivityFromRow(sql::ResultSet& rs) {
  Activity a;
  a.sequence = rs.getUInt64("sequence");
  a.activity_id = rs.getString("activity_id");
  a.tx_hash = rs.getString("tx_hash");
  a.wallet = rs.getString("wallet");
  a.market_id = rs.getInt64("market_id");
  a.root_market_id = rs.getInt64("root_market_id");
  a.market_title = rs.getString("market_title");
  a.root_market_title = rs.getString("root_market_title");
  a.side = static_cast<Side>(rs.getInt("side"));
  a.outcome = static_cast<Outcome>(rs.getInt("outcome"));
  a.outcome_label = rs.getString("outcome_label");
  a.price = GetDecimal(rs, "price");
  a.shares = GetDecimal(rs, "shares");
  a.amount_usd = GetDecimal(rs, "amount_usd");
  a.fee_usd = GetDecimal(rs, "fee_usd");
  a.profit_usd = GetDecimal(rs, "profit_usd");
  a.traded_time = GetTime(rs, "traded_time");
  a.ingested_time = GetTime(rs, "ingested_time");
  a.origin = static_cast<Origin>(rs.getInt("origin"));
  return a;
}

constexpr char kActivityInsertColumns[] =
    "activity_id, tx_hash, wallet, market_id, root_market_id, market_title, root_market_title, "
    "side, outcome, outcome_label, price, shares, amount_usd, fee_usd, profit_usd, traded_time, "
    "ingested_time, origin";
constexpr int kActivityInsertParams = 18;

absl::StatusOr<std::vector<Market>> LoadMarkets(MySqlConnection& c, const std::string& where,
                                                const std::vector<int64_t>& args) {
  sql::PreparedStatement& ps =
      c.Prepare(absl::StrCat("SELECT ", kMarketColumns, " FROM markets WHERE ", where));
  for (size_t i = 0; i < args.size(); ++i) ps.setInt64(i + 1, args[i]);
  std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
  std::vector<Market> markets;
  absl::flat_hash_map<int64_t, size_t> index;
  while (rs->next()) {
    index[rs->getInt64("market_id")] = markets.size();
    markets.push_back(MarketFromRow(*rs));
  }
  if (markets.empty()) return markets;
  std::vector<int64_t> ids;
  for (const Market& m : markets) ids.push_back(m.market_id);
  sql::PreparedStatement& labels =
      c.Prepare(absl::StrCat("SELECT market_id, label FROM market_labels WHERE market_id IN (",
                             InList(ids.size()), ") ORDER BY market_id, position"));
  ids = PaddedInList(std::move(ids));
  for (size_t i = 0; i < ids.size(); ++i) labels.setInt64(i + 1, ids[i]);
  std::unique_ptr<sql::ResultSet> lrs(labels.executeQuery());
  while (lrs->next()) {
    markets[index[lrs->getInt64("market_id")]].labels.push_back(lrs->getString("label"));
  }
  return markets;
}

absl::StatusOr<Whale> LoadWhale(MySqlConnection& c, const std::string& wallet, bool for_update) {
  sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
      "SELECT ", kWhaleColumns, " FROM whales WHERE wallet = ?", for_update ? " FOR UPDATE" : ""));
  ps.setString(1, wallet);
  std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
  if (!rs->next()) return absl::NotFoundError(absl::StrCat("wallet ", wallet, " is not known"));
  return WhaleFromRow(*rs);
}

}  // namespace

// --- Activity rows ---

std::string ActivityInsertSql(size_t rows) {
  std::string sql =
      absl::StrCat("INSERT INTO whale_activity (", kActivityInsertColumns, ") VALUES ");
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

// --- Errors and threads ---

absl::Status StatusFromSqlException(const sql::SQLException& e, absl::string_view what) {
  const int code = e.getErrorCode();
  const std::string message = absl::StrCat(what, ": MySQL error ", code, ": ", e.what());
  if (IsConnectionErrno(code)) return absl::UnavailableError(message);
  // The connector reports use of a dead or closed connection with errno 0 and SQLSTATE HY000 /
  // 08xxx.
  const std::string state = e.getSQLState();
  if (state.rfind("08", 0) == 0) return absl::UnavailableError(message);
  switch (code) {
    case 1213:  // ER_LOCK_DEADLOCK
    case 1205:  // ER_LOCK_WAIT_TIMEOUT
      return absl::AbortedError(message);
    case 1062:  // ER_DUP_ENTRY
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

void EnsureMySqlThreadInit() {
  struct ThreadGuard {
    ThreadGuard() { Driver()->threadInit(); }
    ~ThreadGuard() { Driver()->threadEnd(); }
  };
  thread_local ThreadGuard guard;
  (void)guard;
}

// --- Connections ---

MySqlConnection::MySqlConnection(std::unique_ptr<sql::Connection> connection)
    : connection_(std::move(connection)) {}

MySqlConnection::~MySqlConnection() {
  statements_.clear();
  try {
    if (connection_ && !connection_->isClosed()) connection_->close();
  } catch (const sql::SQLException&) {
    // Closing a dead connection may throw; there is nothing left to release.
  }
}

bool MySqlConnection::IsAlive() {
  try {
    return !connection_->isClosed() && connection_->isValid();
  } catch (const sql::SQLException&) {
    return false;
  }
}

sql::PreparedStatement& MySqlConnection::Prepare(const std::string& sql) {
  for (auto& [text, statement] : statements_) {
    if (text == sql) {
      statement->clearParameters();
      return *statement;
    }
  }
  statements_.emplace_back(
      sql, std::unique_ptr<sql::PreparedStatement>(connection_->prepareStatement(sql)));
  return *statements_.back().second;
}

absl::StatusOr<std::unique_ptr<MySqlConnection>> ConnectMySql(const MySqlDsn& dsn,
                                                              bool with_database,
                                                              absl::Duration timeout) {
  EnsureMySqlThreadInit();
  sql::ConnectOptionsMap options;
  if (dsn.socket.empty()) {
    options["hostName"] =
        sql::SQLString(absl::StrCat("tcp://", HostForUrl(dsn.host), ":", dsn.port));
  } else {
    options["hostName"] = sql::SQLString("localhost");
    options["socket"] = sql::SQLString(dsn.socket);
  }
  options["userName"] = sql::SQLString(dsn.user);
  options["password"] = sql::SQLString(dsn.password);
  const int seconds = std::max<int>(1, absl::ToInt64Seconds(timeout));
  options["OPT_CONNECT_TIMEOUT"] = seconds;
  options["OPT_READ_TIMEOUT"] = seconds;
  options["OPT_WRITE_TIMEOUT"] = seconds;
  options["OPT_RECONNECT"] = false;
  options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  try {
    std::unique_ptr<sql::Connection> raw(Driver()->connect(options));
    std::unique_ptr<sql::Statement> st(raw->createStatement());
    st->execute("SET time_zone = '+00:00'");
    st->execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'");
    st->execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    if (with_database) raw->setSchema(dsn.database);
    return std::make_unique<MySqlConnection>(std::move(raw));
  } catch (const sql::SQLException& e) {
    return StatusFromSqlException(e, absl::StrCat("connecting to ", dsn.Redacted()));
  }
}

absl::StatusOr<std::unique_ptr<MySqlConnection>> MySqlConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<MySqlConnection> c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return ConnectMySql(dsn_, /*with_database=*/true, timeout_);
}

void MySqlConnectionPool::Release(std::unique_ptr<MySqlConnection> connection) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < max_idle_) idle_.push_back(std::move(connection));
}

void MySqlConnectionPool::DropIdle() {
  std::vector<std::unique_ptr<MySqlConnection>> dropped;
  absl::MutexLock lock(&mu_);
  dropped.swap(idle_);
}

absl::Status MySqlConnectionPool::Run(absl::string_view what,
                                      const std::function<absl::Status(MySqlConnection&)>& body) {
  EnsureMySqlThreadInit();
  ASSIGN_OR_RETURN(std::unique_ptr<MySqlConnection> connection, Acquire());
  absl::Status status;
  try {
    status = body(*connection);
  } catch (const sql::SQLException& e) {
    status = StatusFromSqlException(e, what);
  }
  // The connector reports some connection losses without a connection errno: an error that is not
  // mapped otherwise counts as UNAVAILABLE when the connection no longer answers.
  if (absl::IsInternal(status) && !connection->IsAlive()) {
    status = absl::UnavailableError(status.message());
  }
  if (absl::IsUnavailable(status)) {
    DropIdle();  // the server went away: every idle connection is dead too
    return status;
  }
  Release(std::move(connection));
  return status;
}

absl::Status MySqlConnectionPool::RunInTransaction(
    absl::string_view what, const std::function<absl::Status(MySqlConnection&)>& body) {
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    status = Run(what, [&](MySqlConnection& c) -> absl::Status {
      c.raw().setAutoCommit(false);
      absl::Status result;
      try {
        result = body(c);
        if (result.ok()) c.raw().commit();
      } catch (const sql::SQLException& e) {
        result = StatusFromSqlException(e, what);
      }
      if (!result.ok() && !absl::IsUnavailable(result)) {
        try {
          c.raw().rollback();
        } catch (const sql::SQLException& e) {
          result = StatusFromSqlException(e, what);
        }
      }
      if (!absl::IsUnavailable(result)) c.raw().setAutoCommit(true);
      return result;
    });
    if (!absl::IsAborted(status)) return status;
  }
  return status;
}

// --- Store ---

MySqlStore::MySqlStore(MySqlStoreOptions options)
    : options_(std::move(options)),
      pool_(options_.dsn, options_.max_idle_connections, options_.timeout) {}

absl::StatusOr<std::unique_ptr<MySqlStore>> MySqlStore::Create(MySqlStoreOptions options) {
  Driver();  // make the driver now, on the creating thread, before workers use it
  if (options.max_idle_connections < 1) {
    return absl::InvalidArgumentError("max_idle_connections must be at least 1");
  }
  return std::unique_ptr<MySqlStore>(new MySqlStore(std::move(options)));
}

absl::Status MySqlStore::PrepareDatabase() {
  {
    ASSIGN_OR_RETURN(auto server,
                     ConnectMySql(options_.dsn, /*with_database=*/false, options_.timeout));
    try {
      std::unique_ptr<sql::Statement> st(server->raw().createStatement());
      // The name was checked by the DSN parser (letters, digits, _ and $ only), so quoting is
      // enough here.
      st->execute(absl::StrCat("CREATE DATABASE IF NOT EXISTS `", options_.dsn.database,
                               "` CHARACTER SET utf8mb4"));
    } catch (const sql::SQLException& e) {
      // Without the privilege the database must exist already; connecting to it below says so if
      // not.
      if (e.getErrorCode() != 1044 && e.getErrorCode() != 1227) {
        return StatusFromSqlException(e, "creating the database");
      }
    }
  }
  ASSIGN_OR_RETURN(auto c, ConnectMySql(options_.dsn, /*with_database=*/true, options_.timeout));
  try {
    sql::PreparedStatement& lock = c->Prepare("SELECT GET_LOCK(?, ?)");
    lock.setString(1, kMigrationLock);
    lock.setInt(2, kMigrationLockWaitSeconds);
    std::unique_ptr<sql::ResultSet> got(lock.executeQuery());
    if (!got->next() || got->isNull(1) || got->getInt(1) != 1) {
      return absl::DeadlineExceededError("migrations: timed out waiting for the migration lock");
    }
    std::unique_ptr<sql::Statement> st(c->raw().createStatement());
    st->execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, "
        "name VARCHAR(255) NOT NULL, applied_time DATETIME(6) NOT NULL) ENGINE=InnoDB");
    int current = 0;
    {
      std::unique_ptr<sql::ResultSet> rs(
          st->executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      if (rs->next()) current = rs->getInt(1);
    }
    absl::Status status;
    if (current > LatestSchemaVersion()) {
      status = absl::FailedPreconditionError(
          absl::StrCat("the database schema is at version ", current, ", newer than this build's ",
                       LatestSchemaVersion(), ": upgrade whaled"));
    }
    for (const Migration& m : AllMigrations()) {
      if (!status.ok() || m.version <= current) continue;
      for (const std::string& statement : m.statements) st->execute(statement);
      sql::PreparedStatement& record = c->Prepare(
          "INSERT IGNORE INTO schema_migrations (version, name, applied_time) "
          "VALUES (?, ?, UTC_TIMESTAMP(6))");
      record.setInt(1, m.version);
      record.setString(2, m.name);
      record.execute();
    }
    sql::PreparedStatement& unlock = c->Prepare("SELECT RELEASE_LOCK(?)");
    unlock.setString(1, kMigrationLock);
    std::unique_ptr<sql::ResultSet> released(unlock.executeQuery());
    return status;
  } catch (const sql::SQLException& e) {
    return StatusFromSqlException(e, "applying migrations");
  }
}

absl::Status MySqlStore::Ping() {
  return pool_.Run("ping", [](MySqlConnection& c) {
    std::unique_ptr<sql::ResultSet> rs(c.Prepare("SELECT 1").executeQuery());
    return absl::OkStatus();
  });
}

absl::StatusOr<FeedMeta> MySqlStore::GetFeedMeta() {
  FeedMeta meta;
  RETURN_IF_ERROR(pool_.Run("reading feed_meta", [&](MySqlConnection& c) -> absl::Status {
    sql::PreparedStatement& ps =
        c.Prepare("SELECT feed_id, retention_floor, token_key FROM feed_meta WHERE id = 1");
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (!rs->next())
      return absl::FailedPreconditionError("feed_meta is empty: migrations not applied");
    meta.feed_id = rs->getString("feed_id");
    meta.retention_floor = rs->getUInt64("retention_floor");
    meta.token_key = rs->getString("token_key");
    return absl::OkStatus();
  }));
  return meta;
}

absl::StatusOr<int> MySqlStore::GetSchemaVersion() {
  int version = 0;
  RETURN_IF_ERROR(pool_.Run("reading schema_migrations", [&](MySqlConnection& c) {
    sql::PreparedStatement& ps =
        c.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (rs->next()) version = rs->getInt(1);
    return absl::OkStatus();
  }));
  return version;
}

absl::StatusOr<UpsertMarketsResult> MySqlStore::UpsertMarkets(absl::Span<const Market> markets,
                                                              absl::Time now) {
  std::vector<Market> checked;
  checked.reserve(markets.size());
  for (const Market& m : markets) {
    ASSIGN_OR_RETURN(Market normalized, NormalizeMarket(m));
    checked.push_back(std::move(normalized));
  }
  UpsertMarketsResult total;
  for (size_t begin = 0; begin < checked.size(); begin += kMarketBatch) {
    const size_t end = std::min(checked.size(), begin + kMarketBatch);
    UpsertMarketsResult batch;
    RETURN_IF_ERROR(
        pool_.RunInTransaction("upserting markets", [&](MySqlConnection& c) -> absl::Status {
          batch = {};
          std::vector<int64_t> ids;
          for (size_t i = begin; i < end; ++i) ids.push_back(checked[i].market_id);
          ASSIGN_OR_RETURN(
              std::vector<Market> existing,
              LoadMarkets(c, absl::StrCat("market_id IN (", InList(ids.size()), ") FOR UPDATE"),
                          PaddedInList(ids)));
          absl::flat_hash_map<int64_t, const Market*> by_id;
          for (const Market& m : existing) by_id[m.market_id] = &m;
          std::vector<int64_t> unchanged;
          for (size_t i = begin; i < end; ++i) {
            const Market& m = checked[i];
            auto it = by_id.find(m.market_id);
            if (it != by_id.end() && it->second->SameContent(m)) {
              unchanged.push_back(m.market_id);
              continue;
            }
            (it == by_id.end() ? batch.inserted : batch.updated)++;
            sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
                "INSERT INTO markets (", kMarketColumns,
                ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE "
                "parent_market_id = VALUES(parent_market_id), title = VALUES(title), "
                "status = VALUES(status), market_type = VALUES(market_type), "
                "yes_label = VALUES(yes_label), no_label = VALUES(no_label), "
                "yes_token_id = VALUES(yes_token_id), no_token_id = VALUES(no_token_id), "
                "condition_id = VALUES(condition_id), result_token_id = VALUES(result_token_id), "
                "volume = VALUES(volume), volume_24h = VALUES(volume_24h), volume_7d = "
                "VALUES(volume_7d), "
                "slug = VALUES(slug), rules = VALUES(rules), created_time = VALUES(created_time), "
                "cutoff_time = VALUES(cutoff_time), resolved_time = VALUES(resolved_time), "
                "synced_at = VALUES(synced_at), updated_at = VALUES(updated_at)"));
            ps.setInt64(1, m.market_id);
            ps.setInt64(2, m.parent_market_id);
            ps.setString(3, m.title);
            ps.setInt(4, static_cast<int>(m.status));
            ps.setInt(5, static_cast<int>(m.market_type));
            ps.setString(6, m.yes_label);
            ps.setString(7, m.no_label);
            ps.setString(8, m.yes_token_id);
            ps.setString(9, m.no_token_id);
            ps.setString(10, m.condition_id);
            ps.setString(11, m.result_token_id);
            ps.setString(12, m.volume);
            ps.setString(13, m.volume_24h);
            ps.setString(14, m.volume_7d);
            ps.setString(15, m.slug);
            ps.setString(16, m.rules);
            SetTime(ps, 17, m.created_time);
            SetTime(ps, 18, m.cutoff_time);
            SetTime(ps, 19, m.resolved_time);
            SetTime(ps, 20, now);
            SetTime(ps, 21, now);
            ps.executeUpdate();
            sql::PreparedStatement& clear =
                c.Prepare("DELETE FROM market_labels WHERE market_id = ?");
            clear.setInt64(1, m.market_id);
            clear.executeUpdate();
            for (size_t p = 0; p < m.labels.size(); ++p) {
              sql::PreparedStatement& label = c.Prepare(
                  "INSERT INTO market_labels (market_id, position, label) VALUES (?, ?, ?)");
              label.setInt64(1, m.market_id);
              label.setInt(2, static_cast<int>(p));
              label.setString(3, m.labels[p]);
              label.executeUpdate();
            }
          }
          if (!unchanged.empty()) {
            sql::PreparedStatement& touch =
                c.Prepare(absl::StrCat("UPDATE markets SET synced_at = ? WHERE market_id IN (",
                                       InList(unchanged.size()), ")"));
            SetTime(touch, 1, now);
            const std::vector<int64_t> padded = PaddedInList(unchanged);
            for (size_t i = 0; i < padded.size(); ++i) touch.setInt64(i + 2, padded[i]);
            touch.executeUpdate();
          }
          batch.unchanged = static_cast<int64_t>(unchanged.size());
          return absl::OkStatus();
        }));
    total.inserted += batch.inserted;
    total.updated += batch.updated;
    total.unchanged += batch.unchanged;
  }
  return total;
}

absl::StatusOr<Market> MySqlStore::GetMarket(int64_t market_id) {
  std::vector<Market> found;
  RETURN_IF_ERROR(pool_.Run("reading a market", [&](MySqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(found, LoadMarkets(c, "market_id = ?", {market_id}));
    return absl::OkStatus();
  }));
  if (found.empty())
    return absl::NotFoundError(absl::StrCat("market ", market_id, " is not known"));
  return std::move(found.front());
}

absl::StatusOr<std::vector<Market>> MySqlStore::GetChildMarkets(int64_t parent_market_id) {
  std::vector<Market> found;
  RETURN_IF_ERROR(pool_.Run("reading child markets", [&](MySqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(found,
                     LoadMarkets(c, "parent_market_id = ? ORDER BY market_id", {parent_market_id}));
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<Whale> MySqlStore::TrackWhale(absl::string_view wallet, absl::string_view label,
                                             WhaleSource source, absl::Time now) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  Whale result;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("tracking a whale", [&](MySqlConnection& c) -> absl::Status {
        absl::StatusOr<Whale> existing = LoadWhale(c, normalized, /*for_update=*/true);
        if (existing.ok()) {
          sql::PreparedStatement& ps = c.Prepare(
              "UPDATE whales SET label = ?, source = ?, tracked = TRUE, tracked_since = ? WHERE "
              "wallet = ?");
          ps.setString(1, label.empty() ? existing->label : std::string(label));
          ps.setInt(2, static_cast<int>(source));
          SetTime(ps, 3, existing->tracked ? existing->tracked_since : now);
          ps.setString(4, normalized);
          ps.executeUpdate();
        } else if (absl::IsNotFound(existing.status())) {
          sql::PreparedStatement& ps = c.Prepare(
              "INSERT INTO whales (wallet, label, source, tracked, tracked_since) VALUES (?, ?, ?, "
              "TRUE, ?)");
          ps.setString(1, normalized);
          ps.setString(2, std::string(label));
          ps.setInt(3, static_cast<int>(source));
          SetTime(ps, 4, now);
          ps.executeUpdate();
        } else {
          return existing.status();
        }
        ASSIGN_OR_RETURN(result, LoadWhale(c, normalized, /*for_update=*/false));
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Whale> MySqlStore::UntrackWhale(absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  Whale result;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("untracking a whale", [&](MySqlConnection& c) -> absl::Status {
        RETURN_IF_ERROR(LoadWhale(c, normalized, /*for_update=*/true).status());
        sql::PreparedStatement& ps =
            c.Prepare("UPDATE whales SET tracked = FALSE WHERE wallet = ?");
        ps.setString(1, normalized);
        ps.executeUpdate();
        ASSIGN_OR_RETURN(result, LoadWhale(c, normalized, /*for_update=*/false));
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Whale> MySqlStore::GetWhale(absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  Whale result;
  RETURN_IF_ERROR(pool_.Run("reading a whale", [&](MySqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(result, LoadWhale(c, normalized, /*for_update=*/false));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<std::vector<Whale>> MySqlStore::ListWhales(bool tracked_only) {
  std::vector<Whale> whales;
  RETURN_IF_ERROR(pool_.Run("listing whales", [&](MySqlConnection& c) {
    sql::PreparedStatement& ps =
        c.Prepare(absl::StrCat("SELECT ", kWhaleColumns, " FROM whales",
                               tracked_only ? " WHERE tracked" : "", " ORDER BY wallet"));
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) whales.push_back(WhaleFromRow(*rs));
    return absl::OkStatus();
  }));
  return whales;
}

absl::StatusOr<IngestResult> MySqlStore::IngestActivities(absl::string_view wallet,
                                                          absl::Span<const Activity> trades,
                                                          const PollState& poll, absl::Time now) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  std::vector<Activity> checked;
  checked.reserve(trades.size());
  for (const Activity& in : trades) {
    ASSIGN_OR_RETURN(Activity a, NormalizeActivity(in, normalized));
    checked.push_back(std::move(a));
  }
  IngestResult result;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("ingesting activity", [&](MySqlConnection& c) -> absl::Status {
        result = {};
        // Serialise activity commits on the leader row so that sequence order is commit order, and
        // so that the rows after `before` below are exactly this transaction's.
        std::unique_ptr<sql::ResultSet> leader(
            c.Prepare("SELECT epoch FROM leader WHERE id = 1 FOR UPDATE").executeQuery());
        ASSIGN_OR_RETURN(Whale whale, LoadWhale(c, normalized, /*for_update=*/true));
        uint64_t before = 0;
        {
          std::unique_ptr<sql::ResultSet> max(
              c.Prepare("SELECT COALESCE(MAX(sequence), 0) FROM whale_activity").executeQuery());
          if (max->next()) before = max->getUInt64(1);
        }
        // Multi-row inserts, padded to a power of two by repeating the last row (a duplicate of a
        // row of the same statement changes nothing), so a few statement shapes serve every page.
        for (size_t begin = 0; begin < checked.size(); begin += kIngestBatch) {
          const size_t count = std::min(kIngestBatch, checked.size() - begin);
          const size_t rows = InListSize(count);
          sql::PreparedStatement& insert = c.Prepare(ActivityInsertSql(rows));
          for (size_t r = 0; r < rows; ++r) {
            BindActivity(insert, static_cast<int>(r * kActivityInsertParams),
                         checked[begin + std::min(r, count - 1)], now);
          }
          insert.executeUpdate();
        }
        sql::PreparedStatement& inserted = c.Prepare(
            "SELECT sequence, tx_hash, traded_time FROM whale_activity WHERE sequence > ? "
            "ORDER BY sequence");
        inserted.setUInt64(1, before);
        std::unique_ptr<sql::ResultSet> rs(inserted.executeQuery());
        // The checkpoint is the newest stored trade: latest traded time, then highest sequence.
        while (rs->next()) {
          result.inserted_sequences.push_back(rs->getUInt64("sequence"));
          const absl::Time traded = GetTime(*rs, "traded_time");
          if (traded >= whale.checkpoint_traded_time) {
            whale.checkpoint_traded_time = traded;
            whale.checkpoint_tx_hash = rs->getString("tx_hash");
          }
        }
        result.duplicates = static_cast<int64_t>(checked.size() - result.inserted_sequences.size());
        sql::PreparedStatement& update = c.Prepare(
            "UPDATE whales SET last_polled_time = ?, next_poll_time = ?, trades_seen = ?, "
            "checkpoint_tx_hash = ?, checkpoint_traded_time = ? WHERE wallet = ?");
        SetTime(update, 1, poll.polled_time);
        SetTime(update, 2, poll.next_poll_time);
        update.setInt64(3, poll.trades_seen);
        update.setString(4, whale.checkpoint_tx_hash);
        SetTime(update, 5, whale.checkpoint_traded_time);
        update.setString(6, normalized);
        update.executeUpdate();
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<std::vector<Activity>> MySqlStore::ReadActivitiesAfter(uint64_t after_sequence,
                                                                      int limit) {
  if (limit <= 0) return absl::InvalidArgumentError("limit must be positive");
  std::vector<Activity> activities;
  RETURN_IF_ERROR(pool_.Run("reading activity", [&](MySqlConnection& c) {
    sql::PreparedStatement& ps = c.Prepare(
        absl::StrCat("SELECT ", kActivityColumns,
                     " FROM whale_activity WHERE sequence > ? ORDER BY sequence LIMIT ?"));
    ps.setUInt64(1, after_sequence);
    ps.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) activities.push_back(ActivityFromRow(*rs));
    return absl::OkStatus();
  }));
  return activities;
}

absl::StatusOr<uint64_t> MySqlStore::GetLatestSequence() {
  uint64_t latest = 0;
  RETURN_IF_ERROR(pool_.Run("reading the latest sequence", [&](MySqlConnection& c) {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT COALESCE(MAX(sequence), 0) FROM whale_activity").executeQuery());
    if (rs->next()) latest = rs->getUInt64(1);
    return absl::OkStatus();
  }));
  return latest;
}

absl::StatusOr<int64_t> MySqlStore::StartSyncRun(SyncJob job, absl::string_view replica_id,
                                                 absl::Time now) {
  int64_t run_id = 0;
  RETURN_IF_ERROR(pool_.Run("starting a sync run", [&](MySqlConnection& c) {
    sql::PreparedStatement& ps = c.Prepare(
        "INSERT INTO sync_logs (job, status, started_time, error, replica_id) VALUES (?, ?, ?, '', "
        "?)");
    ps.setInt(1, static_cast<int>(job));
    ps.setInt(2, static_cast<int>(RunStatus::kRunning));
    SetTime(ps, 3, now);
    ps.setString(4, std::string(replica_id));
    ps.executeUpdate();
    std::unique_ptr<sql::ResultSet> id(c.Prepare("SELECT LAST_INSERT_ID()").executeQuery());
    if (id->next()) run_id = id->getInt64(1);
    return absl::OkStatus();
  }));
  return run_id;
}

absl::Status MySqlStore::FinishSyncRun(int64_t run_id, RunStatus status, int64_t item_count,
                                       absl::string_view error, absl::Time now) {
  int updated = 0;
  RETURN_IF_ERROR(pool_.Run("finishing a sync run", [&](MySqlConnection& c) {
    sql::PreparedStatement& ps = c.Prepare(
        "UPDATE sync_logs SET status = ?, item_count = ?, error = ?, ended_time = ? WHERE id = ?");
    ps.setInt(1, static_cast<int>(status));
    ps.setInt64(2, item_count);
    ps.setString(3, std::string(error.substr(0, 60000)));
    SetTime(ps, 4, now);
    ps.setInt64(5, run_id);
    updated = ps.executeUpdate();
    return absl::OkStatus();
  }));
  if (updated == 0) return absl::NotFoundError(absl::StrCat("sync run ", run_id, " is not known"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SyncJobSummary>> MySqlStore::GetSyncJobSummaries() {
  std::vector<SyncJobSummary> jobs;
  RETURN_IF_ERROR(pool_.Run("reading sync runs", [&](MySqlConnection& c) {
    sql::PreparedStatement& ps = c.Prepare(
        "SELECT s.id, s.job, s.status, s.started_time, s.ended_time, s.item_count, s.error, "
        "s.replica_id, (SELECT MAX(d.ended_time) FROM sync_logs d WHERE d.job = s.job AND "
        "d.status = ?) AS last_completed_time FROM sync_logs s "
        "WHERE s.id IN (SELECT MAX(id) FROM sync_logs GROUP BY job) ORDER BY s.job");
    ps.setInt(1, static_cast<int>(RunStatus::kCompleted));
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      SyncJobSummary job;
      SyncRun& run = job.latest;
      run.run_id = rs->getInt64("id");
      run.job = static_cast<SyncJob>(rs->getInt("job"));
      run.status = static_cast<RunStatus>(rs->getInt("status"));
      run.started_time = GetTime(*rs, "started_time");
      run.ended_time = GetTime(*rs, "ended_time");
      run.item_count = rs->getInt64("item_count");
      run.error = rs->getString("error");
      run.replica_id = rs->getString("replica_id");
      job.last_completed_time = GetTime(*rs, "last_completed_time");
      jobs.push_back(std::move(job));
    }
    return absl::OkStatus();
  }));
  return jobs;
}

}  // namespace whalefeed::db
