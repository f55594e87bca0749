#include "db/mysql_connection.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace whalefeed::db {
namespace {

sql::mysql::MySQL_Driver* Driver() {
  // Creating the driver is not thread-safe; the function-local static makes the first caller
  // create it while any other waits.
  static sql::mysql::MySQL_Driver* const driver = sql::mysql::get_mysql_driver_instance();
  return driver;
}

bool IsConnectionErrno(int code) {
  switch (code) {
    case 1040:  // ER_CON_COUNT_ERROR: too many connections
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1927:  // ER_CONNECTION_KILLED
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2055:  // CR_SERVER_LOST_EXTENDED
      return true;
    default:
      return false;
  }
}

int WholeSeconds(absl::Duration d) {
  return static_cast<int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)))));
}

}  // namespace

absl::Status StatusFromSqlException(const sql::SQLException& e, absl::string_view what) {
  const int code = e.getErrorCode();
  const std::string message = absl::StrCat(what, ": MySQL error ", code, ": ", e.what());
  if (IsConnectionErrno(code)) return absl::UnavailableError(message);
  // The connector reports use of a dead or closed connection with errno 0 and SQLSTATE 08xxx.
  if (e.getSQLState().rfind("08", 0) == 0) return absl::UnavailableError(message);
  switch (code) {
    case 1213:  // ER_LOCK_DEADLOCK
    case 1205:  // ER_LOCK_WAIT_TIMEOUT
      return absl::AbortedError(message);
    case 1062:  // ER_DUP_ENTRY
      return absl::AlreadyExistsError(message);
    case 1048:  // ER_BAD_NULL_ERROR
    case 1264:  // ER_WARN_DATA_OUT_OF_RANGE
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    case 1406:  // ER_DATA_TOO_LONG
      return absl::InvalidArgumentError(message);
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

// --- MySqlConnection ---

MySqlConnection::MySqlConnection(std::unique_ptr<sql::Connection> connection,
                                 size_t statement_cache_size)
    : connection_(std::move(connection)),
      statement_cache_size_(std::max<size_t>(1, statement_cache_size)) {}

MySqlConnection::~MySqlConnection() {
  // Closing statements and the connection only sends COM_STMT_CLOSE / COM_QUIT; nothing waits for
  // an answer, so dropping a connection to a frozen or dead server costs no round trip. (The
  // connector's isClosed() would ping: it is not called here.)
  statement_index_.clear();
  statements_.clear();
  try {
    connection_->close();
  } catch (const sql::SQLException&) {
    // Already closed, or the server is gone: nothing is left to release.
  }
}

sql::PreparedStatement& MySqlConnection::Prepare(const std::string& sql) {
  if (auto it = statement_index_.find(sql); it != statement_index_.end()) {
    statements_.splice(statements_.begin(), statements_, it->second);
    sql::PreparedStatement& statement = *statements_.front().second;
    statement.clearParameters();
    return statement;
  }
  std::unique_ptr<sql::PreparedStatement> statement(connection_->prepareStatement(sql));
  statements_.emplace_front(sql, std::move(statement));
  statement_index_[sql] = statements_.begin();
  while (statements_.size() > statement_cache_size_) {
    statement_index_.erase(statements_.back().first);
    statements_.pop_back();  // closes the server-side statement
  }
  return *statements_.front().second;
}

void MySqlConnection::Execute(const std::string& sql) {
  std::unique_ptr<sql::Statement> statement(connection_->createStatement());
  statement->execute(sql);
}

bool MySqlConnection::IsAlive() {
  try {
    return connection_->isValid();
  } catch (const sql::SQLException&) {
    return false;
  }
}

int64_t MySqlConnection::ServerId() {
  std::unique_ptr<sql::ResultSet> rs(Prepare("SELECT CONNECTION_ID()").executeQuery());
  return rs->next() ? rs->getInt64(1) : 0;
}

// Connector/C++ 1.1 writes the host of every connect() into a buffer of its own that the client
// library then reads (seen by ThreadSanitizer: MySQL_Uri::Host against mysql_real_connect, when the
// feed hub and the health prober connected at the same time): connections open one at a time.
ABSL_CONST_INIT absl::Mutex connect_mu(absl::kConstInit);

absl::StatusOr<std::unique_ptr<MySqlConnection>> ConnectMySql(const MySqlDsn& dsn,
                                                              bool with_database,
                                                              const MySqlSessionOptions& session,
                                                              size_t statement_cache_size) {
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
  if (with_database) options["schema"] = sql::SQLString(dsn.database);
  options["OPT_CONNECT_TIMEOUT"] = WholeSeconds(session.connect_timeout);
  options["OPT_READ_TIMEOUT"] = WholeSeconds(session.read_timeout);
  options["OPT_WRITE_TIMEOUT"] = WholeSeconds(session.write_timeout);
  options["OPT_RECONNECT"] = false;
  options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  try {
    std::unique_ptr<sql::Connection> raw;
    {
      absl::MutexLock lock(&connect_mu);
      raw.reset(Driver()->connect(options));
    }
    auto connection = std::make_unique<MySqlConnection>(std::move(raw), statement_cache_size);
    std::string set = absl::StrCat(
        "SET time_zone = '+00:00', SESSION sql_mode = "
        "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION', "
        "SESSION innodb_lock_wait_timeout = ",
        WholeSeconds(session.lock_wait_timeout));
    if (session.idle_timeout.has_value()) {
      absl::StrAppend(&set, ", SESSION wait_timeout = ", WholeSeconds(*session.idle_timeout));
    }
    connection->Execute(set);
    connection->Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    return connection;
  } catch (const sql::SQLException& e) {
    return StatusFromSqlException(e, absl::StrCat("connecting to ", dsn.Redacted()));
  }
}

// --- MySqlConnectionPool ---

MySqlConnectionPool::~MySqlConnectionPool() {
  std::vector<std::unique_ptr<MySqlConnection>> idle;
  {
    absl::MutexLock lock(&mu_);
    idle.swap(idle_);
  }
}

int MySqlConnectionPool::open_connections() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

int MySqlConnectionPool::idle_connections() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(idle_.size());
}

std::unique_ptr<MySqlConnection> MySqlConnectionPool::TakeIdle() {
  if (idle_.empty()) return nullptr;
  std::unique_ptr<MySqlConnection> connection = std::move(idle_.back());
  idle_.pop_back();
  return connection;
}

absl::StatusOr<std::unique_ptr<MySqlConnection>> MySqlConnectionPool::Acquire() {
  const absl::Time deadline = absl::Now() + options_.acquire_timeout;
  while (true) {
    std::unique_ptr<MySqlConnection> connection;
    {
      absl::MutexLock lock(&mu_);
      auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < options_.max_connections;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
        return absl::UnavailableError(absl::StrCat("all ", options_.max_connections,
                                                   " database connections stayed in use for ",
                                                   absl::FormatDuration(options_.acquire_timeout),
                                                   " (the pool's size is --db_pool_size)"));
      }
      connection = TakeIdle();
      if (connection == nullptr) ++open_;  // a slot for the connection opened below
    }
    if (connection == nullptr) {
      absl::StatusOr<std::unique_ptr<MySqlConnection>> opened = ConnectMySql(
          dsn_, /*with_database=*/true, options_.session, options_.statement_cache_size);
      if (!opened.ok()) {
        absl::MutexLock lock(&mu_);
        --open_;
        return opened.status();
      }
      return opened;
    }
    const absl::Duration idle =
        absl::FromChrono(std::chrono::steady_clock::now() - connection->last_used());
    if (idle < options_.check_idle_after || connection->IsAlive()) return connection;
    // It died while idle (a database restart, or the server's wait_timeout): so did the others
    // that idled as long. Drop them all and try again, which opens a fresh connection.
    std::vector<std::unique_ptr<MySqlConnection>> dead;
    {
      absl::MutexLock lock(&mu_);
      dead.swap(idle_);
      open_ -= static_cast<int>(dead.size()) + 1;
    }
  }
}

void MySqlConnectionPool::Release(std::unique_ptr<MySqlConnection> connection, bool drop_idle) {
  std::vector<std::unique_ptr<MySqlConnection>> dropped;  // closed after the lock is released
  absl::MutexLock lock(&mu_);
  if (drop_idle) {
    dropped.swap(idle_);
    open_ -= static_cast<int>(dropped.size());
  }
  if (connection->broken()) {
    --open_;
    dropped.push_back(std::move(connection));
  } else {
    connection->Touch();
    idle_.push_back(std::move(connection));
  }
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
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat(what, ": ", e.what()));
    connection->MarkBroken();  // whatever it was doing, its state is unknown now
  }
  // After an error nothing else explains, the session's state is unknown: drop the connection
  // rather than ping it (a ping to a frozen server would block for the read timeout).
  if (absl::IsInternal(status)) connection->MarkBroken();
  const bool lost = absl::IsUnavailable(status);
  if (lost) connection->MarkBroken();
  // A lost connection means the server went away: every idle connection is dead too.
  Release(std::move(connection), /*drop_idle=*/lost);
  return status;
}

absl::Status MySqlConnectionPool::RunInTransaction(
    absl::string_view what, const std::function<absl::Status(MySqlConnection&)>& body) {
  absl::Status status;
  for (int attempt = 1; attempt <= kTransactionAttempts; ++attempt) {
    status = Run(what, [&](MySqlConnection& c) -> absl::Status {
      c.Execute("START TRANSACTION");
      absl::Status result;
      try {
        result = body(c);
      } catch (const sql::SQLException& e) {
        result = StatusFromSqlException(e, what);
      }
      if (result.ok()) {
        try {
          c.Execute("COMMIT");
          return absl::OkStatus();
        } catch (const sql::SQLException& e) {
          result = StatusFromSqlException(e, absl::StrCat(what, ": COMMIT"));
          if (absl::IsUnavailable(result)) {
            c.MarkBroken();
            return absl::UnavailableError(
                absl::StrCat(result.message(),
                             " (the connection was lost during COMMIT, so whether the "
                             "transaction was stored is unknown)"));
          }
        }
      }
      // A lost session's transaction is rolled back by the server.
      if (absl::IsUnavailable(result)) return result;
      try {
        c.Execute("ROLLBACK");
      } catch (const sql::SQLException&) {
        c.MarkBroken();  // the server rolls back when the connection closes
      }
      return result;
    });
    if (!absl::IsAborted(status)) return status;
  }
  return status;
}

absl::StatusOr<std::unique_ptr<MySqlConnection>> MySqlConnectionPool::OpenDedicated(
    const MySqlSessionOptions& session, bool with_database) {
  return ConnectMySql(dsn_, with_database, session);
}

}  // namespace whalefeed::db
