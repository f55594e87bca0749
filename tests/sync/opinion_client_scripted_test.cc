// CurlOpinionClient against a scripted upstream (a tiny HTTP server on loopback that answers what
// each test tells it): the quirks opinion-sim does not produce, on a FakeClock so that waits cost
// no real time. Region blocks, errno on HTTP 200, both envelope spellings, Retry-After as an HTTP
// date, quote tokens and their cache, an echoed key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "sync/opinion_client.h"
#include "tests/sync/fake_sleeper.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

constexpr char kKey[] = "sk-test-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
constexpr char kWallet[] = "0x00000000000000000000000000000000000000aa";

struct Reply {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
};

// Answers each path with its scripted replies in order (the last one repeats). Thread-safe.
class ScriptedUpstream {
 public:
  ScriptedUpstream() {
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Reply reply{404, R"({"errno":10404,"errmsg":"no such path","result":null})", {}};
      {
        absl::MutexLock lock(&mu_);
        ++requests_[req.path];
        seen_.push_back(Seen{req.path, req.params, req.get_header_value("apikey")});
        auto it = scripts_.find(req.path);
        if (it != scripts_.end() && !it->second.empty()) {
          reply = it->second.front();
          if (it->second.size() > 1) it->second.erase(it->second.begin());
        }
      }
      res.status = reply.status;
      for (const auto& [name, value] : reply.headers) res.set_header(name, value);
      res.set_content(reply.body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedUpstream() {
    server_.stop();
    thread_.join();
  }

  std::string base_url() const { return absl::StrCat("http://127.0.0.1:", port_, "/openapi"); }
  void Script(const std::string& path, std::vector<Reply> replies) {
    absl::MutexLock lock(&mu_);
    scripts_[absl::StrCat("/openapi", path)] = std::move(replies);
  }
  int Requests(const std::string& path) {
    absl::MutexLock lock(&mu_);
    return requests_[absl::StrCat("/openapi", path)];
  }
  struct Seen {
    std::string path;
    httplib::Params params;
    std::string apikey;
  };
  std::vector<Seen> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<std::string, std::vector<Reply>> scripts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

std::string Ok(const std::string& result) {
  return absl::StrCat(R"({"errno":0,"errmsg":"","result":)", result, "}");
}

std::string TradeList() {
  return Ok(R"({"total":1,"list":[{"txHash":"0xabc","marketId":5,"rootMarketId":5,"side":"BUY",
    "outcomeSide":2,"price":"0.5","shares":"10","amount":"5","quoteTokenUsdPrice":"0.999",
    "status":2,"createdAt":1766735571}]})");
}

class ScriptedClientTest : public ::testing::Test {
 protected:
  ScriptedClientTest() {
    limiter_ = *RateLimiter::Create({}, &clock_, &sleeper_);
    OpinionClientOptions options;
    options.base_url = upstream_.base_url();
    options.api_key = kKey;
    options.retry.max_attempts = 4;
    client_ = *CurlOpinionClient::Create(options, limiter_.get(), &clock_, &sleeper_);
  }

  FakeClock clock_;
  FakeSleeper sleeper_{&clock_};
  std::unique_ptr<RateLimiter> limiter_;
  ScriptedUpstream upstream_;
  std::unique_ptr<CurlOpinionClient> client_;
  CancelToken never_;
  const std::string trades_path_ = absl::StrCat("/trade/user/", kWallet);
};

TEST_F(ScriptedClientTest, ARegionBlockIsPermissionDeniedAtOnceWhateverTheHttpStatus) {
  const std::string body =
      R"({"errno":10403,"errmsg":"API is not available to persons located in the United States, China, or restricted jurisdictions","result":null})";
  for (int status : {200, 403}) {
    SCOPED_TRACE(status);
    upstream_.Script(trades_path_, {{status, body, {}}});
    const int before = upstream_.Requests(trades_path_);
    EXPECT_THAT(client_->ListUserTrades(kWallet, 1, 20, never_),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         AllOf(HasSubstr("10403"), HasSubstr("region"), HasSubstr("not retried"))));
    EXPECT_EQ(upstream_.Requests(trades_path_) - before, 1);
  }
}

TEST_F(ScriptedClientTest, AuthErrnosOnHttp200AreUnauthenticatedAtOnce) {
  for (
      const char* body :
      {R"({"errno":11001,"errmsg":"This API Key has no related Opinion Login Wallet yet","result":null})",
       R"({"code":11002,"msg":"Invalid API key","result":null})"}) {
    SCOPED_TRACE(body);
    upstream_.Script("/market", {{200, body, {}}});
    const int before = upstream_.Requests("/market");
    EXPECT_THAT(client_->ListMarkets(1, 20, never_),
                StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not retried")));
    EXPECT_EQ(upstream_.Requests("/market") - before, 1);
  }
}

TEST_F(ScriptedClientTest, TheDocumentedEnvelopeSpellingWorksToo) {
  upstream_.Script(
      "/market",
      {{200,
        R"({"code":0,"msg":"success","result":{"total":1,"list":[{"marketId":7,"marketTitle":"T","status":2,"marketType":0}]}})",
        {}}});
  ASSERT_OK_AND_ASSIGN(MarketsPage page, client_->ListMarkets(1, 20, never_));
  ASSERT_THAT(page.markets, SizeIs(1));
  EXPECT_EQ(page.markets[0].market_id, 7);
}

TEST_F(ScriptedClientTest, TheKeyTravelsOnlyInItsHeaderAndTheQueryAsksForEveryMarket) {
  upstream_.Script("/market", {{200, Ok(R"({"total":0,"list":null})"), {}}});
  ASSERT_OK(client_->ListMarkets(3, 20, never_).status());
  std::vector<ScriptedUpstream::Seen> seen = upstream_.seen();
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].apikey, kKey);
  std::map<std::string, std::string> params(seen[0].params.begin(), seen[0].params.end());
  EXPECT_EQ(params, (std::map<std::string, std::string>{
                        {"page", "3"}, {"limit", "20"}, {"marketType", "2"}}));  // no status
}

TEST_F(ScriptedClientTest, TradesCarryTheQuoteTokenPriceAndTheChain) {
  upstream_.Script(trades_path_, {{200, TradeList(), {}}});
  ASSERT_OK_AND_ASSIGN(TradesPage page, client_->ListUserTrades(kWallet, 1, 20, never_));
  ASSERT_THAT(page.trades, SizeIs(1));
  EXPECT_EQ(page.trades[0].amount_usd, "4.995");
  EXPECT_EQ(page.trades[0].side, db::Side::kBuy);
  EXPECT_EQ(page.trades[0].outcome, db::Outcome::kNo);
  const std::vector<ScriptedUpstream::Seen> seen = upstream_.seen();
  std::map<std::string, std::string> params(seen[0].params.begin(), seen[0].params.end());
  EXPECT_EQ(params["chainId"], "56");
}

TEST_F(ScriptedClientTest, RetryAfterAsAnHttpDateHoldsEveryCallerBack) {
  const absl::Time start = clock_.Now();
  const std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", start + absl::Seconds(30), absl::UTCTimeZone());
  upstream_.Script(trades_path_, {{429,
                                   R"({"errno":10429,"errmsg":"Too many requests","result":null})",
                                   {{"Retry-After", date}}},
                                  {200, TradeList(), {}}});
  ASSERT_OK(client_->ListUserTrades(kWallet, 1, 20, never_).status());
  EXPECT_GE(clock_.Now() - start, absl::Seconds(30));
  EXPECT_EQ(upstream_.Requests(trades_path_), 2);
  EXPECT_EQ(limiter_->Stats().throttled_total, 1);
}

TEST_F(ScriptedClientTest, ThrottlingSaidOnHttp200IsThrottlingToo) {
  upstream_.Script(
      trades_path_,
      {{200, R"({"errno":10429,"errmsg":"slow down","result":null})", {}}, {200, TradeList(), {}}});
  ASSERT_OK(client_->ListUserTrades(kWallet, 1, 20, never_).status());
  EXPECT_EQ(upstream_.Requests(trades_path_), 2);
  EXPECT_EQ(limiter_->Stats().throttled_total, 1);
}

TEST_F(ScriptedClientTest, UnknownErrnosAndBadRequestsAreNotRetried) {
  upstream_.Script(trades_path_, {{200, R"({"errno":12345,"errmsg":"odd","result":null})", {}}});
  EXPECT_THAT(client_->ListUserTrades(kWallet, 1, 20, never_),
              StatusIs(absl::StatusCode::kUnknown, HasSubstr("errno 12345")));
  upstream_.Script(
      trades_path_,
      {{400, R"({"errno":10400,"errmsg":"invalid parameter: limit","result":null})", {}}});
  EXPECT_THAT(client_->ListUserTrades(kWallet, 1, 20, never_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid parameter")));
  EXPECT_EQ(upstream_.Requests(trades_path_), 2);
}

TEST_F(ScriptedClientTest, AnEchoedKeyIsRedacted) {
  upstream_.Script(trades_path_, {{400,
                                   absl::StrCat(R"({"errno":10400,"errmsg":"bad request from key )",
                                                kKey, R"(","result":null})"),
                                   {}}});
  absl::StatusOr<TradesPage> page = client_->ListUserTrades(kWallet, 1, 20, never_);
  EXPECT_THAT(page, StatusIs(absl::StatusCode::kInvalidArgument,
                             AllOf(HasSubstr("[redacted]"), Not(HasSubstr(kKey)))));
}

TEST_F(ScriptedClientTest, ACategoricalDetailThatCannotBeUsedIsDataLossWithoutRetry) {
  upstream_.Script("/market/categorical/42",
                   {{200, Ok(R"({"data":{"marketId":42,"marketType":1,"status":77}})"), {}}});
  EXPECT_THAT(client_->GetCategoricalMarket(42, never_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("status: 77")));
  EXPECT_EQ(upstream_.Requests("/market/categorical/42"), 1);
  upstream_.Script("/market/categorical/43", {{200, Ok("{}"), {}}});  // no data: retried
  EXPECT_THAT(client_->GetCategoricalMarket(43, never_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("gave up after 4 attempts")));
  EXPECT_EQ(upstream_.Requests("/market/categorical/43"), 4);
  upstream_.Script("/market/categorical/44",
                   {{404, R"({"errno":10404,"errmsg":"market not found","result":null})", {}}});
  EXPECT_THAT(client_->GetCategoricalMarket(44, never_), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(upstream_.Requests("/market/categorical/44"), 1);
}

std::string QuotePage(int first, int count, int total) {
  std::vector<std::string> rows;
  for (int i = first; i < first + count; ++i) {
    rows.push_back(absl::StrCat(R"({"id":)", i, R"(,"quoteTokenName":"T)", i,
                                R"(","quoteTokenAddress":"0x)", i,
                                R"(","decimal":18,"symbol":"T","chainId":"56"})"));
  }
  return Ok(absl::StrCat(R"({"total":)", total, R"(,"list":[)", absl::StrJoin(rows, ","), "]}"));
}

TEST_F(ScriptedClientTest, QuoteTokensArePagedAndCachedForTheirLifetime) {
  upstream_.Script("/quoteToken", {{200, QuotePage(1, 20, 21), {}},
                                   {200, QuotePage(21, 1, 21), {}},
                                   {200, QuotePage(1, 20, 21), {}},
                                   {200, QuotePage(21, 1, 21), {}}});
  ASSERT_OK_AND_ASSIGN(std::vector<QuoteToken> tokens, client_->ListQuoteTokens(never_));
  EXPECT_THAT(tokens, SizeIs(21));
  EXPECT_EQ(tokens[20].id, 21);
  EXPECT_EQ(tokens[0].usd_price, "1");
  EXPECT_EQ(upstream_.Requests("/quoteToken"), 2);
  clock_.Advance(absl::Minutes(59));
  ASSERT_OK(client_->ListQuoteTokens(never_).status());
  EXPECT_EQ(upstream_.Requests("/quoteToken"), 2);  // cached
  clock_.Advance(absl::Minutes(2));
  ASSERT_OK(client_->ListQuoteTokens(never_).status());
  EXPECT_EQ(upstream_.Requests("/quoteToken"), 4);  // expired: fetched again
}

}  // namespace
}  // namespace whalefeed::sync
