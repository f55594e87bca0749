// Bad configuration is one line on stderr naming the problem and a non-zero exit, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace whalefeed {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::Subprocess;

struct Outcome {
  int code;
  std::string output;
};

Outcome RunWhaled(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), WHALED_PATH);
  auto process = Subprocess::Start(args, env);
  EXPECT_OK(process.status());
  if (!process.ok()) return {-1, ""};
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(20));
  EXPECT_OK(code.status());
  return {code.ok() ? *code : -1, (*process)->Output()};
}

void ExpectOneLineError(const Outcome& outcome, const std::string& needle) {
  EXPECT_NE(outcome.code, 0);
  EXPECT_LT(outcome.code, 128) << "killed by a signal: " << outcome.output;
  std::vector<std::string> lines = absl::StrSplit(outcome.output, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 1u) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr(needle));
}

TEST(WhaledConfigTest, MalformedDsn) {
  ExpectOneLineError(RunWhaled({"--mysql_dsn=postgres://u@h/db"}), "mysql_dsn");
  ExpectOneLineError(RunWhaled({"--mysql_dsn=mysql://u@h:70000/db"}), "70000");
}

TEST(WhaledConfigTest, MalformedDsnFromTheEnvironment) {
  ExpectOneLineError(RunWhaled({}, {"WHALEFEED_MYSQL_DSN=mysql://nohost"}), "mysql_dsn");
}

TEST(WhaledConfigTest, UnknownFlag) {
  ExpectOneLineError(RunWhaled({"--no_such_flag=1"}), "no_such_flag");
}

TEST(WhaledConfigTest, BadListenAddress) {
  ExpectOneLineError(RunWhaled({"--listen=nonsense"}), "--listen");
  ExpectOneLineError(RunWhaled({"--listen=127.0.0.1:123456"}), "0..65535");
  // Well-formed but not an address of this machine: the bind fails.
  ExpectOneLineError(RunWhaled({"--listen=192.0.2.1:50051"}), "cannot listen there");
}

TEST(WhaledConfigTest, BadValueInEnvironmentNamesTheVariable) {
  ExpectOneLineError(RunWhaled({}, {"WHALEFEED_HEALTH_PROBE_INTERVAL=soon"}),
                     "WHALEFEED_HEALTH_PROBE_INTERVAL");
}

TEST(WhaledConfigTest, HelpDocumentsTheFlags) {
  Outcome help = RunWhaled({"--help"});
  for (const char* flag : {"--listen", "--mysql_dsn", "--opinion_base_url", "--shutdown_timeout"}) {
    EXPECT_THAT(help.output, HasSubstr(flag));
  }
  EXPECT_THAT(help.output, HasSubstr("WHALEFEED_"));
  EXPECT_THAT(help.output, HasSubstr("OPINION_TRADE_API_KEY"));
}

}  // namespace
}  // namespace whalefeed
