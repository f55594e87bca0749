// MySqlStore: the "Sync control" methods of Store (see store.h): closing runs a dead leader left,
// RunSyncJob requests in sync_requests, the limiter state in the leader row, data freshness. Kept
// apart from mysql_store.cc so that the two evolve independently.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "db/mysql_rows.h"
#include "db/mysql_store.h"

namespace whalefeed::db {
namespace {

absl::Status CheckSyncJob(SyncJob job) {
  const int number = static_cast<int>(job);
  if (number < static_cast<int>(SyncJob::kMarkets) ||
      number > static_cast<int>(SyncJob::kCleanup)) {
    return absl::InvalidArgumentError(
        absl::StrCat("job: must name a sync job (1..4), got ", number));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> MySqlStore::FailRunningSyncRuns(const Fence& fence, absl::Time now,
                                                        absl::string_view reason) {
  const std::string text(TruncateUtf8(reason, kMaxSyncErrorBytes));
  int64_t closed = 0;
  RETURN_IF_ERROR(pool().RunInTransaction(
      "closing sync runs left running", [&](MySqlConnection& c) -> absl::Status {
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        sql::PreparedStatement& ps = c.Prepare(
            "UPDATE sync_logs SET status = ?, error = ?, ended_time = ? WHERE status = ?");
        ps.setInt(1, static_cast<int>(RunStatus::kFailed));
        ps.setString(2, text);
        SetTime(ps, 3, now);
        ps.setInt(4, static_cast<int>(RunStatus::kRunning));
        closed = ps.executeUpdate();
        return absl::OkStatus();
      }));
  return closed;
}

absl::StatusOr<SyncRequestResult> MySqlStore::RequestSyncRun(SyncJob job, absl::Time now) {
  RETURN_IF_ERROR(CheckSyncJob(job));
  SyncRequestResult result;
  RETURN_IF_ERROR(
      pool().RunInTransaction("queuing a sync request", [&](MySqlConnection& c) -> absl::Status {
        result = SyncRequestResult();
        // Not a fence: the leader row's lock only serialises requests, so that two concurrent
        // calls for one job cannot both see nothing pending.
        RETURN_IF_ERROR(LockLeaderRow(c).status());
        sql::PreparedStatement& pending =
            c.Prepare("SELECT COUNT(*) FROM sync_requests WHERE job = ? AND taken_time IS NULL");
        pending.setInt(1, static_cast<int>(job));
        std::unique_ptr<sql::ResultSet> p(pending.executeQuery());
        if (p->next() && p->getInt64(1) > 0) return absl::OkStatus();
        sql::PreparedStatement& latest =
            c.Prepare("SELECT status FROM sync_logs WHERE job = ? ORDER BY id DESC LIMIT 1");
        latest.setInt(1, static_cast<int>(job));
        std::unique_ptr<sql::ResultSet> l(latest.executeQuery());
        if (l->next()) {
          ASSIGN_OR_RETURN(const RunStatus status, GetEnum(*l, "status", RunStatus::kFailed));
          if (status == RunStatus::kRunning) return absl::OkStatus();
        }
        sql::PreparedStatement& insert =
            c.Prepare("INSERT INTO sync_requests (job, requested_time) VALUES (?, ?)");
        insert.setInt(1, static_cast<int>(job));
        SetTime(insert, 2, now);
        insert.executeUpdate();
        result.accepted = true;
        result.requested_time = now;
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<std::vector<SyncRequest>> MySqlStore::TakeSyncRequests(
    const Fence& fence, absl::Span<const SyncJob> jobs, absl::Time now) {
  std::vector<SyncRequest> taken;
  if (jobs.empty()) return taken;
  std::vector<int> numbers;
  for (SyncJob job : jobs) numbers.push_back(static_cast<int>(job));
  const std::string in = absl::StrJoin(std::vector<std::string>(numbers.size(), "?"), ",");
  // The common case, every second on the leader: nothing pending, found without any lock.
  int64_t pending = 0;
  RETURN_IF_ERROR(pool().Run("looking for sync requests", [&](MySqlConnection& c) -> absl::Status {
    sql::PreparedStatement& count = c.Prepare(absl::StrCat(
        "SELECT COUNT(*) FROM sync_requests WHERE taken_time IS NULL AND job IN (", in, ")"));
    for (size_t i = 0; i < numbers.size(); ++i) count.setInt(i + 1, numbers[i]);
    std::unique_ptr<sql::ResultSet> rs(count.executeQuery());
    pending = rs->next() ? rs->getInt64(1) : 0;
    return absl::OkStatus();
  }));
  if (pending == 0) return taken;
  RETURN_IF_ERROR(
      pool().RunInTransaction("taking sync requests", [&](MySqlConnection& c) -> absl::Status {
        taken.clear();
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        sql::PreparedStatement& read = c.Prepare(absl::StrCat(
            "SELECT id, job, requested_time FROM sync_requests WHERE taken_time IS NULL AND job "
            "IN (",
            in, ") ORDER BY id FOR UPDATE"));
        for (size_t i = 0; i < numbers.size(); ++i) read.setInt(i + 1, numbers[i]);
        std::unique_ptr<sql::ResultSet> rs(read.executeQuery());
        while (rs->next()) {
          SyncRequest request;
          request.request_id = rs->getInt64("id");
          ASSIGN_OR_RETURN(request.job, GetEnum(*rs, "job", SyncJob::kCleanup));
          ASSIGN_OR_RETURN(request.requested_time, GetTime(*rs, "requested_time"));
          taken.push_back(request);
        }
        sql::PreparedStatement& mark =
            c.Prepare("UPDATE sync_requests SET taken_time = ? WHERE id = ?");
        for (const SyncRequest& request : taken) {
          SetTime(mark, 1, now);
          mark.setInt64(2, request.request_id);
          mark.executeUpdate();
        }
        return absl::OkStatus();
      }));
  return taken;
}

absl::Status MySqlStore::PublishLimiter(const Fence& fence, const LimiterSnapshot& limiter,
                                        absl::Time now) {
  return pool().RunInTransaction(
      "publishing the limiter state", [&](MySqlConnection& c) -> absl::Status {
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        sql::PreparedStatement& ps = c.Prepare(
            "UPDATE leader SET limiter_rate_per_second = ?, limiter_requests_total = ?, "
            "limiter_throttled_total = ?, limiter_published_time = ? WHERE id = 1");
        ps.setDouble(1, limiter.rate_per_second);
        ps.setInt64(2, limiter.requests_total);
        ps.setInt64(3, limiter.throttled_total);
        SetTime(ps, 4, now);
        ps.executeUpdate();
        return absl::OkStatus();
      });
}

absl::StatusOr<PublishedLimiter> MySqlStore::GetPublishedLimiter() {
  PublishedLimiter published;
  RETURN_IF_ERROR(pool().Run("reading the limiter state", [&](MySqlConnection& c) -> absl::Status {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT limiter_rate_per_second, limiter_requests_total, "
                  "limiter_throttled_total, limiter_published_time FROM leader WHERE id = 1")
            .executeQuery());
    if (!rs->next()) return absl::FailedPreconditionError("the leader row is missing");
    published.limiter.rate_per_second = rs->getDouble("limiter_rate_per_second");
    published.limiter.requests_total = rs->getInt64("limiter_requests_total");
    published.limiter.throttled_total = rs->getInt64("limiter_throttled_total");
    ASSIGN_OR_RETURN(published.published_time, GetTime(*rs, "limiter_published_time"));
    return absl::OkStatus();
  }));
  return published;
}

}  // namespace whalefeed::db
