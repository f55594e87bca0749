// Runs the built `opinion-sim` binary (path from the OPINION_SIM_PATH compile definition) as a
// subprocess: the listening line, one request, flags, signals and exit codes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "tests/testing/status_matchers.h"

extern char** environ;

namespace whalefeed::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

// A child process with its stdout and stderr on pipes. Killed (SIGKILL) if still running at the
// end.
class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& args) {
    int out[2];
    int err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      return absl::InternalError("pipe2 failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
      close(out[0]);
      close(err[0]);
      return absl::InternalError(absl::StrCat("posix_spawn ", args[0], ": ", rc));
    }
    return std::unique_ptr<Subprocess>(new Subprocess(pid, out[0], err[0]));
  }

  ~Subprocess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_);
    close(stderr_);
  }

  // The next line of stdout (without '\n'), waiting at most `timeout`.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const size_t newline = out_buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = out_buffer_.substr(0, newline);
        out_buffer_.erase(0, newline + 1);
        return line;
      }
      if (!ReadSome(stdout_, out_buffer_, deadline)) {
        return absl::DeadlineExceededError(absl::StrCat("no line; stdout so far: ", out_buffer_));
      }
    }
  }

  // Everything left on stdout and stderr until the process closes them (it exits), then its exit
  // status; -1 if that takes longer than `timeout` or it died from a signal.
  int Finish(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (ReadSome(stdout_, out_buffer_, deadline)) {
    }
    while (ReadSome(stderr_, err_buffer_, deadline)) {
    }
    if (absl::Now() >= deadline) return -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  int Signal(int signal_number) { return kill(pid_, signal_number); }
  const std::string& stdout_rest() const { return out_buffer_; }
  const std::string& stderr_text() const { return err_buffer_; }

 private:
  Subprocess(pid_t pid, int out, int err) : pid_(pid), stdout_(out), stderr_(err) {}

  // Appends what `fd` has (waiting until `deadline`); false at end of file or on timeout.
  static bool ReadSome(int fd, std::string& buffer, absl::Time deadline) {
    const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(wait_ms)) <= 0) return false;
    char chunk[4096];
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_;
  int stdout_;
  int stderr_;
  std::string out_buffer_;
  std::string err_buffer_;
};

constexpr absl::Duration kTimeout = absl::Seconds(20);

int ListeningPort(const std::string& line) {
  static const std::regex kLine(R"(opinion-sim listening on http://127\.0\.0\.1:([0-9]+)/openapi)");
  std::smatch match;
  if (!std::regex_match(line, match, kLine)) return -1;
  int port = -1;
  return absl::SimpleAtoi(match[1].str(), &port) ? port : -1;
}

TEST(OpinionSimBinaryTest, ServesUntilSigterm) {
  const std::string watchlist = absl::StrCat(::testing::TempDir(), "/sim_watchlist_", getpid());
  ASSERT_OK_AND_ASSIGN(
      auto sim, Subprocess::Start({OPINION_SIM_PATH, "--port=0", "--seed=3", "--manual_clock",
                                   "--watchlist_size", "5", "--watchlist_out=" + watchlist}));
  ASSERT_OK_AND_ASSIGN(std::string line, sim->ReadLine(kTimeout));
  const int port = ListeningPort(line);
  ASSERT_GT(port, 0) << line;

  std::ifstream file(watchlist);
  std::vector<std::string> wallets;
  const std::regex entry("(0x[0-9a-f]{40}) whale-00[1-5]");
  for (std::string row; std::getline(file, row);) {
    std::smatch match;
    EXPECT_TRUE(std::regex_match(row, match, entry)) << row;
    wallets.push_back(match[1].str());
  }
  ASSERT_THAT(wallets, SizeIs(5));
  unlink(watchlist.c_str());

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  httplib::Result trades = client.Get(
      absl::StrCat("/openapi/trade/user/", wallets[0], "?limit=1").c_str(), {{"apikey", "k"}});
  ASSERT_TRUE(trades) << httplib::to_string(trades.error());
  EXPECT_EQ(trades->status, 200);
  rapidjson::Document doc;
  doc.Parse(trades->body.c_str());
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("result") && doc["result"].IsObject());
  EXPECT_GT(doc["result"]["total"].GetInt64(), 0);

  httplib::Result advanced = client.Post("/admin/advance?seconds=60", "", "application/json");
  ASSERT_TRUE(advanced);
  EXPECT_EQ(advanced->status, 200) << advanced->body;

  ASSERT_EQ(sim->Signal(SIGTERM), 0);
  EXPECT_EQ(sim->Finish(kTimeout), 0) << sim->stderr_text();
  EXPECT_EQ(sim->stdout_rest(), "");  // exactly one line on stdout
}

TEST(OpinionSimBinaryTest, SigintAlsoStopsCleanly) {
  ASSERT_OK_AND_ASSIGN(
      auto sim, Subprocess::Start({OPINION_SIM_PATH, "--port=0", "--markets=5", "--wallets=5"}));
  ASSERT_OK_AND_ASSIGN(std::string line, sim->ReadLine(kTimeout));
  ASSERT_GT(ListeningPort(line), 0) << line;
  ASSERT_EQ(sim->Signal(SIGINT), 0);
  EXPECT_EQ(sim->Finish(kTimeout), 0) << sim->stderr_text();
}

TEST(OpinionSimBinaryTest, BadFlagsAreAOneLineError) {
  for (const char* bad : {"--port=abc", "--no_such_flag=1", "--envelope=xml", "--fault=explode:1",
                          "--fault_rate=slow:2", "--time_scale=0", "stray"}) {
    ASSERT_OK_AND_ASSIGN(auto sim, Subprocess::Start({OPINION_SIM_PATH, "--port=0", bad}));
    EXPECT_EQ(sim->Finish(kTimeout), 2) << bad;
    EXPECT_EQ(sim->stdout_rest(), "") << bad;
    const std::vector<std::string> lines =
        absl::StrSplit(sim->stderr_text(), '\n', absl::SkipEmpty());
    EXPECT_THAT(lines, SizeIs(1)) << bad << ": " << sim->stderr_text();
  }
}

TEST(OpinionSimBinaryTest, HelpDescribesFlagsAndFaults) {
  ASSERT_OK_AND_ASSIGN(auto sim, Subprocess::Start({OPINION_SIM_PATH, "--help"}));
  EXPECT_EQ(sim->Finish(kTimeout), 0);
  for (const char* text :
       {"--fault_rate", "--rate_limit", "--watchlist_out", "missing_fields", "/admin/faults"}) {
    EXPECT_THAT(sim->stdout_rest(), HasSubstr(text));
  }
}

}  // namespace
}  // namespace whalefeed::sim
