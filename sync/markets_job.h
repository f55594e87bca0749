// FR-SYNC-1: every market, binary and categorical (parents and children), every status, every few
// minutes. Only changed rows are written; every market seen has its synced time touched.
#ifndef WHALEFEED_SYNC_MARKETS_JOB_H_
#define WHALEFEED_SYNC_MARKETS_JOB_H_

#include <cstdint>

#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "sync/job.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

struct MarketsJobOptions {
  absl::Duration interval = absl::Minutes(5);  // --markets_interval
  int page_size = 20;                          // upstream maximum
  size_t upsert_chunk = 500;                   // markets per UpsertMarkets call
};

// Not thread-safe beyond the SyncJobRunner contract (one RunOnce at a time).
class MarketsJob final : public SyncJobRunner {
 public:
  MarketsJob(db::Store& store, OpinionApi& api, const Clock& clock, MarketsJobOptions options);

  db::SyncJob job() const override { return db::SyncJob::kMarkets; }
  absl::Time NextRunTime(absl::Time last_started, absl::Time now) const override;
  // Pages through E1 (every type and status) to the end; a categorical parent listed without its
  // children gets them from E3 (GetCategoricalMarketWithChildren). item_count: distinct markets seen; the note gives what was written
  // and the records skipped, with reasons.
  absl::StatusOr<JobOutcome> RunOnce(const JobContext& context) override;

 private:
  db::Store& store_;
  OpinionApi& api_;
  const Clock& clock_;
  const MarketsJobOptions options_;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_MARKETS_JOB_H_
