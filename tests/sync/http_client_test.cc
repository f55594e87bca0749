// CurlHttpClient against opinion-sim over real HTTP on loopback, its faults included.
#include "sync/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "sim/faults.h"
#include "sim/opinion_sim.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::whalefeed::testing::StatusIs;

constexpr char kKey[] = "secret-api-key";

class HttpClientTest : public ::testing::Test {
 protected:
  void StartSim(const std::string& faults = "") {
    sim::OpinionSim::Options options;
    options.markets = 20;
    options.wallets = 10;
    options.history_days = 1;
    options.rate_limit = 0;
    auto specs = sim::ParseFaultSpecs(faults, /*bare_number_is_rate=*/false);
    ASSERT_OK(specs.status());
    options.faults = *specs;
    auto started = sim::OpinionSim::Create(options, &clock_);
    ASSERT_OK(started.status());
    sim_ = *std::move(started);
  }
  std::string Url(const std::string& path) {
    return absl::StrCat("http://127.0.0.1:", sim_->port(), "/openapi", path);
  }
  std::vector<std::pair<std::string, std::string>> Auth() { return {{"apikey", kKey}}; }

  FakeClock clock_;
  std::unique_ptr<sim::OpinionSim> sim_;
};

TEST_F(HttpClientTest, GetReturnsStatusHeadersAndBodyAndReusesTheHandle) {
  StartSim();
  CurlHttpClient client;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(HttpResponse r, client.Get(Url("/market?limit=1&marketType=2"), Auth()));
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(r.body, StartsWith("{\"errno\":0"));
    EXPECT_THAT(r.Header("content-type"), HasSubstr("application/json"));
    EXPECT_EQ(r.new_connections, i == 0 ? 1 : 0) << "request " << i << " reuses the connection";
  }
}

TEST_F(HttpClientTest, CompressedResponsesAreAskedForAndDecoded) {
  StartSim();
  CurlHttpClient client;
  ASSERT_OK_AND_ASSIGN(HttpResponse r, client.Get(Url("/market?limit=20&marketType=2"), Auth()));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.Header("content-encoding"), ::testing::AnyOf("gzip", "br", "deflate"));
  EXPECT_THAT(r.body, StartsWith("{\"errno\":0"));  // decoded
}

TEST_F(HttpClientTest, CancelStopsARequestInFlightAtOnceNotAtItsTimeout) {
  StartSim("slow:1:delay_ms=60000");
  HttpClientOptions options;
  options.timeout = absl::Seconds(120);
  CurlHttpClient client(options);
  CancelToken cancel;
  absl::StatusOr<HttpResponse> result;
  absl::Notification done;
  std::thread caller([&] {
    result = client.Get(Url("/market"), Auth(), &cancel);
    done.Notify();
  });
  // Wait (bounded) until the simulator holds the request in its slow fault.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (sim_->faults().FiredByKind()["slow"] < 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_EQ(sim_->faults().FiredByKind()["slow"], 1);
  EXPECT_FALSE(done.HasBeenNotified());
  const absl::Time cancelled_at = absl::Now();
  cancel.Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  const absl::Duration took = absl::Now() - cancelled_at;
  caller.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled, HasSubstr("/openapi/market")));
  EXPECT_LT(took, absl::Milliseconds(500)) << took;  // woken, not the once-a-second progress call
  // The client works again with a fresh token.
  ASSERT_OK_AND_ASSIGN(HttpResponse r, client.Get(Url("/market"), Auth()));
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpClientTest, AnAlreadyCancelledTokenSendsNothing) {
  StartSim();
  CurlHttpClient client;
  CancelToken cancel;
  cancel.Cancel();
  EXPECT_THAT(client.Get(Url("/market"), Auth(), &cancel), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(sim_->StatsJson(), HasSubstr("\"totalRequests\":0"));
}

TEST_F(HttpClientTest, AnHttpErrorIsAResponseNotAnError) {
  StartSim();
  CurlHttpClient client;
  ASSERT_OK_AND_ASSIGN(HttpResponse r, client.Get(Url("/market"), {}));  // no apikey
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("11002"));
}

TEST_F(HttpClientTest, RetryAfterHeaderIsVisible) {
  StartSim("rate429:1:retry_after=3");
  CurlHttpClient client;
  ASSERT_OK_AND_ASSIGN(HttpResponse r, client.Get(Url("/market"), Auth()));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "3");
  ASSERT_OK_AND_ASSIGN(HttpResponse next, client.Get(Url("/market"), Auth()));
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.Header("retry-after"), "");
}

TEST_F(HttpClientTest, SlowResponseIsDeadlineExceeded) {
  StartSim("slow:1:delay_ms=2000");
  HttpClientOptions options;
  options.timeout = absl::Milliseconds(200);
  CurlHttpClient client(options);
  EXPECT_THAT(client.Get(Url("/market?page=1"), Auth()),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("/openapi/market")));
}

TEST_F(HttpClientTest, DroppedConnectionIsUnavailable) {
  StartSim("drop:1");
  CurlHttpClient client;
  EXPECT_THAT(client.Get(Url("/market"), Auth()), StatusIs(absl::StatusCode::kUnavailable));
  // The same client works again afterwards.
  ASSERT_OK_AND_ASSIGN(HttpResponse r, client.Get(Url("/market"), Auth()));
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpClientTest, RefusedConnectionIsUnavailable) {
  CurlHttpClient client;
  EXPECT_THAT(client.Get("http://127.0.0.1:1/openapi/market", {}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(HttpClientTest, OversizedBodyIsResourceExhausted) {
  StartSim();
  HttpClientOptions options;
  options.max_body_bytes = 100;
  CurlHttpClient client(options);
  EXPECT_THAT(client.Get(Url("/market?limit=20"), Auth()),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(HttpClientTest, MalformedUrlIsInvalidArgument) {
  CurlHttpClient client;
  EXPECT_THAT(client.Get("ftp://127.0.0.1/x", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client.Get("http://[::1/x", {}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(HttpClientTest, ErrorsNeverCarryTheKeyOrTheQuery) {
  CurlHttpClient client;
  absl::StatusOr<HttpResponse> r =
      client.Get("http://127.0.0.1:1/openapi/trade/user/0xabc?page=7&limit=20", Auth());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), Not(HasSubstr(kKey)));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("page=7")));
  EXPECT_THAT(r.status().message(), HasSubstr("/openapi/trade/user/0xabc"));
}

}  // namespace
}  // namespace whalefeed::sync
