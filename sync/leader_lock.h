// The election seam (design §4): the leader is whoever holds one lock. MySqlLeaderLock is the real
// one (GET_LOCK on a dedicated connection); InMemoryLeaderLock lets unit tests elect, depose and
// hang leaders without a database.
#ifndef WHALEFEED_SYNC_LEADER_LOCK_H_
#define WHALEFEED_SYNC_LEADER_LOCK_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace whalefeed::sync {

// One replica's handle on the election lock. Not thread-safe: one thread (the elector's) uses it.
class LeaderLock {
 public:
  virtual ~LeaderLock() = default;

  // Tries once, without waiting, to take the lock: true when this handle holds it now, false when
  // someone else does. An error (database unreachable) means not held.
  virtual absl::StatusOr<bool> TryAcquire() = 0;

  // Whether this handle still holds the lock, checked within a short bound. Anything but OK means
  // leadership is lost (FAILED_PRECONDITION: another holds it or nobody does; UNAVAILABLE /
  // DEADLINE_EXCEEDED: the check failed or hung, so it cannot be vouched for). After a failure the
  // handle holds nothing until the next successful TryAcquire.
  virtual absl::Status CheckHeld() = 0;

  // Gives the lock up (if held). Never blocks on an unresponsive server.
  virtual void Release() = 0;
};

// The lock as a single in-process cell: every InMemoryLeaderLock made from one table competes for
// it. Thread-safe.
class InMemoryLockTable {
 public:
  // Makes a new handle (a "replica"); ids are 1, 2, ...
  std::unique_ptr<LeaderLock> NewHandle();

  // The handle that holds the lock now (0: none).
  int64_t holder() const;
  // Takes the lock away from whoever holds it, as a killed session would lose it.
  void Revoke();
  // While set, `handle`'s CheckHeld fails with DEADLINE_EXCEEDED (its connection hangs) and its
  // TryAcquire with UNAVAILABLE; the lock it holds stays held until Revoke().
  void SetHung(int64_t handle, bool hung);

 private:
  friend class InMemoryLeaderLock;
  mutable absl::Mutex mu_;
  int64_t holder_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t hung_ ABSL_GUARDED_BY(mu_) = 0;
};

class InMemoryLeaderLock final : public LeaderLock {
 public:
  InMemoryLeaderLock(InMemoryLockTable* table, int64_t id) : table_(table), id_(id) {}
  ~InMemoryLeaderLock() override { Release(); }

  int64_t id() const { return id_; }
  absl::StatusOr<bool> TryAcquire() override;
  absl::Status CheckHeld() override;
  void Release() override;

 private:
  InMemoryLockTable* const table_;
  const int64_t id_;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_LEADER_LOCK_H_
