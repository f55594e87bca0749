#include "sync/stats_job.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "sync/job_schedule.h"
#include "sync/job_util.h"

namespace whalefeed::sync {
namespace {
constexpr char kJob[] = "stats";
}  // namespace

StatsJob::StatsJob(db::Store& store, OpinionApi& /*api*/, const Clock& clock,
                   StatsJobOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

absl::Time StatsJob::NextRunTime(absl::Time last_started, absl::Time now) const {
  return NextIntervalRun(last_started, now, options_.interval);
}

absl::StatusOr<JobOutcome> StatsJob::RunOnce(const JobContext& context) {
  // Every wallet, untracked ones too: their history still counts.
  ASSIGN_OR_RETURN(std::vector<db::Whale> whales, store_.ListWhales(/*tracked_only=*/false));
  int64_t caught_up = 0;
  for (const db::Whale& w : whales) {
    RETURN_IF_ERROR(CheckCancelled(context, kJob));
    ASSIGN_OR_RETURN(const int64_t counted,
                     store_.AddToAllTimeStats(context.fence, w.wallet, clock_.Now()));
    caught_up += counted;
  }
  RETURN_IF_ERROR(CheckCancelled(context, kJob));
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(const int64_t windows, store_.RecomputeWindowStats(context.fence, now));
  RETURN_IF_ERROR(CheckCancelled(context, kJob));
  ASSIGN_OR_RETURN(const int64_t flow, store_.RecomputeMarketWhaleFlow(context.fence, now));
  WF_LOG(INFO) << kJob << ": " << windows << " window rows, " << flow << " market flow rows, "
               << caught_up << " trades folded into all-time totals late";
  JobOutcome outcome;
  outcome.item_count = windows + flow;
  if (caught_up > 0) {
    outcome.note = absl::StrCat(caught_up, " trades were folded into all-time totals late");
  }
  return outcome;
}

}  // namespace whalefeed::sync
