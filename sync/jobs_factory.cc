#include "sync/jobs_factory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace whalefeed::sync {
namespace {

absl::Status Positive(absl::Duration d, const char* flag) {
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", absl::FormatDuration(d), " must be positive"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<SyncJobRunner*> SyncJobs::All() const {
  return {markets.get(), whale_trades.get(), stats.get(), cleanup.get()};
}

absl::Status ValidateSyncJobsOptions(const SyncJobsOptions& o) {
  RETURN_IF_ERROR(Positive(o.markets.interval, "--markets_interval"));
  RETURN_IF_ERROR(Positive(o.whale_trades.tick_interval, "--whale_tick_interval"));
  RETURN_IF_ERROR(Positive(o.whale_trades.min_poll_interval, "--whale_min_poll_interval"));
  RETURN_IF_ERROR(Positive(o.whale_trades.max_poll_interval, "--whale_max_poll_interval"));
  if (o.whale_trades.min_poll_interval > o.whale_trades.max_poll_interval) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--whale_min_poll_interval: ", absl::FormatDuration(o.whale_trades.min_poll_interval),
        " is above --whale_max_poll_interval ",
        absl::FormatDuration(o.whale_trades.max_poll_interval)));
  }
  if (o.whale_trades.overlap < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--whale_poll_overlap: ", absl::FormatDuration(o.whale_trades.overlap),
                     " must not be negative"));
  }
  if (o.whale_trades.backfill_max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--backfill_max_age: ", absl::FormatDuration(o.whale_trades.backfill_max_age),
                     " must not be negative"));
  }
  // Early polls: the share of the upstream rate the whale-trades job may fill.
  if (!(o.whale_trades.budget_share >= 0 && o.whale_trades.budget_share <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--whale_budget_share: ", o.whale_trades.budget_share, " is not in [0, 1]"));
  }
  RETURN_IF_ERROR(Positive(o.stats.interval, "--stats_interval"));
  if (o.cleanup.retention < absl::Hours(24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--retention: ", absl::FormatDuration(o.cleanup.retention), " is shorter than a day"));
  }
  if (o.cleanup.time_of_day < absl::ZeroDuration() || o.cleanup.time_of_day >= absl::Hours(24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cleanup_time: ", absl::FormatDuration(o.cleanup.time_of_day), " is not a time of day"));
  }
  if (o.whale_trades.max_wallets_per_run < 1 || o.whale_trades.page_size < 1 ||
      o.whale_trades.page_size > 20 || o.markets.page_size < 1 || o.markets.page_size > 20 ||
      o.cleanup.batch_size < 1 || o.markets.upsert_chunk < 1) {
    return absl::InvalidArgumentError(
        "sync job sizes: page sizes must be 1 to 20, batch sizes and wallets per run positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<SyncJobs> MakeSyncJobs(db::Store& store, OpinionApi& api, const Clock& clock,
                                      SyncJobsOptions options) {
  RETURN_IF_ERROR(ValidateSyncJobsOptions(options));
  options.whale_trades.retention = options.cleanup.retention;
  SyncJobs jobs;
  jobs.markets = std::make_unique<MarketsJob>(store, api, clock, std::move(options.markets));
  jobs.whale_trades =
      std::make_unique<WhaleTradesJob>(store, api, clock, std::move(options.whale_trades));
  jobs.stats = std::make_unique<StatsJob>(store, api, clock, std::move(options.stats));
  jobs.cleanup = std::make_unique<CleanupJob>(store, api, clock, std::move(options.cleanup));
  return jobs;
}

}  // namespace whalefeed::sync
