// whalefeed.v1.SyncService (design §6.2): GetSyncStatus answered by any replica from the database
// (sync_logs, the leader row and its published limiter state, whales and whale_activity for
// freshness), and RunSyncJob (admin) queuing a request in sync_requests for the leader.
//
// next_run_time is computed, not published: the job's own NextRunTime applied to the start of its
// latest run in sync_logs, with this replica's registration of the job (every replica registers
// the same jobs with the same schedule). It is unset while no replica holds the leader lock (no
// run is coming) and for jobs this replica does not register.
#ifndef WHALEFEED_SERVER_SYNC_SERVICE_H_
#define WHALEFEED_SERVER_SYNC_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "server/admin_auth.h"
#include "sync/job.h"
#include "sync/job_health.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"

namespace whalefeed::server {

struct SyncServiceOptions {
  std::string replica_id;            // this replica (ServerInfo.replica_id)
  absl::Time started_time;           // when this process started
  sync::SyncJobIntervals intervals;  // for `healthy`
  // Whether any replica holds the leader lock now; unset: assumed held once someone has led.
  std::function<absl::StatusOr<bool>()> leader_present;
};

// Thread-safe. Blocking handlers (they wait on the database), so on the sync API.
class SyncService final : public v1::SyncService::Service {
 public:
  // `store`, `auth`, `clock` and the jobs must outlive the service. `jobs` are this replica's
  // registered jobs (for next_run_time, and RunSyncJob refuses jobs that are not registered).
  SyncService(db::Store* store, const AdminAuth* auth, const Clock* clock,
              std::vector<const sync::SyncJobRunner*> jobs, SyncServiceOptions options);

  grpc::Status GetSyncStatus(grpc::ServerContext* context, const v1::GetSyncStatusRequest* request,
                             v1::GetSyncStatusResponse* response) override;
  grpc::Status RunSyncJob(grpc::ServerContext* context, const v1::RunSyncJobRequest* request,
                          v1::RunSyncJobResponse* response) override;

  // The handlers' bodies, for callers that hold no gRPC context (tests).
  absl::Status FillSyncStatus(v1::GetSyncStatusResponse* response);

 private:
  const sync::SyncJobRunner* JobRunner(db::SyncJob job) const;

  db::Store* const store_;
  const AdminAuth* const auth_;
  const Clock* const clock_;
  const std::vector<const sync::SyncJobRunner*> jobs_;
  const SyncServiceOptions options_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_SYNC_SERVICE_H_
