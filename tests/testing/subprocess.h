// Runs a program of the project (whaled, opinion-sim, whalectl) as a child process for end-to-end
// tests: its stdout and stderr are merged and collected by a reader thread, so tests can wait for a
// line.
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

// Thread-safe. The destructor kills (SIGKILL) a child that is still running.
class Subprocess {
 public:
  // argv[0] is the program path. `env` entries ("NAME=value") are added to (or override) this
  // process's environment; an entry "NAME=" with nothing after '=' removes NAME.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(std::vector<std::string> argv,
                                                           std::vector<std::string> env = {});
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Waits until the output holds a line containing `needle`; returns that line.
  absl::StatusOr<std::string> WaitForLine(absl::string_view needle, absl::Duration timeout);
  void Signal(int signal);
  // Waits for the child to exit: its exit code, or 128 + signal number. DEADLINE_EXCEEDED on
  // timeout.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Everything the child has written so far.
  std::string Output() const;

 private:
  Subprocess(pid_t pid, int output_fd);
  void ReadOutput();

  const pid_t pid_;
  const int output_fd_;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  bool output_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  int exit_code_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_TESTING_SUBPROCESS_H_
