#include "sync/whale_trades_job.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "sync/job_schedule.h"
#include "sync/job_util.h"

namespace whalefeed::sync {
namespace {

constexpr char kJob[] = "whale trades sync";

// Errors that are not about one wallet: the run stops and reports them (a bad key, a region block,
// an upstream or database outage, lost leadership).
bool EndsTheRun(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

absl::Status WithWallet(const absl::Status& status, absl::string_view wallet) {
  return absl::Status(status.code(),
                      absl::StrCat(kJob, ": wallet ", wallet, ": ", status.message()));
}

}  // namespace

WhaleTradesJob::WhaleTradesJob(db::Store& store, OpinionApi& api, const Clock& clock,
                               WhaleTradesJobOptions options)
    : store_(store), api_(api), clock_(clock), options_(std::move(options)) {}

absl::Time WhaleTradesJob::NextRunTime(absl::Time last_started, absl::Time now) const {
  return NextIntervalRun(last_started, now, options_.tick_interval);
}

absl::Status WhaleTradesJob::Reload() {
  if (options_.watchlist_path.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<WatchlistEntry>> entries = ReadWatchlistFile(options_.watchlist_path);
  absl::MutexLock lock(&mu_);
  loaded_ = true;
  if (!entries.ok()) {
    WF_LOG(WARNING) << kJob << ": keeping the watch-list in force: " << entries.status().message();
    return entries.status();
  }
  WF_LOG(INFO) << kJob << ": read " << entries->size() << " wallets from the watch-list "
               << options_.watchlist_path;
  pending_ = *std::move(entries);
  return absl::OkStatus();
}

absl::Status WhaleTradesJob::ApplyWatchlist(const std::vector<WatchlistEntry>& entries,
                                            absl::Time now) {
  ASSIGN_OR_RETURN(std::vector<db::Whale> known, store_.ListWhales(/*tracked_only=*/false));
  absl::flat_hash_map<std::string, const db::Whale*> by_wallet;
  for (const db::Whale& w : known) by_wallet[w.wallet] = &w;
  absl::flat_hash_set<std::string> listed;
  int tracked = 0, untracked = 0;
  for (const WatchlistEntry& e : entries) {
    listed.insert(e.wallet);
    auto it = by_wallet.find(e.wallet);
    const db::Whale* w = it == by_wallet.end() ? nullptr : it->second;
    // A wallet tracked through the admin API stays as the API made it.
    const bool track =
        w == nullptr || !w->tracked ||
        (w->source == db::WhaleSource::kFile && !e.label.empty() && e.label != w->label);
    if (!track) continue;
    RETURN_IF_ERROR(store_.TrackWhale(e.wallet, e.label, db::WhaleSource::kFile, now).status());
    ++tracked;
  }
  for (const db::Whale& w : known) {
    if (w.tracked && w.source == db::WhaleSource::kFile && !listed.contains(w.wallet)) {
      RETURN_IF_ERROR(store_.UntrackWhale(w.wallet).status());
      ++untracked;
    }
  }
  WF_LOG(INFO) << kJob << ": watch-list applied: " << tracked << " tracked or relabelled, "
               << untracked << " no longer listed";
  return absl::OkStatus();
}

absl::StatusOr<JobOutcome> WhaleTradesJob::RunOnce(const JobContext& context) {
  std::string watchlist_note;
  bool load = false;
  {
    absl::MutexLock lock(&mu_);
    load = !loaded_ && !options_.watchlist_path.empty();
  }
  if (load) {
    // A missing or malformed file at start does not stop the polling of API-tracked wallets; the
    // runs say so until a SIGHUP reads a good one.
    if (absl::Status s = Reload(); !s.ok()) watchlist_note = std::string(s.message());
  }
  std::optional<std::vector<WatchlistEntry>> entries;
  {
    absl::MutexLock lock(&mu_);
    entries.swap(pending_);
  }
  if (entries.has_value()) {
    if (absl::Status s = ApplyWatchlist(*entries, clock_.Now()); !s.ok()) {
      absl::MutexLock lock(&mu_);
      if (!pending_.has_value()) pending_ = std::move(entries);  // retried next run
      return absl::Status(s.code(), absl::StrCat(kJob, ": applying the watch-list: ", s.message()));
    }
  }

  const bool early_polls = options_.upstream_budget != nullptr && options_.budget_share > 0;
  if (early_polls) SpareRequests(clock_.Now());  // a sample of the budget at every run
  ASSIGN_OR_RETURN(std::vector<db::Whale> due,
                   store_.ListDueWhales(clock_.Now(), options_.max_wallets_per_run));
  JobOutcome outcome;
  DecodeIssues issues;
  std::vector<std::string> refused;
  // Polls one wallet; an error is returned only when it ends the run.
  auto poll = [&](const db::Whale& whale) -> absl::Status {
    RETURN_IF_ERROR(CheckCancelled(context, kJob));
    absl::StatusOr<WalletPollResult> polled = PollWallet(context, whale);
    if (polled.ok()) {
      outcome.item_count += polled->inserted;
      issues.skipped += polled->skipped;
      return absl::OkStatus();
    }
    if (EndsTheRun(polled.status())) return WithWallet(polled.status(), whale.wallet);
    // Upstream refuses this wallet (or one of its pages cannot be used): try it again later
    // rather than at every tick, and say so in the run's note.
    refused.push_back(absl::StrCat(whale.wallet, ": ", polled.status().message()));
    const absl::Time now = clock_.Now();
    return store_
        .IngestActivities(
            context.fence, whale.wallet, {},
            {whale.last_polled_time, now + options_.max_poll_interval, whale.trades_seen}, now)
        .status();
  };
  for (const db::Whale& whale : due) RETURN_IF_ERROR(poll(whale));

  // Spare budget: wallets not due yet, the furthest through their interval first, while every
  // job's recent requests stay below the budget share. Due wallets never wait for these: the next
  // run starts with whoever became due meanwhile.
  const int room = options_.max_wallets_per_run - static_cast<int>(due.size());
  if (early_polls && room > 0 && SpareRequests(clock_.Now()) > 0) {
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(std::vector<db::Whale> early,
                     store_.ListEarlyPollWhales(now, now - options_.min_poll_interval,
                                                options_.max_poll_interval, room));
    for (size_t i = 0; i < early.size(); ++i) {
      if (i > 0 && SpareRequests(clock_.Now()) <= 0) break;
      RETURN_IF_ERROR(poll(early[i]));
    }
  }
  std::string refused_note;
  if (!refused.empty()) {
    refused_note = absl::StrCat("wallets put back after an error: ", absl::StrJoin(refused, "; "));
  }
  outcome.note = JoinNote({watchlist_note, DescribeIssues(issues), refused_note});
  return outcome;
}

int64_t WhaleTradesJob::SpareRequests(absl::Time now) {
  const LimiterStats stats = options_.upstream_budget();
  // A clock set back or a limiter that counts afresh: start the window again.
  if (!budget_samples_.empty() && (budget_samples_.back().time > now ||
                                   budget_samples_.back().requests_total > stats.requests_total)) {
    budget_samples_.clear();
  }
  while (!budget_samples_.empty() && budget_samples_.front().time < now - kBudgetWindow) {
    budget_samples_.pop_front();
  }
  if (budget_samples_.empty() || budget_samples_.back().time < now) {
    budget_samples_.push_back({now, stats.requests_total});
  }
  // A Retry-After in force: nothing is spare.
  if (stats.paused_until > now) return 0;
  const BudgetSample& from = budget_samples_.front();
  const double allowed =
      options_.budget_share * stats.rate_per_second * absl::ToDoubleSeconds(now - from.time);
  return static_cast<int64_t>(std::floor(allowed)) - (stats.requests_total - from.requests_total);
}

absl::StatusOr<WalletPollResult> WhaleTradesJob::PollWallet(const JobContext& context,
                                                            const db::Whale& whale) {
  const CancelToken& cancel = CancelOf(context);
  const absl::Time now = clock_.Now();
  const int limit = options_.page_size;
  // How far back this poll reads: never past the retention window, never before the backfill
  // bound of the wallet's tracked period, and, once it has a checkpoint, down to the checkpoint
  // minus the overlap (where late-indexed trades show up).
  absl::Time lower =
      std::max(whale.tracked_since - options_.backfill_max_age, now - options_.retention);
  if (!whale.checkpoint_tx_hash.empty() && whale.checkpoint_traded_time != absl::InfinitePast()) {
    lower = std::max(lower, whale.checkpoint_traded_time - options_.overlap);
  }

  WalletPollResult result;
  std::vector<db::Activity> fresh;  // newest first, as read
  absl::flat_hash_set<std::string> ids;
  int64_t total = 0;
  for (int page = 1;; ++page) {
    RETURN_IF_ERROR(CheckCancelled(context, kJob));
    ASSIGN_OR_RETURN(TradesPage trades, api_.ListUserTrades(whale.wallet, page, limit, cancel));
    ++result.requests;
    if (page == 1) total = trades.total;
    result.skipped += trades.issues.skipped;
    bool reached_lower = false;
    for (db::Activity& trade : trades.trades) {
      if (trade.traded_time < lower) {
        reached_lower = true;
        continue;
      }
      if (trade.wallet.empty()) trade.wallet = whale.wallet;
      absl::StatusOr<db::Activity> normalized = db::NormalizeActivity(trade, whale.wallet);
      if (!normalized.ok()) {
        ++result.skipped;
        WF_LOG(WARNING) << kJob << ": wallet " << whale.wallet
                        << ": skipped a trade: " << normalized.status().message();
        continue;
      }
      // The same trade twice in one poll: pages shifted while they were read.
      if (!ids.insert(normalized->activity_id).second) {
        ++result.known;
        continue;
      }
      fresh.push_back(*std::move(normalized));
    }
    const int64_t read = static_cast<int64_t>(page) * limit;
    const int64_t on_page = static_cast<int64_t>(trades.trades.size()) + trades.issues.skipped;
    if (reached_lower || on_page < limit || read >= trades.total) break;
  }

  // Trades stored already cost no write.
  if (!fresh.empty()) {
    std::vector<std::string> lookup;
    lookup.reserve(fresh.size());
    for (const db::Activity& a : fresh) lookup.push_back(a.activity_id);
    ASSIGN_OR_RETURN(std::vector<std::string> stored, store_.FindStoredActivityIds(lookup));
    const absl::flat_hash_set<std::string> known(stored.begin(), stored.end());
    const size_t before = fresh.size();
    fresh.erase(
        std::remove_if(fresh.begin(), fresh.end(),
                       [&](const db::Activity& a) { return known.contains(a.activity_id); }),
        fresh.end());
    result.known += static_cast<int64_t>(before - fresh.size());
  }
  // Oldest first; fills of one second keep their relative upstream order (reversed, as upstream
  // lists newest first).
  std::reverse(fresh.begin(), fresh.end());
  std::stable_sort(fresh.begin(), fresh.end(), [](const db::Activity& a, const db::Activity& b) {
    return a.traded_time < b.traded_time;
  });
  for (db::Activity& a : fresh) {
    a.origin = a.traded_time < whale.tracked_since ? db::Origin::kBackfill : db::Origin::kLive;
  }

  // Adaptive cadence: back to the minimum after trades, else the last interval grows by the time
  // the wallet has been quiet since its last poll, at most doubling. A poll on time (or late)
  // doubles it; an early one (spare budget) adds only the quiet time it saw, so the interval keeps
  // following how long the wallet has been quiet however often it is looked at.
  absl::Duration interval = options_.min_poll_interval;
  if (fresh.empty()) {
    absl::Duration last = options_.min_poll_interval;
    absl::Duration quiet = last;
    if (whale.last_polled_time != absl::InfinitePast()) {
      if (whale.next_poll_time > whale.last_polled_time) {
        last = whale.next_poll_time - whale.last_polled_time;
      }
      quiet = std::clamp(now - whale.last_polled_time, absl::ZeroDuration(), last);
    }
    interval = std::clamp(last + quiet, options_.min_poll_interval, options_.max_poll_interval);
  }
  const db::PollState poll{now, now + interval, total};
  ASSIGN_OR_RETURN(db::IngestResult ingested,
                   store_.IngestActivities(context.fence, whale.wallet, fresh, poll, now));
  result.inserted = static_cast<int64_t>(ingested.inserted_sequences.size());
  result.ingest_duplicates = ingested.duplicates;
  if (!ingested.inserted_sequences.empty()) {
    if (options_.on_commit) options_.on_commit(ingested.inserted_sequences.back());
    // Counters right after the commit, not inside it; the hourly stats run folds in whatever this
    // misses.
    if (absl::Status s = store_.AddToAllTimeStats(context.fence, whale.wallet, now).status();
        !s.ok()) {
      WF_LOG(WARNING) << kJob << ": wallet " << whale.wallet
                      << ": all-time stats left to the next stats run: " << s.message();
    }
  }
  return result;
}

}  // namespace whalefeed::sync
