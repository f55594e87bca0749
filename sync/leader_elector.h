// Leader election (design §4): each replica runs one LeaderElector. A follower tries to take the
// election lock every retry_interval; the winner advances the leader epoch (fencing every earlier
// leader's writes), closes the runs a dead leader left RUNNING as FAILED, and tells its listener.
// The leader checks the lock every ping_interval; a check that fails or hangs past the lock's
// bound means leadership is lost, and the listener is told at once (the scheduler then cancels
// the running jobs).
#ifndef WHALEFEED_SYNC_LEADER_ELECTOR_H_
#define WHALEFEED_SYNC_LEADER_ELECTOR_H_

#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/component.h"
#include "db/store.h"
#include "sync/leader_lock.h"

namespace whalefeed::sync {

// hostname + "-" + pid + "-" + 6 random hex digits: unique per process, readable in status output.
std::string DefaultReplicaId();

// Told of leadership changes, on the elector's thread. Both must return promptly.
class LeadershipListener {
 public:
  virtual ~LeadershipListener() = default;
  // This replica leads from now on; its leader-only writes carry `fence`.
  virtual void OnElected(const db::Fence& fence) = 0;
  // This replica no longer leads: stop every leader-only activity now.
  virtual void OnDeposed() = 0;
};

struct LeaderElectorOptions {
  std::string replica_id;
  // How often the leader checks that it still holds the lock.
  absl::Duration ping_interval = absl::Seconds(2);
  // How often a follower tries to take it.
  absl::Duration retry_interval = absl::Seconds(2);
};

// A Component: its loop runs on one thread between Start() and Stop(). Thread-safe.
class LeaderElector final : public Component {
 public:
  // `lock`, `store`, `clock` and `listener` must outlive the elector's thread.
  LeaderElector(LeaderLock* lock, db::Store* store, const Clock* clock,
                LeadershipListener* listener, LeaderElectorOptions options);
  ~LeaderElector() override;

  absl::string_view name() const override { return "leader-elector"; }
  absl::Status Start() override;
  // The process is shutting down: a leader gives the lead up at once (its listener is told, so the
  // jobs are cancelled and another replica can take over while this one finishes its calls), and
  // a follower stops trying. Returns at once; the loop does the rest.
  void Drain() override;
  // Ends the loop; a leader gives the lock up (so another replica takes over at once) and its
  // listener is told. A check blocked in the database is not waited for past `deadline`.
  bool Stop(absl::Time deadline) override;

  // One step of the loop (tests call it directly): a follower tries to take the lead, a leader
  // checks that it still holds it (or gives it up when Resign was called). Returns whether this
  // replica leads after the step.
  bool StepOnce();

  // Asks the leader to give up the lead at its next step (e.g. a fenced write was refused: another
  // replica has taken over). Wakes the loop.
  void Resign(absl::string_view why);

  bool is_leader() const;
  // The fence of the current term; nullopt while following.
  std::optional<db::Fence> fence() const;
  const std::string& replica_id() const { return options_.replica_id; }

 private:
  void Loop();
  bool TryToLead();
  void StepDown(const absl::Status& why);

  LeaderLock* const lock_;
  db::Store* const store_;
  const Clock* const clock_;
  LeadershipListener* const listener_;
  const LeaderElectorOptions options_;

  absl::Mutex step_mu_;  // one step at a time: the lock handle is not thread-safe
  mutable absl::Mutex mu_;
  std::optional<db::Fence> fence_ ABSL_GUARDED_BY(mu_);
  std::string resign_reason_ ABSL_GUARDED_BY(mu_);
  bool resign_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool looping_ ABSL_GUARDED_BY(mu_) = false;
  bool last_try_failed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_LEADER_ELECTOR_H_
