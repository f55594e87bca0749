#include "db/dsn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace whalefeed::db {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::whalefeed::testing::StatusIs;

TEST(DsnTest, ParsesTcp) {
  ASSERT_OK_AND_ASSIGN(MySqlDsn dsn,
                       ParseMySqlDsn("mysql://whale:s3cret@db.example:3307/whalefeed"));
  EXPECT_EQ(dsn.user, "whale");
  EXPECT_EQ(dsn.password, "s3cret");
  EXPECT_EQ(dsn.host, "db.example");
  EXPECT_EQ(dsn.port, 3307);
  EXPECT_EQ(dsn.database, "whalefeed");
  EXPECT_EQ(dsn.socket, "");
}

TEST(DsnTest, DefaultsPortAndAllowsNoPassword) {
  ASSERT_OK_AND_ASSIGN(MySqlDsn dsn, ParseMySqlDsn("mysql://root@127.0.0.1/wf"));
  EXPECT_EQ(dsn.port, 3306);
  EXPECT_EQ(dsn.password, "");
}

TEST(DsnTest, Ipv6Hosts) {
  ASSERT_OK_AND_ASSIGN(MySqlDsn with_port, ParseMySqlDsn("mysql://u@[::1]:3307/wf"));
  EXPECT_EQ(with_port.host, "::1");
  EXPECT_EQ(with_port.port, 3307);
  EXPECT_EQ(with_port.Redacted(), "mysql://u@[::1]:3307/wf");
  ASSERT_OK_AND_ASSIGN(MySqlDsn without_port, ParseMySqlDsn("mysql://u@[fe80::1]/wf"));
  EXPECT_EQ(without_port.host, "fe80::1");
  EXPECT_EQ(without_port.port, 3306);
  EXPECT_THAT(ParseMySqlDsn("mysql://u@[::1/wf"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unbalanced")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@[::1]x/wf"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@host:/wf"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port")));
}

TEST(DsnTest, PercentDecodesUserAndPassword) {
  ASSERT_OK_AND_ASSIGN(MySqlDsn dsn, ParseMySqlDsn("mysql://us%40er:p%3Aa%2Fss%40@localhost/wf"));
  EXPECT_EQ(dsn.user, "us@er");
  EXPECT_EQ(dsn.password, "p:a/ss@");
}

TEST(DsnTest, Socket) {
  ASSERT_OK_AND_ASSIGN(
      MySqlDsn dsn, ParseMySqlDsn("mysql://whale@localhost/wf?socket=/tmp/my%20sql/mysqld.sock"));
  EXPECT_EQ(dsn.socket, "/tmp/my sql/mysqld.sock");
  EXPECT_EQ(dsn.Redacted(), "mysql://whale@localhost/wf?socket=/tmp/my sql/mysqld.sock");
}

TEST(DsnTest, SocketNeedsLocalhostWithoutAPort) {
  // The socket would win and the host or port would be silently ignored.
  EXPECT_THAT(ParseMySqlDsn("mysql://whale@db.example/wf?socket=/tmp/mysqld.sock"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("localhost")));
  EXPECT_THAT(ParseMySqlDsn("mysql://whale@localhost:3307/wf?socket=/tmp/mysqld.sock"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no port")));
  EXPECT_THAT(ParseMySqlDsn("mysql://whale@127.0.0.1/wf?socket=/tmp/mysqld.sock"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DsnTest, Ipv6HostsNeedBrackets) {
  EXPECT_THAT(ParseMySqlDsn("mysql://u@::1/db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("brackets")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@fe80::1:3306/db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("brackets")));
  ASSERT_OK_AND_ASSIGN(MySqlDsn dsn, ParseMySqlDsn("mysql://u@[::1]/db"));
  EXPECT_EQ(dsn.host, "::1");
}

TEST(DsnTest, RedactedHidesThePassword) {
  ASSERT_OK_AND_ASSIGN(MySqlDsn dsn, ParseMySqlDsn("mysql://whale:s3cret@db:3306/wf"));
  EXPECT_THAT(dsn.Redacted(), Not(HasSubstr("s3cret")));
  EXPECT_EQ(dsn.Redacted(), "mysql://whale:***@db:3306/wf");
}

TEST(DsnTest, MalformedUrlsNameTheProblem) {
  EXPECT_THAT(ParseMySqlDsn("postgres://a@b/c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mysql://")));
  EXPECT_THAT(ParseMySqlDsn("mysql://host/db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("USER@")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@host"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/DATABASE")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@host:99999/db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("99999")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@host:x/db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@host/bad-name"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad-name")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u@host/db?ssl=1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ssl")));
  EXPECT_THAT(ParseMySqlDsn("mysql://u:p%zz@host/db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("password")));
  EXPECT_THAT(ParseMySqlDsn("mysql://:p@host/db"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("user")));
}

}  // namespace
}  // namespace whalefeed::db
