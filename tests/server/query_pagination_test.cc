// Paging through the query services against a real MariaDB (MySqlStore) while another thread keeps
// committing rows: a walk in small pages returns every row committed before its first page exactly
// once and nothing twice; ListWhaleActivity's walk returns exactly the matching rows up to its
// high-water mark, which its resume_token names.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "db/filter.h"
#include "db/mysql_store.h"
#include "server/admin_auth.h"
#include "server/market_service.h"
#include "server/resume_token.h"
#include "server/whale_service.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed::server {
namespace {

using ::testing::IsSupersetOf;
using ::whalefeed::testing::TestDatabase;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
constexpr int kPageSize = 7;

std::string Wallet(int n) { return absl::StrFormat("0x%040x", n); }

db::Market Binary(int64_t id) {
  db::Market m;
  m.market_id = id;
  m.title = absl::StrCat("Market ", id);
  m.status = id % 3 == 0 ? db::MarketStatus::kResolved : db::MarketStatus::kActivated;
  m.market_type = db::MarketType::kBinary;
  m.yes_token_id = "1";
  m.no_token_id = "2";
  m.volume = absl::StrCat((id * 37) % 11, ".5");  // many ties
  m.volume_24h = absl::StrCat((id * 13) % 7);
  m.created_time = kT0 - absl::Minutes((id * 7) % 5);
  return m;
}

db::WhaleStats Stats(int n) {
  db::WhaleStats s;
  s.wallet = Wallet(n);
  s.window = db::StatsWindow::k24h;
  s.volume_usd = absl::StrCat((n * 31) % 9, "00");
  s.trade_count = (n * 7) % 4;
  return s;
}

db::Activity Trade(int wallet, int n) {
  db::Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", n);
  a.wallet = Wallet(wallet);
  a.market_id = 1 + n % 9;
  a.root_market_id = a.market_id;
  a.side = n % 4 == 0 ? db::Side::kSell : db::Side::kBuy;
  a.outcome = db::Outcome::kYes;
  a.price = "0.5";
  a.shares = "10";
  a.amount_usd = absl::StrCat(n % 13, "0");
  a.traded_time = kT0 - absl::Seconds(n % 17);
  a.origin = n % 5 == 0 ? db::Origin::kBackfill : db::Origin::kLive;
  return a;
}

constexpr int kWallets = 5;

class QueryPaginationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    db::MySqlStoreOptions options;
    options.dsn = database_->dsn();
    ASSERT_OK_AND_ASSIGN(store_, db::MySqlStore::Create(options));
    ASSERT_OK(store_->PrepareDatabase());
    ASSERT_OK_AND_ASSIGN(fence_, store_->AdvanceLeaderEpoch("test", kT0));
    ASSERT_OK_AND_ASSIGN(feed_id_, store_->GetFeedMeta());

    std::vector<db::Market> markets;
    for (int id = 1; id <= 60; ++id) markets.push_back(Binary(id));
    ASSERT_OK(store_->UpsertMarkets(fence_, markets, kT0).status());
    std::vector<db::WhaleStats> stats;
    for (int n = 1; n <= 40; ++n) {
      ASSERT_OK(store_->TrackWhale(Wallet(n), "", db::WhaleSource::kFile, kT0).status());
      stats.push_back(Stats(n));
    }
    ASSERT_OK(store_->UpsertWhaleStats(fence_, stats, kT0));
    for (int w = 1; w <= kWallets; ++w) {
      std::vector<db::Activity> trades;
      for (int i = 0; i < 40; ++i) trades.push_back(Trade(w, w * 1000 + i));
      ASSERT_OK(store_->IngestActivities(fence_, Wallet(w), trades, {kT0, kT0, 40}, kT0).status());
    }

    MarketServiceOptions market_options;
    market_options.cache_ttl = absl::ZeroDuration();  // every page from the database
    WhaleServiceOptions whale_options;
    whale_options.cache_ttl = absl::ZeroDuration();
    versions_ = std::make_unique<DataVersionWatcher>(store_.get(), &clock_, absl::ZeroDuration());
    market_service_ =
        std::make_unique<MarketService>(store_.get(), &clock_, versions_.get(), market_options);
    whale_service_ = std::make_unique<WhaleService>(store_.get(), &clock_, versions_.get(),
                                                    &admin_auth_, whale_options);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(market_service_.get());
    builder.RegisterService(whale_service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    markets_ = v1::MarketService::NewStub(channel);
    whales_ = v1::WhaleService::NewStub(channel);
    writer_ = std::thread([this] { Write(); });
  }

  void TearDown() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    if (writer_.joinable()) writer_.join();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  // The concurrent writer: new markets, new whales with stats, new activity, round after round,
  // until told to stop.
  void Write() {
    for (int round = 1;; ++round) {
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
      }
      const int id = 1000 + round;
      absl::Status s = store_->UpsertMarkets(fence_, {Binary(id)}, kT0).status();
      // The stats row first, then the whale: a new whale enters the leaderboard with its final
      // volume. The other order lets a walk meet it twice, once at zero volume and once after its
      // stats land (its sort key changed between two pages, which keyset paging cannot survive).
      if (s.ok()) s = store_->UpsertWhaleStats(fence_, {Stats(id)}, kT0);
      if (s.ok()) {
        s = store_->TrackWhale(Wallet(id), "", db::WhaleSource::kApi, kT0).status();
      }
      if (s.ok()) {
        const int wallet = 1 + round % kWallets;
        s = store_
                ->IngestActivities(
                    fence_, Wallet(wallet),
                    {Trade(wallet, 100000 + 2 * round), Trade(wallet, 100001 + 2 * round)},
                    {kT0, kT0, 2}, kT0)
                .status();
      }
      absl::MutexLock lock(&mu_);
      if (!s.ok()) {
        writer_error_ = s;
        return;
      }
      rounds_ = round;
    }
  }

  // Waits until the writer has committed another round since the last call: every page of a walk
  // is read with fresh rows committed since the one before.
  void AwaitWrites() {
    absl::MutexLock lock(&mu_);
    const int seen = rounds_;
    auto progressed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return rounds_ > seen || !writer_error_.ok();
    };
    ASSERT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&progressed), absl::Seconds(60)))
        << "the writer made no progress";
    ASSERT_OK(writer_error_);
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  }

  // All activity committed now (ascending sequence).
  std::vector<db::Activity> AllActivity() {
    std::vector<db::Activity> all;
    uint64_t after = 0;
    for (;;) {
      absl::StatusOr<std::vector<db::Activity>> batch = store_->ReadActivitiesAfter(after, 1000);
      EXPECT_TRUE(batch.ok()) << batch.status();
      if (!batch.ok() || batch->empty()) break;
      after = batch->back().sequence;
      all.insert(all.end(), batch->begin(), batch->end());
    }
    return all;
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<db::MySqlStore> store_;
  db::Fence fence_;
  db::FeedMeta feed_id_;
  RealClock clock_;
  AdminAuth admin_auth_{""};
  std::unique_ptr<DataVersionWatcher> versions_;
  std::unique_ptr<MarketService> market_service_;
  std::unique_ptr<WhaleService> whale_service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::MarketService::Stub> markets_;
  std::unique_ptr<v1::WhaleService::Stub> whales_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int rounds_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status writer_error_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;
};

TEST_F(QueryPaginationTest, MarketWalksMissNothingAndRepeatNothing) {
  for (const char* order : {"", "volume", "volume desc", "created_time", "market_id desc"}) {
    for (const char* filter : {"", "status = ACTIVATED"}) {
      SCOPED_TRACE(absl::StrCat("order_by \"", order, "\" filter \"", filter, "\""));
      // Top-level markets matching the filter that exist before the walk.
      std::set<int64_t> before;
      for (int id = 1; id <= 60; ++id) {
        if (*filter == '\0' || Binary(id).status == db::MarketStatus::kActivated) {
          before.insert(id);
        }
      }
      v1::ListMarketsRequest request;
      request.set_page_size(kPageSize);
      request.set_order_by(order);
      request.set_filter(filter);
      std::vector<int64_t> walked;
      for (int pages = 0;; ++pages) {
        // A bound against a walk that never ends, not a count: the writer never pauses, so by the
        // later walks the table may hold thousands of markets on a slow machine.
        ASSERT_LT(pages, 5000);
        v1::ListMarketsResponse response;
        auto context = Context();
        grpc::Status s = markets_->ListMarkets(context.get(), request, &response);
        ASSERT_TRUE(s.ok()) << s.error_message();
        for (const v1::Market& m : response.markets()) walked.push_back(m.market_id());
        if (response.next_page_token().empty()) break;
        request.set_page_token(response.next_page_token());
        ASSERT_NO_FATAL_FAILURE(AwaitWrites());
      }
      const std::set<int64_t> unique(walked.begin(), walked.end());
      EXPECT_EQ(unique.size(), walked.size()) << "a market came twice";
      EXPECT_THAT(unique, IsSupersetOf(before));
    }
  }
}

TEST_F(QueryPaginationTest, WhaleWalksMissNothingAndRepeatNothing) {
  for (const char* order : {"", "trade_count", "volume_usd", "last_trade_time desc"}) {
    SCOPED_TRACE(absl::StrCat("order_by \"", order, "\""));
    std::set<std::string> before;
    for (int n = 1; n <= 40; ++n) before.insert(Wallet(n));
    v1::ListWhalesRequest request;
    request.set_page_size(kPageSize);
    request.set_order_by(order);
    std::vector<std::string> walked;
    for (int pages = 0;; ++pages) {
      ASSERT_LT(pages, 5000);  // against a walk that never ends (see above)
      v1::ListWhalesResponse response;
      auto context = Context();
      grpc::Status s = whales_->ListWhales(context.get(), request, &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
      for (const v1::Whale& w : response.whales()) walked.push_back(w.wallet());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
      ASSERT_NO_FATAL_FAILURE(AwaitWrites());
    }
    const std::set<std::string> unique(walked.begin(), walked.end());
    EXPECT_EQ(unique.size(), walked.size()) << "a whale came twice";
    EXPECT_THAT(unique, IsSupersetOf(before));
  }
}

TEST_F(QueryPaginationTest, ActivityWalksReturnExactlyTheRowsUpToTheirMark) {
  struct Walk {
    const char* order;
    const char* filter;
    bool include_backfill;
  };
  for (const Walk& w : {Walk{"", "", false}, Walk{"sequence", "", true},
                        Walk{"traded_time desc", "side = BUY", true},
                        Walk{"traded_time", "amount_usd >= 50", false},
                        Walk{"amount_usd desc", "(side = BUY OR side = SELL)", true}}) {
    SCOPED_TRACE(absl::StrCat("order_by \"", w.order, "\" filter \"", w.filter, "\"",
                              w.include_backfill ? " with backfill" : ""));
    ASSERT_OK_AND_ASSIGN(const db::Filter filter, db::ParseActivityFilter(w.filter));
    ASSERT_OK_AND_ASSIGN(const uint64_t latest_before, store_->GetLatestSequence());
    v1::ListWhaleActivityRequest request;
    request.set_page_size(kPageSize);
    request.set_order_by(w.order);
    request.set_filter(w.filter);
    request.set_include_backfill(w.include_backfill);
    std::vector<uint64_t> walked;
    std::string resume_token;
    uint64_t latest_after_first = 0;
    for (int pages = 0;; ++pages) {
      ASSERT_LT(pages, 5000);  // against a walk that never ends (see above)
      v1::ListWhaleActivityResponse response;
      auto context = Context();
      grpc::Status s = whales_->ListWhaleActivity(context.get(), request, &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
      if (pages == 0) {
        resume_token = response.resume_token();
        ASSERT_OK_AND_ASSIGN(latest_after_first, store_->GetLatestSequence());
      }
      EXPECT_EQ(response.resume_token(), resume_token) << "the mark moved during the walk";
      for (const v1::WhaleActivity& a : response.activities()) walked.push_back(a.sequence());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
      ASSERT_NO_FATAL_FAILURE(AwaitWrites());
    }
    ASSERT_OK_AND_ASSIGN(const uint64_t mark, DecodeResumeToken(resume_token, feed_id_.feed_id));
    EXPECT_GE(mark, latest_before);
    EXPECT_LE(mark, latest_after_first);
    EXPECT_EQ(resume_token, EncodeResumeToken(feed_id_.feed_id, mark));
    std::set<uint64_t> expected;
    for (const db::Activity& a : AllActivity()) {
      if (a.sequence > mark) continue;
      if (!w.include_backfill && a.origin == db::Origin::kBackfill) continue;
      if (!db::MatchesActivity(filter, a)) continue;
      expected.insert(a.sequence);
    }
    ASSERT_OK_AND_ASSIGN(const uint64_t latest_after_walk, store_->GetLatestSequence());
    EXPECT_GT(latest_after_walk, mark) << "no row was committed during the walk";
    const std::set<uint64_t> unique(walked.begin(), walked.end());
    EXPECT_EQ(unique.size(), walked.size()) << "an activity came twice";
    EXPECT_EQ(unique, expected);
  }
}

}  // namespace
}  // namespace whalefeed::server
