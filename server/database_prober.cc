#include "server/database_prober.h"

#include <utility>

#include "common/log.h"

namespace whalefeed::server {

using grpc::health::v1::HealthCheckResponse;

DatabaseProber::DatabaseProber(db::Store* store, std::function<absl::Status()> prepare,
                               HealthService* health, DatabaseProberOptions options)
    : store_(store), prepare_(std::move(prepare)), health_(health), options_(options) {
  health_->SetStatus("", HealthCheckResponse::NOT_SERVING);
}

DatabaseProber::~DatabaseProber() { Stop(); }

void DatabaseProber::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void DatabaseProber::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool DatabaseProber::prepared() const {
  absl::MutexLock lock(&mu_);
  return prepared_;
}

bool DatabaseProber::ProbeOnce() {
  bool prepared;
  {
    absl::MutexLock lock(&mu_);
    prepared = prepared_;
  }
  absl::Status status;
  if (!prepared) {
    status = prepare_();
    if (status.ok()) WF_LOG(INFO) << "database ready: migrations applied";
  } else {
    status = store_->Ping();
  }
  absl::MutexLock lock(&mu_);
  if (status.ok()) prepared_ = true;
  const bool healthy = status.ok();
  const absl::Time now = absl::Now();
  if (!healthy && (healthy_ || now - last_log_ >= options_.log_interval)) {
    WF_LOG(WARNING) << (prepared_ ? "database not answering: " : "waiting for the database: ")
                    << status.message();
    last_log_ = now;
  } else if (healthy && !healthy_ && prepared) {
    WF_LOG(INFO) << "database answering again";
  }
  if (healthy != healthy_ || !healthy) {
    health_->SetStatus("",
                       healthy ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING);
  }
  healthy_ = healthy;
  return healthy;
}

void DatabaseProber::Loop() {
  while (true) {
    ProbeOnce();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval)) return;
  }
}

}  // namespace whalefeed::server
