#include "sync/leader_elector.h"

#include <unistd.h>

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"

namespace whalefeed::sync {

std::string DefaultReplicaId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof(host), "%s", "whaled");
  }
  std::string hostname(host);
  if (hostname.size() > 100) hostname.resize(100);  // leaves room within kMaxReplicaIdChars
  std::random_device random;
  return absl::StrFormat("%s-%d-%06x", hostname, static_cast<int>(getpid()), random() & 0xffffff);
}

LeaderElector::LeaderElector(LeaderLock* lock, db::Store* store, const Clock* clock,
                             LeadershipListener* listener, LeaderElectorOptions options)
    : lock_(lock),
      store_(store),
      clock_(clock),
      listener_(listener),
      options_(std::move(options)) {}

LeaderElector::~LeaderElector() { (void)Stop(absl::InfiniteFuture()); }

absl::Status LeaderElector::Start() {
  absl::MutexLock lock(&mu_);
  if (looping_ || thread_.joinable()) {
    return absl::FailedPreconditionError("leader-elector: already started");
  }
  stopping_ = false;
  looping_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

bool LeaderElector::Stop(absl::Time deadline) {
  std::thread finished;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    auto returned = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !looping_; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&returned), deadline)) return false;
    finished = std::move(thread_);
  }
  if (finished.joinable()) finished.join();
  // The loop has ended: give the lead up now rather than when the session times out.
  absl::MutexLock step(&step_mu_);
  if (is_leader()) StepDown(absl::CancelledError("the server is stopping"));
  lock_->Release();
  return true;
}

bool LeaderElector::is_leader() const {
  absl::MutexLock lock(&mu_);
  return fence_.has_value();
}

std::optional<db::Fence> LeaderElector::fence() const {
  absl::MutexLock lock(&mu_);
  return fence_;
}

void LeaderElector::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  if (fence_.has_value()) {
    resign_ = true;
    resign_reason_ = "the server is stopping";
  }
}

void LeaderElector::Resign(absl::string_view why) {
  absl::MutexLock lock(&mu_);
  if (!fence_.has_value()) return;
  resign_ = true;
  resign_reason_ = std::string(why);
}

void LeaderElector::StepDown(const absl::Status& why) {
  std::optional<db::Fence> was;
  {
    absl::MutexLock lock(&mu_);
    was = fence_;
    fence_.reset();
    resign_ = false;
  }
  if (!was.has_value()) return;
  if (why.code() == absl::StatusCode::kCancelled) {  // given up on purpose: stopping
    WF_LOG(INFO) << "leadership given up (replica " << options_.replica_id << ", epoch "
                 << was->epoch << "): " << why.message();
  } else {
    WF_LOG(WARNING) << "leadership lost (replica " << options_.replica_id << ", epoch "
                    << was->epoch << "): " << why.ToString();
  }
  listener_->OnDeposed();
}

bool LeaderElector::TryToLead() {
  absl::StatusOr<bool> won = lock_->TryAcquire();
  if (!won.ok()) {
    absl::MutexLock lock(&mu_);
    if (!last_try_failed_) {
      WF_LOG(WARNING) << "leader election: cannot take part now (will keep trying): "
                      << won.status().ToString();
    }
    last_try_failed_ = true;
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    last_try_failed_ = false;
  }
  if (!*won) return false;
  const absl::Time now = clock_->Now();
  absl::StatusOr<db::Fence> fence = store_->AdvanceLeaderEpoch(options_.replica_id, now);
  if (!fence.ok()) {
    WF_LOG(WARNING) << "leader election: won the lock but could not advance the epoch: "
                    << fence.status().ToString();
    lock_->Release();
    return false;
  }
  absl::StatusOr<int64_t> closed = store_->FailRunningSyncRuns(
      *fence, now,
      absl::StrCat("left running by a leader that was lost; replica ", options_.replica_id,
                   " took over at epoch ", fence->epoch));
  if (!closed.ok()) {
    WF_LOG(WARNING) << "leader election: could not close the runs a lost leader left: "
                    << closed.status().ToString();
    lock_->Release();
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {  // shutdown began while this replica was winning
      lock_->Release();
      return false;
    }
    fence_ = *fence;
    resign_ = false;
  }
  WF_LOG(INFO) << "leadership taken: replica " << options_.replica_id << " leads at epoch "
               << fence->epoch
               << (*closed > 0
                       ? absl::StrCat("; closed ", *closed, " run(s) left running as FAILED")
                       : std::string());
  listener_->OnElected(*fence);
  return true;
}

bool LeaderElector::StepOnce() {
  absl::MutexLock step(&step_mu_);
  bool leading;
  bool resign;
  bool draining;
  std::string reason;
  {
    absl::MutexLock lock(&mu_);
    leading = fence_.has_value();
    resign = resign_;
    draining = draining_;
    reason = resign_reason_;
  }
  if (!leading) return draining ? false : TryToLead();
  if (resign) {
    lock_->Release();
    StepDown(draining ? absl::CancelledError(reason)
                      : absl::AbortedError(absl::StrCat("resigned: ", reason)));
    return false;
  }
  absl::Status held = lock_->CheckHeld();
  if (held.ok()) return true;
  lock_->Release();
  StepDown(held);
  return false;
}

void LeaderElector::Loop() {
  while (true) {
    const bool leading = StepOnce();
    absl::MutexLock lock(&mu_);
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || resign_; };
    // Waits in real time: the clock only stamps what the steps write.
    mu_.AwaitWithTimeout(absl::Condition(&wake),
                         leading ? options_.ping_interval : options_.retry_interval);
    if (stopping_) {
      looping_ = false;
      return;
    }
  }
}

}  // namespace whalefeed::sync
