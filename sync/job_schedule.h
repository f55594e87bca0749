// When the sync jobs run: fixed intervals and a daily time of day in UTC. Missed runs coalesce: the
// answer is always one time, never a backlog, and never earlier than the last run allows.
#ifndef WHALEFEED_SYNC_JOB_SCHEDULE_H_
#define WHALEFEED_SYNC_JOB_SCHEDULE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace whalefeed::sync {

// `interval` after the last start, or `now` when that has passed already (or there was no run:
// `last_started` is InfinitePast).
absl::Time NextIntervalRun(absl::Time last_started, absl::Time now, absl::Duration interval);

// The first `time_of_day` (UTC, a duration after midnight in [0, 24h)) strictly after
// `last_started`, or `now` when that has passed already (days missed while stopped make one run).
// Without a last run: the first `time_of_day` at or after `now`. UTC has no DST: every day is 24 h.
absl::Time NextDailyRun(absl::Time last_started, absl::Time now, absl::Duration time_of_day);

// "HH:MM" (00:00 to 23:59) as a duration after midnight. INVALID_ARGUMENT naming `flag` and the
// value otherwise.
absl::StatusOr<absl::Duration> ParseTimeOfDay(absl::string_view text, absl::string_view flag);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_JOB_SCHEDULE_H_
