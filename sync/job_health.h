// Naming and health of the sync jobs, judged from the database alone so that every replica says
// the same (design §6.3): a job is healthy while its last COMPLETED run ended less than three of
// its intervals ago and its latest run was not refused by the upstream for authorisation (a bad
// API key or a region block shows at once, without waiting for the three intervals to pass).
#ifndef WHALEFEED_SYNC_JOB_HEALTH_H_
#define WHALEFEED_SYNC_JOB_HEALTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/store.h"

namespace whalefeed::sync {

// "markets", "whale_trades", "stats", "cleanup"; "unspecified" otherwise.
inline absl::string_view SyncJobName(db::SyncJob job) {
  switch (job) {
    case db::SyncJob::kMarkets:
      return "markets";
    case db::SyncJob::kWhaleTrades:
      return "whale_trades";
    case db::SyncJob::kStats:
      return "stats";
    case db::SyncJob::kCleanup:
      return "cleanup";
    case db::SyncJob::kUnspecified:
      break;
  }
  return "unspecified";
}

// How a failed run's error is stored in sync_logs: "<CODE>: <message>", so that any replica can
// tell an upstream authorisation failure from the text.
inline std::string RunErrorText(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

// An upstream refusal that retrying cannot fix: UNAUTHENTICATED (bad API key) or
// PERMISSION_DENIED (region block).
inline bool IsUpstreamAuthFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kUnauthenticated || code == absl::StatusCode::kPermissionDenied;
}

// Whether `run` failed that way (read back from its stored error text).
inline bool FailedOnUpstreamAuth(const db::SyncRun& run) {
  return run.status == db::RunStatus::kFailed &&
         (absl::StartsWith(run.error, "UNAUTHENTICATED:") ||
          absl::StartsWith(run.error, "PERMISSION_DENIED:"));
}

// How often each job is meant to run (the jobs' own flags set it in main.cc).
struct SyncJobIntervals {
  absl::Duration markets = absl::Minutes(5);
  absl::Duration whale_trades = absl::Minutes(1);
  absl::Duration stats = absl::Hours(1);
  absl::Duration cleanup = absl::Hours(24);

  absl::Duration Of(db::SyncJob job) const {
    switch (job) {
      case db::SyncJob::kMarkets:
        return markets;
      case db::SyncJob::kWhaleTrades:
        return whale_trades;
      case db::SyncJob::kStats:
        return stats;
      case db::SyncJob::kCleanup:
        return cleanup;
      case db::SyncJob::kUnspecified:
        break;
    }
    return absl::ZeroDuration();
  }
};

// The rule of the file comment. `interval` is how often the job is meant to run.
inline bool IsJobHealthy(const db::SyncJobSummary& summary, absl::Duration interval,
                         absl::Time now) {
  if (FailedOnUpstreamAuth(summary.latest)) return false;
  if (summary.last_completed_time == absl::InfinitePast()) return false;
  return now - summary.last_completed_time < 3 * interval;
}

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_JOB_HEALTH_H_
