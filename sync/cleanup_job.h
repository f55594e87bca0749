// FR-SYNC-5: daily retention cleanup (03:00 UTC by default). Deletes whale activity ingested more
// than the retention ago, oldest first, in small fenced batches (each raises the feed's retention
// floor, so it only moves forward, and each is a short transaction, so ingest never waits long),
// then prunes old sync runs and taken run requests. All-time stats are running totals and are kept.
#ifndef WHALEFEED_SYNC_CLEANUP_JOB_H_
#define WHALEFEED_SYNC_CLEANUP_JOB_H_

#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "sync/job.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

struct CleanupJobOptions {
  absl::Duration time_of_day = absl::Hours(3);      // --cleanup_time "03:00" (UTC)
  absl::Duration retention = absl::Hours(24 * 90);  // --retention
  int batch_size = 1000;                            // rows per transaction
  // Sync runs and taken requests older than this go too; zero: the same as `retention`.
  absl::Duration sync_history_retention = absl::ZeroDuration();
};

class CleanupJob final : public SyncJobRunner {
 public:
  // `api` is unused; taken so that every job is built alike.
  CleanupJob(db::Store& store, OpinionApi& api, const Clock& clock, CleanupJobOptions options);

  db::SyncJob job() const override { return db::SyncJob::kCleanup; }
  absl::Time NextRunTime(absl::Time last_started, absl::Time now) const override;
  // item_count: activity rows deleted.
  absl::StatusOr<JobOutcome> RunOnce(const JobContext& context) override;

 private:
  db::Store& store_;
  const Clock& clock_;
  const CleanupJobOptions options_;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_CLEANUP_JOB_H_
