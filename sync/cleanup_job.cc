#include "sync/cleanup_job.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "sync/job_schedule.h"
#include "sync/job_util.h"

namespace whalefeed::sync {
namespace {
constexpr char kJob[] = "cleanup";
}  // namespace

CleanupJob::CleanupJob(db::Store& store, OpinionApi& /*api*/, const Clock& clock,
                       CleanupJobOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

absl::Time CleanupJob::NextRunTime(absl::Time last_started, absl::Time now) const {
  return NextDailyRun(last_started, now, options_.time_of_day);
}

absl::StatusOr<JobOutcome> CleanupJob::RunOnce(const JobContext& context) {
  const absl::Time now = clock_.Now();
  const absl::Time expired_before = now - options_.retention;
  int64_t deleted = 0;
  uint64_t floor = 0;
  for (;;) {
    RETURN_IF_ERROR(CheckCancelled(context, kJob));
    ASSIGN_OR_RETURN(
        db::CleanupBatch batch,
        store_.DeleteExpiredActivity(context.fence, expired_before, options_.batch_size));
    deleted += batch.deleted;
    floor = batch.retention_floor;
    if (!batch.more) break;
  }
  const absl::Duration history = options_.sync_history_retention > absl::ZeroDuration()
                                     ? options_.sync_history_retention
                                     : options_.retention;
  int64_t pruned = 0;
  for (;;) {
    RETURN_IF_ERROR(CheckCancelled(context, kJob));
    ASSIGN_OR_RETURN(const int64_t n,
                     store_.PruneSyncHistory(context.fence, now - history, options_.batch_size));
    pruned += n;
    if (n < options_.batch_size) break;
  }
  WF_LOG(INFO) << kJob << ": deleted " << deleted << " activities ingested before "
               << absl::FormatTime(expired_before, absl::UTCTimeZone()) << " (retention floor "
               << floor << "), pruned " << pruned << " sync runs and requests";
  JobOutcome outcome;
  outcome.item_count = deleted;
  return outcome;
}

}  // namespace whalefeed::sync
