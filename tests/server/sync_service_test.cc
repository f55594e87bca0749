// SyncService through generated stubs against an in-process whaled server (port 0), on an
// InMemoryStore and a FakeClock: every GetSyncStatus field, and RunSyncJob's auth, validation and
// queueing.
#include "server/sync_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/grpc_status.h"
#include "common/version.h"
#include "db/in_memory_store.h"
#include "db/migrations.h"
#include "server/admin_auth.h"
#include "server/health_service.h"
#include "server/whaled_server.h"
#include "tests/sync/fake_job.h"
#include "tests/testing/status_matchers.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
constexpr char kToken[] = "s3cret-admin-token";

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

class SyncServiceTest : public ::testing::Test {
 protected:
  SyncServiceTest()
      : clock_(kT0),
        markets_(db::SyncJob::kMarkets, absl::Minutes(5)),
        stats_(db::SyncJob::kStats, absl::Hours(1)),
        auth_(kToken) {}

  void StartServer() {
    SyncServiceOptions options;
    options.replica_id = "replica-self";
    options.started_time = kT0 - absl::Hours(2);
    options.leader_present = [this]() -> absl::StatusOr<bool> {
      absl::MutexLock lock(&mu_);
      return leader_present_;
    };
    service_ = std::make_unique<SyncService>(
        &store_, &auth_, &clock_, std::vector<const sync::SyncJobRunner*>{&markets_, &stats_},
        options);
    WhaledParts parts;
    parts.health = &health_;
    parts.services = {service_.get()};
    WhaledServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<WhaledServer>> server =
        WhaledServer::Start(server_options, std::move(parts));
    ASSERT_OK(server.status());
    server_ = *std::move(server);
    stub_ = v1::SyncService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) {
      EXPECT_OK(server_->Shutdown());
    }
  }

  absl::StatusOr<v1::GetSyncStatusResponse> GetSyncStatus() {
    grpc::ClientContext context;
    v1::GetSyncStatusResponse response;
    grpc::Status status = stub_->GetSyncStatus(&context, v1::GetSyncStatusRequest(), &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  absl::StatusOr<v1::RunSyncJobResponse> RunSyncJob(int job, const std::string& authorization) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    v1::RunSyncJobRequest request;
    request.set_job(static_cast<v1::SyncJob>(job));
    v1::RunSyncJobResponse response;
    grpc::Status status = stub_->RunSyncJob(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  void SetLeaderPresent(bool present) {
    absl::MutexLock lock(&mu_);
    leader_present_ = present;
  }

  FakeClock clock_;
  db::InMemoryStore store_;
  sync::FakeJob markets_;
  sync::FakeJob stats_;
  AdminAuth auth_;
  HealthService health_;
  std::unique_ptr<SyncService> service_;
  std::unique_ptr<WhaledServer> server_;
  std::unique_ptr<v1::SyncService::Stub> stub_;
  absl::Mutex mu_;
  bool leader_present_ ABSL_GUARDED_BY(mu_) = true;
};

TEST_F(SyncServiceTest, GetSyncStatusReportsEveryJobTheLeaderTheLimiterAndFreshness) {
  ASSERT_OK_AND_ASSIGN(db::Fence fence,
                       store_.AdvanceLeaderEpoch("replica-a", kT0 - absl::Hours(1)));
  // markets: completed 9 minutes ago, running again since a minute ago.
  ASSERT_OK_AND_ASSIGN(int64_t m1, store_.StartSyncRun(fence, db::SyncJob::kMarkets, "replica-a",
                                                       kT0 - absl::Minutes(10)));
  ASSERT_OK(
      store_.FinishSyncRun(fence, m1, db::RunStatus::kCompleted, 120, "", kT0 - absl::Minutes(9)));
  ASSERT_OK(store_.StartSyncRun(fence, db::SyncJob::kMarkets, "replica-a", kT0 - absl::Minutes(1))
                .status());
  // whale trades: refused by the upstream just now, although it completed recently.
  ASSERT_OK_AND_ASSIGN(int64_t w1, store_.StartSyncRun(fence, db::SyncJob::kWhaleTrades,
                                                       "replica-a", kT0 - absl::Minutes(2)));
  ASSERT_OK(
      store_.FinishSyncRun(fence, w1, db::RunStatus::kCompleted, 4, "", kT0 - absl::Minutes(2)));
  ASSERT_OK_AND_ASSIGN(int64_t w2, store_.StartSyncRun(fence, db::SyncJob::kWhaleTrades,
                                                       "replica-a", kT0 - absl::Seconds(30)));
  ASSERT_OK(store_.FinishSyncRun(fence, w2, db::RunStatus::kFailed, 0,
                                 "UNAUTHENTICATED: upstream: HTTP 401", kT0 - absl::Seconds(29)));
  // stats: completed five hours ago (more than three of its hourly intervals).
  ASSERT_OK_AND_ASSIGN(int64_t s1, store_.StartSyncRun(fence, db::SyncJob::kStats, "replica-z",
                                                       kT0 - absl::Hours(5)));
  ASSERT_OK(
      store_.FinishSyncRun(fence, s1, db::RunStatus::kCompleted, 9, "", kT0 - absl::Hours(5)));
  ASSERT_OK(store_.PublishLimiter(fence, {11.5, 4321, 3}, kT0 - absl::Seconds(2)));
  const std::string wallet = "0x" + std::string(40, 'a');
  ASSERT_OK(store_.TrackWhale(wallet, "", db::WhaleSource::kApi, kT0 - absl::Hours(3)).status());
  db::Activity trade;
  trade.tx_hash = "0x" + std::string(64, 'b');
  trade.wallet = wallet;
  trade.market_id = 1;
  trade.root_market_id = 1;
  trade.side = db::Side::kBuy;
  trade.outcome = db::Outcome::kYes;
  trade.price = "0.5";
  trade.shares = "10";
  trade.amount_usd = "5";
  trade.traded_time = kT0 - absl::Seconds(50);
  trade.origin = db::Origin::kLive;
  ASSERT_OK(store_
                .IngestActivities(fence, wallet, {trade},
                                  {kT0 - absl::Seconds(40), kT0 + absl::Seconds(20), 1},
                                  kT0 - absl::Seconds(40))
                .status());
  StartServer();

  ASSERT_OK_AND_ASSIGN(v1::GetSyncStatusResponse status, GetSyncStatus());
  ASSERT_THAT(status.jobs(), SizeIs(4));
  const v1::SyncJobStatus& markets = status.jobs(0);
  EXPECT_EQ(markets.job(), v1::SYNC_JOB_MARKETS);
  EXPECT_EQ(markets.last_status(), v1::RUN_STATUS_RUNNING);
  EXPECT_EQ(ToTime(markets.last_started_time()), kT0 - absl::Minutes(1));
  EXPECT_FALSE(markets.has_last_ended_time());
  EXPECT_EQ(ToTime(markets.last_completed_time()), kT0 - absl::Minutes(9));
  EXPECT_EQ(markets.last_replica_id(), "replica-a");
  EXPECT_TRUE(markets.healthy());
  EXPECT_EQ(ToTime(markets.next_run_time()), kT0 + absl::Minutes(4));  // its schedule

  const v1::SyncJobStatus& trades = status.jobs(1);
  EXPECT_EQ(trades.job(), v1::SYNC_JOB_WHALE_TRADES);
  EXPECT_EQ(trades.last_status(), v1::RUN_STATUS_FAILED);
  EXPECT_EQ(trades.last_error(), "UNAUTHENTICATED: upstream: HTTP 401");
  EXPECT_EQ(ToTime(trades.last_ended_time()), kT0 - absl::Seconds(29));
  EXPECT_FALSE(trades.healthy());            // refused by the upstream
  EXPECT_FALSE(trades.has_next_run_time());  // not a job of this server

  const v1::SyncJobStatus& stats = status.jobs(2);
  EXPECT_EQ(stats.job(), v1::SYNC_JOB_STATS);
  EXPECT_EQ(stats.last_status(), v1::RUN_STATUS_COMPLETED);
  EXPECT_EQ(stats.last_item_count(), 9);
  EXPECT_EQ(stats.last_error(), "");
  EXPECT_FALSE(stats.healthy());                                   // stale
  EXPECT_EQ(ToTime(stats.next_run_time()), kT0 - absl::Hours(4));  // overdue

  const v1::SyncJobStatus& cleanup = status.jobs(3);
  EXPECT_EQ(cleanup.job(), v1::SYNC_JOB_CLEANUP);
  EXPECT_EQ(cleanup.last_status(), v1::RUN_STATUS_UNSPECIFIED);
  EXPECT_FALSE(cleanup.has_last_started_time());
  EXPECT_FALSE(cleanup.healthy());

  EXPECT_EQ(status.leader_replica_id(), "replica-a");
  EXPECT_EQ(status.leader_epoch(), fence.epoch);
  EXPECT_EQ(ToTime(status.leader_acquired_time()), kT0 - absl::Hours(1));
  EXPECT_DOUBLE_EQ(status.limiter().rate_per_second(), 11.5);
  EXPECT_EQ(status.limiter().requests_total(), 4321);
  EXPECT_EQ(status.limiter().throttled_total(), 3);
  EXPECT_EQ(ToTime(status.limiter().published_time()), kT0 - absl::Seconds(2));
  EXPECT_EQ(ToTime(status.last_whale_poll_time()), kT0 - absl::Seconds(40));
  EXPECT_EQ(status.detection_lag().seconds(), 10);
  EXPECT_EQ(status.server().version(), kVersion);
  EXPECT_EQ(status.server().replica_id(), "replica-self");
  EXPECT_EQ(status.server().schema_version(), db::LatestSchemaVersion());
  EXPECT_EQ(ToTime(status.server().started_time()), kT0 - absl::Hours(2));
}

TEST_F(SyncServiceTest, WithNobodyHoldingTheLockThereIsNoLeaderAndNoNextRun) {
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store_.AdvanceLeaderEpoch("replica-a", kT0));
  ASSERT_OK(store_.StartSyncRun(fence, db::SyncJob::kMarkets, "replica-a", kT0).status());
  SetLeaderPresent(false);
  StartServer();
  ASSERT_OK_AND_ASSIGN(v1::GetSyncStatusResponse status, GetSyncStatus());
  EXPECT_EQ(status.leader_replica_id(), "");
  EXPECT_EQ(status.leader_epoch(), fence.epoch);
  EXPECT_FALSE(status.jobs(0).has_next_run_time());
  EXPECT_FALSE(status.has_limiter());  // never published
  EXPECT_FALSE(status.has_last_whale_poll_time());
  EXPECT_FALSE(status.has_detection_lag());
}

TEST_F(SyncServiceTest, RunSyncJobIsAnAdminCallThatQueuesOneRequestPerJob) {
  StartServer();
  EXPECT_THAT(RunSyncJob(v1::SYNC_JOB_MARKETS, ""), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(RunSyncJob(v1::SYNC_JOB_MARKETS, "Bearer wrong"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  const std::string bearer = absl::StrCat("Bearer ", kToken);
  EXPECT_THAT(RunSyncJob(v1::SYNC_JOB_UNSPECIFIED, bearer),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job")));
  EXPECT_THAT(RunSyncJob(9, bearer), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("9")));
  EXPECT_THAT(RunSyncJob(v1::SYNC_JOB_CLEANUP, bearer),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("SYNC_JOB_CLEANUP")));

  ASSERT_OK_AND_ASSIGN(v1::RunSyncJobResponse queued, RunSyncJob(v1::SYNC_JOB_STATS, bearer));
  EXPECT_TRUE(queued.accepted());
  EXPECT_EQ(ToTime(queued.requested_time()), kT0);
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(v1::RunSyncJobResponse again, RunSyncJob(v1::SYNC_JOB_STATS, bearer));
  EXPECT_FALSE(again.accepted());
  EXPECT_FALSE(again.has_requested_time());
  // Another job is queued independently, and the leader finds exactly these.
  ASSERT_OK_AND_ASSIGN(v1::RunSyncJobResponse markets, RunSyncJob(v1::SYNC_JOB_MARKETS, bearer));
  EXPECT_TRUE(markets.accepted());
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store_.AdvanceLeaderEpoch("replica-a", kT0));
  const db::SyncJob all[] = {db::SyncJob::kMarkets, db::SyncJob::kStats};
  ASSERT_OK_AND_ASSIGN(std::vector<db::SyncRequest> taken,
                       store_.TakeSyncRequests(fence, all, clock_.Now()));
  ASSERT_THAT(taken, SizeIs(2));
  EXPECT_EQ(taken[0].job, db::SyncJob::kStats);
  EXPECT_EQ(taken[1].job, db::SyncJob::kMarkets);
}

TEST_F(SyncServiceTest, WithoutAConfiguredTokenAdminCallsAreRefused) {
  AdminAuth none("");
  SyncService service(&store_, &none, &clock_, {&markets_}, SyncServiceOptions{});
  HealthService health;
  WhaledParts parts;
  parts.health = &health;
  parts.services = {&service};
  WhaledServerOptions options;
  options.listen = "127.0.0.1:0";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WhaledServer> server, WhaledServer::Start(options, parts));
  auto stub = v1::SyncService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer anything");
  v1::RunSyncJobRequest request;
  request.set_job(v1::SYNC_JOB_MARKETS);
  v1::RunSyncJobResponse response;
  EXPECT_EQ(stub->RunSyncJob(&context, request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_OK(server->Shutdown());
}

TEST_F(SyncServiceTest, ADatabaseThatIsDownIsUnavailable) {
  StartServer();
  store_.SetAvailable(false);
  EXPECT_THAT(GetSyncStatus(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(RunSyncJob(v1::SYNC_JOB_MARKETS, absl::StrCat("Bearer ", kToken)),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace whalefeed::server
