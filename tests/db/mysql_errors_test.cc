// How MySQL errors become statuses: the errno table of StatusFromSqlException.
#include <cppconn/exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db/mysql_connection.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::db {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::StatusIs;

absl::Status Map(int errno_code, const char* sql_state = "HY000") {
  return StatusFromSqlException(sql::SQLException("server said no", sql_state, errno_code),
                                "reading a whale");
}

TEST(MySqlErrorsTest, EachErrnoMapsToItsCode) {
  const struct {
    int errno_code;
    absl::StatusCode code;
  } kTable[] = {
      {2002, absl::StatusCode::kUnavailable},     {2003, absl::StatusCode::kUnavailable},
      {2006, absl::StatusCode::kUnavailable},     {2013, absl::StatusCode::kUnavailable},
      {2055, absl::StatusCode::kUnavailable},     {1927, absl::StatusCode::kUnavailable},
      {1053, absl::StatusCode::kUnavailable},     {1040, absl::StatusCode::kUnavailable},
      {1213, absl::StatusCode::kAborted},         {1205, absl::StatusCode::kAborted},
      {1062, absl::StatusCode::kAlreadyExists},   {1406, absl::StatusCode::kInvalidArgument},
      {1264, absl::StatusCode::kInvalidArgument}, {1366, absl::StatusCode::kInvalidArgument},
      {1048, absl::StatusCode::kInvalidArgument}, {1146, absl::StatusCode::kInternal},
      {1064, absl::StatusCode::kInternal},
  };
  for (const auto& row : kTable) {
    EXPECT_THAT(Map(row.errno_code), StatusIs(row.code)) << "errno " << row.errno_code;
  }
}

TEST(MySqlErrorsTest, ConnectionStatesWithoutAnErrnoAreUnavailable) {
  EXPECT_THAT(Map(0, "08S01"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Map(0, "HY000"), StatusIs(absl::StatusCode::kInternal));
}

TEST(MySqlErrorsTest, TheMessageNamesTheOperationAndTheErrno) {
  EXPECT_THAT(Map(1406), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("reading a whale: MySQL error 1406: server said no")));
}

}  // namespace
}  // namespace whalefeed::db
