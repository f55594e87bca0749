// MakeSyncJobs: the four jobs in SyncJob order, options checked with errors naming the flag.
#include "sync/jobs_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/clock.h"
#include "db/in_memory_store.h"
#include "tests/sync/fake_opinion_api.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sync {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::StatusIs;

TEST(JobsFactoryTest, BuildsTheFourJobsInOrder) {
  db::InMemoryStore store;
  FakeOpinionApi api;
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(SyncJobs jobs, MakeSyncJobs(store, api, clock, SyncJobsOptions{}));
  const std::vector<SyncJobRunner*> all = jobs.All();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]->job(), db::SyncJob::kMarkets);
  EXPECT_EQ(all[1]->job(), db::SyncJob::kWhaleTrades);
  EXPECT_EQ(all[2]->job(), db::SyncJob::kStats);
  EXPECT_EQ(all[3]->job(), db::SyncJob::kCleanup);
  // No watch-list configured: reloading is a no-op.
  EXPECT_OK(jobs.whale_trades->Reload());
}

TEST(JobsFactoryTest, OptionsOutOfRangeNameTheirFlag) {
  db::InMemoryStore store;
  FakeOpinionApi api;
  FakeClock clock;
  SyncJobsOptions o;
  o.markets.interval = absl::ZeroDuration();
  EXPECT_THAT(MakeSyncJobs(store, api, clock, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--markets_interval")));
  o = {};
  o.whale_trades.min_poll_interval = absl::Minutes(20);
  EXPECT_THAT(MakeSyncJobs(store, api, clock, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--whale_min_poll_interval")));
  o = {};
  o.cleanup.retention = absl::Hours(1);
  EXPECT_THAT(MakeSyncJobs(store, api, clock, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--retention")));
  o = {};
  o.stats.interval = -absl::Seconds(1);
  EXPECT_THAT(MakeSyncJobs(store, api, clock, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--stats_interval")));
  // Early polls: a share of the upstream rate.
  for (double share : {-0.1, 1.5, std::nan("")}) {
    o = {};
    o.whale_trades.budget_share = share;
    EXPECT_THAT(MakeSyncJobs(store, api, clock, o),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--whale_budget_share")));
  }
  for (double share : {0.0, 1.0}) {
    o = {};
    o.whale_trades.budget_share = share;
    EXPECT_OK(MakeSyncJobs(store, api, clock, o).status());
  }
}

}  // namespace
}  // namespace whalefeed::sync
