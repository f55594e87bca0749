// Store rows to API messages, and the shared time conversions.
#include "server/convert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

TEST(TimestampTest, NoneStaysUnsetAndMicrosecondsSurvive) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(99);
  SetTimestamp(absl::InfinitePast(), &ts);
  EXPECT_FALSE(ts.seconds() != 0 || ts.nanos() != 0);

  const absl::Time before_epoch = absl::FromUnixMicros(-1500001);  // 1969, sub-second part
  SetTimestamp(before_epoch, &ts);
  EXPECT_EQ(ts.seconds(), -2);
  EXPECT_EQ(ts.nanos(), 499999000);
  EXPECT_EQ(*TimeFromProto(ts, "t"), before_epoch);
}

TEST(TimestampTest, OutOfRangeNamesTheField) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(253402300800);  // 10000-01-01
  EXPECT_THAT(TimeFromProto(ts, "start_time"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start_time")));
  ts.set_seconds(1);
  ts.set_nanos(-1);
  EXPECT_THAT(TimeFromProto(ts, "start_time"), StatusIs(absl::StatusCode::kInvalidArgument));
  google::protobuf::Timestamp unset;
  EXPECT_EQ(*TimeFromProto(unset, "start_time"), absl::InfinitePast());
}

TEST(DurationTest, RoundTripAndMixedSignsRefused) {
  google::protobuf::Duration d;
  SetDuration(absl::Milliseconds(15250), &d);
  EXPECT_EQ(d.seconds(), 15);
  EXPECT_EQ(d.nanos(), 250000000);
  EXPECT_EQ(*DurationFromProto(d, "heartbeat_interval"), absl::Milliseconds(15250));
  d.set_seconds(1);
  d.set_nanos(-5);
  EXPECT_THAT(DurationFromProto(d, "heartbeat_interval"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("heartbeat_interval")));
}

TEST(ConvertTest, ActivityCarriesEveryFieldAndTheLabel) {
  db::Activity a;
  a.sequence = 42;
  a.activity_id = "abc";
  a.tx_hash = "0xfeed";
  a.wallet = "0x00000000000000000000000000000000000000aa";
  a.market_id = 7;
  a.root_market_id = 3;
  a.market_title = "child";
  a.root_market_title = "root";
  a.side = db::Side::kMerge;
  a.outcome = db::Outcome::kNo;
  a.outcome_label = "No";
  a.price = "0.5";
  a.shares = "10";
  a.amount_usd = "5";
  a.fee_usd = "0.01";
  a.profit_usd = "-1";
  a.traded_time = absl::FromUnixSeconds(1000);
  a.ingested_time = absl::FromUnixSeconds(1005);
  a.origin = db::Origin::kBackfill;
  v1::WhaleActivity out;
  ToProto(a, "big fish", &out);
  EXPECT_EQ(out.sequence(), 42u);
  EXPECT_EQ(out.side(), v1::SIDE_MERGE);
  EXPECT_EQ(out.outcome(), v1::OUTCOME_NO);
  EXPECT_EQ(out.origin(), v1::ORIGIN_BACKFILL);
  EXPECT_EQ(out.root_market_title(), "root");
  EXPECT_EQ(out.profit_usd(), "-1");
  EXPECT_EQ(out.traded_time().seconds(), 1000);
  EXPECT_EQ(out.ingested_time().seconds(), 1005);
  EXPECT_EQ(out.wallet_label(), "big fish");
}

TEST(ConvertTest, MarketWithoutResolvedTimeLeavesItUnset) {
  db::Market m;
  m.market_id = 9;
  m.status = db::MarketStatus::kActivated;
  m.market_type = db::MarketType::kCategorical;
  m.labels = {"crypto", "btc"};
  m.created_time = absl::FromUnixSeconds(50);
  v1::Market out;
  ToProto(m, "", &out);
  EXPECT_EQ(out.status(), v1::MARKET_STATUS_ACTIVATED);
  EXPECT_EQ(out.market_type(), v1::MARKET_TYPE_CATEGORICAL);
  EXPECT_EQ(out.whale_volume_24h(), "0");
  EXPECT_THAT(out.labels(), ::testing::ElementsAre("crypto", "btc"));
  EXPECT_TRUE(out.has_created_time());
  EXPECT_FALSE(out.has_resolved_time());
}

}  // namespace
}  // namespace whalefeed::server
