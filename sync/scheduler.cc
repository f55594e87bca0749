#include "sync/scheduler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "sync/job_health.h"

namespace whalefeed::sync {
namespace {

bool IsTransient(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kAborted;
}

// A store write retried once when the database dropped it (the lost answer of a finish is safe to
// repeat: FinishSyncRun accepts the same values again).
absl::Status WithOneRetry(const std::function<absl::Status()>& write) {
  absl::Status status = write();
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kAborted) {
    status = write();
  }
  return status;
}

}  // namespace

Scheduler::Scheduler(db::Store* store, const Clock* clock, std::vector<SyncJobRunner*> jobs,
                     SchedulerOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  absl::MutexLock lock(&mu_);
  for (SyncJobRunner* job : jobs) {
    auto slot = std::make_unique<Slot>();
    slot->runner = job;
    job_ids_.push_back(job->job());
    slots_.push_back(std::move(slot));
  }
}

Scheduler::~Scheduler() { (void)Stop(absl::InfiniteFuture()); }

absl::Status Scheduler::Start(bool run_loop) {
  absl::MutexLock lock(&mu_);
  if (started_) return absl::FailedPreconditionError("scheduler: already started");
  started_ = true;
  stopping_ = false;
  for (auto& slot : slots_) {
    ++workers_alive_;
    Slot* s = slot.get();
    slot->worker = std::thread([this, s] { WorkerLoop(s); });
  }
  if (run_loop) {
    looping_ = true;
    loop_ = std::thread([this] { RunLoop(); });
  }
  return absl::OkStatus();
}

bool Scheduler::Stop(absl::Time deadline) {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    leader_ = false;
    for (auto& slot : slots_) {
      if (slot->cancel != nullptr) slot->cancel->Cancel();
    }
    auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return workers_alive_ == 0 && !looping_;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&ended), deadline)) return false;
    for (auto& slot : slots_) {
      if (slot->worker.joinable()) threads.push_back(std::move(slot->worker));
    }
    if (loop_.joinable()) threads.push_back(std::move(loop_));
  }
  for (std::thread& t : threads) t.join();
  return true;
}

void Scheduler::BecomeLeader(const db::Fence& fence) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  leader_ = true;
  ++term_;
  fence_ = fence;
  need_history_ = true;
  next_request_poll_ = absl::InfinitePast();
  next_publish_ = absl::InfinitePast();
  for (auto& slot : slots_) {
    slot->requested = false;
    slot->retry_at = absl::InfiniteFuture();
  }
}

void Scheduler::LoseLeadership() {
  absl::MutexLock lock(&mu_);
  leader_ = false;
  ++term_;
  for (auto& slot : slots_) {
    if (slot->cancel != nullptr) slot->cancel->Cancel();
    slot->requested = false;
    if (slot->dispatched) {  // handed out but not begun: it never begins
      slot->dispatched = false;
    }
  }
}

bool Scheduler::is_leader() const {
  absl::MutexLock lock(&mu_);
  return leader_;
}

void Scheduler::FenceRefused(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) return;
  if (options_.on_fence_refused) options_.on_fence_refused(status);
}

void Scheduler::Poll() {
  absl::MutexLock poll_lock(&poll_mu_);
  const absl::Time now = clock_->Now();
  db::Fence fence;
  int64_t term;
  bool need_history, take_requests, publish;
  {
    absl::MutexLock lock(&mu_);
    if (!leader_ || stopping_) return;
    fence = fence_;
    term = term_;
    need_history = need_history_;
    take_requests = now >= next_request_poll_;
    publish = options_.limiter && now >= next_publish_;
  }

  if (need_history) {
    absl::StatusOr<std::vector<db::SyncJobSummary>> summaries = store_->GetSyncJobSummaries();
    if (!summaries.ok()) {
      WF_LOG(WARNING) << "scheduler: cannot read the jobs' last runs (will retry): "
                      << summaries.status().ToString();
      return;  // nothing is started without knowing when each job last ran
    }
    absl::MutexLock lock(&mu_);
    if (term_ != term) return;
    for (auto& slot : slots_) {
      for (const db::SyncJobSummary& summary : *summaries) {
        if (summary.latest.job == slot->runner->job()) {
          slot->last_started = std::max(slot->last_started, summary.latest.started_time);
        }
      }
    }
    need_history_ = false;
  }

  if (take_requests) {
    absl::StatusOr<std::vector<db::SyncRequest>> taken =
        store_->TakeSyncRequests(fence, job_ids_, now);
    {
      absl::MutexLock lock(&mu_);
      if (term_ == term) {
        next_request_poll_ = now + options_.request_poll_interval;
        if (taken.ok()) {
          for (const db::SyncRequest& request : *taken) {
            for (auto& slot : slots_) {
              if (slot->runner->job() == request.job) slot->requested = true;
            }
          }
        }
      }
    }
    if (!taken.ok()) {
      WF_LOG(WARNING) << "scheduler: cannot take sync requests: " << taken.status().ToString();
      FenceRefused(taken.status());
    }
  }

  if (publish) {
    const db::LimiterSnapshot snapshot = options_.limiter();
    absl::Status published = store_->PublishLimiter(fence, snapshot, now);
    {
      absl::MutexLock lock(&mu_);
      if (term_ == term) next_publish_ = now + options_.limiter_publish_interval;
    }
    if (!published.ok()) {
      WF_LOG(WARNING) << "scheduler: cannot publish the limiter state: " << published.ToString();
      FenceRefused(published);
    }
  }

  absl::MutexLock lock(&mu_);
  if (!leader_ || stopping_ || term_ != term) return;
  for (auto& slot : slots_) {
    if (slot->dispatched || slot->running) continue;
    const absl::Time next =
        std::min(slot->runner->NextRunTime(slot->last_started, now), slot->retry_at);
    if (!slot->requested && now < next) continue;
    slot->dispatched = true;
    slot->last_started = now;  // the run's start: due times are counted from it
    slot->retry_at = absl::InfiniteFuture();
    slot->run_requested = slot->requested;
    slot->requested = false;
    slot->fence = fence;
    slot->cancel = std::make_shared<CancelToken>();
  }
}

void Scheduler::WorkerLoop(Slot* slot) {
  while (true) {
    db::Fence fence;
    std::shared_ptr<CancelToken> cancel;
    bool requested;
    absl::Time started;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, slot]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || slot->dispatched; };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) {
        slot->dispatched = false;
        --workers_alive_;
        return;
      }
      slot->dispatched = false;
      slot->running = true;
      fence = slot->fence;
      cancel = slot->cancel;
      requested = slot->run_requested;
      started = slot->last_started;
    }
    RunJob(slot, fence, cancel, requested, started);
    absl::MutexLock lock(&mu_);
    slot->running = false;
    ++runs_finished_;
  }
}

void Scheduler::RunJob(Slot* slot, const db::Fence& fence,
                       const std::shared_ptr<CancelToken>& cancel, bool requested,
                       absl::Time started) {
  SyncJobRunner* runner = slot->runner;
  const db::SyncJob job = runner->job();
  const absl::string_view name = SyncJobName(job);
  RunReport report;
  report.job = job;
  report.started = started;
  report.requested = requested;

  absl::StatusOr<int64_t> run_id = store_->StartSyncRun(fence, job, options_.replica_id, started);
  if (!run_id.ok()) {
    WF_LOG(WARNING) << "sync run not started: job=" << name
                    << " error=" << run_id.status().ToString();
    report.error = run_id.status();
    {
      absl::MutexLock lock(&mu_);
      slot->retry_at = started + options_.retry_after_failure;
    }
    FenceRefused(run_id.status());
    if (options_.on_run_finished) options_.on_run_finished(report);
    return;
  }

  JobContext context;
  context.fence = fence;
  context.cancel = cancel.get();
  context.now = started;
  context.replica_id = options_.replica_id;
  absl::StatusOr<JobOutcome> outcome = runner->RunOnce(context);
  const absl::Time ended = clock_->Now();

  report.duration = ended - started;
  std::string text;
  if (outcome.ok()) {
    report.status = db::RunStatus::kCompleted;
    report.item_count = outcome->item_count;
    text = outcome->note;
  } else {
    report.status = db::RunStatus::kFailed;
    report.error = outcome.status();
    text = RunErrorText(outcome.status());
  }
  absl::Status finished = WithOneRetry([&] {
    return store_->FinishSyncRun(fence, *run_id, report.status, report.item_count, text, ended);
  });

  // The one log line of the run.
  const std::string line = absl::StrCat(
      "sync run: job=", name,
      " status=", report.status == db::RunStatus::kCompleted ? "COMPLETED" : "FAILED",
      " items=", report.item_count, " duration=", absl::FormatDuration(report.duration),
      requested ? " requested=true" : "", text.empty() ? "" : " error=", text);
  if (outcome.ok()) {
    WF_LOG(INFO) << line;
  } else if (IsUpstreamAuthFailure(outcome.status().code())) {
    WF_LOG(ERROR) << line << " (upstream refused the request: not retried before the next "
                  << "scheduled run)";
  } else {
    WF_LOG(WARNING) << line;
  }
  if (!finished.ok()) {
    WF_LOG(WARNING) << "sync run " << *run_id << " of job " << name
                    << " could not be recorded as ended: " << finished.ToString();
    FenceRefused(finished);
  }
  if (!outcome.ok() && IsTransient(outcome.status().code()) && !cancel->cancelled()) {
    absl::MutexLock lock(&mu_);
    slot->retry_at = started + options_.retry_after_failure;
  }
  if (options_.on_run_finished) options_.on_run_finished(report);
}

void Scheduler::RunLoop() {
  while (true) {
    Poll();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.loop_interval)) {
      looping_ = false;
      return;
    }
  }
}

bool Scheduler::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& slot : slots_) {
      if (slot->dispatched || slot->running) return false;
    }
    return true;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

int64_t Scheduler::runs_finished() const {
  absl::MutexLock lock(&mu_);
  return runs_finished_;
}

bool Scheduler::WaitRunsFinished(int64_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return runs_finished_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace whalefeed::sync
