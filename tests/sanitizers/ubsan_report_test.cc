// ubsan_report.cc at work (AddressSanitizer + UBSan builds only): a UBSan report lands in the file
// that UBSAN_OPTIONS' log_path names, where deploy/test looks for reports.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace {

// Signed overflow the compiler cannot see coming.
[[noreturn]] void OverflowAnInt() {
  volatile int big = 2147483647;
  volatile int one = 1;
  const int sum = big + one;
  std::exit(sum == 0 ? 0 : 3);
}

TEST(UbsanReportTest, AReportLandsInTheLogPathFolder) {
  // A forked child: it runs the statement only, and writes where this process looks.
  GTEST_FLAG_SET(death_test_style, "fast");
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wf-ubsan-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string prefix = (dir / "ubsan").string();
  ::setenv("UBSAN_OPTIONS", ("halt_on_error=1:print_stacktrace=1:log_path=" + prefix).c_str(), 1);

  EXPECT_EXIT(OverflowAnInt(), ::testing::ExitedWithCode(1), "signed integer overflow");

  std::string reports;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::ostringstream text;
    text << in.rdbuf();
    reports += entry.path().filename().string() + ":\n" + text.str();
  }
  std::filesystem::remove_all(dir);
  EXPECT_NE(reports.find("signed-integer-overflow"), std::string::npos) << reports;
  EXPECT_NE(reports.find("ubsan_report_test.cc"), std::string::npos) << reports;
}

}  // namespace
