// CurlOpinionClient against opinion-sim over real HTTP on loopback: paging, every fault kind of
// sim/faults.h, a bad key, cancellation, the shared limiter against the simulator's strict 15/s,
// and the API key never showing in an error or a log line.
#include "sync/opinion_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "rapidjson/document.h"
#include "rapidjson/pointer.h"
#include "sim/faults.h"
#include "sim/opinion_sim.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

constexpr char kKey[] = "sk-live-7f3a9c1e5b2d4086a1c3e5f7092b4d6e";

class OpinionClientTest : public ::testing::Test {
 protected:
  void StartSim(const std::string& faults = "", int rate_limit = 0,
                std::vector<std::string> keys = {}) {
    sim::OpinionSim::Options options;
    options.markets = 30;
    options.wallets = 10;
    options.history_days = 2;
    options.rate_limit = rate_limit;
    options.api_keys = std::move(keys);
    auto specs = sim::ParseFaultSpecs(faults, /*bare_number_is_rate=*/false);
    ASSERT_OK(specs.status());
    options.faults = *specs;
    auto started = sim::OpinionSim::Create(options, &sim_clock_);
    ASSERT_OK(started.status());
    sim_ = *std::move(started);
  }

  // A client with fast backoff, on the real clock (the simulator is real HTTP).
  std::unique_ptr<CurlOpinionClient> Client(std::string key = kKey, int max_attempts = 4,
                                            absl::Duration timeout = absl::Seconds(10)) {
    if (limiter_ == nullptr) {
      auto limiter = RateLimiter::Create({}, &clock_, &sleeper_);
      EXPECT_OK(limiter.status());
      limiter_ = *std::move(limiter);
    }
    OpinionClientOptions options;
    options.base_url = sim_->base_url();
    options.api_key = std::move(key);
    options.retry.max_attempts = max_attempts;
    options.backoff_initial = absl::Milliseconds(1);
    options.backoff_maximum = absl::Milliseconds(20);
    options.http.timeout = timeout;
    auto client = CurlOpinionClient::Create(options, limiter_.get(), &clock_, &sleeper_);
    EXPECT_OK(client.status());
    return client.ok() ? *std::move(client) : nullptr;
  }

  // A number from the simulator's /admin/stats, by JSON pointer ("/totalRequests").
  int64_t SimStat(const char* pointer) {
    rapidjson::Document doc;
    doc.Parse(sim_->StatsJson().c_str());
    const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
    return v != nullptr && v->IsInt64() ? v->GetInt64() : -1;
  }
  int64_t SimRequests() { return SimStat("/totalRequests"); }
  std::string TopWallet() { return sim_->TopWallets(1)[0]->address; }

  FakeClock sim_clock_;
  RealClock clock_;
  RealSleeper sleeper_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<sim::OpinionSim> sim_;
  CancelToken never_;
};

TEST_F(OpinionClientTest, PagesThroughEveryMarketWithChildrenFlattened) {
  StartSim();
  auto client = Client();
  std::set<int64_t> top_level;
  std::map<int64_t, int> children_of;
  int64_t total = -1;
  for (int page = 1; page <= 10; ++page) {
    ASSERT_OK_AND_ASSIGN(MarketsPage p, client->ListMarkets(page, 20, never_));
    EXPECT_EQ(p.issues.skipped, 0);
    EXPECT_THAT(p.categorical_without_children, IsEmpty());  // the list rows carry them
    total = p.total;
    for (const db::Market& m : p.markets) {
      if (m.parent_market_id == 0) {
        top_level.insert(m.market_id);
      } else {
        ++children_of[m.parent_market_id];
        EXPECT_TRUE(top_level.count(m.parent_market_id)) << "a child comes after its parent";
      }
    }
    if (page * 20 >= p.total) break;
  }
  EXPECT_EQ(total, 30);
  EXPECT_EQ(static_cast<int64_t>(top_level.size()), total);  // binary and categorical alike
  EXPECT_FALSE(children_of.empty());
  EXPECT_THAT(client->ListMarkets(0, 20, never_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page")));
  EXPECT_THAT(client->ListMarkets(1, 21, never_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));

  // E3 gives a parent with the same children.
  const int64_t parent = children_of.begin()->first;
  ASSERT_OK_AND_ASSIGN(MarketsPage detail,
                       client->GetCategoricalMarketWithChildren(parent, never_));
  EXPECT_EQ(detail.markets[0].market_id, parent);
  EXPECT_EQ(detail.markets[0].market_type, db::MarketType::kCategorical);
  EXPECT_THAT(detail.markets, SizeIs(1 + children_of.begin()->second));
  ASSERT_OK_AND_ASSIGN(db::Market only, client->GetCategoricalMarket(parent, never_));
  EXPECT_EQ(only.market_id, parent);
  // A binary market is not categorical: NOT_FOUND at once.
  int64_t binary = 0;
  for (int64_t id : top_level) {
    if (!children_of.count(id)) binary = id;
  }
  const int64_t before = SimRequests();
  EXPECT_THAT(client->GetCategoricalMarket(binary, never_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/market/categorical/")));
  EXPECT_EQ(SimRequests() - before, 1);
}

TEST_F(OpinionClientTest, TradesComeNewestFirstWithExactAmounts) {
  StartSim();
  auto client = Client();
  const std::string wallet = TopWallet();
  std::string upper = wallet;
  for (size_t i = 2; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  ASSERT_OK_AND_ASSIGN(TradesPage page, client->ListUserTrades(upper, 1, 20, never_));
  EXPECT_GT(page.total, 0);
  ASSERT_FALSE(page.trades.empty());
  EXPECT_EQ(page.issues.skipped, 0);
  for (size_t i = 0; i < page.trades.size(); ++i) {
    const db::Activity& a = page.trades[i];
    EXPECT_EQ(a.wallet, wallet);
    EXPECT_FALSE(a.tx_hash.empty());
    EXPECT_NE(a.side, db::Side::kUnspecified);
    EXPECT_NE(a.outcome, db::Outcome::kUnspecified);
    EXPECT_EQ(a.origin, db::Origin::kUnspecified);
    EXPECT_THAT(a.amount_usd, Not(HasSubstr("e")));
    if (i > 0) {
      EXPECT_GE(page.trades[i - 1].traded_time, a.traded_time);
    }
  }
  EXPECT_THAT(client->ListUserTrades("0x12", 1, 20, never_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wallet")));
}

// One fault kind: what the client returns and how many requests the simulator saw.
struct FaultCase {
  std::string faults;
  absl::StatusCode code;  // kOk: the call succeeds (after retries)
  int64_t requests;       // requests the simulator saw
  std::string message;    // substring of the error
};

TEST_F(OpinionClientTest, EveryFaultKindOnTheTradesEndpoint) {
  const std::vector<FaultCase> cases = {
      {"rate429:2", absl::StatusCode::kOk, 3, ""},
      {"rate429:9", absl::StatusCode::kResourceExhausted, 4, "gave up after 4 attempts"},
      {"http5xx:2", absl::StatusCode::kOk, 3, ""},
      {"http5xx:1:status=502", absl::StatusCode::kOk, 2, ""},
      {"http5xx:1:status=503,http5xx:1:status=504", absl::StatusCode::kOk, 3, ""},
      {"http5xx:9:status=503", absl::StatusCode::kUnavailable, 4, "HTTP 503"},
      {"slow:1:delay_ms=3000", absl::StatusCode::kOk, 2, ""},
      {"slow:9:delay_ms=3000", absl::StatusCode::kDeadlineExceeded, 4, "/trade/user/"},
      {"drop:1", absl::StatusCode::kOk, 2, ""},
      {"drop:9", absl::StatusCode::kUnavailable, 4, "/trade/user/"},
      {"malformed:2", absl::StatusCode::kOk, 3, ""},
      {"malformed:9", absl::StatusCode::kDataLoss, 4, "GET /trade/user/"},
      // A null list within `total` is not the end of the trades: retried.
      {"list_null:1", absl::StatusCode::kOk, 2, ""},
      {"list_null:9", absl::StatusCode::kDataLoss, 4, "result.list is empty on page 1"},
      {"wrong_types:1", absl::StatusCode::kOk, 1, ""},
      {"missing_fields:1", absl::StatusCode::kOk, 1, ""},
  };
  StartSim();
  const std::string wallet = TopWallet();
  for (const FaultCase& c : cases) {
    SCOPED_TRACE(c.faults);
    sim_->faults().Clear();
    auto specs = sim::ParseFaultSpecs(c.faults, false);
    ASSERT_OK(specs.status());
    for (const sim::FaultSpec& spec : *specs) sim_->faults().Add(spec);
    limiter_.reset();  // fresh AIMD state for each case
    auto client = Client(kKey, 4, absl::Milliseconds(500));
    const int64_t before = SimRequests();
    absl::StatusOr<TradesPage> page = client->ListUserTrades(wallet, 1, 20, never_);
    EXPECT_EQ(SimRequests() - before, c.requests);
    if (c.code == absl::StatusCode::kOk) {
      ASSERT_OK(page.status());
    } else {
      EXPECT_THAT(page, StatusIs(c.code, HasSubstr(c.message)));
      EXPECT_THAT(page.status().message(), Not(HasSubstr(kKey)));
      continue;
    }
    if (c.faults == "wrong_types:1") {
      // Numbers where strings belong and strings where numbers belong: read exactly, all kept.
      EXPECT_EQ(page->issues.skipped, 0) << page->issues.reasons[0];
      EXPECT_THAT(page->trades, SizeIs(20));
    } else if (c.faults == "missing_fields:1") {
      // Records at even positions lose txHash, createdAt and price: those are skipped.
      EXPECT_EQ(page->issues.skipped, 10);
      EXPECT_THAT(page->trades, SizeIs(10));
      EXPECT_THAT(page->issues.reasons, Each(HasSubstr("txHash: missing")));
    } else {
      EXPECT_THAT(page->trades, SizeIs(20));
      EXPECT_EQ(page->issues.skipped, 0);
    }
    if (absl::StartsWith(c.faults, "rate429")) {
      EXPECT_EQ(limiter_->Stats().throttled_total, c.requests - 1);
      EXPECT_LT(limiter_->Stats().rate_per_second, 12);  // AIMD went down
    }
  }
}

TEST_F(OpinionClientTest, FaultsOnTheMarketsEndpoint) {
  StartSim();
  {
    sim_->faults().Add(*sim::ParseFaultSpec("wrong_types:1", false));
    ASSERT_OK_AND_ASSIGN(MarketsPage page, Client()->ListMarkets(1, 20, never_));
    EXPECT_EQ(page.issues.skipped, 0);
    EXPECT_FALSE(page.markets.empty());
  }
  {
    sim_->faults().Add(*sim::ParseFaultSpec("missing_fields:1", false));
    ASSERT_OK_AND_ASSIGN(MarketsPage page, Client()->ListMarkets(1, 20, never_));
    // Markets missing token ids, createdAt and volume are kept with defaults (lenient).
    EXPECT_EQ(page.issues.skipped, 0);
    EXPECT_EQ(page.markets[0].volume, "0");
    EXPECT_EQ(page.markets[0].created_time, absl::InfinitePast());
  }
  {
    sim_->faults().Add(*sim::ParseFaultSpec("list_null:1", false));
    ASSERT_OK_AND_ASSIGN(MarketsPage page, Client()->ListMarkets(1, 20, never_));
    EXPECT_THAT(page.markets, IsEmpty());
  }
  {
    sim_->faults().Add(*sim::ParseFaultSpec("malformed:1", false));
    ASSERT_OK_AND_ASSIGN(MarketsPage page, Client()->ListMarkets(1, 20, never_));
    EXPECT_FALSE(page.markets.empty());
  }
}

TEST_F(OpinionClientTest, RetryAfterIsHonoured) {
  StartSim("rate429:1:retry_after=1");
  auto client = Client();
  const absl::Time start = absl::Now();
  ASSERT_OK(client->ListUserTrades(TopWallet(), 1, 5, never_).status());
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(SimRequests(), 2);
  EXPECT_GT(limiter_->Stats().paused_until, start);
}

TEST_F(OpinionClientTest, ABadKeyIsUnauthenticatedAtOnceAndNeverQuoted) {
  StartSim("", 0, {"the-right-key-0123456789"});
  auto client = Client(kKey);
  absl::StatusOr<MarketsPage> page = client->ListMarkets(1, 20, never_);
  EXPECT_THAT(page, StatusIs(absl::StatusCode::kUnauthenticated,
                             AllOf(HasSubstr("HTTP 401"), HasSubstr("11002"),
                                   HasSubstr("not retried"), Not(HasSubstr(kKey)))));
  EXPECT_EQ(SimRequests(), 1);
  EXPECT_EQ(SimStat("/unauthorized"), 1);
  EXPECT_THAT(client->ListUserTrades(TopWallet(), 1, 20, never_),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(SimRequests(), 2);
}

TEST_F(OpinionClientTest, CancelStopsARequestInFlight) {
  StartSim("slow:1:delay_ms=60000");
  auto client = Client(kKey, 4, absl::Seconds(120));
  CancelToken cancel;
  absl::StatusOr<TradesPage> result;
  absl::Notification done;
  std::thread caller([&] {
    result = client->ListUserTrades(TopWallet(), 1, 20, cancel);
    done.Notify();
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (sim_->faults().FiredByKind()["slow"] < 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  const absl::Time cancelled_at = absl::Now();
  cancel.Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  caller.join();
  EXPECT_LT(absl::Now() - cancelled_at, absl::Milliseconds(500));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled, HasSubstr("/trade/user/")));
  EXPECT_EQ(SimRequests(), 1);  // no retry after a cancel
}

TEST_F(OpinionClientTest, CancelStopsAWaitForRetryAfter) {
  StartSim("rate429:1:retry_after=100");
  auto client = Client();
  CancelToken cancel;
  absl::StatusOr<MarketsPage> result;
  absl::Notification done;
  std::thread caller([&] {
    result = client->ListMarkets(1, 20, cancel);
    done.Notify();
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (limiter_->Stats().throttled_total < 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_EQ(limiter_->Stats().throttled_total, 1);
  const absl::Time cancelled_at = absl::Now();
  cancel.Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  caller.join();
  EXPECT_LT(absl::Now() - cancelled_at, absl::Milliseconds(500));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(SimRequests(), 1);
}

TEST_F(OpinionClientTest, ConcurrentCallersStayUnderTheSimulatorsStrictLimit) {
  StartSim("", /*rate_limit=*/15);
  auto client = Client();
  const std::string wallet = TopWallet();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 12; ++i) {
        absl::Status s = (t == 0) ? client->ListMarkets(1 + i % 2, 20, never_).status()
                                  : client->ListUserTrades(wallet, 1 + i % 3, 20, never_).status();
        if (!s.ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(SimRequests(), 36);
  EXPECT_EQ(SimStat("/rateLimited/limiter"), 0);  // the simulator never had to refuse one
  EXPECT_LE(SimStat("/worstSecond"), 15);
  EXPECT_EQ(limiter_->Stats().requests_total, 36);
  EXPECT_EQ(limiter_->Stats().throttled_total, 0);
}

TEST_F(OpinionClientTest, TheKeyIsInNoLogLine) {
  StartSim("http5xx:2,drop:1,malformed:1");
  auto client = Client(kKey, 6);
  ::testing::internal::CaptureStderr();
  absl::StatusOr<MarketsPage> page = client->ListMarkets(1, 20, never_);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  ASSERT_OK(page.status());
  EXPECT_THAT(logged, HasSubstr("retrying"));
  EXPECT_THAT(logged, HasSubstr("GET /market"));
  EXPECT_THAT(logged, Not(HasSubstr(kKey)));
}

TEST_F(OpinionClientTest, CreateChecksItsOptions) {
  StartSim();
  auto limiter = RateLimiter::Create({}, &clock_, &sleeper_);
  ASSERT_OK(limiter.status());
  OpinionClientOptions options;
  options.base_url = sim_->base_url();
  EXPECT_THAT(CurlOpinionClient::Create(options, limiter->get(), &clock_, &sleeper_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("OPINION_TRADE_API_KEY")));
  options.api_key = kKey;
  options.base_url = "ftp://example.com";
  EXPECT_THAT(CurlOpinionClient::Create(options, limiter->get(), &clock_, &sleeper_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base_url")));
  options.base_url = sim_->base_url() + "/";
  options.retry.max_attempts = 0;
  EXPECT_THAT(CurlOpinionClient::Create(options, limiter->get(), &clock_, &sleeper_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_attempts")));
  options.retry.max_attempts = 3;
  ASSERT_OK_AND_ASSIGN(auto client,
                       CurlOpinionClient::Create(options, limiter->get(), &clock_, &sleeper_));
  EXPECT_EQ(client->base_url(), sim_->base_url());  // trailing '/' dropped
  EXPECT_OK(client->ListMarkets(1, 1, never_).status());
}

}  // namespace
}  // namespace whalefeed::sync
