// AnswerCache and DataVersionWatcher on an in-memory store and a fake clock: what is served, what
// is kept under which version, the bound on memory, and the raw-method plumbing.
#include "server/answer_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/clock.h"
#include "db/in_memory_store.h"
#include "tests/testing/status_matchers.h"
#include "whalefeed/v1/market_service.pb.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::StatusIs;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
constexpr absl::Duration kTtl = absl::Seconds(2);

db::Market Market(int64_t id) {
  db::Market m;
  m.market_id = id;
  m.title = "Will it rain?";
  m.status = db::MarketStatus::kActivated;
  m.market_type = db::MarketType::kBinary;
  m.created_time = kT0;
  return m;
}

std::string Text(const grpc::Slice& slice) {
  return std::string(reinterpret_cast<const char*>(slice.begin()), slice.size());
}

class AnswerCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fence = store_.AdvanceLeaderEpoch("test", kT0);
    ASSERT_OK(fence.status());
    fence_ = *fence;
  }
  // A write to the markets (raises their version).
  void WriteMarkets() { ASSERT_OK(store_.UpsertMarkets(fence_, {Market(1)}, kT0).status()); }
  // A read that answers `text` and counts itself.
  auto Read(const std::string& text) {
    return [this, text]() -> absl::StatusOr<grpc::Slice> {
      ++reads_;
      return grpc::Slice(text);
    };
  }

  db::InMemoryStore store_;
  db::Fence fence_;
  FakeClock clock_{kT0};
  DataVersionWatcher versions_{&store_, &clock_, absl::ZeroDuration()};
  int reads_ = 0;
};

TEST_F(AnswerCacheTest, AnAnswerIsReadOnceWhileItsVersionHolds) {
  AnswerCache cache(&clock_, &versions_, DataDomain::kMarkets, kTtl, 100);
  ASSERT_OK_AND_ASSIGN(grpc::Slice first, cache.GetOrRead("k", Read("a")));
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(kTtl / 2);
    ASSERT_OK(versions_.Refresh());
    ASSERT_OK_AND_ASSIGN(grpc::Slice again, cache.GetOrRead("k", Read("b")));
    EXPECT_EQ(Text(again), "a");
  }
  EXPECT_EQ(reads_, 1);
  // Another domain's writes do not touch it.
  ASSERT_OK(
      store_.TrackWhale("0x" + std::string(40, '1'), "", db::WhaleSource::kApi, kT0).status());
  ASSERT_OK(versions_.Refresh());
  EXPECT_EQ(Text(*cache.Lookup("k")), "a");
}

TEST_F(AnswerCacheTest, AWriteDuringTheReadLeavesTheAnswerUnservedOnceSeen) {
  AnswerCache cache(&clock_, &versions_, DataDomain::kMarkets, kTtl, 100);
  // The read began under version v and a write committed while it ran: what it read may predate
  // the write, so it is kept under v...
  ASSERT_OK(cache
                .GetOrRead("k",
                           [&]() -> absl::StatusOr<grpc::Slice> {
                             WriteMarkets();
                             return grpc::Slice("old");
                           })
                .status());
  // ...served while the versions in hand are v (within the bound)...
  EXPECT_EQ(Text(*cache.Lookup("k")), "old");
  // ...and never once a read of the versions has seen the write.
  ASSERT_OK(versions_.Refresh());
  EXPECT_FALSE(cache.Lookup("k").has_value());
  ASSERT_OK_AND_ASSIGN(grpc::Slice fresh, cache.GetOrRead("k", Read("new")));
  EXPECT_EQ(Text(fresh), "new");
  EXPECT_EQ(Text(*cache.Lookup("k")), "new");
}

TEST_F(AnswerCacheTest, NothingIsServedOrKeptWhenTheVersionsAreTooOld) {
  AnswerCache cache(&clock_, &versions_, DataDomain::kMarkets, kTtl, 100);
  ASSERT_OK(cache.GetOrRead("k", Read("a")).status());
  clock_.Advance(kTtl);
  EXPECT_FALSE(cache.Lookup("k").has_value());
  // Read, but not kept: nothing vouches for its version.
  ASSERT_OK(cache.GetOrRead("j", Read("b")).status());
  ASSERT_OK(versions_.Refresh());
  EXPECT_FALSE(cache.Lookup("j").has_value());
  // Versions read again and unchanged: the answer kept under them is good again.
  EXPECT_EQ(Text(*cache.Lookup("k")), "a");
  // The database down: the versions cannot be read, and the bound runs out.
  store_.SetAvailable(false);
  EXPECT_THAT(versions_.Refresh(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Text(*cache.Lookup("k")), "a");
  clock_.Advance(kTtl);
  EXPECT_FALSE(cache.Lookup("k").has_value());
}

TEST_F(AnswerCacheTest, ZeroMaxAgeKeepsNothing) {
  AnswerCache cache(&clock_, &versions_, DataDomain::kMarkets, absl::ZeroDuration(), 100);
  ASSERT_OK(cache.GetOrRead("k", Read("a")).status());
  ASSERT_OK(cache.GetOrRead("k", Read("a")).status());
  EXPECT_EQ(reads_, 2);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(AnswerCacheTest, ErrorsAreNotKept) {
  AnswerCache cache(&clock_, &versions_, DataDomain::kMarkets, kTtl, 100);
  EXPECT_THAT(
      cache.GetOrRead("k", [] { return absl::StatusOr<grpc::Slice>(absl::NotFoundError("no")); }),
      StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(AnswerCacheTest, MemoryIsBoundedAndStaleVersionsGoFirst) {
  AnswerCache cache(&clock_, &versions_, DataDomain::kMarkets, kTtl, 4);
  for (const char* key : {"a", "b", "c"}) ASSERT_OK(cache.GetOrRead(key, Read(key)).status());
  WriteMarkets();
  ASSERT_OK(versions_.Refresh());
  ASSERT_OK(cache.GetOrRead("d", Read("d")).status());
  ASSERT_OK(cache.GetOrRead("e", Read("e")).status());  // full: a, b, c (old version) go
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(Text(*cache.Lookup("d")), "d");
  for (const char* key : {"f", "g", "h", "i"}) ASSERT_OK(cache.GetOrRead(key, Read(key)).status());
  EXPECT_LE(cache.size(), 4u);
}

TEST(RawMethodPlumbingTest, RequestsAndAnswersRoundTripAndGarbageIsNamed) {
  v1::ListMarketsRequest request;
  request.set_filter("status = ACTIVATED");
  request.set_page_size(7);
  grpc::ByteBuffer bytes = AnswerBuffer(SerializeAnswer(request));
  v1::ListMarketsRequest parsed;
  ASSERT_OK(ParseRequest(bytes, &parsed));
  EXPECT_EQ(parsed.filter(), "status = ACTIVATED");
  EXPECT_EQ(parsed.page_size(), 7);

  grpc::Slice garbage(std::string("\xff\xff\xff", 3));
  grpc::ByteBuffer bad(&garbage, 1);
  EXPECT_THAT(ParseRequest(bad, &parsed), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   HasSubstr("whalefeed.v1.ListMarketsRequest")));
  v1::ListMarketsRequest back;
  ASSERT_OK(ParseAnswer(SerializeAnswer(request), &back));
  EXPECT_EQ(back.SerializeAsString(), request.SerializeAsString());
}

TEST(PageAnswerKeyTest, EveryPartCounts) {
  EXPECT_NE(PageAnswerKey("f", "t", 1), PageAnswerKey("f", "t", 2));
  EXPECT_NE(PageAnswerKey("f", "t", 1), PageAnswerKey("f", "u", 1));
  EXPECT_NE(PageAnswerKey("f", "t", 1), PageAnswerKey("g", "t", 1));
}

}  // namespace
}  // namespace whalefeed::server
