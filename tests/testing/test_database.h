// A fresh, empty MySQL database per test, on the server that the test command started.
//
// The server is named by WHALEFEED_TEST_MYSQL_DSN (a DSN whose database part is used as a name
// prefix); the test command (deploy/test) sets it. Each TestDatabase makes `<prefix>_<pid>_<n>` and
// drops it when destroyed, so test executables can run in parallel.
#ifndef WHALEFEED_TESTS_TESTING_TEST_DATABASE_H_
#define WHALEFEED_TESTS_TESTING_TEST_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "db/dsn.h"
#include "db/mysql_connection.h"

namespace whalefeed::testing {

// Formats a DSN as a mysql:// URL (user and password percent-encoded), the form whaled's
// --mysql_dsn takes.
std::string DsnToUrl(const db::MySqlDsn& dsn);

class TestDatabase {
 public:
  // FAILED_PRECONDITION with instructions when WHALEFEED_TEST_MYSQL_DSN is not set.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> Create();
  ~TestDatabase();

  // Drops a database made beside this one (e.g. by a test of "whaled creates the database").
  static absl::Status Drop(const db::MySqlDsn& dsn);

  const db::MySqlDsn& dsn() const { return dsn_; }
  // A connection of the test's own to this database (to look at rows, hold locks, kill sessions).
  absl::StatusOr<std::unique_ptr<db::MySqlConnection>> Connect() const;
  std::string url() const { return DsnToUrl(dsn_); }

 private:
  explicit TestDatabase(db::MySqlDsn dsn) : dsn_(std::move(dsn)) {}
  db::MySqlDsn dsn_;
};

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_TESTING_TEST_DATABASE_H_
