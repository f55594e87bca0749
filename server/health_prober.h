// Keeps the server's health current, from the database alone (so every replica says the same):
// - "" is SERVING while the database answers. Until the database is first reached, the prober
//   applies the migrations (waiting for a database that is down at start, with a log line every
//   few seconds); then it pings it every interval.
// - "whalefeed.sync.<job>" is SERVING while that job's last completed run ended less than three
//   of its intervals ago and its latest run was not refused by the upstream for authorisation
//   (read from sync_logs; sync/job_health.h), so a stuck or failing job shows without taking the
//   server out.
#ifndef WHALEFEED_SERVER_HEALTH_PROBER_H_
#define WHALEFEED_SERVER_HEALTH_PROBER_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/component.h"
#include "db/store.h"
#include "server/health_service.h"

namespace whalefeed::server {

struct HealthProberOptions {
  absl::Duration interval = absl::Seconds(2);
  absl::Duration log_interval = absl::Seconds(5);  // while the database is down
  // How often each sync job runs.
  absl::Duration markets_interval = absl::Minutes(5);
  absl::Duration whale_trades_interval = absl::Minutes(1);
  absl::Duration stats_interval = absl::Hours(1);
  absl::Duration cleanup_interval = absl::Hours(24);
};

// The health service name of each sync job.
inline constexpr struct {
  db::SyncJob job;
  const char* service;
} kSyncJobHealth[] = {{db::SyncJob::kMarkets, "whalefeed.sync.markets"},
                      {db::SyncJob::kWhaleTrades, "whalefeed.sync.whale_trades"},
                      {db::SyncJob::kStats, "whalefeed.sync.stats"},
                      {db::SyncJob::kCleanup, "whalefeed.sync.cleanup"}};

// A Component: runs its loop on one thread between Start() and Stop(). A probe can block in the
// database for the store's timeouts; Stop(deadline) does not wait for it past the deadline and then
// returns false, leaving the thread to finish that probe (still using the store, the clock and
// `health`, whose statuses no longer change once it is shut down) and end. Thread-safe.
class HealthProber final : public Component {
 public:
  // `prepare` makes the database ready (create it, migrate); retried until it succeeds. `store` is
  // pinged and read. All of them, and `clock`, must outlive the prober's thread. Every service
  // starts NOT_SERVING.
  HealthProber(db::Store* store, std::function<absl::Status()> prepare, HealthService* health,
               const Clock* clock, HealthProberOptions options);
  // Stops the loop, waiting for a probe in progress however long it takes (bounded by the store's
  // timeouts).
  ~HealthProber() override;

  absl::string_view name() const override { return "health-prober"; }
  absl::Status Start() override;
  bool Stop(absl::Time deadline) override;

  // One step of the loop (tests call it directly): prepares the database if not done yet, else
  // pings it, then sets every health status. Returns whether the database is usable now.
  bool ProbeOnce();

 private:
  void Loop();
  void SetJobHealth(absl::Time now);
  absl::Duration IntervalOf(db::SyncJob job) const;

  db::Store* const store_;
  const std::function<absl::Status()> prepare_;
  HealthService* const health_;
  const Clock* const clock_;
  const HealthProberOptions options_;

  absl::Mutex probe_mu_;  // one probe at a time
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool looping_ ABSL_GUARDED_BY(mu_) = false;  // from Start() until Loop() returns
  bool prepared_ ABSL_GUARDED_BY(mu_) = false;
  bool healthy_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_HEALTH_PROBER_H_
