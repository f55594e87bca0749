// Two whaled replicas on one MariaDB, through their real binaries: exactly one leads (both say so
// in GetSyncStatus), and when the leader is killed with SIGKILL the other takes over within a
// generous bound; a leader stopped with SIGTERM hands over as its shutdown begins. The measured
// takeover times are printed.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"

namespace whalefeed {
namespace {

using ::whalefeed::testing::Subprocess;
using ::whalefeed::testing::TestDatabase;

constexpr char kWhaled[] = WHALED_PATH;

struct Replica {
  std::unique_ptr<Subprocess> process;
  std::unique_ptr<v1::SyncService::Stub> stub;
};

// Starts whaled as `replica_id` on a free port.
absl::StatusOr<Replica> StartReplica(const std::string& dsn_url, const std::string& replica_id) {
  absl::StatusOr<std::unique_ptr<Subprocess>> started = Subprocess::Start(
      {kWhaled, "--listen=127.0.0.1:0", "--mysql_dsn=" + dsn_url, "--health_probe_interval=200ms",
       "--replica_id=" + replica_id, "--leader_ping_interval=1s", "--shutdown_timeout=2s"});
  if (!started.ok()) return started.status();
  Replica replica;
  replica.process = *std::move(started);
  absl::StatusOr<std::string> line =
      replica.process->WaitForLine("listening on", absl::Seconds(30));
  if (!line.ok()) return line.status();
  const size_t colon = line->find(':', line->find("listening on"));
  const size_t end = line->find(',', colon);
  int port = 0;
  if (!absl::SimpleAtoi(line->substr(colon + 1, end - colon - 1), &port)) {
    return absl::InternalError("no port in: " + *line);
  }
  replica.stub = v1::SyncService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  return replica;
}

absl::StatusOr<v1::GetSyncStatusResponse> Status(Replica& replica) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::GetSyncStatusResponse response;
  grpc::Status status = replica.stub->GetSyncStatus(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

TEST(WhaledLeaderEndToEndTest, OneOfTwoReplicasLeadsAndTheOtherTakesOverWhenItIsKilled) {
  ASSERT_OK_AND_ASSIGN(auto database, TestDatabase::Create());
  ASSERT_OK_AND_ASSIGN(Replica a, StartReplica(database->url(), "replica-a"));
  // a alone: it leads once the database is migrated.
  ASSERT_OK(
      a.process->WaitForLine("leadership taken: replica replica-a", absl::Seconds(30)).status());
  ASSERT_OK_AND_ASSIGN(Replica b, StartReplica(database->url(), "replica-b"));

  // Both answer from the database: the same leader, and each names itself as the server.
  for (Replica* r : {&a, &b}) {
    ASSERT_OK_AND_ASSIGN(v1::GetSyncStatusResponse status, Status(*r));
    EXPECT_EQ(status.leader_replica_id(), "replica-a");
    EXPECT_EQ(status.leader_epoch(), 1);
    EXPECT_EQ(status.jobs_size(), 4);
    EXPECT_GT(status.server().schema_version(), 0);
  }
  ASSERT_OK_AND_ASSIGN(v1::GetSyncStatusResponse from_b, Status(b));
  EXPECT_EQ(from_b.server().replica_id(), "replica-b");
  EXPECT_EQ(b.process->Output().find("leadership taken"), std::string::npos);

  const absl::Time killed = absl::Now();
  a.process->Signal(SIGKILL);
  ASSERT_OK(
      b.process->WaitForLine("leadership taken: replica replica-b", absl::Seconds(30)).status());
  const absl::Duration takeover = absl::Now() - killed;
  std::printf(
      "leader whaled killed (SIGKILL): the other replica led after %s "
      "(--leader_ping_interval=1s)\n",
      absl::FormatDuration(takeover).c_str());
  EXPECT_LT(takeover, absl::Seconds(15));
  ASSERT_OK_AND_ASSIGN(v1::GetSyncStatusResponse after, Status(b));
  EXPECT_EQ(after.leader_replica_id(), "replica-b");
  EXPECT_EQ(after.leader_epoch(), 2);

  // A leader that is shut down (SIGTERM) gives the lead up as its shutdown begins.
  ASSERT_OK_AND_ASSIGN(Replica c, StartReplica(database->url(), "replica-c"));
  const absl::Time stopped = absl::Now();
  b.process->Signal(SIGTERM);
  ASSERT_OK(
      c.process->WaitForLine("leadership taken: replica replica-c", absl::Seconds(30)).status());
  std::printf("leader whaled stopped (SIGTERM): the other replica led after %s\n",
              absl::FormatDuration(absl::Now() - stopped).c_str());
  EXPECT_THAT(b.process->Wait(absl::Seconds(30)), ::whalefeed::testing::IsOkAndHolds(0));
  EXPECT_THAT(b.process->Output(), ::testing::HasSubstr("leadership given up"));
  ASSERT_OK_AND_ASSIGN(v1::GetSyncStatusResponse last, Status(c));
  EXPECT_EQ(last.leader_replica_id(), "replica-c");
  EXPECT_EQ(last.leader_epoch(), 3);
  c.process->Signal(SIGTERM);
  EXPECT_THAT(c.process->Wait(absl::Seconds(30)), ::whalefeed::testing::IsOkAndHolds(0));
}

}  // namespace
}  // namespace whalefeed
