// The sync engine of one replica: its leader elector and the scheduler of its jobs, as one
// Component that WhaledServer starts and stops. The composition root registers the jobs; every
// replica builds the same ones (followers run none, but SyncService computes next run times from
// them), and only the elected leader runs them.
#ifndef WHALEFEED_SYNC_SYNC_ENGINE_H_
#define WHALEFEED_SYNC_SYNC_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/component.h"
#include "db/store.h"
#include "sync/job.h"
#include "sync/leader_elector.h"
#include "sync/leader_lock.h"
#include "sync/scheduler.h"

namespace whalefeed::sync {

struct SyncEngineOptions {
  std::string replica_id;
  LeaderElectorOptions elector;  // its replica_id is set from replica_id
  SchedulerOptions scheduler;    // its replica_id and on_fence_refused are set by the engine
};

// Thread-safe.
class SyncEngine final : public Component, private LeadershipListener {
 public:
  // `store` and `clock` must outlive the engine's threads.
  SyncEngine(db::Store* store, std::unique_ptr<LeaderLock> lock, const Clock* clock,
             std::vector<std::unique_ptr<SyncJobRunner>> jobs, SyncEngineOptions options);
  ~SyncEngine() override;

  absl::string_view name() const override { return "sync-engine"; }
  // Starts the scheduler's workers and loop, then the elector.
  absl::Status Start() override;
  // Shutdown begins: the jobs are cancelled and the lead given up at once (see
  // LeaderElector::Drain), so another replica takes over while this one finishes its calls.
  void Drain() override;
  // Stops the elector first (a leader gives up the lock and its running jobs are cancelled), then
  // the scheduler.
  bool Stop(absl::Time deadline) override;

  // The registered jobs (for next run times).
  std::vector<const SyncJobRunner*> jobs() const;
  LeaderElector& elector() { return elector_; }
  Scheduler& scheduler() { return scheduler_; }

 private:
  void OnElected(const db::Fence& fence) override;
  void OnDeposed() override;

  std::unique_ptr<LeaderLock> lock_;
  std::vector<std::unique_ptr<SyncJobRunner>> jobs_;
  LeaderElector elector_;
  Scheduler scheduler_;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_SYNC_ENGINE_H_
