#include "tests/client/fake_whaled.h"

#include <gtest/gtest.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace whalefeed::testing {

#define WF_FAKE_UNARY(Method, Request, Response)                                                \
  grpc::Status Method(grpc::ServerContext* context, const Request* request, Response* response) \
      override {                                                                                \
    return fake_->Dispatch(#Method, context, *request, response);                               \
  }

class FakeWhaled::Services {
 public:
  explicit Services(FakeWhaled* fake)
      : markets_(fake), whales_(fake), sync_(fake), feed_(fake), health_(fake) {}

  void Register(grpc::ServerBuilder& builder) {
    builder.RegisterService(&markets_);
    builder.RegisterService(&whales_);
    builder.RegisterService(&sync_);
    builder.RegisterService(&feed_);
    builder.RegisterService(&health_);
  }

 private:
  class Markets final : public v1::MarketService::Service {
   public:
    explicit Markets(FakeWhaled* fake) : fake_(fake) {}
    WF_FAKE_UNARY(ListMarkets, v1::ListMarketsRequest, v1::ListMarketsResponse)
    WF_FAKE_UNARY(GetMarket, v1::GetMarketRequest, v1::Market)

   private:
    FakeWhaled* fake_;
  };
  class Whales final : public v1::WhaleService::Service {
   public:
    explicit Whales(FakeWhaled* fake) : fake_(fake) {}
    WF_FAKE_UNARY(ListWhales, v1::ListWhalesRequest, v1::ListWhalesResponse)
    WF_FAKE_UNARY(GetWhale, v1::GetWhaleRequest, v1::GetWhaleResponse)
    WF_FAKE_UNARY(ListWhaleActivity, v1::ListWhaleActivityRequest, v1::ListWhaleActivityResponse)
    WF_FAKE_UNARY(TrackWhale, v1::TrackWhaleRequest, v1::Whale)
    WF_FAKE_UNARY(UntrackWhale, v1::UntrackWhaleRequest, v1::Whale)

   private:
    FakeWhaled* fake_;
  };
  class Sync final : public v1::SyncService::Service {
   public:
    explicit Sync(FakeWhaled* fake) : fake_(fake) {}
    WF_FAKE_UNARY(GetSyncStatus, v1::GetSyncStatusRequest, v1::GetSyncStatusResponse)
    WF_FAKE_UNARY(RunSyncJob, v1::RunSyncJobRequest, v1::RunSyncJobResponse)

   private:
    FakeWhaled* fake_;
  };
  class Feed final : public v1::FeedService::Service {
   public:
    explicit Feed(FakeWhaled* fake) : fake_(fake) {}
    grpc::Status WatchWhaleActivity(grpc::ServerContext* context,
                                    const v1::WatchWhaleActivityRequest* request,
                                    WatchWriter* writer) override {
      return fake_->DispatchWatch(context, *request, writer);
    }

   private:
    FakeWhaled* fake_;
  };
  class Health final : public grpc::health::v1::Health::Service {
   public:
    explicit Health(FakeWhaled* fake) : fake_(fake) {}
    WF_FAKE_UNARY(Check, grpc::health::v1::HealthCheckRequest,
                  grpc::health::v1::HealthCheckResponse)

   private:
    FakeWhaled* fake_;
  };

  Markets markets_;
  Whales whales_;
  Sync sync_;
  Feed feed_;
  Health health_;
};

#undef WF_FAKE_UNARY

FakeWhaled::FakeWhaled() : services_(std::make_unique<Services>(this)) {
  // Protobuf builds its descriptors lazily, on first use, under synchronisation of its own that
  // ThreadSanitizer cannot see (Debian's libprotobuf is not instrumented). Build them here, before
  // the server's threads exist, so that the first use is not a race between them and the test.
  for (const google::protobuf::Descriptor* descriptor :
       {v1::Market::descriptor(), v1::ListMarketsRequest::descriptor(),
        v1::ListWhalesRequest::descriptor(), v1::GetSyncStatusRequest::descriptor(),
        v1::WatchWhaleActivityRequest::descriptor(),
        grpc::health::v1::HealthCheckRequest::descriptor()}) {
    (void)descriptor;
  }
  StartServer();
}

FakeWhaled::~FakeWhaled() { Stop(); }

std::string FakeWhaled::address() const { return absl::StrCat("127.0.0.1:", port_); }

void FakeWhaled::StartServer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port_), grpc::InsecureServerCredentials(),
                           &selected);
  services_->Register(builder);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || selected == 0) {
    ADD_FAILURE() << "the fake whaled cannot listen on 127.0.0.1:" << port_;
    return;
  }
  port_ = selected;
}

void FakeWhaled::Stop() {
  if (server_ == nullptr) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  server_->Wait();
  server_.reset();
}

void FakeWhaled::Restart() {
  Stop();
  StartServer();
}

void FakeWhaled::Set(const std::string& method, UnaryHandler handler) {
  absl::MutexLock lock(&mu_);
  handlers_[method] = std::move(handler);
}

void FakeWhaled::Reply(const std::string& method, const Message& response) {
  std::shared_ptr<Message> canned(response.New());
  canned->CopyFrom(response);
  Set(method, [canned](const Message&, Message* out) {
    out->CopyFrom(*canned);
    return grpc::Status::OK;
  });
}

void FakeWhaled::Fail(const std::string& method, grpc::Status status) {
  Set(method, [status](const Message&, Message*) { return status; });
}

void FakeWhaled::OnWatch(WatchHandler handler) {
  absl::MutexLock lock(&mu_);
  watch_ = std::move(handler);
}

grpc::Status FakeWhaled::WaitWhileServing(grpc::ServerContext* context) {
  absl::MutexLock lock(&mu_);
  // The sync API has no cancellation callback: look at the call between short waits.
  while (!stopping_ && !context->IsCancelled()) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(10));
  }
  if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
  return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
}

void FakeWhaled::Record(const std::string& method, grpc::ServerContext* context,
                        const Message& request) {
  Call call;
  call.method = method;
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    call.authorization = std::string(it->second.data(), it->second.size());
  }
  call.request.reset(request.New());
  call.request->CopyFrom(request);
  absl::MutexLock lock(&mu_);
  calls_.push_back(std::move(call));
}

grpc::Status FakeWhaled::Dispatch(const std::string& method, grpc::ServerContext* context,
                                  const Message& request, Message* response) {
  UnaryHandler handler;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = handlers_.find(method); it != handlers_.end()) handler = it->second;
  }
  const grpc::Status status = handler ? handler(request, response)
                                      : grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                                     method + " is not set up by the test");
  // Recorded once the handler is done: a test that reads calls() afterwards is ordered after
  // everything the handler touched (a test's local state, too).
  Record(method, context, request);
  return status;
}

grpc::Status FakeWhaled::DispatchWatch(grpc::ServerContext* context,
                                       const v1::WatchWhaleActivityRequest& request,
                                       WatchWriter* writer) {
  Record("WatchWhaleActivity", context, request);
  WatchHandler handler;
  {
    absl::MutexLock lock(&mu_);
    handler = watch_;
  }
  if (!handler) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "the watch is not set up by the test");
  }
  return handler(context, request, writer);
}

std::vector<FakeWhaled::Call> FakeWhaled::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

std::vector<FakeWhaled::Call> FakeWhaled::calls(const std::string& method) const {
  std::vector<Call> matching;
  for (Call& call : calls()) {
    if (call.method == method) matching.push_back(std::move(call));
  }
  return matching;
}

bool FakeWhaled::WaitForCalls(const std::string& method, size_t n, absl::Duration timeout) const {
  auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    size_t count = 0;
    for (const Call& call : calls_) count += call.method == method;
    return count >= n;
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

v1::WatchWhaleActivityResponse HeartbeatMessage(const std::string& token) {
  v1::WatchWhaleActivityResponse message;
  message.mutable_heartbeat()->mutable_server_time()->set_seconds(1767225600);
  message.set_resume_token(token);
  return message;
}

v1::WatchWhaleActivityResponse ActivityMessage(const std::vector<uint64_t>& sequences,
                                               const std::string& token) {
  v1::WatchWhaleActivityResponse message;
  for (uint64_t sequence : sequences) {
    v1::WhaleActivity* activity = message.add_activities();
    activity->set_sequence(sequence);
    activity->set_activity_id(absl::StrCat("act-", sequence));
    activity->set_wallet("0x1111111111111111111111111111111111111111");
    activity->set_market_id(100);
    activity->set_root_market_id(100);
    activity->set_market_title("Will BTC close above $100k in 2026?");
    activity->set_side(v1::SIDE_BUY);
    activity->set_outcome(v1::OUTCOME_YES);
    activity->set_outcome_label("YES");
    activity->set_amount_usd("10000.00");
    activity->mutable_traded_time()->set_seconds(1767225600 + static_cast<int64_t>(sequence));
  }
  message.set_resume_token(token);
  return message;
}

}  // namespace whalefeed::testing
