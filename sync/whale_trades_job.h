// FR-SYNC-2 / FR-SYNC-3: polls the trades of tracked wallets (a watch-list file merged with the
// wallets tracked through the admin API) and stores what is new, with each wallet's checkpoint, in
// one fenced transaction per wallet.
//
// Per wallet, newest first, pages are read down to the checkpoint minus an overlap window (so a
// trade indexed late upstream, below the checkpoint, is still found) and no further. Trades are
// deduplicated by their natural key (activity_id): a page that shifted while being read, fills
// that share a tx hash and a second, and trades stored already cost no write. New trades go in
// oldest first; those traded before the wallet was tracked are BACKFILL (never older than the
// backfill bound nor the retention window), the rest LIVE.
//
// Cadence adapts per wallet: a wallet with new trades is polled again after the minimum interval, a
// quiet one backs off up to the maximum (doubling when polled on time). That interval is the latest
// a wallet is polled, the staleness bound. The job is ticked often and polls the wallets that are
// due first, the longest overdue first. Polling is work-conserving: while the shared upstream
// budget has room (all jobs' requests over the last seconds below `budget_share` of the rate
// limiter's current rate), a run goes on to poll wallets that are not due yet, the furthest
// through their interval first (relative to their interval, so a wallet that traded recently comes
// before a quiet one polled as long ago), none more often than the minimum interval. So quiet
// wallets are looked at far more often than their back-off when requests are spare, and exactly as
// the back-off says when they are not.
#ifndef WHALEFEED_SYNC_WHALE_TRADES_JOB_H_
#define WHALEFEED_SYNC_WHALE_TRADES_JOB_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "sync/job.h"
#include "sync/opinion_api.h"
#include "sync/rate_limiter.h"
#include "sync/watchlist.h"

namespace whalefeed::sync {

struct WhaleTradesJobOptions {
  std::string watchlist_path;                             // --watchlist; "" for none
  absl::Duration tick_interval = absl::Seconds(2);        // --whale_tick_interval
  absl::Duration min_poll_interval = absl::Seconds(10);   // --whale_min_poll_interval
  absl::Duration max_poll_interval = absl::Minutes(10);   // --whale_max_poll_interval
  absl::Duration overlap = absl::Minutes(10);             // --whale_poll_overlap
  absl::Duration backfill_max_age = absl::Hours(24 * 7);  // --backfill_max_age
  absl::Duration retention = absl::Hours(24 * 90);        // --retention (never fetch older)
  int max_wallets_per_run = 25;                           // due and early polls together
  // Early polls (work-conserving cadence). `upstream_budget` reads the shared rate limiter (its
  // current rate and the requests it has granted to every job); without it the job polls only due
  // wallets. Early polls go on while every job's requests over the last kBudgetWindow stay below
  // `budget_share` of the current rate, which leaves the rest to the other jobs; 0 turns them off.
  std::function<LimiterStats()> upstream_budget;
  double budget_share = 0.8;  // --whale_budget_share
  int page_size = 20;         // upstream maximum
  // Called after each committed ingest with its highest sequence (e.g. to wake the feed), outside
  // the ingest transaction, on the job's thread. Optional.
  std::function<void(uint64_t max_sequence)> on_commit;
};

// What one wallet's poll did.
struct WalletPollResult {
  int requests = 0;      // upstream pages read
  int64_t inserted = 0;  // new trades stored
  int64_t known = 0;     // trades read twice or found stored already: never sent to the ingest
  int64_t ingest_duplicates = 0;  // sent to the ingest but stored meanwhile (none normally)
  int64_t skipped = 0;            // records that could not be stored
};

// Reload() is thread-safe (the composition root calls it from its signal-handling thread on
// SIGHUP); RunOnce follows the SyncJobRunner contract.
class WhaleTradesJob final : public SyncJobRunner {
 public:
  // How far back early polls look at the upstream budget's use.
  static constexpr absl::Duration kBudgetWindow = absl::Seconds(10);

  WhaleTradesJob(db::Store& store, OpinionApi& api, const Clock& clock,
                 WhaleTradesJobOptions options);

  db::SyncJob job() const override { return db::SyncJob::kWhaleTrades; }
  absl::Time NextRunTime(absl::Time last_started, absl::Time now) const override;
  // Applies a newly read watch-list, then polls up to max_wallets_per_run wallets: the due ones,
  // then, while the upstream budget has room, ones that are not due yet.
  // item_count: new trades stored. UNAUTHENTICATED / PERMISSION_DENIED (bad key, region block) and
  // upstream outages end the run with that error (wallets polled before stay committed); a wallet
  // upstream refuses for its own reasons is put back by the maximum interval and named in the note.
  absl::StatusOr<JobOutcome> RunOnce(const JobContext& context) override;

  // Re-reads the watch-list file. On success the next run applies it: listed wallets are tracked
  // (source FILE; labels updated), FILE wallets no longer listed are untracked, API-tracked ones
  // are left alone. On error the list in force stays. OK and nothing to do without a watch-list
  // path.
  absl::Status Reload();

  // One poll of one wallet (exposed for tests and benchmarks).
  absl::StatusOr<WalletPollResult> PollWallet(const JobContext& context, const db::Whale& whale);

 private:
  absl::Status ApplyWatchlist(const std::vector<WatchlistEntry>& entries, absl::Time now);
  // Requests the upstream budget has room for now (<= 0: none), from the limiter's grants since the
  // oldest sample within kBudgetWindow. Records a sample.
  int64_t SpareRequests(absl::Time now);

  db::Store& store_;
  OpinionApi& api_;
  const Clock& clock_;
  const WhaleTradesJobOptions options_;

  absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<std::vector<WatchlistEntry>> pending_ ABSL_GUARDED_BY(mu_);

  // The limiter's grant count at earlier times, oldest first, none older than kBudgetWindow. Only
  // RunOnce touches it (runs never overlap).
  struct BudgetSample {
    absl::Time time;
    int64_t requests_total = 0;
  };
  std::deque<BudgetSample> budget_samples_;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_WHALE_TRADES_JOB_H_
