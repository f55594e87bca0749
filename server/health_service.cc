#include "server/health_service.h"

#include <algorithm>

namespace whalefeed::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch call. Keeps at most one write in flight; a status that changes during a write is sent
// when the write completes (only the latest status matters). Deletes itself in OnDone, which gRPC
// may run on another thread as soon as Finish is called: so the reactor decides under its lock
// and starts the write or the finish only after releasing it, and touches nothing after a Finish.
class HealthService::WatchReactor final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchReactor(HealthService* owner, std::string service)
      : owner_(owner), service_(std::move(service)) {}

  // Called with owner_->mu_ held.
  void Update(ServingStatus status, bool finish) ABSL_EXCLUSIVE_LOCKS_REQUIRED(owner_->mu_) {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      pending_ = status;
      has_pending_ = true;
      finish_ = finish_ || finish;
      action = NextLocked();
    }
    Perform(action);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;
      action = NextLocked();
    }
    Perform(action);
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      action = NextLocked();
    }
    Perform(action);
  }

  void OnDone() override {
    owner_->Unregister(this);
    delete this;
  }

 private:
  enum class Action { kNone, kWrite, kCancel, kShutDown };

  // What to do next, decided under the lock: at most one write in flight, one Finish ever.
  Action NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || done_) return Action::kNone;
    if (cancelled_) {
      done_ = true;
      return Action::kCancel;
    }
    if (has_pending_ && pending_ != last_sent_) {
      response_.set_status(pending_);
      last_sent_ = pending_;
      has_pending_ = false;
      writing_ = true;
      return Action::kWrite;
    }
    if (finish_) {
      done_ = true;
      return Action::kShutDown;
    }
    return Action::kNone;
  }

  // Without the lock. After a Finish the reactor may be gone.
  void Perform(Action action) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    switch (action) {
      case Action::kNone:
        return;
      case Action::kWrite:
        // response_ is not changed again before OnWriteDone (writing_ is set).
        StartWrite(&response_);
        return;
      case Action::kCancel:
        Finish(grpc::Status::CANCELLED);
        return;
      case Action::kShutDown:
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
        return;
    }
  }

  HealthService* const owner_;
  const std::string service_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  ServingStatus pending_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  ServingStatus last_sent_ ABSL_GUARDED_BY(mu_) = static_cast<ServingStatus>(-1);
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;

 public:
  const std::string& service() const { return service_; }
};

HealthService::~HealthService() { Shutdown(); }

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) const {
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

HealthService::ServingStatus HealthService::GetStatus(absl::string_view service) const {
  absl::MutexLock lock(&mu_);
  return StatusOf(std::string(service));
}

void HealthService::SetStatus(absl::string_view service, ServingStatus status) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  statuses_[std::string(service)] = status;
  for (WatchReactor* w : watchers_) {
    if (w->service() == service) w->Update(status, /*finish=*/false);
  }
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [service, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
  for (WatchReactor* w : watchers_) w->Update(StatusOf(w->service()), /*finish=*/true);
}

void HealthService::Unregister(WatchReactor* reactor) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), reactor), watchers_.end());
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::MutexLock lock(&mu_);
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 "health: unknown service \"" + request->service() + "\""));
  } else {
    response->set_status(it->second);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/, const HealthCheckRequest* request) {
  auto* reactor = new WatchReactor(this, request->service());
  absl::MutexLock lock(&mu_);
  watchers_.push_back(reactor);
  reactor->Update(StatusOf(request->service()), /*finish=*/shut_down_);
  return reactor;
}

}  // namespace whalefeed::server
