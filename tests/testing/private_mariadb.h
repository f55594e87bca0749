// A MariaDB server of the test's own, in a temporary folder, that the test can stop and start again
// (to see how whaled behaves while its database is down) or freeze (to see how it behaves while its
// database hangs). Reached through a unix socket as the OS user (unix_socket authentication), so it
// needs no password and no TCP port.
#ifndef WHALEFEED_TESTS_TESTING_PRIVATE_MARIADB_H_
#define WHALEFEED_TESTS_TESTING_PRIVATE_MARIADB_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/dsn.h"
#include "tests/testing/subprocess.h"

namespace whalefeed::testing {

class PrivateMariaDb {
 public:
  // Initialises a data folder (a few seconds) and starts the server.
  static absl::StatusOr<std::unique_ptr<PrivateMariaDb>> Create();
  ~PrivateMariaDb();  // stops the server and removes the folder

  absl::Status Start();
  // Stops the server (resuming it first when it is paused).
  absl::Status Stop();

  // Freezes the server (SIGSTOP) and returns once the kernel reports it stopped: its socket and
  // open connections stay, but nothing answers, so clients block until their own timeouts. Resume()
  // (SIGCONT) lets it carry on. A paused server is resumed before it is stopped or destroyed.
  absl::Status Pause();
  absl::Status Resume();

  // A DSN for `database` on this server.
  db::MySqlDsn Dsn(const std::string& database) const;

 private:
  explicit PrivateMariaDb(std::string dir) : dir_(std::move(dir)) {}

  const std::string dir_;
  std::unique_ptr<Subprocess> server_;
  bool paused_ = false;
};

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_TESTING_PRIVATE_MARIADB_H_
