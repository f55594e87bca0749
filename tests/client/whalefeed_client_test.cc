// The client library against in-process fake replicas over real gRPC: retries, failover,
// deadlines, the admin token, and the resuming watch.
#include "client/whalefeed_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "tests/client/fake_whaled.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::whalefeed::testing::ActivityMessage;
using ::whalefeed::testing::FakeWhaled;
using ::whalefeed::testing::HeartbeatMessage;
using ::whalefeed::testing::StatusIs;

// A policy whose waits are recorded instead of slept.
struct Recorded {
  absl::Mutex mu;
  std::vector<absl::Duration> waits ABSL_GUARDED_BY(mu);
  std::vector<absl::Duration> Waits() {
    absl::MutexLock lock(&mu);
    return waits;
  }
};

ClientOptions Options(std::vector<std::string> addresses, Recorded* recorded = nullptr) {
  ClientOptions options;
  options.addresses = std::move(addresses);
  options.default_deadline = absl::Seconds(20);
  options.retry.initial_backoff = absl::Milliseconds(100);
  options.retry.max_backoff = absl::Milliseconds(400);
  options.retry.max_attempts = 4;
  options.watch_reconnect.initial_backoff = absl::Milliseconds(1);
  options.watch_reconnect.max_backoff = absl::Milliseconds(20);
  if (recorded != nullptr) {
    options.sleep = [recorded](absl::Duration d) {
      absl::MutexLock lock(&recorded->mu);
      recorded->waits.push_back(d);
    };
  }
  return options;
}

std::unique_ptr<WhalefeedClient> MakeClient(ClientOptions options) {
  auto client = WhalefeedClient::Create(std::move(options));
  EXPECT_OK(client.status());
  return client.ok() ? *std::move(client) : nullptr;
}

// Nothing listens on port 1 of loopback: connections are refused at once.
constexpr char kDeadAddress[] = "127.0.0.1:1";

grpc::Status Unavailable() { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "database down"); }

TEST(WhalefeedClientTest, CreateRefusesBadOptions) {
  EXPECT_THAT(WhalefeedClient::Create(ClientOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("addresses")));
  ClientOptions options = Options({"127.0.0.1:5"});
  options.default_deadline = absl::ZeroDuration();
  EXPECT_THAT(WhalefeedClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("default_deadline")));
  options = Options({"127.0.0.1:5"});
  options.retry.max_attempts = 0;
  EXPECT_THAT(WhalefeedClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_attempts")));
  options = Options({"127.0.0.1:5"});
  options.admin_token = "line\nbreak";
  EXPECT_THAT(WhalefeedClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("admin_token")));
}

TEST(WhalefeedClientTest, ReturnsTheAnswerAndMapsErrorsKeepingMessageAndTrailers) {
  FakeWhaled fake;
  v1::Market market;
  market.set_market_id(7);
  market.set_title("Will it rain?");
  fake.Reply("GetMarket", market);
  auto client = MakeClient(Options({fake.address()}));
  v1::GetMarketRequest request;
  request.set_market_id(7);
  ASSERT_OK_AND_ASSIGN(v1::Market got, client->GetMarket(request));
  EXPECT_EQ(got.title(), "Will it rain?");
  EXPECT_EQ(fake.calls("GetMarket").at(0).request->DebugString(), request.DebugString());

  fake.Set("GetMarket", [](const auto&, auto*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "market_id 7: no such market");
  });
  EXPECT_THAT(client->GetMarket(request),
              StatusIs(absl::StatusCode::kNotFound, "market_id 7: no such market"));
  EXPECT_THAT(client->ListMarkets({}), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(WhalefeedClientTest, RetriesReadsOnUnavailableWithGrowingJitteredBackoff) {
  FakeWhaled fake;
  int failures_left = 3;
  fake.On<v1::ListWhalesRequest, v1::ListWhalesResponse>(
      "ListWhales", [&](const v1::ListWhalesRequest&, v1::ListWhalesResponse* response) {
        if (failures_left-- > 0) return Unavailable();
        response->add_whales()->set_wallet("0xabc");
        return grpc::Status::OK;
      });
  Recorded recorded;
  auto client = MakeClient(Options({fake.address()}, &recorded));
  ASSERT_OK_AND_ASSIGN(v1::ListWhalesResponse response, client->ListWhales({}));
  EXPECT_EQ(response.whales(0).wallet(), "0xabc");
  EXPECT_EQ(fake.calls("ListWhales").size(), 4u);
  // Full jitter: retry n waits at most min(400ms, 100ms * 2^(n-1)).
  const std::vector<absl::Duration> waits = recorded.Waits();
  ASSERT_EQ(waits.size(), 3u);
  const absl::Duration caps[] = {absl::Milliseconds(100), absl::Milliseconds(200),
                                 absl::Milliseconds(400)};
  for (size_t i = 0; i < waits.size(); ++i) {
    EXPECT_GE(waits[i], absl::ZeroDuration());
    EXPECT_LE(waits[i], caps[i]) << "retry " << i + 1;
  }
}

TEST(WhalefeedClientTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  FakeWhaled fake;
  fake.Fail("GetSyncStatus", Unavailable());
  Recorded recorded;
  auto client = MakeClient(Options({fake.address()}, &recorded));
  EXPECT_THAT(client->GetSyncStatus(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("database down")));
  EXPECT_EQ(fake.calls("GetSyncStatus").size(), 4u);
  EXPECT_EQ(recorded.Waits().size(), 3u);
}

TEST(WhalefeedClientTest, OtherErrorsAreNotRetried) {
  FakeWhaled fake;
  fake.Fail("ListWhaleActivity",
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "filter: unknown field \"x\""));
  Recorded recorded;
  auto client = MakeClient(Options({fake.address()}, &recorded));
  EXPECT_THAT(client->ListWhaleActivity({}),
              StatusIs(absl::StatusCode::kInvalidArgument, "filter: unknown field \"x\""));
  EXPECT_EQ(fake.calls("ListWhaleActivity").size(), 1u);
  EXPECT_THAT(recorded.Waits(), IsEmpty());
}

TEST(WhalefeedClientTest, WritesAreSentAtMostOnce) {
  FakeWhaled fake;
  fake.Fail("TrackWhale", Unavailable());
  fake.Fail("UntrackWhale", Unavailable());
  fake.Fail("RunSyncJob", Unavailable());
  Recorded recorded;
  auto client = MakeClient(Options({fake.address()}, &recorded));
  EXPECT_THAT(client->TrackWhale({}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(client->UntrackWhale({}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(client->RunSyncJob({}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(fake.calls("TrackWhale").size(), 1u);
  EXPECT_EQ(fake.calls("UntrackWhale").size(), 1u);
  EXPECT_EQ(fake.calls("RunSyncJob").size(), 1u);
  EXPECT_THAT(recorded.Waits(), IsEmpty());
}

TEST(WhalefeedClientTest, ReadsFailOverToTheNextAddressAtOnceAndStayThere) {
  FakeWhaled first, second;
  first.Fail("GetWhale", Unavailable());
  v1::GetWhaleResponse answer;
  answer.mutable_whale()->set_label("from the second");
  second.Reply("GetWhale", answer);
  Recorded recorded;
  auto client = MakeClient(Options({first.address(), second.address()}, &recorded));
  ASSERT_OK_AND_ASSIGN(v1::GetWhaleResponse got, client->GetWhale({}));
  EXPECT_EQ(got.whale().label(), "from the second");
  EXPECT_THAT(recorded.Waits(), IsEmpty());  // a replica not tried yet is tried at once
  ASSERT_OK(client->GetWhale({}).status());
  EXPECT_EQ(first.calls("GetWhale").size(), 1u);
  EXPECT_EQ(second.calls("GetWhale").size(), 2u);
}

TEST(WhalefeedClientTest, ReadsAndWritesFailOverFromAnAddressThatRefusesConnections) {
  FakeWhaled fake;
  fake.Reply("ListMarkets", v1::ListMarketsResponse());
  v1::Whale whale;
  whale.set_tracked(true);
  fake.Reply("TrackWhale", whale);
  auto client = MakeClient(Options({kDeadAddress, fake.address()}));
  ASSERT_OK(client->ListMarkets({}).status());
  auto writer = MakeClient(Options({kDeadAddress, fake.address()}));
  ASSERT_OK_AND_ASSIGN(v1::Whale tracked, writer->TrackWhale({}));
  EXPECT_TRUE(tracked.tracked());
  EXPECT_EQ(fake.calls("TrackWhale").size(), 1u);
}

TEST(WhalefeedClientTest, UnavailableNamesTheAddressesTried) {
  ClientOptions options = Options({kDeadAddress});
  options.retry.max_attempts = 1;
  auto client = MakeClient(options);
  EXPECT_THAT(client->Check(""), StatusIs(absl::StatusCode::kUnavailable, HasSubstr(kDeadAddress)));
  EXPECT_THAT(client->TrackWhale({}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(kDeadAddress)));
}

TEST(WhalefeedClientTest, TheDeadlineBoundsTheCallAndIsNotRetried) {
  // Shared with the handler, which may still be leaving its wait when the test ends.
  auto release = std::make_shared<absl::Notification>();
  FakeWhaled fake;
  fake.Set("GetMarket", [release](const auto&, auto*) {
    release->WaitForNotificationWithTimeout(absl::Seconds(30));
    return grpc::Status::OK;
  });
  Recorded recorded;
  auto client = MakeClient(Options({fake.address()}, &recorded));
  const absl::Time start = absl::Now();
  CallOptions call;
  call.deadline = absl::Milliseconds(300);
  EXPECT_THAT(client->GetMarket({}, call), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(recorded.Waits(), IsEmpty());
  release->Notify();  // the handler returns, and the call is recorded
  ASSERT_TRUE(fake.WaitForCalls("GetMarket", 1, absl::Seconds(30)));
  EXPECT_EQ(fake.calls("GetMarket").size(), 1u);
}

TEST(WhalefeedClientTest, SendsTheAdminTokenAsBearerAuthorization) {
  FakeWhaled fake;
  fake.Reply("TrackWhale", v1::Whale());
  fake.Reply("RunSyncJob", v1::RunSyncJobResponse());
  ClientOptions options = Options({fake.address()});
  options.admin_token = "s3cret";
  auto client = MakeClient(options);
  ASSERT_OK(client->TrackWhale({}).status());
  ASSERT_OK(client->RunSyncJob({}).status());
  EXPECT_EQ(fake.calls("TrackWhale").at(0).authorization, "Bearer s3cret");
  EXPECT_EQ(fake.calls("RunSyncJob").at(0).authorization, "Bearer s3cret");

  auto anonymous = MakeClient(Options({fake.address()}));
  ASSERT_OK(anonymous->TrackWhale({}).status());
  EXPECT_EQ(fake.calls("TrackWhale").at(1).authorization, "");
}

TEST(WhalefeedClientTest, HealthCheck) {
  FakeWhaled fake;
  fake.On<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>(
      "Check", [](const auto& request, auto* response) {
        if (request.service() != "whalefeed.sync.markets") {
          return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
        }
        response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
        return grpc::Status::OK;
      });
  auto client = MakeClient(Options({fake.address()}));
  ASSERT_OK_AND_ASSIGN(auto response, client->Check("whalefeed.sync.markets"));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_THAT(client->Check("nope"), StatusIs(absl::StatusCode::kNotFound));
}

// ---- Watch ----

// What a watch delivered, collected from its callback.
class Delivered {
 public:
  void Add(const v1::WatchWhaleActivityResponse& message) {
    absl::MutexLock lock(&mu_);
    for (const auto& activity : message.activities()) sequences_.push_back(activity.sequence());
    if (message.has_heartbeat()) ++heartbeats_;
  }
  std::vector<uint64_t> sequences() {
    absl::MutexLock lock(&mu_);
    return sequences_;
  }
  bool WaitForSequence(uint64_t sequence, absl::Duration timeout) {
    auto seen = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return std::find(sequences_.begin(), sequences_.end(), sequence) != sequences_.end();
    };
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  }
  int heartbeats() {
    absl::MutexLock lock(&mu_);
    return heartbeats_;
  }

 private:
  absl::Mutex mu_;
  std::vector<uint64_t> sequences_ ABSL_GUARDED_BY(mu_);
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string TokenOf(const FakeWhaled::Call& call) {
  return static_cast<const v1::WatchWhaleActivityRequest&>(*call.request).resume_token();
}

// Watches from the start until activity `last` arrives, then stops: the causes of the reconnects
// on the way. The watch must end OK.
std::vector<absl::Status> WatchUntil(WhalefeedClient& client, uint64_t last, Delivered& delivered) {
  WatchStop stop;
  std::vector<absl::Status> reconnects;
  WatchHooks hooks;
  hooks.on_reconnect = [&](const absl::Status& cause, absl::Duration) {
    reconnects.push_back(cause);
  };
  EXPECT_OK(client.WatchWhaleActivity(
      {},
      [&](const v1::WatchWhaleActivityResponse& m) {
        delivered.Add(m);
        if (m.activities_size() > 0 && m.activities(0).sequence() == last) stop.Stop();
      },
      &stop, hooks));
  return reconnects;
}

TEST(WatchTest, ResumesAfterUnavailableFromTheLastTokenWithoutDuplicates) {
  FakeWhaled fake;
  fake.OnWatch([&](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest& request,
                   FakeWhaled::WatchWriter* writer) {
    if (request.resume_token().empty()) {
      writer->Write(HeartbeatMessage("t0"));
      writer->Write(ActivityMessage({1, 2}, "t2"));
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "subscriber fell behind");
    }
    writer->Write(HeartbeatMessage(request.resume_token()));
    // An older position replayed (at-least-once): 2 again, then 3.
    writer->Write(ActivityMessage({2}, "t2"));
    writer->Write(ActivityMessage({2, 3}, "t3"));
    return fake.WaitWhileServing(context);
  });
  auto client = MakeClient(Options({fake.address()}));
  Delivered delivered;
  WatchStop stop;
  std::vector<absl::Status> reconnects;
  WatchHooks hooks;
  hooks.on_reconnect = [&](const absl::Status& cause, absl::Duration) {
    reconnects.push_back(cause);
  };
  v1::WatchWhaleActivityRequest request;
  request.set_filter("amount_usd >= 10000");
  const absl::Status end = client->WatchWhaleActivity(
      request,
      [&](const v1::WatchWhaleActivityResponse& message) {
        delivered.Add(message);
        if (!message.activities().empty() && message.activities().rbegin()->sequence() == 3) {
          stop.Stop();
        }
      },
      &stop, hooks);
  EXPECT_OK(end);
  EXPECT_THAT(delivered.sequences(), ElementsAre(1, 2, 3));
  EXPECT_EQ(delivered.heartbeats(), 2);
  const auto calls = fake.calls("WatchWhaleActivity");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(TokenOf(calls[0]), "");
  EXPECT_EQ(TokenOf(calls[1]), "t2");
  // The rest of the request stays as it was.
  EXPECT_EQ(static_cast<const v1::WatchWhaleActivityRequest&>(*calls[1].request).filter(),
            "amount_usd >= 10000");
  ASSERT_EQ(reconnects.size(), 1u);
  EXPECT_THAT(reconnects[0],
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("subscriber fell behind")));
}

TEST(WatchTest, SurvivesAServerRestartAndIsStoppedFromAnotherThread) {
  FakeWhaled fake;
  fake.OnWatch([&](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest& request,
                   FakeWhaled::WatchWriter* writer) {
    if (request.resume_token().empty()) {
      writer->Write(HeartbeatMessage("t0"));
      writer->Write(ActivityMessage({1}, "t1"));
    } else if (request.resume_token() == "t1") {
      writer->Write(HeartbeatMessage("t1"));
      writer->Write(ActivityMessage({2}, "t2"));
    }
    return fake.WaitWhileServing(context);
  });
  auto client = MakeClient(Options({fake.address()}));
  Delivered delivered;
  WatchStop stop;
  absl::Status end = absl::UnknownError("not ended");
  std::thread watcher([&] {
    end = client->WatchWhaleActivity(
        {}, [&](const v1::WatchWhaleActivityResponse& m) { delivered.Add(m); }, &stop);
  });
  ASSERT_TRUE(delivered.WaitForSequence(1, absl::Seconds(30)));
  fake.Restart();  // streams end with UNAVAILABLE; the port answers again
  EXPECT_TRUE(delivered.WaitForSequence(2, absl::Seconds(30)));
  stop.Stop();
  watcher.join();
  EXPECT_OK(end);
  EXPECT_THAT(delivered.sequences(), ElementsAre(1, 2));
  const auto calls = fake.calls("WatchWhaleActivity");
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(TokenOf(calls.back()), "t1");
}

TEST(WatchTest, ResumesOnAnotherReplicaWithTheSameToken) {
  FakeWhaled first, second;
  first.OnWatch([&](grpc::ServerContext*, const v1::WatchWhaleActivityRequest&,
                    FakeWhaled::WatchWriter* writer) {
    writer->Write(HeartbeatMessage("t0"));
    writer->Write(ActivityMessage({5}, "t5"));
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
  });
  second.OnWatch([&](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest& request,
                     FakeWhaled::WatchWriter* writer) {
    writer->Write(HeartbeatMessage(request.resume_token()));
    writer->Write(ActivityMessage({6}, "t6"));
    return second.WaitWhileServing(context);
  });
  auto client = MakeClient(Options({first.address(), second.address()}));
  Delivered delivered;
  WatchStop stop;
  EXPECT_OK(client->WatchWhaleActivity(
      {},
      [&](const v1::WatchWhaleActivityResponse& m) {
        delivered.Add(m);
        if (m.activities_size() > 0 && m.activities(0).sequence() == 6) stop.Stop();
      },
      &stop));
  EXPECT_THAT(delivered.sequences(), ElementsAre(5, 6));
  ASSERT_EQ(second.calls("WatchWhaleActivity").size(), 1u);
  EXPECT_EQ(TokenOf(second.calls("WatchWhaleActivity")[0]), "t5");
}

TEST(WatchTest, ASilentStreamIsTakenForStuckAndResumed) {
  FakeWhaled fake;
  fake.OnWatch([&](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest& request,
                   FakeWhaled::WatchWriter* writer) {
    if (request.resume_token().empty()) {
      writer->Write(HeartbeatMessage("t0"));
      writer->Write(ActivityMessage({1}, "t1"));
    } else {
      writer->Write(ActivityMessage({2}, "t2"));
    }
    return fake.WaitWhileServing(context);  // then silence, as from a hung replica
  });
  ClientOptions options = Options({fake.address()});
  options.watch_idle_timeout = absl::Milliseconds(200);
  auto client = MakeClient(options);
  Delivered delivered;
  const std::vector<absl::Status> reconnects = WatchUntil(*client, 2, delivered);
  EXPECT_THAT(delivered.sequences(), ElementsAre(1, 2));
  ASSERT_EQ(reconnects.size(), 1u);
  EXPECT_THAT(reconnects[0], StatusIs(absl::StatusCode::kUnavailable, HasSubstr("stuck")));
  EXPECT_EQ(TokenOf(fake.calls("WatchWhaleActivity").at(1)), "t1");
}

TEST(WatchTest, ResumesWhenTheServerCancelsTheCall) {
  // A server that is shutting down cancels the calls that reach it; the watch did not ask for
  // that, so it resumes.
  FakeWhaled fake;
  fake.OnWatch([&](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest& request,
                   FakeWhaled::WatchWriter* writer) {
    if (request.resume_token().empty()) {
      writer->Write(ActivityMessage({1}, "t1"));
      return grpc::Status(grpc::StatusCode::CANCELLED, "the server is going away");
    }
    writer->Write(ActivityMessage({2}, "t2"));
    return fake.WaitWhileServing(context);
  });
  auto client = MakeClient(Options({fake.address()}));
  Delivered delivered;
  const std::vector<absl::Status> reconnects = WatchUntil(*client, 2, delivered);
  EXPECT_THAT(delivered.sequences(), ElementsAre(1, 2));
  ASSERT_EQ(reconnects.size(), 1u);
  EXPECT_THAT(reconnects[0], StatusIs(absl::StatusCode::kCancelled, HasSubstr("going away")));
  EXPECT_EQ(TokenOf(fake.calls("WatchWhaleActivity").at(1)), "t1");
}

TEST(WatchTest, StopsOnInvalidArgument) {
  FakeWhaled fake;
  fake.OnWatch(
      [](grpc::ServerContext*, const v1::WatchWhaleActivityRequest&, FakeWhaled::WatchWriter*) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "filter: unknown field \"colour\"");
      });
  auto client = MakeClient(Options({fake.address()}));
  WatchStop stop;
  EXPECT_THAT(client->WatchWhaleActivity(
                  {}, [](const auto&) {}, &stop),
              StatusIs(absl::StatusCode::kInvalidArgument, "filter: unknown field \"colour\""));
  EXPECT_EQ(fake.calls("WatchWhaleActivity").size(), 1u);
}

TEST(WatchTest, StopsOnOutOfRangeAndSurfacesTheOldestTokenFromTheTrailer) {
  FakeWhaled fake;
  fake.OnWatch([](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest&,
                  FakeWhaled::WatchWriter*) {
    context->AddTrailingMetadata(kOldestResumeTokenKey, "v1.feed.oldest");
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        "resume_token is below the retention floor");
  });
  auto client = MakeClient(Options({fake.address()}));
  v1::WatchWhaleActivityRequest request;
  request.set_resume_token("v1.feed.ancient");
  const absl::Status end = client->WatchWhaleActivity(
      request, [](const auto&) {}, nullptr);
  EXPECT_THAT(end, StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("retention floor")));
  EXPECT_EQ(OldestResumeToken(end), "v1.feed.oldest");
  EXPECT_EQ(fake.calls("WatchWhaleActivity").size(), 1u);
}

TEST(WatchTest, OldestTokenFromTheMessageWithoutATrailer) {
  EXPECT_EQ(OldestResumeToken(absl::OutOfRangeError(
                "resume_token is below the retention floor; the oldest valid token is \"abc.1\"")),
            "abc.1");
  EXPECT_EQ(OldestResumeToken(absl::OutOfRangeError("expired; oldest resume token: abc.2")),
            "abc.2");
  EXPECT_EQ(OldestResumeToken(absl::OutOfRangeError("expired")), std::nullopt);
}

TEST(WatchTest, StopsOnPermissionDenied) {
  FakeWhaled fake;
  fake.OnWatch(
      [](grpc::ServerContext*, const v1::WatchWhaleActivityRequest&, FakeWhaled::WatchWriter*) {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no");
      });
  auto client = MakeClient(Options({fake.address()}));
  EXPECT_THAT(client->WatchWhaleActivity(
                  {}, [](const auto&) {}, nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(WatchTest, AStopBeforeTheStartReturnsAtOnce) {
  FakeWhaled fake;
  auto client = MakeClient(Options({fake.address()}));
  WatchStop stop;
  stop.Stop();
  EXPECT_OK(client->WatchWhaleActivity(
      {}, [](const auto&) {}, &stop));
  EXPECT_THAT(fake.calls("WatchWhaleActivity"), IsEmpty());
}

TEST(WatchTest, AStopDuringTheReconnectWaitEndsIt) {
  FakeWhaled fake;
  fake.OnWatch([](grpc::ServerContext*, const v1::WatchWhaleActivityRequest&,
                  FakeWhaled::WatchWriter*) { return Unavailable(); });
  ClientOptions options = Options({fake.address()});
  options.watch_reconnect.initial_backoff = absl::Minutes(10);
  options.watch_reconnect.max_backoff = absl::Minutes(10);
  auto client = MakeClient(options);
  WatchStop stop;
  absl::Status end = absl::UnknownError("not ended");
  absl::Notification waiting;
  WatchHooks hooks;
  hooks.on_reconnect = [&](const absl::Status&, absl::Duration) { waiting.Notify(); };
  std::thread watcher([&] {
    end = client->WatchWhaleActivity(
        {}, [](const auto&) {}, &stop, hooks);
  });
  ASSERT_TRUE(waiting.WaitForNotificationWithTimeout(absl::Seconds(30)));
  stop.Stop();
  watcher.join();
  EXPECT_OK(end);
  EXPECT_EQ(fake.calls("WatchWhaleActivity").size(), 1u);
}

}  // namespace
}  // namespace whalefeed::client
