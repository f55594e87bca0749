#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace whalefeed::testing {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(std::vector<std::string> argv,
                                                              std::vector<std::string> env) {
  if (argv.empty()) return absl::InvalidArgumentError("Subprocess: empty argv");
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::pair<std::string, std::string> kv = absl::StrSplit(*e, absl::MaxSplits('=', 1));
    merged[kv.first] = kv.second;
  }
  for (const std::string& entry : env) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (kv.second.empty()) {
      merged.erase(kv.first);
    } else {
      merged[kv.first] = kv.second;
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : merged) env_strings.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (std::string& s : argv) args.push_back(s.data());
  args.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(args[0], args.data(), envp.data());
    const std::string message = absl::StrCat("exec ", args[0], ": ", std::strerror(errno), "\n");
    ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
    (void)ignored;
    ::_exit(127);
  }
  ::close(fds[1]);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, fds[0]));
}

Subprocess::Subprocess(pid_t pid, int output_fd) : pid_(pid), output_fd_(output_fd) {
  reader_ = std::thread([this] { ReadOutput(); });
}

Subprocess::~Subprocess() {
  bool exited;
  {
    absl::MutexLock lock(&mu_);
    exited = exited_;
  }
  if (!exited) {
    ::kill(pid_, SIGKILL);
    (void)Wait(absl::Seconds(10));
  }
  reader_.join();
  ::close(output_fd_);
}

void Subprocess::ReadOutput() {
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(output_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    absl::MutexLock lock(&mu_);
    if (n <= 0) {
      output_closed_ = true;
      return;
    }
    output_.append(buffer, static_cast<size_t>(n));
  }
}

absl::StatusOr<std::string> Subprocess::WaitForLine(absl::string_view needle,
                                                    absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  size_t found = std::string::npos;
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    found = output_.find(needle.data(), 0, needle.size());
    // A whole line: wait for its newline unless the output has ended.
    return (found != std::string::npos && (output_.find('\n', found) != std::string::npos)) ||
           output_closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  found = output_.find(needle.data(), 0, needle.size());
  if (found == std::string::npos) {
    return absl::DeadlineExceededError(absl::StrCat("no line containing \"", needle, "\" within ",
                                                    absl::FormatDuration(timeout), "; output:\n",
                                                    output_));
  }
  const size_t begin = output_.rfind('\n', found);
  const size_t end = output_.find('\n', found);
  return output_.substr(begin == std::string::npos ? 0 : begin + 1,
                        (end == std::string::npos ? output_.size() : end) -
                            (begin == std::string::npos ? 0 : begin + 1));
}

void Subprocess::Signal(int signal) { ::kill(pid_, signal); }

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (exited_) return exit_code_;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      absl::MutexLock lock(&mu_);
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(
        absl::Milliseconds(5));  // polling waitpid: no portable way to wait with a timeout
  }
}

std::string Subprocess::Output() const {
  absl::MutexLock lock(&mu_);
  return output_;
}

}  // namespace whalefeed::testing
