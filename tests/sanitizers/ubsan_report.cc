// Writes every UndefinedBehaviorSanitizer report to UBSAN_OPTIONS' log_path. Linked into every
// executable of a build with both AddressSanitizer and UBSan
// (WHALEFEED_SANITIZE=address,undefined), and nowhere else.
//
// Why: in such a build GCC's libubsan prints its reports to stderr whatever log_path says (when it
// applies log_path it calls __sanitizer_set_report_path, and libasan's copy of that function, found
// first, takes it). deploy/test finds reports in the log_path folder; a report on the stderr of a
// whaled that a test started could otherwise pass unseen. libubsan calls __ubsan_on_report (its
// monitor interface) for every report, before it stops the process; this definition, in the
// executable, comes before libubsan's empty weak one. The report's stack trace still goes to stderr
// only.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef __SANITIZE_ADDRESS__
#error "ubsan_report.cc belongs in AddressSanitizer + UBSan builds only"
#endif

extern "C" void __ubsan_get_current_report_data(const char** kind, const char** message,
                                                const char** file, unsigned* line, unsigned* column,
                                                char** address);

namespace {

// The last log_path=... in UBSAN_OPTIONS (options are separated by ':'), or "" if none names a
// file.
bool LogPath(char* out, size_t size) {
  const char* options = std::getenv("UBSAN_OPTIONS");
  if (options == nullptr) return false;
  const char* found = nullptr;
  for (const char* p = options; (p = std::strstr(p, "log_path=")) != nullptr; p += 9) {
    if (p == options || p[-1] == ':') found = p + 9;
  }
  if (found == nullptr) return false;
  const size_t length = std::strcspn(found, ":");
  if (length == 0 || length >= size) return false;
  std::memcpy(out, found, length);
  out[length] = '\0';
  return std::strcmp(out, "stderr") != 0 && std::strcmp(out, "stdout") != 0;
}

}  // namespace

extern "C" void __ubsan_on_report() {
  char path[4096];
  if (!LogPath(path, sizeof(path) - 32)) return;
  std::snprintf(path + std::strlen(path), 32, ".%d", static_cast<int>(::getpid()));
  const char* kind = "";
  const char* message = "";
  const char* file = "";
  unsigned line = 0;
  unsigned column = 0;
  char* address = nullptr;
  __ubsan_get_current_report_data(&kind, &message, &file, &line, &column, &address);
  char report[8192];
  const int length = std::snprintf(
      report, sizeof(report),
      "UndefinedBehaviorSanitizer: %s at %s:%u:%u (process %d; its stderr has the stack)\n%s\n",
      kind, file, line, column, static_cast<int>(::getpid()), message);
  if (length <= 0) return;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const ssize_t ignored = ::write(
      fd, report, static_cast<size_t>(length) < sizeof(report) ? length : sizeof(report) - 1);
  (void)ignored;
  ::close(fd);
}
