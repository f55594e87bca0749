// The absl <-> gRPC status bridge through a real in-process gRPC server on port 0: what a handler
// returns as an absl::Status is what the client's generated stub sees, trailing metadata included.
#include "common/grpc_status.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/cord.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using ::whalefeed::testing::StatusIs;

constexpr char kResumeTokenKey[] = "whalefeed-oldest-resume-token";

// Answers every call with the absl::Status the test set for the requested service name: Check on
// the sync API, Watch on the callback API (the feed's stream is a callback method).
class ScriptedHealth final : public Health::WithCallbackMethod_Watch<Health::Service> {
 public:
  void Answer(const std::string& service, absl::Status status) {
    absl::MutexLock lock(&mu_);
    answers_[service] = std::move(status);
  }

  grpc::Status Check(grpc::ServerContext* context, const HealthCheckRequest* request,
                     HealthCheckResponse* response) override {
    const absl::Status status = AnswerFor(request->service());
    if (status.ok()) response->set_status(HealthCheckResponse::SERVING);
    return ToGrpcStatus(status, context);
  }

  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(grpc::CallbackServerContext* context,
                                                       const HealthCheckRequest* request) override {
    class Reactor final : public grpc::ServerWriteReactor<HealthCheckResponse> {
     public:
      explicit Reactor(grpc::Status status) { Finish(std::move(status)); }
      void OnDone() override { delete this; }
    };
    return new Reactor(ToGrpcStatus(AnswerFor(request->service()), context));
  }

 private:
  absl::Status AnswerFor(const std::string& service) {
    absl::MutexLock lock(&mu_);
    auto it = answers_.find(service);
    return it == answers_.end() ? absl::NotFoundError("no answer scripted") : it->second;
  }

  absl::Mutex mu_;
  std::map<std::string, absl::Status> answers_ ABSL_GUARDED_BY(mu_);
};

class GrpcStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = Health::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // What the client sees of a unary call: the status and the server's trailing metadata.
  struct Seen {
    grpc::Status status;
    std::multimap<std::string, std::string> trailers;
    absl::Status converted;  // FromGrpcStatus with the call's context
  };
  Seen Check(const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    Seen seen;
    seen.status = stub_->Check(&context, request, &response);
    Collect(context, &seen);
    return seen;
  }
  Seen Watch(const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    HealthCheckRequest request;
    request.set_service(service);
    auto reader = stub_->Watch(&context, request);
    HealthCheckResponse response;
    EXPECT_FALSE(reader->Read(&response));
    Seen seen;
    seen.status = reader->Finish();
    Collect(context, &seen);
    return seen;
  }

  ScriptedHealth service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;

 private:
  static void Collect(const grpc::ClientContext& context, Seen* seen) {
    for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
      seen->trailers.emplace(std::string(key.data(), key.size()),
                             std::string(value.data(), value.size()));
    }
    seen->converted = FromGrpcStatus(seen->status, &context);
  }
};

TEST_F(GrpcStatusTest, ATrailerReachesTheClientOfAUnaryCall) {
  service_.Answer("feed", WithTrailer(absl::OutOfRangeError("resume_token is below the retention "
                                                            "floor; the oldest valid is \"AAEC\""),
                                      kResumeTokenKey, "AAEC"));
  const Seen seen = Check("feed");
  EXPECT_EQ(seen.status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(seen.status.error_message(),
            "resume_token is below the retention floor; the oldest valid is \"AAEC\"");
  EXPECT_THAT(seen.trailers, UnorderedElementsAre(Pair(kResumeTokenKey, "AAEC")));
  EXPECT_THAT(seen.converted,
              StatusIs(absl::StatusCode::kOutOfRange, ::testing::HasSubstr("retention floor")));
  EXPECT_THAT(GetTrailer(seen.converted, kResumeTokenKey), Optional(std::string("AAEC")));
}

TEST_F(GrpcStatusTest, ATrailerReachesTheClientOfACallbackStream) {
  service_.Answer("feed", WithTrailer(absl::OutOfRangeError("too old"), kResumeTokenKey, "AAEC"));
  const Seen seen = Watch("feed");
  EXPECT_EQ(seen.status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(seen.status.error_message(), "too old");
  EXPECT_THAT(seen.trailers, UnorderedElementsAre(Pair(kResumeTokenKey, "AAEC")));
  EXPECT_THAT(GetTrailer(seen.converted, kResumeTokenKey), Optional(std::string("AAEC")));
}

TEST_F(GrpcStatusTest, SeveralTrailersAndBinaryValues) {
  const std::string bytes("\x00\xff\n\x01", 4);
  absl::Status status = absl::InvalidArgumentError("bad filter");
  status = WithTrailer(std::move(status), "whalefeed-field", "filter");
  status = WithTrailer(std::move(status), "whalefeed-detail-bin", bytes);
  status = WithTrailer(std::move(status), "whalefeed-field", "page_token");  // replaces
  service_.Answer("x", status);
  const Seen seen = Check("x");
  EXPECT_EQ(seen.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(seen.trailers, UnorderedElementsAre(Pair("whalefeed-field", "page_token"),
                                                  Pair("whalefeed-detail-bin", bytes)));
}

TEST_F(GrpcStatusTest, InvalidTrailersAreDroppedAndTheCallStillAnswers) {
  absl::Status status = absl::UnavailableError("database down");
  status = WithTrailer(std::move(status), "Upper-Case", "x");
  status = WithTrailer(std::move(status), "grpc-reserved", "x");
  status = WithTrailer(std::move(status), "whalefeed-newline", "a\nb");
  status = WithTrailer(std::move(status), "whalefeed-retry", "later");
  service_.Answer("x", status);
  const Seen seen = Check("x");
  EXPECT_EQ(seen.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(seen.status.error_message(), "database down");
  EXPECT_THAT(seen.trailers, UnorderedElementsAre(Pair("whalefeed-retry", "later")));
}

TEST_F(GrpcStatusTest, OtherPayloadsStayInTheProcess) {
  absl::Status status = absl::InternalError("boom");
  status.SetPayload("type.whalefeed.dev/debug", absl::Cord("stack"));
  service_.Answer("x", status);
  const Seen seen = Check("x");
  EXPECT_EQ(seen.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_TRUE(seen.trailers.empty());
}

TEST_F(GrpcStatusTest, OkCarriesNoTrailers) {
  // absl::Status keeps no payload on OK: WithTrailer leaves it as it is.
  const absl::Status ok = WithTrailer(absl::OkStatus(), kResumeTokenKey, "AAEC");
  EXPECT_OK(ok);
  EXPECT_EQ(GetTrailer(ok, kResumeTokenKey), std::nullopt);
  service_.Answer("x", ok);
  const Seen seen = Check("x");
  EXPECT_TRUE(seen.status.ok());
  EXPECT_TRUE(seen.trailers.empty());
  EXPECT_OK(seen.converted);
}

TEST(GrpcStatusCodesTest, EveryCanonicalCodeKeepsItsNumberAndMessage) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "message");
    grpc::ServerContext context;
    const grpc::Status converted = ToGrpcStatus(status, &context);
    EXPECT_EQ(static_cast<int>(converted.error_code()), code);
    EXPECT_EQ(converted.error_message(), "message");
    EXPECT_EQ(FromGrpcStatus(converted), status);
  }
  EXPECT_OK(FromGrpcStatus(grpc::Status::OK));
}

}  // namespace
}  // namespace whalefeed
