#include "sync/mysql_leader_lock.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace whalefeed::sync {

std::string LeaderLockNameFor(const std::string& database) {
  constexpr size_t kMaxLockNameChars = 64;
  const std::string name = absl::StrCat(kLeaderLockName, ".", database);
  return std::string(db::TruncateUtf8(name, kMaxLockNameChars));  // bytes: at most as many chars
}

MySqlLeaderLock::MySqlLeaderLock(db::MySqlStore* store, MySqlLeaderLockOptions options)
    : store_(store), options_(std::move(options)) {}

MySqlLeaderLock::~MySqlLeaderLock() { Drop(); }

void MySqlLeaderLock::Drop() {
  held_ = false;
  session_id_ = 0;
  if (connection_ != nullptr) db::EnsureMySqlThreadInit();
  connection_.reset();  // closes without a round trip
}

void MySqlLeaderLock::Release() { Drop(); }

absl::Status MySqlLeaderLock::Connect() {
  if (connection_ != nullptr) return absl::OkStatus();
  db::MySqlSessionOptions session;
  session.connect_timeout = options_.connect_timeout;
  session.read_timeout = options_.check_timeout;
  session.write_timeout = options_.check_timeout;
  session.lock_wait_timeout = std::min(absl::Seconds(1), options_.check_timeout);
  session.idle_timeout = options_.idle_timeout;
  absl::StatusOr<std::unique_ptr<db::MySqlConnection>> connection =
      store_->OpenDedicatedConnection(session);
  if (!connection.ok()) return connection.status();
  connection_ = *std::move(connection);
  try {
    session_id_ = connection_->ServerId();
  } catch (const sql::SQLException& e) {
    absl::Status status = db::StatusFromSqlException(e, "opening the leader lock session");
    Drop();
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> MySqlLeaderLock::TryAcquire() {
  db::EnsureMySqlThreadInit();
  if (absl::Status s = Connect(); !s.ok()) return s;
  try {
    sql::PreparedStatement& ps = connection_->Prepare("SELECT GET_LOCK(?, 0)");
    ps.setString(1, options_.lock_name);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (!rs->next() || rs->isNull(1)) {
      Drop();
      return absl::InternalError("GET_LOCK answered NULL (the lock session is in trouble)");
    }
    held_ = rs->getInt(1) == 1;
    return held_;
  } catch (const sql::SQLException& e) {
    absl::Status status = db::StatusFromSqlException(e, "taking the leader lock");
    Drop();
    return status;
  }
}

absl::Status MySqlLeaderLock::CheckHeld() {
  if (!held_ || connection_ == nullptr) {
    return absl::FailedPreconditionError("the leader lock is not held");
  }
  db::EnsureMySqlThreadInit();
  try {
    sql::PreparedStatement& ps =
        connection_->Prepare("SELECT COALESCE(IS_USED_LOCK(?) = CONNECTION_ID(), 0)");
    ps.setString(1, options_.lock_name);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (rs->next() && rs->getInt(1) == 1) return absl::OkStatus();
    Drop();
    return absl::FailedPreconditionError(absl::StrCat("the leader lock '", options_.lock_name,
                                                      "' is no longer held by this session"));
  } catch (const sql::SQLException& e) {
    absl::Status status = db::StatusFromSqlException(e, "checking the leader lock");
    Drop();
    return status;
  }
}

absl::StatusOr<bool> MySqlLeaderLock::IsHeldByAnyone(db::MySqlStore& store,
                                                     const std::string& lock_name) {
  bool held = false;
  absl::Status status =
      store.pool().Run("reading the leader lock", [&](db::MySqlConnection& c) -> absl::Status {
        sql::PreparedStatement& ps = c.Prepare("SELECT IS_USED_LOCK(?) IS NOT NULL");
        ps.setString(1, lock_name);
        std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
        held = rs->next() && rs->getInt(1) == 1;
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return held;
}

}  // namespace whalefeed::sync
