// Store kept in memory: the fake for fast unit tests. Behaves as MySqlStore does (the same contract
// suite runs on both), including canonical decimals, natural-key dedupe and commit-ordered
// sequences.
#ifndef WHALEFEED_DB_IN_MEMORY_STORE_H_
#define WHALEFEED_DB_IN_MEMORY_STORE_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "db/store.h"

namespace whalefeed::db {

// Thread-safe: one mutex guards everything.
class InMemoryStore final : public Store {
 public:
  explicit InMemoryStore(std::string feed_id = "00000000000000000000000000000001");

  // While set, every call fails with UNAVAILABLE, as MySqlStore does while the database is down.
  void SetAvailable(bool available);

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

  // Read API for the query services (in_memory_store_queries.cc).
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
  // ---- Sync jobs (in_memory_store_sync_jobs.cc) ----
  absl::StatusOr<std::vector<Whale>> ListDueWhales(absl::Time now, int limit) override;
  // ---- Sync jobs: early polls (in_memory_store_sync_jobs.cc) ----
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
  // ---- Data versions ----
  absl::StatusOr<DataVersions> GetDataVersions() override;

 private:
  // Whale volume over 24h of every market that has flow: its own for each market id, and under
  // each top-level id the sum over itself and its children.
  struct WhaleVolumes {
    absl::flat_hash_map<int64_t, absl::int128> own;
    absl::flat_hash_map<int64_t, absl::int128> tree;
  };
  WhaleVolumes ComputeWhaleVolumes() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  MarketEntry MakeEntry(const Market& market, const WhaleVolumes& volumes, bool with_children) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status CheckAvailable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  bool available_ ABSL_GUARDED_BY(mu_) = true;
  const FeedMeta meta_;
  LeaderState leader_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, Market> markets_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Whale> whales_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Activity> activity_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> activity_ids_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, SyncRun> runs_ ABSL_GUARDED_BY(mu_);
  int64_t next_run_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Read API: stats rows.
  std::map<std::pair<std::string, StatsWindow>, WhaleStats> stats_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int64_t, Outcome>, MarketWhaleFlow> flows_ ABSL_GUARDED_BY(mu_);
  // Sync control.
  std::map<int64_t, SyncRequest> pending_requests_ ABSL_GUARDED_BY(mu_);
  int64_t next_request_id_ ABSL_GUARDED_BY(mu_) = 1;
  PublishedLimiter limiter_ ABSL_GUARDED_BY(mu_);

  // ---- Sync jobs ----
  // whale_stats rows and market_whale_flow rows are the read API's stats_ and flows_ above.
  // Per wallet, the highest sequence folded into its all-time row, and the markets it has traded.
  std::map<std::string, uint64_t> counted_through_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<std::string, int64_t>> alltime_markets_ ABSL_GUARDED_BY(mu_);
  uint64_t retention_floor_ ABSL_GUARDED_BY(mu_) = 0;

  // ---- Data versions: raised by every write of their reads (see Store::GetDataVersions) ----
  DataVersions versions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_IN_MEMORY_STORE_H_
