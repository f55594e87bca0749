// The database URL whaled takes (--mysql_dsn / WHALEFEED_MYSQL_DSN):
//   mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE
//   mysql://USER[:PASSWORD]@localhost/DATABASE?socket=PATH
// USER and PASSWORD are percent-encoded; PATH may be too.
#ifndef WHALEFEED_DB_DSN_H_
#define WHALEFEED_DB_DSN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace whalefeed::db {

struct MySqlDsn {
  std::string user;
  std::string password;
  std::string host;
  int port = 3306;
  std::string database;
  std::string socket;  // non-empty: connect through this unix socket instead of TCP

  // The URL with the password masked, for logs and error messages.
  std::string Redacted() const;
};

// A host as URLs write it: an IPv6 address in brackets.
std::string HostForUrl(absl::string_view host);

// Parses a DSN; errors are INVALID_ARGUMENT with a message naming the part that is wrong (never the
// password).
absl::StatusOr<MySqlDsn> ParseMySqlDsn(absl::string_view url);

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_DSN_H_
