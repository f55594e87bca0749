// whaled end to end: the real binary against a real MariaDB of the test's own, seen only through
// gRPC (reflection and grpc.health.v1, through stubs generated from grpc-proto's .proto files).
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "whalefeed/v1/market_service.grpc.pb.h"

namespace whalefeed {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::IsSupersetOf;
using ::whalefeed::testing::PrivateMariaDb;
using ::whalefeed::testing::Subprocess;

constexpr char kWhaled[] = WHALED_PATH;

// Starts whaled on a free port; returns the port it printed.
absl::StatusOr<int> StartWhaled(const std::string& dsn_url, std::unique_ptr<Subprocess>* process,
                                const std::string& shutdown_timeout = "5s") {
  auto started = Subprocess::Start({kWhaled, "--listen=127.0.0.1:0", "--mysql_dsn=" + dsn_url,
                                    "--health_probe_interval=200ms",
                                    "--shutdown_timeout=" + shutdown_timeout});
  if (!started.ok()) return started.status();
  *process = *std::move(started);
  absl::StatusOr<std::string> line = (*process)->WaitForLine("listening on", absl::Seconds(30));
  if (!line.ok()) return line.status();
  const size_t colon = line->find(':', line->find("listening on"));
  const size_t end = line->find(',', colon);
  int port = 0;
  if (!absl::SimpleAtoi(line->substr(colon + 1, end - colon - 1), &port)) {
    return absl::InternalError("no port in: " + *line);
  }
  return port;
}

// A Health.Watch stream of "", opened while the server is SERVING and then read on a thread of its
// own until it ends: what it saw after that first answer, and how it ended.
class OpenWatch {
 public:
  explicit OpenWatch(Health::Stub& stub) : stream_(stub.Watch(&context_, HealthCheckRequest())) {
    HealthCheckResponse first;
    first_read_ = stream_->Read(&first);
    first_ = first.status();
    reader_ = std::thread([this] {
      HealthCheckResponse next;
      while (stream_->Read(&next)) seen_.push_back(next.status());
      end_ = stream_->Finish();
    });
  }
  ~OpenWatch() {
    context_.TryCancel();  // a test that failed early may leave the server running
    Join();
  }

  bool opened_serving() const { return first_read_ && first_ == HealthCheckResponse::SERVING; }
  // Waits for the stream to end (at the latest when the server is gone).
  void Join() {
    if (reader_.joinable()) reader_.join();
  }
  // After Join: the statuses after the first, and the stream's end.
  const std::vector<HealthCheckResponse::ServingStatus>& seen() const { return seen_; }
  const grpc::Status& end() const { return end_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> stream_;
  bool first_read_ = false;
  HealthCheckResponse::ServingStatus first_ = HealthCheckResponse::UNKNOWN;
  std::vector<HealthCheckResponse::ServingStatus> seen_;
  grpc::Status end_;
  std::thread reader_;
};

// Follows Health.Watch until `service` reports `want`, so the test waits on events, not on sleeps.
absl::Status WaitForHealth(Health::Stub& stub, const std::string& service,
                           HealthCheckResponse::ServingStatus want, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  HealthCheckRequest request;
  request.set_service(service);
  auto reader = stub.Watch(&context, request);
  HealthCheckResponse response;
  HealthCheckResponse::ServingStatus last = HealthCheckResponse::UNKNOWN;
  while (reader->Read(&response)) {
    last = response.status();
    if (last == want) {
      context.TryCancel();
      (void)reader->Finish();
      return absl::OkStatus();
    }
  }
  grpc::Status status = reader->Finish();
  return absl::DeadlineExceededError(absl::StrCat(
      "health of \"", service, "\" never became ", HealthCheckResponse::ServingStatus_Name(want),
      " (last ", HealthCheckResponse::ServingStatus_Name(last), "): ", status.error_message()));
}

// Talks to grpc.reflection.v1alpha over one bidirectional stream.
class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(ServerReflection::NewStub(channel)) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    stream_ = stub_->ServerReflectionInfo(&context_);
  }
  ~ReflectionClient() {
    stream_->WritesDone();
    (void)stream_->Finish();
  }

  std::vector<std::string> ListServices() {
    ServerReflectionRequest request;
    request.set_list_services("");
    ServerReflectionResponse response = Ask(request);
    std::vector<std::string> names;
    for (const auto& service : response.list_services_response().service()) {
      names.push_back(service.name());
    }
    return names;
  }

  // Adds the file declaring `symbol`, and the files it depends on, to the descriptor database.
  bool LoadSymbol(const std::string& symbol) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    ServerReflectionResponse response = Ask(request);
    if (response.has_error_response()) return false;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) return false;
      if (loaded_.insert(file.name()).second) database_.Add(file);
    }
    return true;
  }

  google::protobuf::DescriptorPool& pool() { return pool_; }

 private:
  ServerReflectionResponse Ask(const ServerReflectionRequest& request) {
    ServerReflectionResponse response;
    EXPECT_TRUE(stream_->Write(request));
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }

  std::unique_ptr<ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ServerReflectionRequest, ServerReflectionResponse>>
      stream_;
  std::set<std::string> loaded_;
  google::protobuf::SimpleDescriptorDatabase database_;
  google::protobuf::DescriptorPool pool_{&database_};
};

TEST(WhaledEndToEndTest, ReflectionHealthDatabaseOutageAndGracefulShutdown) {
  // On shutdown whaled sends GOAWAY and waits for the client's transport to answer. A sync-API
  // client with no call in flight only reads its idle connections from gRPC's backup poller (every
  // 5 s by default), which would make every shutdown here last that long; poll often, as a busy
  // client does.
  ::setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/1);
  ASSERT_OK_AND_ASSIGN(auto mariadb, PrivateMariaDb::Create());
  // The database is down when whaled starts: whaled waits for it instead of failing.
  ASSERT_OK(mariadb->Stop());
  std::unique_ptr<Subprocess> whaled;
  ASSERT_OK_AND_ASSIGN(int port,
                       StartWhaled(testing::DsnToUrl(mariadb->Dsn("whalefeed_e2e")), &whaled));
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto health = Health::NewStub(channel);
  ASSERT_OK(WaitForHealth(*health, "", HealthCheckResponse::NOT_SERVING, absl::Seconds(10)));
  ASSERT_OK(whaled->WaitForLine("waiting for the database", absl::Seconds(10)).status());

  ASSERT_OK(mariadb->Start());
  ASSERT_OK(WaitForHealth(*health, "", HealthCheckResponse::SERVING, absl::Seconds(30)))
      << whaled->Output();

  {
    ReflectionClient reflection(channel);
    EXPECT_THAT(reflection.ListServices(),
                IsSupersetOf({"whalefeed.v1.MarketService", "whalefeed.v1.WhaleService",
                              "whalefeed.v1.FeedService", "whalefeed.v1.SyncService",
                              "grpc.health.v1.Health"}));
    for (const char* service :
         {"whalefeed.v1.MarketService", "whalefeed.v1.WhaleService", "whalefeed.v1.FeedService",
          "whalefeed.v1.SyncService", "grpc.health.v1.Health"}) {
      ASSERT_TRUE(reflection.LoadSymbol(service)) << service;
      const google::protobuf::ServiceDescriptor* descriptor =
          reflection.pool().FindServiceByName(service);
      ASSERT_NE(descriptor, nullptr) << service;
      EXPECT_GT(descriptor->method_count(), 0) << service;
    }
    const auto* feed = reflection.pool().FindServiceByName("whalefeed.v1.FeedService");
    const auto* watch = feed->FindMethodByName("WatchWhaleActivity");
    ASSERT_NE(watch, nullptr);
    EXPECT_TRUE(watch->server_streaming());
    EXPECT_EQ(watch->output_type()->full_name(), "whalefeed.v1.WatchWhaleActivityResponse");
    const auto* activity = reflection.pool().FindMessageTypeByName("whalefeed.v1.WhaleActivity");
    ASSERT_NE(activity, nullptr);
    EXPECT_NE(activity->FindFieldByName("sequence"), nullptr);
    EXPECT_NE(activity->FindFieldByName("amount_usd"), nullptr);
    const auto* market_service = reflection.pool().FindServiceByName("whalefeed.v1.MarketService");
    EXPECT_NE(market_service->FindMethodByName("ListMarkets"), nullptr);
    EXPECT_NE(market_service->FindMethodByName("GetMarket"), nullptr);
  }

  // Database down: "" leaves SERVING. Back up: it returns.
  ASSERT_OK(mariadb->Stop());
  ASSERT_OK(WaitForHealth(*health, "", HealthCheckResponse::NOT_SERVING, absl::Seconds(30)))
      << whaled->Output();
  ASSERT_OK(mariadb->Start());
  ASSERT_OK(WaitForHealth(*health, "", HealthCheckResponse::SERVING, absl::Seconds(30)))
      << whaled->Output();

  // No sync job has completed a run in this database: each job's health says so.
  for (const char* job : {"whalefeed.sync.markets", "whalefeed.sync.whale_trades",
                          "whalefeed.sync.stats", "whalefeed.sync.cleanup"}) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    HealthCheckRequest request;
    request.set_service(job);
    HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok()) << job;
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING) << job;
  }
  // Health of an unknown service is NOT_FOUND, never SERVING.
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    HealthCheckRequest request;
    request.set_service("no.such.Service");
    HealthCheckResponse response;
    EXPECT_EQ(health->Check(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  // The query services answer from the database: an unknown market is NOT_FOUND, never made-up
  // data.
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    auto markets = whalefeed::v1::MarketService::NewStub(channel);
    whalefeed::v1::GetMarketRequest request;
    request.set_market_id(1);
    whalefeed::v1::Market market;
    const grpc::Status status = markets->GetMarket(&context, request, &market);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  }

  // SIGTERM with a stream open: the stream sees NOT_SERVING and then ends with UNAVAILABLE (so
  // clients resume elsewhere), and whaled exits cleanly well within its shutdown deadline.
  OpenWatch watch(*health);
  ASSERT_TRUE(watch.opened_serving());
  const absl::Time begin = absl::Now();
  whaled->Signal(SIGTERM);
  ASSERT_OK_AND_ASSIGN(int code, whaled->Wait(absl::Seconds(20)));
  const absl::Duration took = absl::Now() - begin;
  watch.Join();
  std::printf("whaled stopped %s after SIGTERM\n", absl::FormatDuration(took).c_str());
  EXPECT_EQ(code, 0) << whaled->Output();
  EXPECT_LT(took, absl::Seconds(4)) << "the shutdown deadline is 5s: nothing should wait for it";
  EXPECT_THAT(whaled->Output(), ::testing::HasSubstr("stopped cleanly"));
  EXPECT_THAT(watch.seen(), ::testing::ElementsAre(HealthCheckResponse::NOT_SERVING));
  EXPECT_EQ(watch.end().error_code(), grpc::StatusCode::UNAVAILABLE) << watch.end().error_message();
}

// A frozen database (SIGSTOP: its socket and connections stay, nothing answers) holds the prober
// inside a database call for the store's 5 s timeout. SIGTERM must still end whaled within
// --shutdown_timeout + 1 s: shutdown waits for nothing that is blocked on the database, and says
// what it left behind.
TEST(WhaledEndToEndTest, ShutdownIsBoundedWhileTheDatabaseIsFrozen) {
  ::setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/1);  // see above
  constexpr absl::Duration kShutdownTimeout = absl::Seconds(2);
  ASSERT_OK_AND_ASSIGN(auto mariadb, PrivateMariaDb::Create());
  std::unique_ptr<Subprocess> whaled;
  ASSERT_OK_AND_ASSIGN(int port, StartWhaled(testing::DsnToUrl(mariadb->Dsn("whalefeed_frozen")),
                                             &whaled, absl::FormatDuration(kShutdownTimeout)));
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto health = Health::NewStub(channel);
  ASSERT_OK(WaitForHealth(*health, "", HealthCheckResponse::SERVING, absl::Seconds(30)))
      << whaled->Output();

  OpenWatch watch(*health);
  ASSERT_TRUE(watch.opened_serving());
  // The stream ends at the latest when whaled is gone.
  absl::Cleanup join_reader = [&] {
    whaled->Signal(SIGKILL);
    watch.Join();
  };

  ASSERT_OK(mariadb->Pause());
  absl::Cleanup resume = [&] { (void)mariadb->Resume(); };
  // The prober pings every 200 ms and each ping now blocks for 5 s: one second after the freeze it
  // is inside one (no event shows that from outside, hence the wait).
  absl::SleepFor(absl::Seconds(1));

  const absl::Time begin = absl::Now();
  whaled->Signal(SIGTERM);
  absl::StatusOr<int> code = whaled->Wait(absl::Seconds(30));
  const absl::Duration took = absl::Now() - begin;
  std::printf("whaled exited %s after SIGTERM with its database frozen (--shutdown_timeout=%s)\n",
              absl::FormatDuration(took).c_str(), absl::FormatDuration(kShutdownTimeout).c_str());
  ASSERT_OK(code.status()) << whaled->Output();
  EXPECT_LT(took, kShutdownTimeout + absl::Seconds(1)) << whaled->Output();
  // It says that it did not stop cleanly, and what it left running.
  EXPECT_EQ(*code, 1) << whaled->Output();
  absl::StatusOr<std::string> last = whaled->WaitForLine("did not stop cleanly", absl::Seconds(1));
  ASSERT_OK(last.status());
  std::printf("%s\n", last->c_str());
  EXPECT_THAT(*last, ::testing::HasSubstr("health-prober"));
  std::move(join_reader).Invoke();
  // The open stream was told first.
  EXPECT_THAT(watch.seen(), ::testing::ElementsAre(HealthCheckResponse::NOT_SERVING));
  EXPECT_EQ(watch.end().error_code(), grpc::StatusCode::UNAVAILABLE) << watch.end().error_message();
}

}  // namespace
}  // namespace whalefeed
