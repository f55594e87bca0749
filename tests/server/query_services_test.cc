// MarketService and WhaleService through real gRPC (generated stubs, an in-process server on port
// 0) over InMemoryStore: valid calls, a corpus of bad ones per RPC (code and the field named),
// paging rules, admin auth, the store being down, and the market cache's staleness bound.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "db/in_memory_store.h"
#include "server/admin_auth.h"
#include "server/market_service.h"
#include "server/resume_token.h"
#include "server/whale_service.h"
#include "tests/testing/status_matchers.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
constexpr char kAdminToken[] = "s3cret-admin-token";
constexpr char kFeedId[] = "0123456789abcdef0123456789abcdef";

std::string Wallet(int n) { return absl::StrFormat("0x%040x", n); }

db::Market Binary(int64_t id, const std::string& volume_24h) {
  db::Market m;
  m.market_id = id;
  m.title = absl::StrCat("Market ", id);
  m.status = db::MarketStatus::kActivated;
  m.market_type = db::MarketType::kBinary;
  m.yes_label = "Yes";
  m.no_label = "No";
  m.yes_token_id = "1";
  m.no_token_id = "2";
  m.volume_24h = volume_24h;
  m.labels = {"Crypto"};
  m.created_time = kT0 - absl::Hours(id);
  return m;
}

db::Activity Trade(const std::string& wallet, int n, db::Origin origin) {
  db::Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", n);
  a.wallet = wallet;
  a.market_id = 10;
  a.root_market_id = 10;
  a.side = db::Side::kBuy;
  a.outcome = db::Outcome::kYes;
  a.price = "0.5";
  a.shares = "100";
  a.amount_usd = absl::StrCat(n * 100);
  a.traded_time = kT0 - absl::Minutes(n);
  a.origin = origin;
  return a;
}

// What a call ended with.
struct Outcome {
  grpc::StatusCode code;
  std::string message;
};

class QueryServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(fence_, store_.AdvanceLeaderEpoch("test", kT0));
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&market_service_);
    builder.RegisterService(&whale_service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    markets_ = v1::MarketService::NewStub(channel);
    whales_ = v1::WhaleService::NewStub(channel);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  // A context with a failure bound; `token` is sent as the admin Bearer token unless empty.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "") {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    return context;
  }

  // Seeds markets 1..5 (volume_24h 10 x id), whales 1..3 with 24h stats and activity.
  void Seed() {
    std::vector<db::Market> markets;
    for (int id = 1; id <= 5; ++id) markets.push_back(Binary(id, absl::StrCat(id * 10)));
    ASSERT_OK(store_.UpsertMarkets(fence_, markets, kT0).status());
    for (int n = 1; n <= 3; ++n) {
      ASSERT_OK(store_.TrackWhale(Wallet(n), absl::StrCat("Fund ", n), db::WhaleSource::kFile, kT0)
                    .status());
      db::WhaleStats s;
      s.wallet = Wallet(n);
      s.window = db::StatsWindow::k24h;
      s.volume_usd = absl::StrCat(n * 1000);
      s.trade_count = n;
      s.computed_time = kT0;
      ASSERT_OK(store_.UpsertWhaleStats(fence_, {s}, kT0));
    }
    std::vector<db::Activity> trades;
    for (int i = 1; i <= 6; ++i) {
      trades.push_back(Trade(Wallet(1), i, i % 3 == 0 ? db::Origin::kBackfill : db::Origin::kLive));
    }
    ASSERT_OK(
        store_.IngestActivities(fence_, Wallet(1), trades, {kT0, kT0 + absl::Minutes(1), 6}, kT0)
            .status());
  }

  Outcome ListMarkets(const v1::ListMarketsRequest& request, v1::ListMarketsResponse* response) {
    auto context = Context();
    grpc::Status s = markets_->ListMarkets(context.get(), request, response);
    return {s.error_code(), s.error_message()};
  }
  Outcome GetMarket(int64_t id, v1::Market* response) {
    auto context = Context();
    v1::GetMarketRequest request;
    request.set_market_id(id);
    grpc::Status s = markets_->GetMarket(context.get(), request, response);
    return {s.error_code(), s.error_message()};
  }
  Outcome ListWhales(const v1::ListWhalesRequest& request, v1::ListWhalesResponse* response) {
    auto context = Context();
    grpc::Status s = whales_->ListWhales(context.get(), request, response);
    return {s.error_code(), s.error_message()};
  }
  Outcome GetWhale(const v1::GetWhaleRequest& request, v1::GetWhaleResponse* response) {
    auto context = Context();
    grpc::Status s = whales_->GetWhale(context.get(), request, response);
    return {s.error_code(), s.error_message()};
  }
  Outcome ListActivity(const v1::ListWhaleActivityRequest& request,
                       v1::ListWhaleActivityResponse* response) {
    auto context = Context();
    grpc::Status s = whales_->ListWhaleActivity(context.get(), request, response);
    return {s.error_code(), s.error_message()};
  }
  Outcome Track(const std::string& token, const std::string& wallet, const std::string& label,
                v1::Whale* response) {
    auto context = Context(token);
    v1::TrackWhaleRequest request;
    request.set_wallet(wallet);
    request.set_label(label);
    grpc::Status s = whales_->TrackWhale(context.get(), request, response);
    return {s.error_code(), s.error_message()};
  }
  Outcome Untrack(const std::string& token, const std::string& wallet, v1::Whale* response) {
    auto context = Context(token);
    v1::UntrackWhaleRequest request;
    request.set_wallet(wallet);
    grpc::Status s = whales_->UntrackWhale(context.get(), request, response);
    return {s.error_code(), s.error_message()};
  }

  db::InMemoryStore store_{kFeedId};
  FakeClock clock_{kT0};
  AdminAuth admin_auth_{kAdminToken};
  // Read by hand (no thread): a test that writes behind the services' back says when.
  DataVersionWatcher versions_{&store_, &clock_, absl::ZeroDuration()};
  MarketService market_service_{&store_, &clock_, &versions_};
  WhaleService whale_service_{&store_, &clock_, &versions_, &admin_auth_};
  db::Fence fence_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::MarketService::Stub> markets_;
  std::unique_ptr<v1::WhaleService::Stub> whales_;
};

const std::string kLong(100000, 'x');

// ---- bad input corpus, per RPC: the code and a part of the message that names the field -------

struct BadCase {
  const char* name;
  std::function<void(v1::ListMarketsRequest*)> edit;
  grpc::StatusCode code;
  std::string names;
};

TEST_F(QueryServicesTest, ListMarketsRefusesBadInputNamingTheField) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  // A token of another query, and of another method.
  v1::ListMarketsRequest first;
  first.set_page_size(1);
  first.set_filter("status = ACTIVATED");
  v1::ListMarketsResponse page;
  ASSERT_EQ(ListMarkets(first, &page).code, grpc::StatusCode::OK);
  const std::string market_token = page.next_page_token();
  ASSERT_FALSE(market_token.empty());
  v1::ListWhalesRequest whales_request;
  whales_request.set_page_size(1);
  v1::ListWhalesResponse whales_page;
  ASSERT_EQ(ListWhales(whales_request, &whales_page).code, grpc::StatusCode::OK);
  const std::string whale_token = whales_page.next_page_token();
  ASSERT_FALSE(whale_token.empty());
  std::string tampered = market_token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';

  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  const std::vector<BadCase> cases = {
      {"negative page_size", [](auto* r) { r->set_page_size(-1); }, kInvalid, "page_size"},
      {"very negative page_size", [](auto* r) { r->set_page_size(INT32_MIN); }, kInvalid,
       "page_size"},
      {"garbage token", [](auto* r) { r->set_page_token("garbage!"); }, kInvalid, "page_token"},
      {"long token", [](auto* r) { r->set_page_token(kLong); }, kInvalid, "page_token"},
      {"tampered token", [&](auto* r) { r->set_page_token(tampered); }, kInvalid, "page_token"},
      {"token of another filter", [&](auto* r) { r->set_page_token(market_token); }, kInvalid,
       "page_token"},
      {"token of another order",
       [&](auto* r) {
         r->set_filter("status = ACTIVATED");
         r->set_order_by("market_id");
         r->set_page_token(market_token);
       },
       kInvalid, "page_token"},
      {"token of ListWhales", [&](auto* r) { r->set_page_token(whale_token); }, kInvalid,
       "page_token"},
      {"filter syntax", [](auto* r) { r->set_filter("status = "); }, kInvalid, "filter"},
      {"unknown field", [](auto* r) { r->set_filter("colour = \"red\""); }, kInvalid, "colour"},
      {"activity field", [](auto* r) { r->set_filter("side = BUY"); }, kInvalid, "side"},
      {"wrong type", [](auto* r) { r->set_filter("volume_24h > \"lots\""); }, kInvalid,
       "volume_24h"},
      {"bad enum", [](auto* r) { r->set_filter("status = SLEEPING"); }, kInvalid, "status"},
      {"mixed AND/OR",
       [](auto* r) { r->set_filter("status = ACTIVATED AND volume > 1 OR market_id = 2"); },
       kInvalid, "parentheses"},
      {"unbalanced", [](auto* r) { r->set_filter("(status = ACTIVATED"); }, kInvalid, "filter"},
      {"long filter", [](auto* r) { r->set_filter(kLong); }, kInvalid, "filter"},
      {"bad order", [](auto* r) { r->set_order_by("title"); }, kInvalid, "order_by"},
      {"bad direction", [](auto* r) { r->set_order_by("volume sideways"); }, kInvalid, "order_by"},
      {"long order", [](auto* r) { r->set_order_by(kLong); }, kInvalid, "order_by"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::ListMarketsRequest request;
    c.edit(&request);
    v1::ListMarketsResponse response;
    const Outcome out = ListMarkets(request, &response);
    EXPECT_EQ(out.code, c.code) << out.message;
    EXPECT_THAT(out.message, HasSubstr(c.names));
    EXPECT_LT(out.message.size(), 2000u);  // never echoes a huge input back
  }
}

TEST_F(QueryServicesTest, GetMarketRefusesBadIdsAndSaysNotFound) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::Market market;
  for (int64_t id : {int64_t{0}, int64_t{-5}, INT64_MIN}) {
    const Outcome out = GetMarket(id, &market);
    EXPECT_EQ(out.code, grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(out.message, HasSubstr("market_id"));
  }
  const Outcome out = GetMarket(987654321, &market);
  EXPECT_EQ(out.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(out.message, HasSubstr("987654321"));
  EXPECT_EQ(GetMarket(3, &market).code, grpc::StatusCode::OK);
  EXPECT_EQ(market.market_id(), 3);
  EXPECT_EQ(market.volume_24h(), "30");
  EXPECT_EQ(market.whale_volume_24h(), "0");
  EXPECT_TRUE(market.has_synced_time());
  EXPECT_FALSE(market.has_resolved_time());
}

TEST_F(QueryServicesTest, ListWhalesRefusesBadInputNamingTheField) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::ListWhalesRequest first;
  first.set_page_size(1);
  v1::ListWhalesResponse page;
  ASSERT_EQ(ListWhales(first, &page).code, grpc::StatusCode::OK);
  ASSERT_FALSE(page.next_page_token().empty());
  const std::string token_24h = page.next_page_token();

  struct Case {
    const char* name;
    std::function<void(v1::ListWhalesRequest*)> edit;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"negative page_size", [](auto* r) { r->set_page_size(-3); }, "page_size"},
      {"unknown window", [](auto* r) { r->set_window(static_cast<v1::StatsWindow>(9)); }, "window"},
      {"negative window", [](auto* r) { r->set_window(static_cast<v1::StatsWindow>(-1)); },
       "window"},
      {"token of another window",
       [&](auto* r) {
         r->set_window(v1::STATS_WINDOW_7D);
         r->set_page_token(token_24h);
       },
       "page_token"},
      {"garbage token", [](auto* r) { r->set_page_token("AAAA"); }, "page_token"},
      {"bool as number", [](auto* r) { r->set_filter("tracked = 1"); }, "tracked"},
      {"has on a number", [](auto* r) { r->set_filter("volume_usd:\"1\""); }, "volume_usd"},
      {"unknown field", [](auto* r) { r->set_filter("wallet = \"0x\""); }, "wallet"},
      {"mixed AND/OR",
       [](auto* r) { r->set_filter("tracked = true OR label = \"x\" AND trade_count > 1"); },
       "parentheses"},
      {"bad order", [](auto* r) { r->set_order_by("wallet"); }, "order_by"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::ListWhalesRequest request;
    c.edit(&request);
    v1::ListWhalesResponse response;
    const Outcome out = ListWhales(request, &response);
    EXPECT_EQ(out.code, grpc::StatusCode::INVALID_ARGUMENT) << out.message;
    EXPECT_THAT(out.message, HasSubstr(c.names));
  }
}

TEST_F(QueryServicesTest, GetWhaleRefusesBadWalletsAndLimits) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  struct Case {
    std::string wallet;
    int32_t limit;
    grpc::StatusCode code;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"", 0, grpc::StatusCode::INVALID_ARGUMENT, "wallet"},
      {"0x123", 0, grpc::StatusCode::INVALID_ARGUMENT, "wallet"},
      {"0x" + std::string(40, 'g'), 0, grpc::StatusCode::INVALID_ARGUMENT, "wallet"},
      {std::string(42, '0'), 0, grpc::StatusCode::INVALID_ARGUMENT, "wallet"},
      {Wallet(1) + "00", 0, grpc::StatusCode::INVALID_ARGUMENT, "wallet"},
      {kLong, 0, grpc::StatusCode::INVALID_ARGUMENT, "wallet"},
      {Wallet(1), -1, grpc::StatusCode::INVALID_ARGUMENT, "recent_activity_limit"},
      {Wallet(77), 0, grpc::StatusCode::NOT_FOUND, Wallet(77)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.wallet.substr(0, 60));
    v1::GetWhaleRequest request;
    request.set_wallet(c.wallet);
    request.set_recent_activity_limit(c.limit);
    v1::GetWhaleResponse response;
    const Outcome out = GetWhale(request, &response);
    EXPECT_EQ(out.code, c.code) << out.message;
    EXPECT_THAT(out.message, HasSubstr(c.names));
    EXPECT_LT(out.message.size(), 2000u);
  }
}

TEST_F(QueryServicesTest, ListWhaleActivityRefusesBadInputNamingTheField) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::ListWhaleActivityRequest first;
  first.set_page_size(1);
  v1::ListWhaleActivityResponse page;
  ASSERT_EQ(ListActivity(first, &page).code, grpc::StatusCode::OK);
  ASSERT_FALSE(page.next_page_token().empty());
  const std::string live_token = page.next_page_token();
  struct Case {
    const char* name;
    std::function<void(v1::ListWhaleActivityRequest*)> edit;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"negative page_size", [](auto* r) { r->set_page_size(-100); }, "page_size"},
      {"token with backfill",
       [&](auto* r) {
         r->set_include_backfill(true);
         r->set_page_token(live_token);
       },
       "page_token"},
      {"token of another order",
       [&](auto* r) {
         r->set_order_by("sequence");
         r->set_page_token(live_token);
       },
       "page_token"},
      {"resume token as page token",
       [&](auto* r) { r->set_page_token(EncodeResumeToken(kFeedId, 3)); }, "page_token"},
      {"bad wallet", [](auto* r) { r->set_filter("wallet = \"0x12\""); }, "wallet"},
      {"bad side", [](auto* r) { r->set_filter("side = HOLD"); }, "side"},
      {"bad time", [](auto* r) { r->set_filter("traded_time > \"yesterday\""); }, "traded_time"},
      {"market field", [](auto* r) { r->set_filter("title:\"btc\""); }, "title"},
      {"mixed AND/OR",
       [](auto* r) { r->set_filter("side = BUY OR side = SELL AND amount_usd > 5"); },
       "parentheses"},
      {"amount ascending", [](auto* r) { r->set_order_by("amount_usd"); }, "order_by"},
      {"unknown order", [](auto* r) { r->set_order_by("wallet desc"); }, "order_by"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::ListWhaleActivityRequest request;
    c.edit(&request);
    v1::ListWhaleActivityResponse response;
    const Outcome out = ListActivity(request, &response);
    EXPECT_EQ(out.code, grpc::StatusCode::INVALID_ARGUMENT) << out.message;
    EXPECT_THAT(out.message, HasSubstr(c.names));
  }
}

TEST_F(QueryServicesTest, AdminCallsNeedTheAdminToken) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::Whale whale;
  Outcome out = Track("", Wallet(9), "", &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::UNAUTHENTICATED);
  out = Track("wrong-token", Wallet(9), "", &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::PERMISSION_DENIED);
  out = Untrack("", Wallet(1), &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::UNAUTHENTICATED);
  out = Untrack(std::string(kAdminToken) + "x", Wallet(1), &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::PERMISSION_DENIED);
  // Auth comes first: a caller without the token learns nothing about its input.
  out = Track("", "not-a-wallet", "", &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::UNAUTHENTICATED);
  // Refused calls changed nothing.
  ASSERT_OK_AND_ASSIGN(db::Whale stored, store_.GetWhale(Wallet(1)));
  EXPECT_TRUE(stored.tracked);
  EXPECT_THAT(store_.GetWhale(Wallet(9)), testing::StatusIs(absl::StatusCode::kNotFound));

  out = Track(kAdminToken, "0x12", "", &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out.message, HasSubstr("wallet"));
  out = Track(kAdminToken, Wallet(9), std::string(256, 'L'), &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out.message, HasSubstr("label"));
  std::string accented;  // 256 characters of 2 bytes: counted in characters, as MySQL does
  for (int i = 0; i < 256; ++i) accented += "\xc3\xa9";
  out = Track(kAdminToken, Wallet(9), accented, &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out.message, HasSubstr("label"));
  ASSERT_EQ(Track(kAdminToken, Wallet(9), accented.substr(2), &whale).code, grpc::StatusCode::OK);
  EXPECT_EQ(whale.label(), accented.substr(2));
  out = Untrack(kAdminToken, Wallet(55), &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(out.message, HasSubstr(Wallet(55)));
  out = Untrack(kAdminToken, "0xzz", &whale);
  EXPECT_EQ(out.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out.message, HasSubstr("wallet"));
}

TEST_F(QueryServicesTest, ServerWithoutAnAdminTokenRefusesAdminCalls) {
  AdminAuth none("");
  WhaleService service(&store_, &clock_, &versions_, &none);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::WhaleService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  auto context = Context(kAdminToken);
  v1::TrackWhaleRequest request;
  request.set_wallet(Wallet(9));
  v1::Whale whale;
  EXPECT_EQ(stub->TrackWhale(context.get(), request, &whale).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  server->Shutdown(std::chrono::system_clock::now());
}

// ---- valid calls --------------------------------------------------------------------------------

TEST_F(QueryServicesTest, TrackAndUntrackNormaliseTheWalletAndReturnEveryWindow) {
  v1::Whale whale;
  const std::string mixed = "0xAbCdEf" + std::string(34, 'A');
  ASSERT_EQ(Track(kAdminToken, mixed, "Fund X", &whale).code, grpc::StatusCode::OK);
  EXPECT_EQ(whale.wallet(), absl::AsciiStrToLower(mixed));
  EXPECT_EQ(whale.label(), "Fund X");
  EXPECT_EQ(whale.source(), v1::WHALE_SOURCE_API);
  EXPECT_TRUE(whale.tracked());
  EXPECT_EQ(whale.tracked_since().seconds(), absl::ToUnixSeconds(kT0));
  ASSERT_THAT(whale.stats(), SizeIs(4));
  EXPECT_EQ(whale.stats(0).window(), v1::STATS_WINDOW_24H);
  EXPECT_EQ(whale.stats(3).window(), v1::STATS_WINDOW_ALL);
  // Tracking again updates the label only; an empty label keeps it.
  clock_.Advance(absl::Hours(1));
  ASSERT_EQ(Track(kAdminToken, mixed, "", &whale).code, grpc::StatusCode::OK);
  EXPECT_EQ(whale.label(), "Fund X");
  EXPECT_EQ(whale.tracked_since().seconds(), absl::ToUnixSeconds(kT0));
  ASSERT_EQ(
      Untrack(kAdminToken, absl::AsciiStrToUpper(mixed.substr(2)).insert(0, "0x"), &whale).code,
      grpc::StatusCode::OK);
  EXPECT_FALSE(whale.tracked());
  ASSERT_EQ(Untrack(kAdminToken, mixed, &whale).code, grpc::StatusCode::OK);  // unchanged
  EXPECT_FALSE(whale.tracked());
}

TEST_F(QueryServicesTest, GetWhaleHasEveryWindowRecentActivityAndTradesSeen) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::GetWhaleRequest request;
  request.set_wallet(absl::AsciiStrToUpper(Wallet(1)).replace(0, 2, "0x"));
  request.set_recent_activity_limit(4);
  v1::GetWhaleResponse response;
  ASSERT_EQ(GetWhale(request, &response).code, grpc::StatusCode::OK);
  EXPECT_EQ(response.whale().wallet(), Wallet(1));
  EXPECT_EQ(response.whale().trades_seen(), 6);
  ASSERT_THAT(response.whale().stats(), SizeIs(4));
  EXPECT_EQ(response.whale().stats(0).volume_usd(), "1000");
  EXPECT_EQ(response.whale().stats(0).computed_time().seconds(), absl::ToUnixSeconds(kT0));
  EXPECT_EQ(response.whale().stats(1).window(), v1::STATS_WINDOW_7D);
  EXPECT_EQ(response.whale().stats(1).volume_usd(), "0");
  ASSERT_THAT(response.recent_activity(), SizeIs(4));
  // Newest traded first (trade i traded i minutes before kT0), BACKFILL (i = 3) included.
  EXPECT_EQ(response.recent_activity(0).amount_usd(), "100");
  EXPECT_EQ(response.recent_activity(2).origin(), v1::ORIGIN_BACKFILL);
  EXPECT_EQ(response.recent_activity(0).wallet_label(), "Fund 1");
  request.set_recent_activity_limit(0);  // default 20: all 6
  ASSERT_EQ(GetWhale(request, &response).code, grpc::StatusCode::OK);
  EXPECT_THAT(response.recent_activity(), SizeIs(6));
  request.set_recent_activity_limit(1000000);  // coerced to 100
  ASSERT_EQ(GetWhale(request, &response).code, grpc::StatusCode::OK);
  EXPECT_THAT(response.recent_activity(), SizeIs(6));
}

TEST_F(QueryServicesTest, ListsPageUntilAnEmptyTokenAndCoerceHugePages) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  // Markets: 5, in pages of 2 → 2, 2, 1; a token in every page but the last.
  v1::ListMarketsRequest request;
  request.set_page_size(2);
  std::vector<int64_t> ids;
  for (int pages = 1; pages <= 10; ++pages) {
    v1::ListMarketsResponse response;
    ASSERT_EQ(ListMarkets(request, &response).code, grpc::StatusCode::OK);
    EXPECT_EQ(response.total_size(), 5);
    for (const v1::Market& m : response.markets()) ids.push_back(m.market_id());
    if (response.next_page_token().empty()) {
      EXPECT_EQ(pages, 3);
      break;
    }
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{5, 4, 3, 2, 1}));  // volume_24h desc
  // Reformatting the filter or the order keeps the token valid: tokens bind to canonical forms.
  request.Clear();
  request.set_page_size(2);
  request.set_order_by("volume_24h desc");
  v1::ListMarketsResponse response;
  ASSERT_EQ(ListMarkets(request, &response).code, grpc::StatusCode::OK);
  request.set_order_by("  VOLUME_24H   Desc ");
  request.set_page_token(response.next_page_token());
  ASSERT_EQ(ListMarkets(request, &response).code, grpc::StatusCode::OK);
  ASSERT_THAT(response.markets(), SizeIs(2));
  EXPECT_EQ(response.markets(0).market_id(), 3);

  request.Clear();
  request.set_page_size(1 << 30);
  ASSERT_EQ(ListMarkets(request, &response).code, grpc::StatusCode::OK);
  EXPECT_THAT(response.markets(), SizeIs(5));
  EXPECT_THAT(response.next_page_token(), IsEmpty());

  v1::ListWhalesRequest whales;
  whales.set_filter("tracked = true AND volume_usd >= 2000");
  v1::ListWhalesResponse whale_page;
  ASSERT_EQ(ListWhales(whales, &whale_page).code, grpc::StatusCode::OK);
  ASSERT_THAT(whale_page.whales(), SizeIs(2));
  EXPECT_EQ(whale_page.whales(0).wallet(), Wallet(3));
  ASSERT_THAT(whale_page.whales(0).stats(), SizeIs(1));
  EXPECT_EQ(whale_page.whales(0).stats(0).window(), v1::STATS_WINDOW_24H);
  EXPECT_EQ(whale_page.whales(0).stats(0).volume_usd(), "3000");
  EXPECT_THAT(whale_page.next_page_token(), IsEmpty());
}

TEST_F(QueryServicesTest, ActivityWalkCarriesItsHighWaterMarkAsResumeToken) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  ASSERT_OK_AND_ASSIGN(const uint64_t mark, store_.GetLatestSequence());
  v1::ListWhaleActivityRequest request;
  request.set_page_size(2);
  v1::ListWhaleActivityResponse response;
  ASSERT_EQ(ListActivity(request, &response).code, grpc::StatusCode::OK);
  EXPECT_EQ(response.resume_token(), EncodeResumeToken(kFeedId, mark));
  // Rows committed during the walk do not appear in it.
  ASSERT_OK(store_
                .IngestActivities(fence_, Wallet(1), {Trade(Wallet(1), 50, db::Origin::kLive)},
                                  {kT0, kT0, 7}, kT0)
                .status());
  std::vector<uint64_t> sequences;
  for (const auto& a : response.activities()) sequences.push_back(a.sequence());
  while (!response.next_page_token().empty()) {
    request.set_page_token(response.next_page_token());
    ASSERT_EQ(ListActivity(request, &response).code, grpc::StatusCode::OK);
    EXPECT_EQ(response.resume_token(), EncodeResumeToken(kFeedId, mark));
    for (const auto& a : response.activities()) sequences.push_back(a.sequence());
  }
  // LIVE only (3 and 6 are BACKFILL), sequence desc.
  EXPECT_EQ(sequences, (std::vector<uint64_t>{5, 4, 2, 1}));
  // A new walk sees the new row.
  request.Clear();
  request.set_include_backfill(true);
  ASSERT_EQ(ListActivity(request, &response).code, grpc::StatusCode::OK);
  EXPECT_THAT(response.activities(), SizeIs(7));
  EXPECT_EQ(response.resume_token(), EncodeResumeToken(kFeedId, mark + 1));
  EXPECT_EQ(response.activities(0).wallet_label(), "Fund 1");
}

TEST_F(QueryServicesTest, StoreDownIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  store_.SetAvailable(false);
  v1::Market market;
  EXPECT_EQ(GetMarket(4, &market).code, grpc::StatusCode::UNAVAILABLE);
  v1::ListMarketsResponse markets;
  EXPECT_EQ(ListMarkets({}, &markets).code, grpc::StatusCode::UNAVAILABLE);
  v1::ListWhalesResponse whales;
  EXPECT_EQ(ListWhales({}, &whales).code, grpc::StatusCode::UNAVAILABLE);
  v1::ListWhaleActivityResponse activity;
  EXPECT_EQ(ListActivity({}, &activity).code, grpc::StatusCode::UNAVAILABLE);
  v1::GetWhaleRequest get;
  get.set_wallet(Wallet(1));
  v1::GetWhaleResponse whale;
  EXPECT_EQ(GetWhale(get, &whale).code, grpc::StatusCode::UNAVAILABLE);
  v1::Whale tracked;
  EXPECT_EQ(Track(kAdminToken, Wallet(1), "", &tracked).code, grpc::StatusCode::UNAVAILABLE);
  // Bad input is still the caller's mistake, not the database's.
  EXPECT_EQ(GetMarket(-1, &market).code, grpc::StatusCode::INVALID_ARGUMENT);
  store_.SetAvailable(true);
  EXPECT_EQ(GetMarket(4, &market).code, grpc::StatusCode::OK);
}

// ---- the answer caches -------------------------------------------------------------------------

TEST_F(QueryServicesTest, AChangedMarketIsServedWithinTheCacheBound) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  ASSERT_OK(versions_.Refresh());
  const absl::Duration ttl = MarketServiceOptions{}.cache_ttl;
  v1::Market market;
  ASSERT_EQ(GetMarket(2, &market).code, grpc::StatusCode::OK);
  EXPECT_EQ(market.volume_24h(), "20");
  v1::ListMarketsRequest list;
  list.set_order_by("market_id");
  v1::ListMarketsResponse page;
  ASSERT_EQ(ListMarkets(list, &page).code, grpc::StatusCode::OK);
  EXPECT_EQ(page.markets(1).volume_24h(), "20");

  // Committed at T; the versions were last read before it.
  ASSERT_OK(store_.UpsertMarkets(fence_, {Binary(2, "777")}, kT0 + absl::Seconds(1)).status());
  // Until the versions are read again (every ttl / 2 in whaled), the answer may come from memory:
  // this one does, nothing was read again.
  clock_.Advance(ttl / 2);
  ASSERT_EQ(GetMarket(2, &market).code, grpc::StatusCode::OK);
  EXPECT_EQ(market.volume_24h(), "20");
  // A read of the versions that began after T sees the change: both calls serve it.
  ASSERT_OK(versions_.Refresh());
  ASSERT_EQ(GetMarket(2, &market).code, grpc::StatusCode::OK);
  EXPECT_EQ(market.volume_24h(), "777");
  ASSERT_EQ(ListMarkets(list, &page).code, grpc::StatusCode::OK);
  EXPECT_EQ(page.markets(1).volume_24h(), "777");
  // Without any read of the versions, nothing is served from memory past the bound: the change
  // is read from the database however stale the versions are.
  ASSERT_OK(store_.UpsertMarkets(fence_, {Binary(2, "888")}, kT0 + absl::Seconds(2)).status());
  clock_.Advance(ttl);
  ASSERT_EQ(GetMarket(2, &market).code, grpc::StatusCode::OK);
  EXPECT_EQ(market.volume_24h(), "888");
  // ...and that answer was not kept under the old versions: once they are read, it is the one
  // served from memory, with the database down, until the bound passes again.
  ASSERT_OK(versions_.Refresh());
  ASSERT_EQ(GetMarket(2, &market).code, grpc::StatusCode::OK);
  store_.SetAvailable(false);
  EXPECT_FALSE(versions_.Refresh().ok());
  ASSERT_EQ(GetMarket(2, &market).code, grpc::StatusCode::OK);
  EXPECT_EQ(market.volume_24h(), "888");
  clock_.Advance(ttl);
  EXPECT_EQ(GetMarket(2, &market).code, grpc::StatusCode::UNAVAILABLE);
}

TEST_F(QueryServicesTest, AnUnchangedAnswerIsReadOnceHoweverLongItIsAskedFor) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  ASSERT_OK(versions_.Refresh());
  const absl::Duration ttl = MarketServiceOptions{}.cache_ttl;
  v1::Market market;
  ASSERT_EQ(GetMarket(3, &market).code, grpc::StatusCode::OK);
  v1::GetWhaleRequest get;
  get.set_wallet(Wallet(1));
  v1::GetWhaleResponse whale;
  ASSERT_EQ(GetWhale(get, &whale).code, grpc::StatusCode::OK);
  // Many bounds later, with the versions read all along and no write...
  for (int i = 0; i < 20; ++i) {
    clock_.Advance(ttl / 2);
    ASSERT_OK(versions_.Refresh());
  }
  // ...the answers were never read again: they are served with the database down.
  store_.SetAvailable(false);
  v1::Market again;
  ASSERT_EQ(GetMarket(3, &again).code, grpc::StatusCode::OK);
  EXPECT_EQ(again.SerializeAsString(), market.SerializeAsString());
  v1::GetWhaleResponse whale_again;
  ASSERT_EQ(GetWhale(get, &whale_again).code, grpc::StatusCode::OK);
  EXPECT_EQ(whale_again.SerializeAsString(), whale.SerializeAsString());
  // A market never asked for is not.
  EXPECT_EQ(GetMarket(4, &again).code, grpc::StatusCode::UNAVAILABLE);
}

TEST_F(QueryServicesTest, WhaleAnswersFollowTheWhalesVersion) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  ASSERT_OK(versions_.Refresh());
  v1::GetWhaleRequest get;
  get.set_wallet(Wallet(2));
  v1::GetWhaleResponse whale;
  ASSERT_EQ(GetWhale(get, &whale).code, grpc::StatusCode::OK);
  EXPECT_EQ(whale.recent_activity_size(), 0);
  v1::ListWhalesRequest top;
  v1::ListWhalesResponse leaderboard;
  ASSERT_EQ(ListWhales(top, &leaderboard).code, grpc::StatusCode::OK);
  ASSERT_THAT(leaderboard.whales(), SizeIs(3));
  EXPECT_EQ(leaderboard.whales(0).wallet(), Wallet(3));

  // The sync ingests a trade of whale 2 and its stats move to the top; markets do not change.
  ASSERT_OK(store_
                .IngestActivities(fence_, Wallet(2), {Trade(Wallet(2), 90, db::Origin::kLive)},
                                  {kT0, kT0 + absl::Minutes(1), 1}, kT0)
                .status());
  db::WhaleStats s;
  s.wallet = Wallet(2);
  s.window = db::StatsWindow::k24h;
  s.volume_usd = "999999";
  s.trade_count = 9;
  s.computed_time = kT0;
  ASSERT_OK(store_.UpsertWhaleStats(fence_, {s}, kT0));
  ASSERT_OK(versions_.Refresh());
  ASSERT_EQ(GetWhale(get, &whale).code, grpc::StatusCode::OK);
  EXPECT_EQ(whale.recent_activity_size(), 1);
  ASSERT_EQ(ListWhales(top, &leaderboard).code, grpc::StatusCode::OK);
  EXPECT_EQ(leaderboard.whales(0).wallet(), Wallet(2));

  // An admin write through this replica is seen by its next read at once, versions read or not.
  v1::Whale tracked;
  ASSERT_EQ(Untrack(kAdminToken, Wallet(2), &tracked).code, grpc::StatusCode::OK);
  ASSERT_EQ(GetWhale(get, &whale).code, grpc::StatusCode::OK);
  EXPECT_FALSE(whale.whale().tracked());
}

TEST(MarketServiceCacheTest, ZeroTtlReadsEveryTime) {
  db::InMemoryStore store;
  FakeClock clock(kT0);
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store.AdvanceLeaderEpoch("test", kT0));
  ASSERT_OK(store.UpsertMarkets(fence, {Binary(1, "1")}, kT0).status());
  MarketServiceOptions options;
  options.cache_ttl = absl::ZeroDuration();
  DataVersionWatcher versions(&store, &clock, absl::ZeroDuration());
  MarketService service(&store, &clock, &versions, options);
  ASSERT_OK_AND_ASSIGN(v1::Market market, service.Get(1));
  EXPECT_EQ(market.volume_24h(), "1");
  ASSERT_OK(store.UpsertMarkets(fence, {Binary(1, "2")}, kT0).status());
  ASSERT_OK_AND_ASSIGN(market, service.Get(1));
  EXPECT_EQ(market.volume_24h(), "2");
}

TEST(MarketServiceCacheTest, MemoryStaysBounded) {
  db::InMemoryStore store;
  FakeClock clock(kT0);
  ASSERT_OK_AND_ASSIGN(db::Fence fence, store.AdvanceLeaderEpoch("test", kT0));
  std::vector<db::Market> markets;
  for (int id = 1; id <= 50; ++id) markets.push_back(Binary(id, "1"));
  ASSERT_OK(store.UpsertMarkets(fence, markets, kT0).status());
  MarketServiceOptions options;
  options.max_cached_entries = 8;
  DataVersionWatcher versions(&store, &clock, absl::ZeroDuration());
  MarketService service(&store, &clock, &versions, options);
  for (int id = 1; id <= 50; ++id) ASSERT_OK(service.Get(id).status());
  EXPECT_LE(service.cached_answers(), 8u);
  // Every market is still answered correctly once the cache has been cleared along the way.
  for (int id = 1; id <= 50; ++id) {
    ASSERT_OK_AND_ASSIGN(v1::Market m, service.Get(id));
    EXPECT_EQ(m.market_id(), id);
  }
}

}  // namespace
}  // namespace whalefeed::server
