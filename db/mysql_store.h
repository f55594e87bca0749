// Store on MySQL 8 / MariaDB 10.11 through Connector/C++ 1.1. The pool, transactions and the errno
// mapping are in mysql_connection.h, the row mapping in mysql_rows.h, the migrator in
// migrations.h.
#ifndef WHALEFEED_DB_MYSQL_STORE_H_
#define WHALEFEED_DB_MYSQL_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/dsn.h"
#include "db/mysql_connection.h"
#include "db/store.h"

namespace whalefeed::db {

struct MySqlStoreOptions {
  MySqlDsn dsn;
  MySqlPoolOptions pool;
  // How long PrepareDatabase waits for another replica's migrations (its connection's read timeout
  // is set to outlast it).
  absl::Duration migration_lock_wait = absl::Seconds(120);
};

class MySqlStore final : public Store {
 public:
  // Connects lazily: Create does not touch the database (so a server can start while it is down);
  // call PrepareDatabase() before use.
  static absl::StatusOr<std::unique_ptr<MySqlStore>> Create(MySqlStoreOptions options);

  // Creates the database if it does not exist (when the user may), then applies pending migrations
  // under a lock, on a connection of its own. Safe to call from several processes at once.
  // UNAVAILABLE while the server cannot be reached.
  absl::Status PrepareDatabase();

  // A connection outside the pool with its own session settings (see MySqlConnectionPool).
  absl::StatusOr<std::unique_ptr<MySqlConnection>> OpenDedicatedConnection(
      const MySqlSessionOptions& session);

  MySqlConnectionPool& pool() { return pool_; }

  absl::Status Ping() override;
  absl::StatusOr<Fence> AdvanceLeaderEpoch(absl::string_view replica_id, absl::Time now) override;
  absl::StatusOr<LeaderState> GetLeader() override;
  absl::StatusOr<FeedMeta> GetFeedMeta() override;
  absl::StatusOr<int> GetSchemaVersion() override;

  absl::StatusOr<UpsertMarketsResult> UpsertMarkets(const Fence& fence,
                                                    absl::Span<const Market> markets,
                                                    absl::Time now) override;
  absl::StatusOr<Market> GetMarket(int64_t market_id) override;
  absl::StatusOr<std::vector<Market>> GetChildMarkets(int64_t parent_market_id) override;

  absl::StatusOr<Whale> TrackWhale(absl::string_view wallet, absl::string_view label,
                                   WhaleSource source, absl::Time now) override;
  absl::StatusOr<Whale> UntrackWhale(absl::string_view wallet) override;
  absl::StatusOr<Whale> GetWhale(absl::string_view wallet) override;
  absl::StatusOr<std::vector<Whale>> ListWhales(bool tracked_only) override;

  absl::StatusOr<IngestResult> IngestActivities(const Fence& fence, absl::string_view wallet,
                                                absl::Span<const Activity> trades,
                                                const PollState& poll, absl::Time now) override;
  absl::StatusOr<std::vector<Activity>> ReadActivitiesAfter(uint64_t after_sequence,
                                                            int limit) override;
  absl::StatusOr<uint64_t> GetLatestSequence() override;
  // Feed reads (WatchWhaleActivity)
  absl::StatusOr<uint64_t> GetFeedPositionAt(absl::Time ingested_from) override;
  absl::StatusOr<FeedFreshness> GetFeedFreshness() override;

  absl::StatusOr<int64_t> StartSyncRun(const Fence& fence, SyncJob job,
                                       absl::string_view replica_id, absl::Time now) override;
  absl::Status FinishSyncRun(const Fence& fence, int64_t run_id, RunStatus status,
                             int64_t item_count, absl::string_view error, absl::Time now) override;
  absl::StatusOr<std::vector<SyncJobSummary>> GetSyncJobSummaries() override;

  // Read API for the query services (mysql_store_queries.cc).
  absl::StatusOr<MarketPage> ListMarketEntries(const MarketQuery& query) override;
  absl::StatusOr<MarketEntry> GetMarketEntry(int64_t market_id) override;
  absl::StatusOr<WhalePage> ListWhaleEntries(const WhaleQuery& query) override;
  absl::StatusOr<std::vector<WhaleStats>> GetWhaleStats(absl::string_view wallet) override;
  absl::StatusOr<std::vector<Activity>> ListRecentActivity(absl::string_view wallet,
                                                           int limit) override;
  absl::StatusOr<ActivityPage> ListActivity(const ActivityQuery& query) override;
  absl::Status UpsertWhaleStats(const Fence& fence, absl::Span<const WhaleStats> stats,
                                absl::Time now) override;
  absl::Status UpsertMarketWhaleFlow(const Fence& fence, absl::Span<const MarketWhaleFlow> flows,
                                     absl::Time now) override;
  // ---- Sync control ----
  absl::StatusOr<int64_t> FailRunningSyncRuns(const Fence& fence, absl::Time now,
                                              absl::string_view reason) override;
  absl::StatusOr<SyncRequestResult> RequestSyncRun(SyncJob job, absl::Time now) override;
  absl::StatusOr<std::vector<SyncRequest>> TakeSyncRequests(const Fence& fence,
                                                            absl::Span<const SyncJob> jobs,
                                                            absl::Time now) override;
  absl::Status PublishLimiter(const Fence& fence, const LimiterSnapshot& limiter,
                              absl::Time now) override;
  absl::StatusOr<PublishedLimiter> GetPublishedLimiter() override;
  // ---- end of Sync control ----
  // ---- Sync jobs (mysql_store_sync_jobs.cc) ----
  absl::StatusOr<std::vector<Whale>> ListDueWhales(absl::Time now, int limit) override;
  // ---- Sync jobs: early polls (mysql_store_sync_jobs.cc) ----
  absl::StatusOr<std::vector<Whale>> ListEarlyPollWhales(absl::Time now, absl::Time polled_before,
                                                         absl::Duration max_interval,
                                                         int limit) override;
  // ---- end of early polls ----
  absl::StatusOr<std::vector<std::string>> FindStoredActivityIds(
      absl::Span<const std::string> activity_ids) override;
  absl::StatusOr<int64_t> AddToAllTimeStats(const Fence& fence, absl::string_view wallet,
                                            absl::Time now) override;
  absl::StatusOr<int64_t> RecomputeWindowStats(const Fence& fence, absl::Time now) override;
  absl::StatusOr<int64_t> RecomputeMarketWhaleFlow(const Fence& fence, absl::Time now) override;
  absl::StatusOr<std::vector<WhaleStats>> ReadWhaleStatsOfWallet(absl::string_view wallet) override;
  absl::StatusOr<std::vector<MarketWhaleFlow>> ReadMarketWhaleFlow() override;
  absl::StatusOr<CleanupBatch> DeleteExpiredActivity(const Fence& fence, absl::Time ingested_before,
                                                     int limit) override;
  absl::StatusOr<int64_t> PruneSyncHistory(const Fence& fence, absl::Time before,
                                           int limit) override;
  // ---- Data versions (mysql_store.cc) ----
  absl::StatusOr<DataVersions> GetDataVersions() override;

 private:
  explicit MySqlStore(MySqlStoreOptions options);

  const MySqlStoreOptions options_;
  MySqlConnectionPool pool_;
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_MYSQL_STORE_H_
