// WhaledServer in-process with parts of the test's own: services registered as given, components
// started in their declared order and stopped in reverse after the gRPC server, and a shutdown that
// returns by its deadline whatever a part does.
#include "server/whaled_server.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/leak.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/status_matchers.h"
#include "whalefeed/v1/market_service.grpc.pb.h"

namespace whalefeed::server {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::whalefeed::testing::StatusIs;

// What happened, in order, across components.
class EventLog {
 public:
  void Add(std::string event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

class RecordingComponent final : public Component {
 public:
  RecordingComponent(std::string name, EventLog* log, absl::Status start = absl::OkStatus())
      : name_(std::move(name)), log_(log), start_(std::move(start)) {}

  absl::string_view name() const override { return name_; }
  absl::Status Start() override {
    log_->Add("start " + name_);
    return start_;
  }
  void Drain() override { log_->Add("drain " + name_); }
  bool Stop(absl::Time /*deadline*/) override {
    if (on_stop) on_stop();
    log_->Add("stop " + name_);
    return true;
  }

  std::function<void()> on_stop;  // runs first thing in Stop

 private:
  const std::string name_;
  EventLog* const log_;
  const absl::Status start_;
};

// Its thread blocks, as in a database call that does not return, until the test releases it. Stop
// keeps the contract: it waits until the deadline, then says the component did not stop.
class BlockedComponent final : public Component {
 public:
  absl::string_view name() const override { return "blocked"; }
  absl::Status Start() override {
    std::thread([this] {
      release_.WaitForNotification();
      exited_.Notify();
    }).detach();
    return absl::OkStatus();
  }
  bool Stop(absl::Time deadline) override {
    return exited_.WaitForNotificationWithDeadline(deadline);
  }
  void Release() { release_.Notify(); }

 private:
  absl::Notification release_;
  absl::Notification exited_;
};

// Breaks the contract: its Stop ignores the deadline and returns only when released.
class StubbornComponent final : public Component {
 public:
  absl::string_view name() const override { return "stubborn"; }
  absl::Status Start() override { return absl::OkStatus(); }
  bool Stop(absl::Time /*deadline*/) override {
    release_.WaitForNotification();
    return true;
  }
  void Release() { release_.Notify(); }

 private:
  absl::Notification release_;
};

// GetMarket blocks, as a handler stuck in a database call, until released.
class StuckMarketService final : public whalefeed::v1::MarketService::Service {
 public:
  grpc::Status GetMarket(grpc::ServerContext* /*context*/,
                         const whalefeed::v1::GetMarketRequest* /*request*/,
                         whalefeed::v1::Market* /*response*/) override {
    entered_.Notify();
    release_.WaitForNotification();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "database timed out");
  }
  absl::Notification entered_;
  absl::Notification release_;
};

class WhaledServerTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<WhaledServer>> StartServer(std::vector<grpc::Service*> services,
                                                            std::vector<Component*> components,
                                                            absl::Duration shutdown_timeout) {
    WhaledServerOptions options;
    options.listen = "127.0.0.1:0";
    options.shutdown_timeout = shutdown_timeout;
    WhaledParts parts;
    parts.health = &health_;
    parts.services = std::move(services);
    parts.components = std::move(components);
    return WhaledServer::Start(options, std::move(parts));
  }

  static std::shared_ptr<grpc::Channel> Connect(const WhaledServer& server) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                               grpc::InsecureChannelCredentials());
  }

  static grpc::StatusCode CheckHealth(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckResponse response;
    return Health::NewStub(channel)->Check(&context, HealthCheckRequest(), &response).error_code();
  }

  HealthService health_;
  EventLog log_;
};

TEST_F(WhaledServerTest, ComponentsStartInOrderAndStopInReverseAfterTheServer) {
  health_.SetStatus("", HealthCheckResponse::SERVING);
  RecordingComponent first("first", &log_);
  RecordingComponent second("second", &log_);
  whalefeed::v1::MarketService::Service markets;  // nothing built: UNIMPLEMENTED
  ASSERT_OK_AND_ASSIGN(auto server, StartServer({&markets}, {&first, &second}, absl::Seconds(5)));
  EXPECT_THAT(log_.events(), ElementsAre("start first", "start second"));

  auto channel = Connect(*server);
  EXPECT_EQ(CheckHealth(channel), grpc::StatusCode::OK);
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    whalefeed::v1::Market market;
    EXPECT_EQ(whalefeed::v1::MarketService::NewStub(channel)
                  ->GetMarket(&context, whalefeed::v1::GetMarketRequest(), &market)
                  .error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }

  // Health is NOT_SERVING before anything drains; the server no longer answers by the time a
  // component stops.
  second.on_stop = [&] {
    log_.Add(
        absl::StrCat("health ", HealthCheckResponse::ServingStatus_Name(health_.GetStatus(""))));
    log_.Add(absl::StrCat("server answers ", absl::StatusCodeToString(static_cast<absl::StatusCode>(
                                                 CheckHealth(channel)))));
  };
  EXPECT_OK(server->Shutdown());
  EXPECT_THAT(
      log_.events(),
      ElementsAre("start first", "start second", "drain second", "drain first",
                  "health NOT_SERVING", "server answers UNAVAILABLE", "stop second", "stop first"));
  EXPECT_OK(server->Shutdown());  // idempotent
}

TEST_F(WhaledServerTest, AComponentThatFailsToStartStopsThoseStartedBefore) {
  RecordingComponent first("first", &log_);
  RecordingComponent broken("broken", &log_, absl::FailedPreconditionError("no leader lock"));
  RecordingComponent never("never", &log_);
  auto server = StartServer({}, {&first, &broken, &never}, absl::Seconds(5));
  EXPECT_THAT(server, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "broken did not start: no leader lock"));
  EXPECT_THAT(log_.events(),
              ElementsAre("start first", "start broken", "drain first", "stop first"));
}

// A component that did not stop, and whatever it uses, must outlive everything that may still run:
// these tests leak them, as whaled exits without destroying them.

TEST_F(WhaledServerTest, ShutdownReturnsByItsDeadlineWhenAComponentIsBlocked) {
  auto* blocked = LeakOnPurpose(new BlockedComponent);
  RecordingComponent after("after", &log_);
  ASSERT_OK_AND_ASSIGN(auto server, StartServer({}, {blocked, &after}, absl::Milliseconds(200)));
  const absl::Time begin = absl::Now();
  const absl::Status stopped = server->Shutdown();
  const absl::Duration took = absl::Now() - begin;
  EXPECT_THAT(stopped, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("blocked")));
  EXPECT_THAT(std::string(stopped.message()), ::testing::Not(HasSubstr("after")));
  // It was given the whole deadline, and not a moment more.
  EXPECT_GE(took, absl::Milliseconds(200) + kShutdownGrace - absl::Milliseconds(10));
  EXPECT_LT(took, absl::Milliseconds(200) + kShutdownGrace + absl::Milliseconds(300));
  EXPECT_THAT(log_.events(), ElementsAre("start after", "drain after", "stop after"));
  blocked->Release();
}

TEST_F(WhaledServerTest, ShutdownReturnsByItsDeadlineWhenAComponentBreaksItsContract) {
  auto* stubborn = LeakOnPurpose(new StubbornComponent);
  ASSERT_OK_AND_ASSIGN(auto server, StartServer({}, {stubborn}, absl::Milliseconds(200)));
  const absl::Time begin = absl::Now();
  EXPECT_THAT(server->Shutdown(),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("stubborn")));
  EXPECT_LT(absl::Now() - begin,
            absl::Milliseconds(200) + kShutdownGrace + absl::Milliseconds(300));
  stubborn->Release();
}

TEST_F(WhaledServerTest, ShutdownReturnsByItsDeadlineWhenACallDoesNotEnd) {
  auto* markets = LeakOnPurpose(new StuckMarketService);
  ASSERT_OK_AND_ASSIGN(auto server, StartServer({markets}, {}, absl::Milliseconds(200)));
  auto channel = Connect(*server);
  grpc::StatusCode call_code = grpc::StatusCode::OK;
  std::thread caller([&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    whalefeed::v1::Market market;
    call_code = whalefeed::v1::MarketService::NewStub(channel)
                    ->GetMarket(&context, whalefeed::v1::GetMarketRequest(), &market)
                    .error_code();
  });
  markets->entered_.WaitForNotification();

  const absl::Time begin = absl::Now();
  EXPECT_THAT(server->Shutdown(),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("grpc-server")));
  EXPECT_LT(absl::Now() - begin,
            absl::Milliseconds(200) + kShutdownGrace + absl::Milliseconds(300));
  caller.join();
  EXPECT_NE(call_code, grpc::StatusCode::OK);
  markets->release_.Notify();
  server.reset();  // leaves the gRPC server to the thread still shutting it down
}

TEST_F(WhaledServerTest, AHealthServiceIsRequired) {
  WhaledServerOptions options;
  options.listen = "127.0.0.1:0";
  EXPECT_THAT(WhaledServer::Start(options, WhaledParts()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace whalefeed::server
