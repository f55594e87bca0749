#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
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
                                                              std::vector<std::string> env,
                                                              Streams streams) {
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

  int out[2], err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  if (streams == Streams::kSeparate && ::pipe2(err, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe2 failed");
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // The child dies with the test, also when a crash or a sanitizer ends the test before its
    // destructors run (a server left running would hold its port, socket or data folder). The
    // signal follows the thread that forked: start subprocesses from a thread that outlives them.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(streams == Streams::kSeparate ? err[1] : out[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(args[0], args.data(), envp.data());
    const std::string message = absl::StrCat("exec ", args[0], ": ", std::strerror(errno), "\n");
    ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
    (void)ignored;
    ::_exit(127);
  }
  ::close(out[1]);
  if (err[1] >= 0) ::close(err[1]);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, out[0], err[0]));
}

Subprocess::Subprocess(pid_t pid, int output_fd, int error_fd) : pid_(pid) {
  absl::MutexLock lock(&mu_);
  output_.fd = output_fd;
  error_.fd = error_fd;
  error_.closed = error_fd < 0;
  readers_.emplace_back([this] { Read(&output_); });
  if (error_fd >= 0) readers_.emplace_back([this] { Read(&error_); });
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
  for (std::thread& reader : readers_) reader.join();
  absl::MutexLock lock(&mu_);
  for (Stream* stream : {&output_, &error_}) {
    if (stream->fd >= 0) ::close(stream->fd);
  }
}

// Runs on its own thread; the stream's fd is only read here, its text and flag only under mu_.
void Subprocess::Read(Stream* stream) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const int fd = stream->fd;  // set before the thread started, never changed
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    absl::MutexLock lock(&mu_);
    if (n <= 0) {
      stream->closed = true;
      return;
    }
    stream->text.append(buffer, static_cast<size_t>(n));
  }
}

bool Subprocess::AllClosed() const { return output_.closed && error_.closed; }

absl::StatusOr<std::string> Subprocess::WaitForLine(absl::string_view needle,
                                                    absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const std::string& text = output_.text;
  size_t found = std::string::npos;
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    found = text.find(needle.data(), 0, needle.size());
    // A whole line: wait for its newline unless the output has ended.
    return (found != std::string::npos && text.find('\n', found) != std::string::npos) ||
           output_.closed;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  found = text.find(needle.data(), 0, needle.size());
  if (found == std::string::npos) {
    return absl::DeadlineExceededError(absl::StrCat("no line containing \"", needle, "\" within ",
                                                    absl::FormatDuration(timeout), "; output:\n",
                                                    text, error_.text));
  }
  const size_t begin =
      text.rfind('\n', found) == std::string::npos ? 0 : text.rfind('\n', found) + 1;
  const size_t end =
      text.find('\n', found) == std::string::npos ? text.size() : text.find('\n', found);
  return text.substr(begin, end - begin);
}

void Subprocess::Signal(int signal) {
  absl::MutexLock lock(&mu_);
  // Once reaped, the pid may already belong to another process.
  if (!exited_) ::kill(pid_, signal);
}

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
      // Let the reader drain what the child wrote before it exited, so Output() is complete. (A
      // grandchild that inherited the pipe could keep it open: then give up after a while.)
      auto closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return AllClosed(); };
      mu_.AwaitWithTimeout(absl::Condition(&closed), absl::Seconds(5));
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
  return output_.text;
}

std::string Subprocess::ErrorOutput() const {
  absl::MutexLock lock(&mu_);
  return error_.text;
}

}  // namespace whalefeed::testing
