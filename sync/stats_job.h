// FR-SYNC-4, the hourly part: folds any activity the after-ingest counters missed into the all-time
// rows, then recomputes the 24h / 7d / 30d windows, every window's ranks and the per-market whale
// flow, all in SQL (db::Store). The incremental part runs in WhaleTradesJob right after each
// ingest commit.
#ifndef WHALEFEED_SYNC_STATS_JOB_H_
#define WHALEFEED_SYNC_STATS_JOB_H_

#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "sync/job.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

struct StatsJobOptions {
  absl::Duration interval = absl::Hours(1);  // --stats_interval
};

class StatsJob final : public SyncJobRunner {
 public:
  // `api` is unused (stats come from the database); taken so that every job is built alike.
  StatsJob(db::Store& store, OpinionApi& api, const Clock& clock, StatsJobOptions options);

  db::SyncJob job() const override { return db::SyncJob::kStats; }
  absl::Time NextRunTime(absl::Time last_started, absl::Time now) const override;
  // item_count: window rows plus market flow rows written.
  absl::StatusOr<JobOutcome> RunOnce(const JobContext& context) override;

 private:
  db::Store& store_;
  const Clock& clock_;
  const StatsJobOptions options_;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_STATS_JOB_H_
