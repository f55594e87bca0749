// Keeps the server's view of its database current: applies migrations once the database can be
// reached (waiting for it, with a log line every few seconds, when it is down at start), then pings
// it on an interval and sets the health of "" to SERVING only while it answers.
#ifndef WHALEFEED_SERVER_DATABASE_PROBER_H_
#define WHALEFEED_SERVER_DATABASE_PROBER_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "db/store.h"
#include "server/health_service.h"

namespace whalefeed::server {

struct DatabaseProberOptions {
  absl::Duration interval = absl::Seconds(2);
  absl::Duration log_interval = absl::Seconds(5);  // while the database is down
};

// Runs its loop on one thread between Start() and Stop(). Thread-safe.
class DatabaseProber {
 public:
  // `prepare` makes the database ready (create it, migrate); retried until it succeeds. `store` is
  // pinged.
  DatabaseProber(db::Store* store, std::function<absl::Status()> prepare, HealthService* health,
                 DatabaseProberOptions options);
  ~DatabaseProber();

  void Start();
  void Stop();

  // One step of the loop, for tests: prepares the database if not done yet, else pings it; sets
  // health. Returns whether the database is usable now.
  bool ProbeOnce();
  bool prepared() const;

 private:
  void Loop();

  db::Store* const store_;
  const std::function<absl::Status()> prepare_;
  HealthService* const health_;
  const DatabaseProberOptions options_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool prepared_ ABSL_GUARDED_BY(mu_) = false;
  bool healthy_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_DATABASE_PROBER_H_
