#include "server/health_prober.h"

#include <utility>

#include "common/log.h"
#include "sync/job_health.h"

namespace whalefeed::server {

using grpc::health::v1::HealthCheckResponse;

HealthProber::HealthProber(db::Store* store, std::function<absl::Status()> prepare,
                           HealthService* health, const Clock* clock, HealthProberOptions options)
    : store_(store),
      prepare_(std::move(prepare)),
      health_(health),
      clock_(clock),
      options_(options) {
  health_->SetStatus("", HealthCheckResponse::NOT_SERVING);
  for (const auto& job : kSyncJobHealth)
    health_->SetStatus(job.service, HealthCheckResponse::NOT_SERVING);
}

HealthProber::~HealthProber() { (void)Stop(absl::InfiniteFuture()); }

absl::Status HealthProber::Start() {
  absl::MutexLock lock(&mu_);
  if (looping_ || thread_.joinable()) {
    return absl::FailedPreconditionError("health-prober: already started");
  }
  stopping_ = false;
  looping_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

bool HealthProber::Stop(absl::Time deadline) {
  std::thread finished;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    auto returned = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !looping_; };
    // The loop sees stopping_ between probes; a probe blocked in the database is not waited for
    // past the deadline.
    if (!mu_.AwaitWithDeadline(absl::Condition(&returned), deadline)) return false;
    finished = std::move(thread_);
  }
  // Loop() has returned: joining only waits for its thread to end.
  if (finished.joinable()) finished.join();
  return true;
}

absl::Duration HealthProber::IntervalOf(db::SyncJob job) const {
  switch (job) {
    case db::SyncJob::kMarkets:
      return options_.markets_interval;
    case db::SyncJob::kWhaleTrades:
      return options_.whale_trades_interval;
    case db::SyncJob::kStats:
      return options_.stats_interval;
    case db::SyncJob::kCleanup:
      return options_.cleanup_interval;
    case db::SyncJob::kUnspecified:
      break;
  }
  return absl::ZeroDuration();
}

void HealthProber::SetJobHealth(absl::Time now) {
  absl::StatusOr<std::vector<db::SyncJobSummary>> jobs = store_->GetSyncJobSummaries();
  for (const auto& entry : kSyncJobHealth) {
    bool fresh = false;
    if (jobs.ok()) {
      for (const db::SyncJobSummary& summary : *jobs) {
        if (summary.latest.job == entry.job) {
          // Fresh enough, and not refused by the upstream since (sync/job_health.h).
          fresh = sync::IsJobHealthy(summary, IntervalOf(entry.job), now);
        }
      }
    }
    health_->SetStatus(entry.service,
                       fresh ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING);
  }
}

bool HealthProber::ProbeOnce() {
  absl::MutexLock probe_lock(&probe_mu_);
  bool prepared;
  {
    absl::MutexLock lock(&mu_);
    prepared = prepared_;
  }
  absl::Status status = prepared ? store_->Ping() : prepare_();
  if (!prepared && status.ok()) WF_LOG(INFO) << "database ready: migrations applied";
  const absl::Time now = clock_->Now();
  const bool healthy = status.ok();
  bool was_healthy;
  {
    absl::MutexLock lock(&mu_);
    if (healthy) prepared_ = true;
    was_healthy = healthy_;
    healthy_ = healthy;
    if (!healthy && (was_healthy || now - last_log_ >= options_.log_interval)) {
      WF_LOG(WARNING) << (prepared ? "database not answering: " : "waiting for the database: ")
                      << status.message();
      last_log_ = now;
    }
  }
  if (healthy && !was_healthy && prepared) WF_LOG(INFO) << "database answering again";
  health_->SetStatus("", healthy ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING);
  if (healthy) {
    SetJobHealth(now);
  } else {
    for (const auto& job : kSyncJobHealth) {
      health_->SetStatus(job.service, HealthCheckResponse::NOT_SERVING);
    }
  }
  return healthy;
}

void HealthProber::Loop() {
  while (true) {
    ProbeOnce();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    // The loop waits in real time: the clock only says what time the probe sees.
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval)) {
      looping_ = false;
      return;
    }
  }
}

}  // namespace whalefeed::server
