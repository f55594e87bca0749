// What the scheduler runs: one sync job's single step (design §4, style "worker = RunOnce + a thin
// loop"). The scheduler owns timing, leadership, sync_logs rows and overlap; a job only does its
// work for one run.
#ifndef WHALEFEED_SYNC_JOB_H_
#define WHALEFEED_SYNC_JOB_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/store.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

// What one run may use. Every leader-only write carries `fence`; `cancel` fires when leadership is
// lost or the server stops, and the run must then return promptly (CANCELLED).
struct JobContext {
  db::Fence fence;
  const CancelToken* cancel = nullptr;
  absl::Time now;  // when the run started, from the scheduler's clock
  std::string replica_id;
};

struct JobOutcome {
  int64_t item_count = 0;  // rows written or examined, as the job defines; goes to sync_logs
  std::string note;        // e.g. records skipped and why; goes to sync_logs' error text when set
};

// One sync job. RunOnce is called by one thread at a time (the scheduler never overlaps a job with
// itself).
class SyncJobRunner {
 public:
  virtual ~SyncJobRunner() = default;
  virtual db::SyncJob job() const = 0;
  // When the next run is due, given when the last one started (InfinitePast: never) and now.
  // Missed runs coalesce: the answer is one time, never a backlog.
  virtual absl::Time NextRunTime(absl::Time last_started, absl::Time now) const = 0;
  // One run. An error ends the run as FAILED with the status message in sync_logs.
  virtual absl::StatusOr<JobOutcome> RunOnce(const JobContext& context) = 0;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_JOB_H_
