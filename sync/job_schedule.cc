#include "sync/job_schedule.h"

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace whalefeed::sync {
namespace {

constexpr absl::Duration kDay = absl::Hours(24);

// Midnight UTC of the day holding `t`.
absl::Time StartOfDay(absl::Time t) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  const int64_t day = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  return absl::FromUnixSeconds(day * 86400);
}

// The first `time_of_day` strictly after `t` (or at it, when `inclusive`).
absl::Time NextTimeOfDay(absl::Time t, absl::Duration time_of_day, bool inclusive) {
  absl::Time candidate = StartOfDay(t) + time_of_day;
  if (candidate < t || (!inclusive && candidate == t)) candidate += kDay;
  return candidate;
}

}  // namespace

absl::Time NextIntervalRun(absl::Time last_started, absl::Time now, absl::Duration interval) {
  if (last_started == absl::InfinitePast()) return now;
  return std::max(last_started + interval, now);
}

absl::Time NextDailyRun(absl::Time last_started, absl::Time now, absl::Duration time_of_day) {
  if (last_started == absl::InfinitePast()) return NextTimeOfDay(now, time_of_day, true);
  return std::max(NextTimeOfDay(last_started, time_of_day, false), now);
}

absl::StatusOr<absl::Duration> ParseTimeOfDay(absl::string_view text, absl::string_view flag) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": \"", text.substr(0, 40), "\" is not a time of day HH:MM (00:00 to 23:59, UTC)"));
  };
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos || colon == 0 || colon > 2 || text.size() != colon + 3) {
    return bad();
  }
  int hours = 0, minutes = 0;
  for (char c : text) {
    if (c != ':' && (c < '0' || c > '9')) return bad();
  }
  if (!absl::SimpleAtoi(text.substr(0, colon), &hours) ||
      !absl::SimpleAtoi(text.substr(colon + 1), &minutes) || hours > 23 || minutes > 59) {
    return bad();
  }
  return absl::Hours(hours) + absl::Minutes(minutes);
}

}  // namespace whalefeed::sync
