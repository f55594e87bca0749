#include "sync/leader_lock.h"

#include "absl/strings/str_cat.h"

namespace whalefeed::sync {

std::unique_ptr<LeaderLock> InMemoryLockTable::NewHandle() {
  absl::MutexLock lock(&mu_);
  return std::make_unique<InMemoryLeaderLock>(this, next_id_++);
}

int64_t InMemoryLockTable::holder() const {
  absl::MutexLock lock(&mu_);
  return holder_;
}

void InMemoryLockTable::Revoke() {
  absl::MutexLock lock(&mu_);
  holder_ = 0;
}

void InMemoryLockTable::SetHung(int64_t handle, bool hung) {
  absl::MutexLock lock(&mu_);
  if (hung) {
    hung_ = handle;
  } else if (hung_ == handle) {
    hung_ = 0;
  }
}

absl::StatusOr<bool> InMemoryLeaderLock::TryAcquire() {
  absl::MutexLock lock(&table_->mu_);
  if (table_->hung_ == id_) return absl::UnavailableError("in-memory lock: connection hangs");
  if (table_->holder_ == 0) table_->holder_ = id_;
  return table_->holder_ == id_;
}

absl::Status InMemoryLeaderLock::CheckHeld() {
  absl::MutexLock lock(&table_->mu_);
  if (table_->hung_ == id_) {
    return absl::DeadlineExceededError("in-memory lock: the check did not answer in time");
  }
  if (table_->holder_ != id_) {
    return absl::FailedPreconditionError(
        absl::StrCat("in-memory lock: held by ", table_->holder_, ", not by ", id_));
  }
  return absl::OkStatus();
}

void InMemoryLeaderLock::Release() {
  absl::MutexLock lock(&table_->mu_);
  if (table_->holder_ == id_) table_->holder_ = 0;
}

}  // namespace whalefeed::sync
