// Builds the four sync jobs from one options struct, so that the composition root wires them in one
// call and hands SyncJobs::All() to the scheduler.
#ifndef WHALEFEED_SYNC_JOBS_FACTORY_H_
#define WHALEFEED_SYNC_JOBS_FACTORY_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "db/store.h"
#include "sync/cleanup_job.h"
#include "sync/job.h"
#include "sync/markets_job.h"
#include "sync/opinion_api.h"
#include "sync/stats_job.h"
#include "sync/whale_trades_job.h"

namespace whalefeed::sync {

struct SyncJobsOptions {
  MarketsJobOptions markets;
  WhaleTradesJobOptions whale_trades;  // its `retention` is taken from cleanup.retention
  StatsJobOptions stats;
  CleanupJobOptions cleanup;
};

struct SyncJobs {
  std::unique_ptr<MarketsJob> markets;
  std::unique_ptr<WhaleTradesJob> whale_trades;  // Reload() on SIGHUP
  std::unique_ptr<StatsJob> stats;
  std::unique_ptr<CleanupJob> cleanup;

  // The four jobs, in SyncJob order, for the scheduler.
  std::vector<SyncJobRunner*> All() const;
};

// INVALID_ARGUMENT naming the flag for an option out of range (a non-positive interval, a minimum
// poll interval above the maximum, a retention shorter than a day, ...).
absl::Status ValidateSyncJobsOptions(const SyncJobsOptions& options);

// `store`, `api` and `clock` must outlive the jobs.
absl::StatusOr<SyncJobs> MakeSyncJobs(db::Store& store, OpinionApi& api, const Clock& clock,
                                      SyncJobsOptions options);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_JOBS_FACTORY_H_
