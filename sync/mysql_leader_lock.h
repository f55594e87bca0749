// The election lock on MySQL / MariaDB (design §4): GET_LOCK('whalefeed.sync', 0) on a dedicated
// connection that never reconnects by itself (a silent reconnect would drop the lock while the
// process believed it still led). The session's wait_timeout is short, so a leader that stops
// talking (hung process, lost network) loses the lock on the server within that time; the check
// is bounded by a short read timeout, so a leader whose database hangs gives up leadership too.
#ifndef WHALEFEED_SYNC_MYSQL_LEADER_LOCK_H_
#define WHALEFEED_SYNC_MYSQL_LEADER_LOCK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/mysql_connection.h"
#include "db/mysql_store.h"
#include "sync/leader_lock.h"

namespace whalefeed::sync {

inline constexpr char kLeaderLockName[] = "whalefeed.sync";

// The election lock of one database: "whalefeed.sync." + its name (cut to MySQL's 64 characters).
// Named locks are global to the MySQL server, so two deployments (or test databases) sharing one
// server must not share one lock.
std::string LeaderLockNameFor(const std::string& database);

struct MySqlLeaderLockOptions {
  std::string lock_name = kLeaderLockName;
  absl::Duration connect_timeout = absl::Seconds(3);
  // Read / write timeout of each statement on the lock's session: a check that takes longer means
  // the lock is lost.
  absl::Duration check_timeout = absl::Seconds(2);
  // The session's wait_timeout: the server drops the session (and so the lock) after it has been
  // idle this long. Must be well above the elector's ping interval.
  absl::Duration idle_timeout = absl::Seconds(10);
};

// Not thread-safe (see LeaderLock). `store` must outlive it.
class MySqlLeaderLock final : public LeaderLock {
 public:
  MySqlLeaderLock(db::MySqlStore* store, MySqlLeaderLockOptions options);
  ~MySqlLeaderLock() override;

  absl::StatusOr<bool> TryAcquire() override;
  // One round trip: SELECT IS_USED_LOCK(name) = CONNECTION_ID().
  absl::Status CheckHeld() override;
  // Closes the session (the server frees the lock with it); waits for nothing.
  void Release() override;

  // The server's id of the lock's session (for KILL in tests); 0 when there is none.
  int64_t session_id() const { return session_id_.load(std::memory_order_acquire); }

  // Whether any session holds the lock named `lock_name` now (read through the store's pool; any
  // replica may ask).
  static absl::StatusOr<bool> IsHeldByAnyone(db::MySqlStore& store,
                                             const std::string& lock_name = kLeaderLockName);

 private:
  // Opens the session if there is none.
  absl::Status Connect();
  void Drop();

  db::MySqlStore* const store_;
  const MySqlLeaderLockOptions options_;
  std::unique_ptr<db::MySqlConnection> connection_;
  // Read by other threads (session_id()); written by the elector thread.
  std::atomic<int64_t> session_id_{0};
  bool held_ = false;
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_MYSQL_LEADER_LOCK_H_
