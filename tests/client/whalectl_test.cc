// whalectl through its real binary against an in-process whaled on an in-memory store: health and
// version as whaled serves them today, and the errors that need no server.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "db/in_memory_store.h"
#include "server/health_prober.h"
#include "server/health_service.h"
#include "server/whaled_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::Subprocess;
using HealthResponse = grpc::health::v1::HealthCheckResponse;

struct Result {
  int code = -1;
  std::string output;
};

Result Whalectl(std::vector<std::string> args) {
  args.insert(args.begin(), WHALECTL_PATH);
  auto process = Subprocess::Start(args, {"WHALEFEED_SERVER="});
  EXPECT_OK(process.status());
  if (!process.ok()) return {};
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(30));
  EXPECT_OK(code.status());
  return {code.ok() ? *code : -1, (*process)->Output()};
}

// A server whose database never becomes ready unless `database_ready`: then its prober keeps ""
// NOT_SERVING, and the test sets every other status itself.
class WhalectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::WhaledServerOptions options;
    options.listen = "127.0.0.1:0";
    server::WhaledParts parts;
    parts.health = &health_;
    parts.services = {&market_service_, &whale_service_, &feed_service_, &sync_service_};
    parts.components = {&prober_};
    auto started = server::WhaledServer::Start(options, std::move(parts));
    ASSERT_OK(started.status());
    server_ = *std::move(started);
    address_ = absl::StrCat("--server=127.0.0.1:", server_->port());
  }

  FakeClock clock_;
  db::InMemoryStore store_;
  server::HealthService health_;
  server::HealthProber prober_{
      &store_,
      [] { return absl::UnavailableError("the test's database is never ready"); },
      &health_,
      &clock_,
      {}};
  // As in whaled: every whalefeed.v1 method answers UNIMPLEMENTED until it is built.
  v1::MarketService::Service market_service_;
  v1::WhaleService::Service whale_service_;
  v1::FeedService::Service feed_service_;
  v1::SyncService::Service sync_service_;
  std::unique_ptr<server::WhaledServer> server_;
  std::string address_;
};

TEST_F(WhalectlTest, HealthServingExitsZero) {
  health_.SetStatus("test.service", HealthResponse::SERVING);
  Result r = Whalectl({address_, "health", "test.service"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "SERVING\n");
}

TEST_F(WhalectlTest, HealthAsJson) {
  health_.SetStatus("test.service", HealthResponse::SERVING);
  Result r = Whalectl({address_, "-o", "json", "health", "test.service"});
  EXPECT_EQ(r.code, 0) << r.output;
  HealthResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.output, &parsed).ok()) << r.output;
  EXPECT_EQ(parsed.status(), HealthResponse::SERVING);
}

TEST_F(WhalectlTest, HealthNotServingExitsOne) {
  Result r = Whalectl({address_, "health"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_EQ(r.output, "NOT_SERVING\n");
}

TEST_F(WhalectlTest, HealthOfANamedService) {
  health_.SetStatus("test.other", HealthResponse::SERVING);
  EXPECT_EQ(Whalectl({address_, "health", "test.other"}).code, 0);
  Result unknown = Whalectl({address_, "health", "nope"});
  EXPECT_EQ(unknown.code, 3);  // not found
  EXPECT_EQ(unknown.output, "whalectl: NOT_FOUND: the server knows no health service \"nope\"\n");
}

TEST_F(WhalectlTest, VersionPrintsItsOwnAndSaysWhatTheServerReports) {
  Result r = Whalectl({address_, "version"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("whalectl ", WHALEFEED_VERSION)));
  EXPECT_THAT(r.output, HasSubstr("GetSyncStatus"));
}

TEST(WhalectlErrorsTest, UnreachableServerIsAnErrorNamingTheAddress) {
  Result r = Whalectl({"--server=127.0.0.1:1", "--timeout=2s", "health"});
  EXPECT_EQ(r.code, 6);  // unavailable
  EXPECT_THAT(r.output, ::testing::StartsWith("whalectl: UNAVAILABLE: "));
  EXPECT_THAT(r.output, HasSubstr("127.0.0.1:1"));
}

TEST(WhalectlErrorsTest, UnknownCommand) {
  Result r = Whalectl({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("frobnicate"));
}

TEST(WhalectlErrorsTest, UnknownFlagOrBadFlagValueIsAUsageError) {
  Result unknown = Whalectl({"--colour=red", "health"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unknown flag --colour"));
  Result bad = Whalectl({"--page_size=many", "markets", "list"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--page_size"));
  Result output = Whalectl({"-o", "yaml", "markets", "list"});
  EXPECT_EQ(output.code, 2);
  EXPECT_THAT(output.output, HasSubstr("-o must be table or json"));
}

TEST(WhalectlErrorsTest, HelpDocumentsTheExitCodes) {
  Result r = Whalectl({"help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("Exit codes:"));
  EXPECT_THAT(r.output, HasSubstr("6  server unavailable"));
  Result flags = Whalectl({"--help"});
  EXPECT_EQ(flags.code, 0);
  EXPECT_THAT(flags.output, HasSubstr("Exit codes:"));
  EXPECT_THAT(flags.output, HasSubstr("--page_size"));
}

}  // namespace
}  // namespace whalefeed
