// MarketsJob on InMemoryStore, FakeOpinionApi and FakeClock: every page, categorical children from
// the list or from E3, only changed rows written, skipped records counted, the 5-minute schedule.
#include "sync/markets_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "db/in_memory_store.h"
#include "tests/sync/fake_opinion_api.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::whalefeed::testing::StatusIs;

const absl::Time kStart = absl::FromUnixSeconds(1767225600);

db::Market Binary(int64_t id) {
  db::Market m;
  m.market_id = id;
  m.title = absl::StrCat("Market ", id);
  m.status = db::MarketStatus::kActivated;
  m.market_type = db::MarketType::kBinary;
  m.yes_label = "Yes";
  m.no_label = "No";
  m.yes_token_id =
      absl::StrCat("5849201736611028379460113354901827736450019283746501928374650192837465", id);
  m.no_token_id = "1";
  m.volume = absl::StrCat(id, ".25");
  m.created_time = kStart - absl::Hours(24);
  return m;
}

db::Market Parent(int64_t id) {
  db::Market m = Binary(id);
  m.market_type = db::MarketType::kCategorical;
  m.yes_label = m.no_label = m.yes_token_id = m.no_token_id = "";
  return m;
}

db::Market Child(int64_t id, int64_t parent) {
  db::Market m = Binary(id);
  m.market_type = db::MarketType::kBinary;
  m.parent_market_id = parent;
  return m;
}

class MarketsJobTest : public ::testing::Test {
 protected:
  MarketsJobTest() : clock_(kStart), job_(store_, api_, clock_, MarketsJobOptions{}) {}
  void SetUp() override {
    absl::StatusOr<db::Fence> fence = store_.AdvanceLeaderEpoch("test", kStart);
    ASSERT_TRUE(fence.ok());
    fence_ = *fence;
  }
  absl::StatusOr<JobOutcome> Run() { return job_.RunOnce({fence_, &cancel_, clock_.Now(), "t"}); }

  FakeClock clock_;
  db::InMemoryStore store_;
  FakeOpinionApi api_;
  CancelToken cancel_;
  db::Fence fence_;
  MarketsJob job_;
};

// 45 top-level markets (3 pages of 20): binaries, and every tenth a categorical parent with two
// children.
void FillUpstream(FakeOpinionApi& api, bool children_in_list) {
  std::vector<db::Market> top, children;
  for (int64_t id = 1; id <= 45; ++id) {
    if (id % 10 == 0) {
      top.push_back(Parent(id));
      children.push_back(Child(1000 + 2 * id, id));
      children.push_back(Child(1001 + 2 * id, id));
    } else {
      top.push_back(Binary(id));
    }
  }
  api.SetMarkets(top, children, children_in_list);
}

TEST_F(MarketsJobTest, EveryPageAndEveryChildIsStored) {
  FillUpstream(api_, /*children_in_list=*/true);
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 53);  // 45 + 4 parents x 2 children
  EXPECT_EQ(outcome.note, "");
  EXPECT_EQ(api_.markets_requests(), 3);
  EXPECT_THAT(api_.categorical_requests(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(db::Market m, store_.GetMarket(45));
  EXPECT_EQ(m.volume, "45.25");
  ASSERT_OK_AND_ASSIGN(std::vector<db::Market> kids, store_.GetChildMarkets(40));
  ASSERT_THAT(kids, SizeIs(2));
  EXPECT_EQ(kids[0].market_id, 1080);
  EXPECT_EQ(kids[0].synced_time, kStart);
}

TEST_F(MarketsJobTest, ChildrenMissingFromTheListComeFromTheCategoricalEndpoint) {
  FillUpstream(api_, /*children_in_list=*/false);
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_EQ(outcome.item_count, 53);
  EXPECT_THAT(api_.categorical_requests(), ElementsAre(10, 20, 30, 40));
  ASSERT_OK_AND_ASSIGN(std::vector<db::Market> kids, store_.GetChildMarkets(30));
  EXPECT_THAT(kids, SizeIs(2));
}

TEST_F(MarketsJobTest, ARerunWritesOnlyChangesButTouchesEverySyncedTime) {
  FillUpstream(api_, true);
  ASSERT_OK(Run().status());
  std::vector<db::Market> top;
  for (int64_t id = 1; id <= 45; ++id) top.push_back(id % 10 == 0 ? Parent(id) : Binary(id));
  top[4].status = db::MarketStatus::kResolved;  // market 5 resolves
  api_.SetMarkets(top,
                  {Child(1020, 10), Child(1021, 10), Child(1040, 20), Child(1041, 20),
                   Child(1060, 30), Child(1061, 30), Child(1080, 40), Child(1081, 40)},
                  true);
  clock_.Advance(absl::Minutes(5));
  ASSERT_OK(Run().status());
  ASSERT_OK_AND_ASSIGN(db::Market changed, store_.GetMarket(5));
  EXPECT_EQ(changed.status, db::MarketStatus::kResolved);
  EXPECT_EQ(changed.updated_time, clock_.Now());
  ASSERT_OK_AND_ASSIGN(db::Market same, store_.GetMarket(6));
  EXPECT_EQ(same.updated_time, kStart);
  EXPECT_EQ(same.synced_time, clock_.Now());
  ASSERT_OK_AND_ASSIGN(db::Market child, store_.GetMarket(1081));
  EXPECT_EQ(child.synced_time, clock_.Now());
}

TEST_F(MarketsJobTest, SkippedRecordsAreCountedAndTheWalkGoesOn) {
  FillUpstream(api_, true);
  api_.SetSkippedOnMarketsPage(1, 2);
  ASSERT_OK_AND_ASSIGN(JobOutcome outcome, Run());
  EXPECT_THAT(outcome.note, HasSubstr("skipped 2 records"));
  EXPECT_THAT(outcome.note, HasSubstr("bad volume"));
  EXPECT_EQ(api_.markets_requests(), 3);  // a page short only by skipped records is not the end
  EXPECT_EQ(outcome.item_count, 49);  // 19 and 20 (with its two children) skipped
}

TEST_F(MarketsJobTest, UpstreamErrorsFailTheRunNamingThePage) {
  FillUpstream(api_, true);
  api_.FailNext(absl::OkStatus());
  api_.FailNext(absl::UnavailableError("upstream: 502 after 4 attempts"));
  EXPECT_THAT(Run(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("page 2")));
  cancel_.Cancel();
  EXPECT_THAT(Run(), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(MarketsJobTest, RunsEveryFiveMinutesAndCoalescesMissedRuns) {
  EXPECT_EQ(job_.NextRunTime(absl::InfinitePast(), kStart), kStart);
  EXPECT_EQ(job_.NextRunTime(kStart, kStart + absl::Minutes(1)), kStart + absl::Minutes(5));
  EXPECT_EQ(job_.NextRunTime(kStart, kStart + absl::Minutes(5)), kStart + absl::Minutes(5));
  // Down for an hour: one run now, not twelve.
  EXPECT_EQ(job_.NextRunTime(kStart, kStart + absl::Hours(1)), kStart + absl::Hours(1));
  MarketsJobOptions options;
  options.interval = absl::Minutes(1);
  MarketsJob fast(store_, api_, clock_, options);
  EXPECT_EQ(fast.NextRunTime(kStart, kStart), kStart + absl::Minutes(1));
}

}  // namespace
}  // namespace whalefeed::sync
