#include "sync/sync_engine.h"

#include <utility>

namespace whalefeed::sync {
namespace {

std::vector<SyncJobRunner*> Raw(const std::vector<std::unique_ptr<SyncJobRunner>>& jobs) {
  std::vector<SyncJobRunner*> raw;
  for (const auto& job : jobs) raw.push_back(job.get());
  return raw;
}

LeaderElectorOptions ElectorOptions(const SyncEngineOptions& options) {
  LeaderElectorOptions elector = options.elector;
  elector.replica_id = options.replica_id;
  return elector;
}

}  // namespace

SyncEngine::SyncEngine(db::Store* store, std::unique_ptr<LeaderLock> lock, const Clock* clock,
                       std::vector<std::unique_ptr<SyncJobRunner>> jobs, SyncEngineOptions options)
    : lock_(std::move(lock)),
      jobs_(std::move(jobs)),
      elector_(lock_.get(), store, clock, this, ElectorOptions(options)),
      scheduler_(store, clock, Raw(jobs_), [&] {
        SchedulerOptions scheduler = options.scheduler;
        scheduler.replica_id = options.replica_id;
        // A refused fenced write means another replica leads: stop at once rather than at the
        // next lock check.
        scheduler.on_fence_refused = [this](const absl::Status& status) {
          elector_.Resign(status.message());
        };
        return scheduler;
      }()) {}

SyncEngine::~SyncEngine() {
  (void)elector_.Stop(absl::InfiniteFuture());
  (void)scheduler_.Stop(absl::InfiniteFuture());
}

absl::Status SyncEngine::Start() {
  if (absl::Status s = scheduler_.Start(/*run_loop=*/true); !s.ok()) return s;
  if (absl::Status s = elector_.Start(); !s.ok()) {
    (void)scheduler_.Stop(absl::InfiniteFuture());
    return s;
  }
  return absl::OkStatus();
}

void SyncEngine::Drain() {
  scheduler_.LoseLeadership();  // cancels at once; the elector's listener call repeats it
  elector_.Drain();
}

bool SyncEngine::Stop(absl::Time deadline) {
  const bool elector_stopped = elector_.Stop(deadline);
  if (!elector_stopped) scheduler_.LoseLeadership();  // cancel the jobs even so
  const bool scheduler_stopped = scheduler_.Stop(deadline);
  return elector_stopped && scheduler_stopped;
}

std::vector<const SyncJobRunner*> SyncEngine::jobs() const {
  std::vector<const SyncJobRunner*> jobs;
  for (const auto& job : jobs_) jobs.push_back(job.get());
  return jobs;
}

void SyncEngine::OnElected(const db::Fence& fence) { scheduler_.BecomeLeader(fence); }

void SyncEngine::OnDeposed() { scheduler_.LoseLeadership(); }

}  // namespace whalefeed::sync
