#include "db/in_memory_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "db/migrations.h"

namespace whalefeed::db {

InMemoryStore::InMemoryStore(std::string feed_id)
    : meta_{std::move(feed_id), 0, std::string(64, 'b') /* hex: the page-token key */} {}

void InMemoryStore::SetAvailable(bool available) {
  absl::MutexLock lock(&mu_);
  available_ = available;
}

absl::Status InMemoryStore::CheckAvailable() const {
  if (!available_) return absl::UnavailableError("in-memory store: marked unavailable");
  return absl::OkStatus();
}

absl::Status InMemoryStore::Ping() {
  absl::MutexLock lock(&mu_);
  return CheckAvailable();
}

absl::StatusOr<Fence> InMemoryStore::AdvanceLeaderEpoch(absl::string_view replica_id,
                                                        absl::Time now) {
  RETURN_IF_ERROR(CheckText(replica_id, kMaxReplicaIdChars, "replica_id"));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  ++leader_.epoch;
  leader_.replica_id = std::string(replica_id);
  leader_.acquired_time = now;
  return Fence{leader_.epoch};
}

absl::StatusOr<LeaderState> InMemoryStore::GetLeader() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  return leader_;
}

absl::StatusOr<FeedMeta> InMemoryStore::GetFeedMeta() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  FeedMeta meta = meta_;
  meta.retention_floor = retention_floor_;
  return meta;
}

absl::StatusOr<int> InMemoryStore::GetSchemaVersion() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  return LatestSchemaVersion();
}

absl::StatusOr<UpsertMarketsResult> InMemoryStore::UpsertMarkets(const Fence& fence,
                                                                 absl::Span<const Market> markets,
                                                                 absl::Time now) {
  std::vector<Market> checked;
  for (const Market& in : markets) {
    ASSIGN_OR_RETURN(Market m, NormalizeMarket(in));
    checked.push_back(std::move(m));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  ++versions_.markets;
  UpsertMarketsResult result;
  for (Market& m : checked) {
    auto it = markets_.find(m.market_id);
    if (it != markets_.end() && it->second.SameContent(m)) {
      it->second.synced_time = now;
      ++result.unchanged;
      continue;
    }
    (it == markets_.end() ? result.inserted : result.updated)++;
    m.synced_time = now;
    m.updated_time = now;
    markets_[m.market_id] = std::move(m);
  }
  return result;
}

absl::StatusOr<Market> InMemoryStore::GetMarket(int64_t market_id) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  auto it = markets_.find(market_id);
  if (it == markets_.end())
    return absl::NotFoundError(absl::StrCat("market ", market_id, " is not known"));
  return it->second;
}

absl::StatusOr<std::vector<Market>> InMemoryStore::GetChildMarkets(int64_t parent_market_id) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<Market> children;
  for (const auto& [id, m] : markets_) {
    if (m.parent_market_id == parent_market_id && parent_market_id != 0) children.push_back(m);
  }
  return children;
}

absl::StatusOr<Whale> InMemoryStore::TrackWhale(absl::string_view wallet, absl::string_view label,
                                                WhaleSource source, absl::Time now) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  RETURN_IF_ERROR(CheckText(label, kMaxLabelChars, "label"));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  ++versions_.whales;
  auto [it, inserted] = whales_.try_emplace(normalized);
  Whale& w = it->second;
  if (inserted) {
    w.wallet = normalized;
    w.tracked_since = now;
  } else if (!w.tracked) {
    w.tracked_since = now;
  }
  if (inserted || !label.empty()) w.label = std::string(label);
  w.source = source;
  w.tracked = true;
  return w;
}

absl::StatusOr<Whale> InMemoryStore::UntrackWhale(absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  auto it = whales_.find(normalized);
  if (it == whales_.end())
    return absl::NotFoundError(absl::StrCat("wallet ", normalized, " is not known"));
  ++versions_.whales;
  it->second.tracked = false;
  return it->second;
}

absl::StatusOr<Whale> InMemoryStore::GetWhale(absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  auto it = whales_.find(normalized);
  if (it == whales_.end())
    return absl::NotFoundError(absl::StrCat("wallet ", normalized, " is not known"));
  return it->second;
}

absl::StatusOr<std::vector<Whale>> InMemoryStore::ListWhales(bool tracked_only) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<Whale> whales;
  for (const auto& [wallet, w] : whales_) {
    if (!tracked_only || w.tracked) whales.push_back(w);
  }
  return whales;
}

absl::StatusOr<IngestResult> InMemoryStore::IngestActivities(const Fence& fence,
                                                             absl::string_view wallet,
                                                             absl::Span<const Activity> trades,
                                                             const PollState& poll,
                                                             absl::Time now) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  std::vector<Activity> checked;
  for (const Activity& in : trades) {
    ASSIGN_OR_RETURN(Activity a, NormalizeActivity(in, normalized));
    a.ingested_time = now;
    checked.push_back(std::move(a));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  auto whale = whales_.find(normalized);
  if (whale == whales_.end()) {
    return absl::NotFoundError(absl::StrCat("wallet ", normalized, " is not known"));
  }
  ++versions_.whales;
  IngestResult result;
  Whale& w = whale->second;
  for (Activity& a : checked) {
    if (!activity_ids_.insert(a.activity_id).second) {
      ++result.duplicates;
      continue;
    }
    a.sequence = next_sequence_++;
    result.inserted_sequences.push_back(a.sequence);
    // The checkpoint is the newest stored trade: latest traded time, then highest sequence.
    if (a.traded_time >= w.checkpoint_traded_time) {
      w.checkpoint_traded_time = a.traded_time;
      w.checkpoint_tx_hash = a.tx_hash;
    }
    activity_[a.sequence] = std::move(a);
  }
  w.last_polled_time = poll.polled_time;
  w.next_poll_time = poll.next_poll_time;
  w.trades_seen = poll.trades_seen;
  return result;
}

absl::StatusOr<std::vector<Activity>> InMemoryStore::ReadActivitiesAfter(uint64_t after_sequence,
                                                                         int limit) {
  if (limit <= 0) return absl::InvalidArgumentError("limit must be positive");
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::vector<Activity> out;
  for (auto it = activity_.upper_bound(after_sequence);
       it != activity_.end() && static_cast<int>(out.size()) < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<uint64_t> InMemoryStore::GetLatestSequence() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  return activity_.empty() ? 0 : activity_.rbegin()->first;
}

// ---- Feed reads (WatchWhaleActivity) ------------------------------------------------------------
absl::StatusOr<uint64_t> InMemoryStore::GetFeedPositionAt(absl::Time ingested_from) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  // The lowest sequence ingested at or after the time: ingested times need not follow sequence
  // order (another leader's clock), so every row is looked at, as the SQL does.
  for (const auto& [sequence, activity] : activity_) {
    if (activity.ingested_time >= ingested_from) return sequence - 1;
  }
  return activity_.empty() ? 0 : activity_.rbegin()->first;
}

absl::StatusOr<FeedFreshness> InMemoryStore::GetFeedFreshness() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  FeedFreshness freshness;
  for (const auto& [wallet, whale] : whales_) {
    freshness.last_whale_poll_time =
        std::max(freshness.last_whale_poll_time, whale.last_polled_time);
  }
  for (auto it = activity_.rbegin(); it != activity_.rend(); ++it) {
    if (it->second.origin != Origin::kLive) continue;
    freshness.detection_lag = it->second.ingested_time - it->second.traded_time;
    break;
  }
  return freshness;
}
// ---- End of feed reads
// ---------------------------------------------------------------------------

absl::StatusOr<int64_t> InMemoryStore::StartSyncRun(const Fence& fence, SyncJob job,
                                                    absl::string_view replica_id, absl::Time now) {
  RETURN_IF_ERROR(CheckText(replica_id, kMaxReplicaIdChars, "replica_id"));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  SyncRun run;
  run.run_id = next_run_id_++;
  run.job = job;
  run.status = RunStatus::kRunning;
  run.started_time = now;
  run.replica_id = std::string(replica_id);
  runs_[run.run_id] = run;
  return run.run_id;
}

absl::Status InMemoryStore::FinishSyncRun(const Fence& fence, int64_t run_id, RunStatus status,
                                          int64_t item_count, absl::string_view error,
                                          absl::Time now) {
  const std::string text(TruncateUtf8(error, kMaxSyncErrorBytes));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return absl::NotFoundError(absl::StrCat("sync run ", run_id, " is not known"));
  SyncRun& run = it->second;
  if (run.status != RunStatus::kRunning) {
    if (run.status == status && run.item_count == item_count && run.error == text &&
        run.ended_time == now) {
      return absl::OkStatus();  // a retry of the call that ended it
    }
    return absl::FailedPreconditionError(
        absl::StrCat("sync run ", run_id, " has ended already, with other values"));
  }
  run.status = status;
  run.item_count = item_count;
  run.error = text;
  run.ended_time = now;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SyncJobSummary>> InMemoryStore::GetSyncJobSummaries() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  std::map<SyncJob, SyncJobSummary> jobs;
  for (const auto& [id, run] : runs_) {  // ascending ids: the last one is the newest
    SyncJobSummary& job = jobs[run.job];
    job.latest = run;
    if (run.status == RunStatus::kCompleted) {
      job.last_completed_time = std::max(job.last_completed_time, run.ended_time);
    }
  }
  std::vector<SyncJobSummary> out;
  for (auto& [job, summary] : jobs) out.push_back(std::move(summary));
  return out;
}

// ---- Sync control ----

namespace {

absl::Status CheckSyncJob(SyncJob job) {
  const int number = static_cast<int>(job);
  if (number < static_cast<int>(SyncJob::kMarkets) ||
      number > static_cast<int>(SyncJob::kCleanup)) {
    return absl::InvalidArgumentError(
        absl::StrCat("job: must name a sync job (1..4), got ", number));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> InMemoryStore::FailRunningSyncRuns(const Fence& fence, absl::Time now,
                                                           absl::string_view reason) {
  const std::string text(TruncateUtf8(reason, kMaxSyncErrorBytes));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  int64_t closed = 0;
  for (auto& [id, run] : runs_) {
    if (run.status != RunStatus::kRunning) continue;
    run.status = RunStatus::kFailed;
    run.error = text;
    run.ended_time = now;
    ++closed;
  }
  return closed;
}

absl::StatusOr<SyncRequestResult> InMemoryStore::RequestSyncRun(SyncJob job, absl::Time now) {
  RETURN_IF_ERROR(CheckSyncJob(job));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  SyncRequestResult result;
  for (const auto& [id, request] : pending_requests_) {
    if (request.job == job) return result;
  }
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {  // the newest run of the job
    if (it->second.job != job) continue;
    if (it->second.status == RunStatus::kRunning) return result;
    break;
  }
  SyncRequest request;
  request.request_id = next_request_id_++;
  request.job = job;
  request.requested_time = now;
  pending_requests_[request.request_id] = request;
  result.accepted = true;
  result.requested_time = now;
  return result;
}

absl::StatusOr<std::vector<SyncRequest>> InMemoryStore::TakeSyncRequests(
    const Fence& fence, absl::Span<const SyncJob> jobs, absl::Time now) {
  (void)now;  // taken requests are forgotten here; MySqlStore keeps them with their taken time
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  const bool any =
      std::any_of(pending_requests_.begin(), pending_requests_.end(), [&](const auto& entry) {
        return std::find(jobs.begin(), jobs.end(), entry.second.job) != jobs.end();
      });
  std::vector<SyncRequest> taken;
  if (!any) return taken;  // as MySqlStore: nothing pending is answered without the fence
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  for (auto it = pending_requests_.begin(); it != pending_requests_.end();) {
    if (std::find(jobs.begin(), jobs.end(), it->second.job) == jobs.end()) {
      ++it;
      continue;
    }
    taken.push_back(it->second);
    it = pending_requests_.erase(it);
  }
  return taken;
}

absl::Status InMemoryStore::PublishLimiter(const Fence& fence, const LimiterSnapshot& limiter,
                                           absl::Time now) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  RETURN_IF_ERROR(CheckFence(fence, leader_.epoch));
  limiter_.limiter = limiter;
  limiter_.published_time = now;
  return absl::OkStatus();
}

absl::StatusOr<PublishedLimiter> InMemoryStore::GetPublishedLimiter() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  return limiter_;
}

// ---- end of Sync control ----

absl::StatusOr<DataVersions> InMemoryStore::GetDataVersions() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAvailable());
  return versions_;
}

}  // namespace whalefeed::db
