// Runs a program of the project (whaled, opinion-sim, whalectl) as a child process for end-to-end
// tests. Reader threads collect what it writes, so tests can wait for a line. stdout and stderr are
// merged unless the test asks for them apart (to check what goes where).
#ifndef WHALEFEED_TESTS_TESTING_SUBPROCESS_H_
#define WHALEFEED_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace whalefeed::testing {

// Thread-safe. The destructor kills (SIGKILL) a child that is still running, and so does the end
// of the thread that started it (also when the test dies without running destructors): start a
// child from a thread that outlives it, e.g. the test's own.
class Subprocess {
 public:
  enum class Streams { kMerged, kSeparate };

  // argv[0] is the program path. `env` entries ("NAME=value") are added to (or override) this
  // process's environment; an entry "NAME=" with nothing after '=' removes NAME.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(std::vector<std::string> argv,
                                                           std::vector<std::string> env = {},
                                                           Streams streams = Streams::kMerged);
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Waits until the output holds a line containing `needle`; returns that line.
  absl::StatusOr<std::string> WaitForLine(absl::string_view needle, absl::Duration timeout);
  // Sends `signal` to the child, unless Wait has already seen it exit.
  void Signal(int signal);
  // Waits for the child to exit and its output to be read: its exit code, or 128 + signal number.
  // DEADLINE_EXCEEDED on timeout.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Everything the child has written so far: stdout and stderr, or only stdout with
  // Streams::kSeparate.
  std::string Output() const;
  // What the child has written to stderr, with Streams::kSeparate (else "").
  std::string ErrorOutput() const;

 private:
  struct Stream {
    int fd = -1;
    std::string text;
    bool closed = false;
  };

  Subprocess(pid_t pid, int output_fd, int error_fd);
  void Read(Stream* stream);
  bool AllClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const pid_t pid_;
  mutable absl::Mutex mu_;
  Stream output_ ABSL_GUARDED_BY(mu_);
  Stream error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> readers_;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  int exit_code_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_TESTING_SUBPROCESS_H_
