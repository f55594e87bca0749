// Connections to MySQL 8 / MariaDB 10.11 through Connector/C++ 1.1: opening them, the pool every
// MySqlStore call runs on, transactions whose failures always surface, and the errno -> status
// mapping. Exceptions of the connector never leave this layer: everything returns absl::Status.
#ifndef WHALEFEED_DB_MYSQL_CONNECTION_H_
#define WHALEFEED_DB_MYSQL_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "db/dsn.h"

namespace sql {
class Connection;
class PreparedStatement;
class SQLException;
}  // namespace sql

namespace whalefeed::db {

// Maps a Connector/C++ exception to a canonical status by MySQL errno; `what` names the operation.
// - UNAVAILABLE (retry later, maybe elsewhere): the connection or server is gone or full (2002,
//   2003, 2006, 2013, 2055, 1927, 1053, 1040, and SQLSTATE class 08);
// - ABORTED (retry the transaction): deadlock, lock wait timeout (1213, 1205);
// - ALREADY_EXISTS: duplicate key (1062);
// - INVALID_ARGUMENT: a value the column cannot hold (1406 too long, 1264 out of range, 1366
//   incorrect value, 1048 NULL in a NOT NULL column);
// - INTERNAL: everything else.
absl::Status StatusFromSqlException(const sql::SQLException& e, absl::string_view what);

// Connector/C++ 1.1 needs threadInit()/threadEnd() on every thread that uses it. Called by
// everything in db/ before it touches the connector; idempotent and cheap after the first call on
// a thread.
void EnsureMySqlThreadInit();

// How one connection's session is set up.
struct MySqlSessionOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  // Client-side bounds on one round trip. A statement that waits longer (a frozen server) fails
  // with UNAVAILABLE and its connection is dropped.
  absl::Duration read_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(5);
  // innodb_lock_wait_timeout of the session: a row lock not granted within it is ABORTED. Keep it
  // below read_timeout, or a lock wait looks like a lost server.
  absl::Duration lock_wait_timeout = absl::Seconds(3);
  // wait_timeout of the session (the server closes the connection after this long idle); unset:
  // the server's default. Sessions that hold a named lock set it short.
  std::optional<absl::Duration> idle_timeout;
};

// One connection with its cache of prepared statements. Not thread-safe: a connection never
// crosses threads while in use.
class MySqlConnection {
 public:
  static constexpr size_t kDefaultStatementCacheSize = 64;

  explicit MySqlConnection(std::unique_ptr<sql::Connection> connection,
                           size_t statement_cache_size = kDefaultStatementCacheSize);
  // Closes the connection without a round trip (no ping, nothing awaited from the server).
  ~MySqlConnection();
  MySqlConnection(const MySqlConnection&) = delete;
  MySqlConnection& operator=(const MySqlConnection&) = delete;

  sql::Connection& raw() { return *connection_; }

  // The prepared statement for `sql`, prepared once and reused (its parameters cleared). The cache
  // keeps the statement_cache_size most recently used ones and closes the rest, so generated SQL
  // cannot grow it without bound. A returned reference stays valid until statement_cache_size other
  // statements have been prepared on this connection. Throws sql::SQLException.
  sql::PreparedStatement& Prepare(const std::string& sql);
  size_t cached_statements() const { return statements_.size(); }

  // Runs one statement that returns no rows (e.g. "START TRANSACTION"). Throws sql::SQLException.
  void Execute(const std::string& sql);

  // Whether the server still answers on this connection: one round trip (COM_PING).
  bool IsAlive();
  // The server's id of this session (CONNECTION_ID()), e.g. for KILL. Throws sql::SQLException.
  int64_t ServerId();

  // A connection that must not be reused (its state is unknown) is dropped instead of pooled.
  void MarkBroken() { broken_ = true; }
  bool broken() const { return broken_; }

  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  void Touch() { last_used_ = std::chrono::steady_clock::now(); }

 private:
  using Entry = std::pair<std::string, std::unique_ptr<sql::PreparedStatement>>;

  std::unique_ptr<sql::Connection> connection_;
  const size_t statement_cache_size_;
  std::list<Entry> statements_;  // most recently used first
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> statement_index_;
  bool broken_ = false;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

// Opens a connection for a DSN: TCP or unix socket, the session's timeouts, no automatic
// reconnect (a silent reconnect would lose session state such as named locks), time_zone
// '+00:00', strict SQL mode, READ COMMITTED. `with_database` false connects without selecting a
// database (to create it). Thread-safe.
absl::StatusOr<std::unique_ptr<MySqlConnection>> ConnectMySql(
    const MySqlDsn& dsn, bool with_database, const MySqlSessionOptions& session,
    size_t statement_cache_size = MySqlConnection::kDefaultStatementCacheSize);

struct MySqlPoolOptions {
  // At most this many connections are open at once (leased and idle together).
  int max_connections = 8;
  // How long a call waits for a connection while all are in use; then UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(5);
  // An idle connection unused for this long is pinged before it is handed out, so the first call
  // after a database restart does not fail on a connection that died meanwhile.
  absl::Duration check_idle_after = absl::Seconds(1);
  size_t statement_cache_size = MySqlConnection::kDefaultStatementCacheSize;
  MySqlSessionOptions session;
};

// The pool of connections every MySqlStore call runs on. A connection that failed with a connection
// error is dropped together with every idle one (after a server restart all of them are dead).
// Thread-safe.
class MySqlConnectionPool {
 public:
  MySqlConnectionPool(MySqlDsn dsn, MySqlPoolOptions options)
      : dsn_(std::move(dsn)), options_(std::move(options)) {}
  ~MySqlConnectionPool();

  // Runs `body` on a pooled connection (autocommit: each statement is its own transaction).
  // Exceptions become statuses (StatusFromSqlException).
  absl::Status Run(absl::string_view what,
                   const std::function<absl::Status(MySqlConnection&)>& body);

  // Runs `body` in one transaction, begun and ended with START TRANSACTION / COMMIT / ROLLBACK
  // statements so that every failure of COMMIT surfaces. Committed when `body` returns OK; rolled
  // back otherwise. A connection lost during COMMIT leaves the outcome unknown: that is
  // UNAVAILABLE, never OK. Retried from the start (up to kTransactionAttempts in all) when the
  // database aborts it (deadlock, lock wait timeout), so `body` must reset whatever it computes.
  static constexpr int kTransactionAttempts = 3;
  absl::Status RunInTransaction(absl::string_view what,
                                const std::function<absl::Status(MySqlConnection&)>& body);

  // A connection of its own, outside the pool and its cap, with its own session settings (e.g. a
  // long read timeout for a lock wait, or a short idle timeout for a leader session).
  absl::StatusOr<std::unique_ptr<MySqlConnection>> OpenDedicated(const MySqlSessionOptions& session,
                                                                 bool with_database = true);

  const MySqlDsn& dsn() const { return dsn_; }
  const MySqlPoolOptions& options() const { return options_; }
  // Connections open now (leased and idle), and idle ones; for tests and diagnostics.
  int open_connections() const;
  int idle_connections() const;

 private:
  absl::StatusOr<std::unique_ptr<MySqlConnection>> Acquire();
  void Release(std::unique_ptr<MySqlConnection> connection, bool drop_idle);
  // Takes an idle connection (nullptr if none); mu_ held.
  std::unique_ptr<MySqlConnection> TakeIdle() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const MySqlDsn dsn_;
  const MySqlPoolOptions options_;
  mutable absl::Mutex mu_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // leased + idle + being opened
  std::vector<std::unique_ptr<MySqlConnection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_MYSQL_CONNECTION_H_
