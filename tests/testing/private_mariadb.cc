#include "tests/testing/private_mariadb.h"

#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace whalefeed::testing {
namespace {

std::string FindProgram(const char* name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}) {
    const std::string path = absl::StrCat(dir, "/", name);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return name;
}

// The state letter of /proc/PID/stat ('T' when stopped by a signal), or '?' when unreadable.
char ProcessState(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream text;
  text << file.rdbuf();
  const std::string stat = text.str();
  // "PID (COMMAND) STATE ...": COMMAND may itself hold parentheses and spaces.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return '?';
  return stat[close + 2];
}

std::string OsUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrivateMariaDb>> PrivateMariaDb::Create() {
  std::string pattern = (std::filesystem::temp_directory_path() / "wf-mariadb-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<PrivateMariaDb> db(new PrivateMariaDb(pattern));
  // Its own temporary folder: servers that share /tmp collide on temporary table names.
  std::filesystem::create_directory(db->dir_ + "/tmp");
  std::vector<std::string> install = {FindProgram("mariadb-install-db"),
                                      "--no-defaults",
                                      absl::StrCat("--datadir=", db->dir_, "/data"),
                                      absl::StrCat("--tmpdir=", db->dir_, "/tmp"),
                                      "--auth-root-authentication-method=socket",
                                      "--skip-test-db"};
  if (::geteuid() == 0) install.push_back("--user=root");
  ASSIGN_OR_RETURN(auto installer, Subprocess::Start(install));
  ASSIGN_OR_RETURN(int code, installer->Wait(absl::Seconds(120)));
  if (code != 0) {
    return absl::InternalError(
        absl::StrCat("mariadb-install-db exited with ", code, ":\n", installer->Output()));
  }
  RETURN_IF_ERROR(db->Start());
  return db;
}

PrivateMariaDb::~PrivateMariaDb() {
  (void)Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status PrivateMariaDb::Start() {
  if (server_ != nullptr) return absl::OkStatus();
  std::vector<std::string> argv = {FindProgram("mariadbd"),
                                   "--no-defaults",
                                   absl::StrCat("--datadir=", dir_, "/data"),
                                   absl::StrCat("--tmpdir=", dir_, "/tmp"),
                                   absl::StrCat("--socket=", dir_, "/mysqld.sock"),
                                   absl::StrCat("--pid-file=", dir_, "/mysqld.pid"),
                                   "--skip-networking",
                                   "--skip-name-resolve",
                                   "--innodb-buffer-pool-size=64M",
                                   "--innodb-log-file-size=16M"};
  if (::geteuid() == 0) argv.push_back("--user=root");
  ASSIGN_OR_RETURN(server_, Subprocess::Start(argv));
  absl::StatusOr<std::string> ready =
      server_->WaitForLine("ready for connections", absl::Seconds(60));
  if (!ready.ok()) {
    server_.reset();
    return ready.status();
  }
  return absl::OkStatus();
}

absl::Status PrivateMariaDb::Stop() {
  if (server_ == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(Resume());  // a stopped process would keep SIGTERM pending
  server_->Signal(SIGTERM);
  absl::StatusOr<int> code = server_->Wait(absl::Seconds(60));
  server_.reset();
  return code.status();
}

absl::Status PrivateMariaDb::Pause() {
  if (server_ == nullptr) return absl::FailedPreconditionError("the MariaDB server is not running");
  server_->Signal(SIGSTOP);
  paused_ = true;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ProcessState(server_->pid()) != 'T') {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("the MariaDB server did not stop on SIGSTOP");
    }
    // Polled: /proc shows the stop without touching the wait status that Subprocess reaps.
    absl::SleepFor(absl::Milliseconds(1));
  }
  return absl::OkStatus();
}

absl::Status PrivateMariaDb::Resume() {
  if (server_ == nullptr || !paused_) return absl::OkStatus();
  server_->Signal(SIGCONT);
  paused_ = false;
  return absl::OkStatus();
}

db::MySqlDsn PrivateMariaDb::Dsn(const std::string& database) const {
  db::MySqlDsn dsn;
  dsn.user = OsUser();
  dsn.host = "localhost";
  dsn.socket = absl::StrCat(dir_, "/mysqld.sock");
  dsn.database = database;
  return dsn;
}

}  // namespace whalefeed::testing
