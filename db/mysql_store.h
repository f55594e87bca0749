// Store on MySQL 8 / MariaDB 10.11 through Connector/C++ 1.1.
#ifndef WHALEFEED_DB_MYSQL_STORE_H_
#define WHALEFEED_DB_MYSQL_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "db/dsn.h"
#include "db/store.h"

namespace sql {
class Connection;
class PreparedStatement;
class SQLException;
}  // namespace sql

namespace whalefeed::db {

// Maps a Connector/C++ exception to a canonical status by MySQL errno: connection errors (2002,
// 2003, 2006, 2013, 2055, 1927, 1053, and SQLSTATE class 08) are UNAVAILABLE, deadlock / lock wait
// timeout (1213, 1205) ABORTED, duplicate key (1062) ALREADY_EXISTS, everything else INTERNAL.
// `what` names the operation. (MySqlConnectionPool also turns INTERNAL into UNAVAILABLE when the
// connection turns out to be dead.)
absl::Status StatusFromSqlException(const sql::SQLException& e, absl::string_view what);

// The INSERT of `rows` whale_activity rows (18 parameters each, the columns of Activity less
// sequence; ingested_time is the store's `now`); a row whose natural key is stored already changes
// nothing.
std::string ActivityInsertSql(size_t rows);
// Binds `activity` as the row whose parameters start after `offset`.
void BindActivity(sql::PreparedStatement& ps, int offset, const Activity& activity, absl::Time now);

// Connector/C++ 1.1 needs threadInit()/threadEnd() on every thread that uses it. Called by
// MySqlStore and the other users of the connector before they touch it; idempotent and cheap after
// the first call on a thread.
void EnsureMySqlThreadInit();

// One pooled connection with its prepared statements. Never crosses threads while leased.
class MySqlConnection {
 public:
  explicit MySqlConnection(std::unique_ptr<sql::Connection> connection);
  ~MySqlConnection();

  sql::Connection& raw() { return *connection_; }
  // Whether the server still answers on this connection (a round trip).
  bool IsAlive();
  // The prepared statement for `sql`, prepared once per connection and reused (parameters cleared).
  sql::PreparedStatement& Prepare(const std::string& sql);

 private:
  std::unique_ptr<sql::Connection> connection_;
  std::vector<std::pair<std::string, std::unique_ptr<sql::PreparedStatement>>> statements_;
};

// Opens connections for a DSN: TCP or unix socket, connect / read / write timeouts, no automatic
// reconnect, session time_zone '+00:00' and strict SQL mode. `with_database` false connects without
// selecting a database (to create it). Thread-safe.
absl::StatusOr<std::unique_ptr<MySqlConnection>> ConnectMySql(const MySqlDsn& dsn,
                                                              bool with_database,
                                                              absl::Duration timeout);

// A small pool of connections. A connection that failed with a connection error is dropped together
// with every idle one (after a server restart all of them are dead), so the next call reconnects.
// Thread-safe.
class MySqlConnectionPool {
 public:
  MySqlConnectionPool(MySqlDsn dsn, int max_idle, absl::Duration timeout)
      : dsn_(std::move(dsn)), max_idle_(max_idle), timeout_(timeout) {}

  // Runs `body` on a pooled connection; exceptions become statuses (StatusFromSqlException).
  absl::Status Run(absl::string_view what,
                   const std::function<absl::Status(MySqlConnection&)>& body);
  // Like Run, inside a transaction: committed when `body` returns OK, rolled back otherwise.
  // Retried (up to 3 attempts) when the database aborts it (deadlock, lock wait timeout).
  absl::Status RunInTransaction(absl::string_view what,
                                const std::function<absl::Status(MySqlConnection&)>& body);

  const MySqlDsn& dsn() const { return dsn_; }

 private:
  absl::StatusOr<std::unique_ptr<MySqlConnection>> Acquire();
  void Release(std::unique_ptr<MySqlConnection> connection);
  void DropIdle();

  const MySqlDsn dsn_;
  const int max_idle_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<MySqlConnection>> idle_ ABSL_GUARDED_BY(mu_);
};

struct MySqlStoreOptions {
  MySqlDsn dsn;
  int max_idle_connections = 8;
  absl::Duration timeout = absl::Seconds(5);  // connect, read and write timeout of each connection
};

class MySqlStore final : public Store {
 public:
  // Connects lazily: Create does not touch the database (so a server can start while it is down);
  // call PrepareDatabase() before use.
  static absl::StatusOr<std::unique_ptr<MySqlStore>> Create(MySqlStoreOptions options);

  // Creates the database if it does not exist (when the user may), then applies pending migrations
  // under a lock. Safe to call from several processes at once. UNAVAILABLE while the server cannot
  // be reached.
  absl::Status PrepareDatabase();

  absl::Status Ping() override;
  absl::StatusOr<FeedMeta> GetFeedMeta() override;
  absl::StatusOr<int> GetSchemaVersion() override;

  absl::StatusOr<UpsertMarketsResult> UpsertMarkets(absl::Span<const Market> markets,
                                                    absl::Time now) override;
  absl::StatusOr<Market> GetMarket(int64_t market_id) override;
  absl::StatusOr<std::vector<Market>> GetChildMarkets(int64_t parent_market_id) override;

  absl::StatusOr<Whale> TrackWhale(absl::string_view wallet, absl::string_view label,
                                   WhaleSource source, absl::Time now) override;
  absl::StatusOr<Whale> UntrackWhale(absl::string_view wallet) override;
  absl::StatusOr<Whale> GetWhale(absl::string_view wallet) override;
  absl::StatusOr<std::vector<Whale>> ListWhales(bool tracked_only) override;

  absl::StatusOr<IngestResult> IngestActivities(absl::string_view wallet,
                                                absl::Span<const Activity> trades,
                                                const PollState& poll, absl::Time now) override;
  absl::StatusOr<std::vector<Activity>> ReadActivitiesAfter(uint64_t after_sequence,
                                                            int limit) override;
  absl::StatusOr<uint64_t> GetLatestSequence() override;

  absl::StatusOr<int64_t> StartSyncRun(SyncJob job, absl::string_view replica_id,
                                       absl::Time now) override;
  absl::Status FinishSyncRun(int64_t run_id, RunStatus status, int64_t item_count,
                             absl::string_view error, absl::Time now) override;
  absl::StatusOr<std::vector<SyncJobSummary>> GetSyncJobSummaries() override;

 private:
  explicit MySqlStore(MySqlStoreOptions options);

  const MySqlStoreOptions options_;
  MySqlConnectionPool pool_;
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_MYSQL_STORE_H_
