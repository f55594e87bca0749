#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db/store.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::db {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::StatusIs;

TEST(NormalizeDecimalTest, Canonicalises) {
  EXPECT_THAT(NormalizeDecimal("10000.00", "f"), IsOkAndHolds(std::string("10000")));
  EXPECT_THAT(NormalizeDecimal("0010.500", "f"), IsOkAndHolds(std::string("10.5")));
  EXPECT_THAT(NormalizeDecimal("-0.50", "f"), IsOkAndHolds(std::string("-0.5")));
  EXPECT_THAT(NormalizeDecimal("-0.00", "f"), IsOkAndHolds(std::string("0")));
  EXPECT_THAT(NormalizeDecimal(".5", "f"), IsOkAndHolds(std::string("0.5")));
  EXPECT_THAT(NormalizeDecimal("+7", "f"), IsOkAndHolds(std::string("7")));
}

TEST(NormalizeDecimalTest, RejectsWhatIsNotAPlainDecimal) {
  for (const char* bad : {"", "-", ".", "1e5", "1,5", "abc", "1.2.3", " 1", "0x10", "NaN"}) {
    EXPECT_THAT(NormalizeDecimal(bad, "price"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price")))
        << bad;
  }
  EXPECT_THAT(NormalizeDecimal("123456789012345678901", "volume"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  EXPECT_THAT(NormalizeDecimal("0.1234567890123456789", "price"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

TEST(NormalizeWalletTest, LowerCasesAndValidates) {
  EXPECT_THAT(NormalizeWallet("0xABCDEFabcdef0123456789012345678901234567"),
              IsOkAndHolds(std::string("0xabcdefabcdef0123456789012345678901234567")));
  EXPECT_THAT(NormalizeWallet("0x123", "wallet"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWallet("1xabcdefabcdef0123456789012345678901234567"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeWallet("0xgbcdefabcdef0123456789012345678901234567"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ActivityIdTest, StableAndKeyedOnTheNaturalKey) {
  Activity a;
  a.tx_hash = "0xabc";
  a.wallet = "0x" + std::string(40, '1');
  a.market_id = 5;
  a.side = Side::kBuy;
  a.outcome = Outcome::kYes;
  a.shares = "10";
  a.price = "0.5";
  const std::string id = MakeActivityId(a);
  EXPECT_EQ(id.size(), 32u);
  a.amount_usd = "999";  // not part of the key
  EXPECT_EQ(MakeActivityId(a), id);
  a.side = Side::kSell;
  EXPECT_NE(MakeActivityId(a), id);
}

}  // namespace
}  // namespace whalefeed::db
