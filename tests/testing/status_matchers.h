// gtest matchers for absl::Status and absl::StatusOr (Debian 12's abseil ships none):
//   EXPECT_THAT(store.Ping(), IsOk());
//   EXPECT_THAT(store.GetWhale("0x00"), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
//   EXPECT_THAT(NormalizeDecimal("1.50", "f"), IsOkAndHolds("1.5"));
#ifndef WHALEFEED_TESTS_TESTING_STATUS_MATCHERS_H_
#define WHALEFEED_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace whalefeed::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status.ToString();
  return status.ok();
}

MATCHER_P(StatusIs, code, "has code " + std::string(absl::StatusCodeToString(code))) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + std::string(absl::StatusCodeToString(code)) + " and a matching message") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace whalefeed::testing

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::whalefeed::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::whalefeed::testing::IsOk())

// ASSERT_OK_AND_ASSIGN(auto value, StatusOrExpr()): fails the test unless OK, then assigns the
// value.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  WHALEFEED_ASSERT_OK_AND_ASSIGN_IMPL_(WHALEFEED_TEST_CONCAT_(statusor_, __LINE__), lhs, expr)
#define WHALEFEED_TEST_CONCAT_INNER_(a, b) a##b
#define WHALEFEED_TEST_CONCAT_(a, b) WHALEFEED_TEST_CONCAT_INNER_(a, b)
#define WHALEFEED_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                         \
  ASSERT_THAT(statusor.status(), ::whalefeed::testing::IsOk());   \
  lhs = std::move(statusor).value()

#endif  // WHALEFEED_TESTS_TESTING_STATUS_MATCHERS_H_
