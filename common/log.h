// Minimal structured logging to stderr (Debian 12's abseil has no absl/log).
//   WF_LOG(INFO) << "listening on " << address;
// One line per statement, written atomically, prefixed with UTC time and severity. Thread-safe.
#ifndef WHALEFEED_COMMON_LOG_H_
#define WHALEFEED_COMMON_LOG_H_

#include <sstream>

namespace whalefeed {

enum class LogSeverity { kInfo, kWarning, kError };

class LogLine {
 public:
  LogLine(LogSeverity severity, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

}  // namespace whalefeed

#define WF_LOG_SEVERITY_INFO ::whalefeed::LogSeverity::kInfo
#define WF_LOG_SEVERITY_WARNING ::whalefeed::LogSeverity::kWarning
#define WF_LOG_SEVERITY_ERROR ::whalefeed::LogSeverity::kError
#define WF_LOG(severity) ::whalefeed::LogLine(WF_LOG_SEVERITY_##severity, __FILE__, __LINE__)

#endif  // WHALEFEED_COMMON_LOG_H_
