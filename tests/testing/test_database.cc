#include "tests/testing/test_database.h"

#include <cppconn/exception.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "db/mysql_connection.h"

namespace whalefeed::testing {
namespace {

std::string PercentEncode(absl::string_view in) {
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

db::MySqlSessionOptions TestSession() {
  db::MySqlSessionOptions session;
  session.connect_timeout = session.read_timeout = session.write_timeout = absl::Seconds(10);
  return session;
}

absl::Status Execute(const db::MySqlDsn& dsn, const std::string& statement) {
  ASSIGN_OR_RETURN(auto connection, db::ConnectMySql(dsn, /*with_database=*/false, TestSession()));
  try {
    connection->Execute(statement);
  } catch (const sql::SQLException& e) {
    return db::StatusFromSqlException(e, statement);
  }
  return absl::OkStatus();
}

}  // namespace

std::string DsnToUrl(const db::MySqlDsn& dsn) {
  std::string url = absl::StrCat("mysql://", PercentEncode(dsn.user));
  if (!dsn.password.empty()) absl::StrAppend(&url, ":", PercentEncode(dsn.password));
  absl::StrAppend(&url, "@", db::HostForUrl(dsn.host));
  if (dsn.socket.empty()) absl::StrAppend(&url, ":", dsn.port);
  absl::StrAppend(&url, "/", dsn.database);
  if (!dsn.socket.empty()) absl::StrAppend(&url, "?socket=", PercentEncode(dsn.socket));
  return url;
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create() {
  const char* base = std::getenv("WHALEFEED_TEST_MYSQL_DSN");
  if (base == nullptr || *base == '\0') {
    return absl::FailedPreconditionError(
        "WHALEFEED_TEST_MYSQL_DSN is not set: run the database tests through deploy/test, which "
        "starts a "
        "private MariaDB and sets it");
  }
  ASSIGN_OR_RETURN(db::MySqlDsn dsn, db::ParseMySqlDsn(base));
  static std::atomic<int> counter{0};
  dsn.database = absl::StrCat(dsn.database, "_", ::getpid(), "_", counter++);
  RETURN_IF_ERROR(Execute(dsn, absl::StrCat("DROP DATABASE IF EXISTS `", dsn.database, "`")));
  RETURN_IF_ERROR(Execute(dsn, absl::StrCat("CREATE DATABASE `", dsn.database, "`")));
  return std::unique_ptr<TestDatabase>(new TestDatabase(std::move(dsn)));
}

absl::Status TestDatabase::Drop(const db::MySqlDsn& dsn) {
  return Execute(dsn, absl::StrCat("DROP DATABASE IF EXISTS `", dsn.database, "`"));
}

TestDatabase::~TestDatabase() { (void)Drop(dsn_); }

absl::StatusOr<std::unique_ptr<db::MySqlConnection>> TestDatabase::Connect() const {
  return db::ConnectMySql(dsn_, /*with_database=*/true, TestSession());
}

}  // namespace whalefeed::testing
