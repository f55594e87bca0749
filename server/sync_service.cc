#include "server/sync_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/version.h"
#include "server/convert.h"

namespace whalefeed::server {
namespace {

constexpr db::SyncJob kAllJobs[] = {db::SyncJob::kMarkets, db::SyncJob::kWhaleTrades,
                                    db::SyncJob::kStats, db::SyncJob::kCleanup};

}  // namespace

SyncService::SyncService(db::Store* store, const AdminAuth* auth, const Clock* clock,
                         std::vector<const sync::SyncJobRunner*> jobs, SyncServiceOptions options)
    : store_(store),
      auth_(auth),
      clock_(clock),
      jobs_(std::move(jobs)),
      options_(std::move(options)) {}

const sync::SyncJobRunner* SyncService::JobRunner(db::SyncJob job) const {
  for (const sync::SyncJobRunner* runner : jobs_) {
    if (runner->job() == job) return runner;
  }
  return nullptr;
}

absl::Status SyncService::FillSyncStatus(v1::GetSyncStatusResponse* response) {
  ASSIGN_OR_RETURN(const std::vector<db::SyncJobSummary> summaries, store_->GetSyncJobSummaries());
  ASSIGN_OR_RETURN(const db::LeaderState leader, store_->GetLeader());
  ASSIGN_OR_RETURN(const db::PublishedLimiter limiter, store_->GetPublishedLimiter());
  ASSIGN_OR_RETURN(const db::FeedFreshness freshness, store_->GetFeedFreshness());
  ASSIGN_OR_RETURN(const int schema_version, store_->GetSchemaVersion());
  bool leader_present = leader.epoch > 0;
  if (options_.leader_present) {
    ASSIGN_OR_RETURN(leader_present, options_.leader_present());
  }
  const absl::Time now = clock_->Now();

  for (db::SyncJob job : kAllJobs) {
    v1::SyncJobStatus* status = response->add_jobs();
    status->set_job(static_cast<v1::SyncJob>(job));
    db::SyncJobSummary summary;
    summary.latest.job = job;
    for (const db::SyncJobSummary& s : summaries) {
      if (s.latest.job == job) summary = s;
    }
    const db::SyncRun& run = summary.latest;
    if (run.run_id != 0) {
      status->set_last_status(static_cast<v1::RunStatus>(run.status));
      SetTimeField(run.started_time, status, &v1::SyncJobStatus::mutable_last_started_time);
      SetTimeField(run.ended_time, status, &v1::SyncJobStatus::mutable_last_ended_time);
      status->set_last_item_count(run.item_count);
      if (run.status == db::RunStatus::kFailed) status->set_last_error(run.error);
      status->set_last_replica_id(run.replica_id);
    }
    SetTimeField(summary.last_completed_time, status,
                 &v1::SyncJobStatus::mutable_last_completed_time);
    if (const sync::SyncJobRunner* runner = JobRunner(job); runner != nullptr && leader_present) {
      SetTimeField(runner->NextRunTime(run.started_time, now), status,
                   &v1::SyncJobStatus::mutable_next_run_time);
    }
    status->set_healthy(sync::IsJobHealthy(summary, options_.intervals.Of(job), now));
  }

  if (leader_present) {
    response->set_leader_replica_id(leader.replica_id);
    SetTimeField(leader.acquired_time, response,
                 &v1::GetSyncStatusResponse::mutable_leader_acquired_time);
  }
  response->set_leader_epoch(leader.epoch);
  if (limiter.published_time != absl::InfinitePast()) {
    v1::LimiterStatus* l = response->mutable_limiter();
    l->set_rate_per_second(limiter.limiter.rate_per_second);
    l->set_requests_total(limiter.limiter.requests_total);
    l->set_throttled_total(limiter.limiter.throttled_total);
    SetTimestamp(limiter.published_time, l->mutable_published_time());
  }
  SetTimeField(freshness.last_whale_poll_time, response,
               &v1::GetSyncStatusResponse::mutable_last_whale_poll_time);
  if (freshness.detection_lag.has_value()) {
    SetDuration(*freshness.detection_lag, response->mutable_detection_lag());
  }
  v1::ServerInfo* server = response->mutable_server();
  server->set_version(kVersion);
  server->set_replica_id(options_.replica_id);
  server->set_schema_version(schema_version);
  SetTimeField(options_.started_time, server, &v1::ServerInfo::mutable_started_time);
  return absl::OkStatus();
}

grpc::Status SyncService::GetSyncStatus(grpc::ServerContext* context,
                                        const v1::GetSyncStatusRequest* /*request*/,
                                        v1::GetSyncStatusResponse* response) {
  absl::Status status = FillSyncStatus(response);
  if (!status.ok()) response->Clear();
  return ToGrpcStatus(status, context);
}

grpc::Status SyncService::RunSyncJob(grpc::ServerContext* context,
                                     const v1::RunSyncJobRequest* request,
                                     v1::RunSyncJobResponse* response) {
  if (absl::Status allowed = auth_->Check(*context); !allowed.ok()) {
    return ToGrpcStatus(allowed, context);
  }
  const int number = request->job();
  if (number == v1::SYNC_JOB_UNSPECIFIED || !v1::SyncJob_IsValid(number)) {
    return ToGrpcStatus(
        absl::InvalidArgumentError(absl::StrCat(
            "job: must be one of SYNC_JOB_MARKETS, SYNC_JOB_WHALE_TRADES, SYNC_JOB_STATS, "
            "SYNC_JOB_CLEANUP; got ",
            number == v1::SYNC_JOB_UNSPECIFIED ? std::string("SYNC_JOB_UNSPECIFIED")
                                               : absl::StrCat(number))),
        context);
  }
  const auto job = static_cast<db::SyncJob>(number);
  if (JobRunner(job) == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
                            "job: ", v1::SyncJob_Name(request->job()),
                            " is not configured on this server, so no leader would run it")),
                        context);
  }
  absl::StatusOr<db::SyncRequestResult> queued = store_->RequestSyncRun(job, clock_->Now());
  if (!queued.ok()) return ToGrpcStatus(queued.status(), context);
  response->set_accepted(queued->accepted);
  if (queued->accepted) {
    SetTimestamp(queued->requested_time, response->mutable_requested_time());
  }
  return grpc::Status::OK;
}

}  // namespace whalefeed::server
