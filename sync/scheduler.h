// The scheduler of the sync jobs (design §4): while this replica leads, it runs each registered
// SyncJobRunner when the job's NextRunTime says (time read from the injected Clock), or at once
// when a RunSyncJob request for it is queued in sync_requests. One worker thread per job, so a job
// never overlaps itself; a job that is due while it runs (or several times over while the leader
// was away) runs once when it is free: missed runs coalesce. Every run gets a sync_logs row
// (StartSyncRun / FinishSyncRun with the leader's fence) and one INFO log line. Losing the lead
// fires the running jobs' CancelTokens at once and stops scheduling.
//
// Failures: a run that fails for a transient reason (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, ABORTED) is tried again after retry_after_failure if that comes before its
// next scheduled run; an upstream authorisation failure (UNAUTHENTICATED, PERMISSION_DENIED) and
// every other error wait for the next scheduled run, so a bad key is never hammered.
//
// The leader also publishes its rate limiter's state into the leader row every
// limiter_publish_interval.
#ifndef WHALEFEED_SYNC_SCHEDULER_H_
#define WHALEFEED_SYNC_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "sync/job.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

// What one finished run did (for listeners such as the health refresher, and tests).
struct RunReport {
  db::SyncJob job = db::SyncJob::kUnspecified;
  db::RunStatus status = db::RunStatus::kUnspecified;  // kUnspecified: no sync_logs row was made
  int64_t item_count = 0;
  absl::Status error;  // the run's error (OK when it completed)
  absl::Time started = absl::InfinitePast();
  absl::Duration duration;
  bool requested = false;  // run for a RunSyncJob request
};

struct SchedulerOptions {
  std::string replica_id;
  // How often the leader takes RunSyncJob requests from the database.
  absl::Duration request_poll_interval = absl::Seconds(1);
  // How often the leader publishes its limiter state (when `limiter` is set).
  absl::Duration limiter_publish_interval = absl::Seconds(5);
  // When a transient failure is tried again (unless the schedule comes first).
  absl::Duration retry_after_failure = absl::Seconds(30);
  // The thin loop's tick, in real time (what Start(true) runs).
  absl::Duration loop_interval = absl::Milliseconds(250);
  // The limiter's state now; unset: nothing is published.
  std::function<db::LimiterSnapshot()> limiter;
  // Called on the job's worker thread after each run.
  std::function<void(const RunReport&)> on_run_finished;
  // Called when a fenced write was refused (FAILED_PRECONDITION): another replica has taken the
  // lead. The owner should make the elector resign.
  std::function<void(const absl::Status&)> on_fence_refused;
};

// Thread-safe.
class Scheduler {
 public:
  // `store`, `clock` and the jobs must outlive the scheduler. Jobs are distinct SyncJobs.
  Scheduler(db::Store* store, const Clock* clock, std::vector<SyncJobRunner*> jobs,
            SchedulerOptions options);
  // Stops (waiting for runs in progress however long they take).
  ~Scheduler();

  // Starts one worker per job and, with `run_loop`, the thin loop that calls Poll() every
  // loop_interval (tests leave it out and call Poll() themselves).
  absl::Status Start(bool run_loop = true);
  // Cancels running jobs, ends the loop and the workers. Returns false when a run did not end by
  // `deadline` (its worker is left to finish; see Component::Stop).
  bool Stop(absl::Time deadline);

  // Leadership, from the elector. BecomeLeader: from now on runs carry `fence`; the jobs' last
  // starts are read from sync_logs at the next Poll, so a new leader keeps its predecessor's
  // rhythm. LoseLeadership: every running job's CancelToken fires now; nothing new starts.
  void BecomeLeader(const db::Fence& fence);
  void LoseLeadership();
  bool is_leader() const;

  // One step (the loop's body): while leading, takes pending RunSyncJob requests (every
  // request_poll_interval), publishes the limiter state (every limiter_publish_interval) and hands
  // every due job that is not running to its worker. Wakes nothing else; never blocks on a run.
  void Poll();

  // Waits until no run is handed out or running, up to `timeout` (tests). Returns whether idle.
  bool WaitIdle(absl::Duration timeout);
  // Runs finished since start, all jobs (tests).
  int64_t runs_finished() const;
  // Waits until runs_finished() >= n, up to `timeout`. Returns whether reached.
  bool WaitRunsFinished(int64_t n, absl::Duration timeout);

 private:
  struct Slot {
    SyncJobRunner* runner = nullptr;
    absl::Time last_started = absl::InfinitePast();
    absl::Time retry_at = absl::InfiniteFuture();
    bool requested = false;   // a RunSyncJob request is waiting
    bool dispatched = false;  // handed to the worker, not yet picked up
    bool running = false;
    bool run_requested = false;  // the dispatched run was asked for
    db::Fence fence;
    std::shared_ptr<CancelToken> cancel;
    std::thread worker;
  };

  void WorkerLoop(Slot* slot);
  void RunLoop();
  // `started`: when Poll handed the run out (its start in sync_logs and its JobContext::now).
  void RunJob(Slot* slot, const db::Fence& fence, const std::shared_ptr<CancelToken>& cancel,
              bool requested, absl::Time started);
  void FenceRefused(const absl::Status& status);

  db::Store* const store_;
  const Clock* const clock_;
  const SchedulerOptions options_;
  std::vector<db::SyncJob> job_ids_;

  absl::Mutex poll_mu_;  // one Poll at a time
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  bool leader_ ABSL_GUARDED_BY(mu_) = false;
  int64_t term_ ABSL_GUARDED_BY(mu_) = 0;  // counts BecomeLeader calls
  db::Fence fence_ ABSL_GUARDED_BY(mu_);
  bool need_history_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_request_poll_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_publish_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int workers_alive_ ABSL_GUARDED_BY(mu_) = 0;
  bool looping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t runs_finished_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread loop_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_SCHEDULER_H_
