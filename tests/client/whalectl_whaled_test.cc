// whalectl against the real whaled binary on a MariaDB of the test's own: health as the server's
// prober reports it, version, failover over a dead address, and a server that is gone.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"

namespace whalefeed {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::whalefeed::testing::PrivateMariaDb;
using ::whalefeed::testing::Subprocess;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

Result Whalectl(std::vector<std::string> args) {
  args.insert(args.begin(), WHALECTL_PATH);
  auto process = Subprocess::Start(args, {"WHALEFEED_SERVER=", "WHALEFEED_ADMIN_TOKEN="},
                                   Subprocess::Streams::kSeparate);
  EXPECT_OK(process.status());
  if (!process.ok()) return {};
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(60));
  EXPECT_OK(code.status());
  return {code.ok() ? *code : -1, (*process)->Output(), (*process)->ErrorOutput()};
}

// Follows Health.Watch of "" until it reports `want`: the test waits on the server's events.
absl::Status WaitForHealth(const std::string& address, HealthCheckResponse::ServingStatus want) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  auto reader = stub->Watch(&context, HealthCheckRequest());
  HealthCheckResponse response;
  while (reader->Read(&response)) {
    if (response.status() == want) {
      context.TryCancel();
      (void)reader->Finish();
      return absl::OkStatus();
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("health never became ",
                                                  HealthCheckResponse::ServingStatus_Name(want),
                                                  ": ", reader->Finish().error_message()));
}

TEST(WhalectlWithWhaledTest, HealthVersionFailoverAndAServerThatIsGone) {
  ASSERT_OK_AND_ASSIGN(auto mariadb, PrivateMariaDb::Create());
  ASSERT_OK_AND_ASSIGN(
      auto whaled,
      Subprocess::Start({WHALED_PATH, "--listen=127.0.0.1:0",
                         "--mysql_dsn=" + testing::DsnToUrl(mariadb->Dsn("whalefeed_whalectl")),
                         "--health_probe_interval=200ms", "--shutdown_timeout=5s"}));
  ASSERT_OK_AND_ASSIGN(std::string line, whaled->WaitForLine("listening on", absl::Seconds(30)));
  const size_t colon = line.find(':', line.find("listening on"));
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line.substr(colon + 1, line.find(',', colon) - colon - 1), &port))
      << line;
  const std::string address = absl::StrCat("127.0.0.1:", port);
  ASSERT_OK(WaitForHealth(address, HealthCheckResponse::SERVING)) << whaled->Output();

  Result serving = Whalectl({"--server=" + address, "health"});
  EXPECT_EQ(serving.code, 0) << serving.err;
  EXPECT_EQ(serving.out, "SERVING\n");
  // No sync job has run against this database.
  Result job = Whalectl({"--server=" + address, "health", "whalefeed.sync.markets"});
  EXPECT_EQ(job.code, 1);
  EXPECT_EQ(job.out, "NOT_SERVING\n");
  Result unknown = Whalectl({"--server=" + address, "health", "no.such.Service"});
  EXPECT_EQ(unknown.code, 3);
  EXPECT_EQ(unknown.err,
            "whalectl: NOT_FOUND: the server knows no health service "
            "\"no.such.Service\"\n");

  Result version = Whalectl({"--server=" + address, "version"});
  EXPECT_EQ(version.code, 0) << version.err;
  EXPECT_THAT(version.out, StartsWith(absl::StrCat("whalectl ", WHALEFEED_VERSION, "\nwhaled")));

  // A replica that refuses connections first in the list: whalectl moves on to the next.
  Result failover = Whalectl({"--server=127.0.0.1:1," + address, "health"});
  EXPECT_EQ(failover.code, 0) << failover.err;
  EXPECT_EQ(failover.out, "SERVING\n");

  // The database goes down: whaled says so, and whalectl exits 1.
  ASSERT_OK(mariadb->Stop());
  ASSERT_OK(WaitForHealth(address, HealthCheckResponse::NOT_SERVING));
  Result down = Whalectl({"--server=" + address, "health"});
  EXPECT_EQ(down.code, 1);
  EXPECT_EQ(down.out, "NOT_SERVING\n");

  // The server is gone: unavailable, exit 6, naming the address.
  whaled->Signal(SIGTERM);
  ASSERT_OK_AND_ASSIGN(int code, whaled->Wait(absl::Seconds(30)));
  EXPECT_EQ(code, 0) << whaled->Output();
  Result gone = Whalectl({"--server=" + address, "--timeout=2s", "health"});
  EXPECT_EQ(gone.code, 6);
  EXPECT_THAT(gone.err, StartsWith("whalectl: UNAVAILABLE: "));
  EXPECT_THAT(gone.err, HasSubstr(address));
}

}  // namespace
}  // namespace whalefeed
