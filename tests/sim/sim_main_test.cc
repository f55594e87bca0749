// Runs the built `opinion-sim` binary (path from the OPINION_SIM_PATH compile definition) as a
// subprocess: the listening line, one request, flags, signals and exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
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
#include "tests/testing/subprocess.h"

namespace whalefeed::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::Subprocess;

constexpr absl::Duration kTimeout = absl::Seconds(20);

// opinion-sim with stdout and stderr apart: its contract is one line on stdout.
absl::StatusOr<std::unique_ptr<Subprocess>> Start(std::vector<std::string> argv) {
  return Subprocess::Start(std::move(argv), {}, Subprocess::Streams::kSeparate);
}

int ListeningPort(const std::string& line) {
  static const std::regex kLine(R"(opinion-sim listening on http://127\.0\.0\.1:([0-9]+)/openapi)");
  std::smatch match;
  if (!std::regex_match(line, match, kLine)) return -1;
  int port = -1;
  return absl::SimpleAtoi(match[1].str(), &port) ? port : -1;
}

TEST(OpinionSimBinaryTest, ServesUntilSigterm) {
  const std::string watchlist = absl::StrCat(::testing::TempDir(), "/sim_watchlist_", getpid());
  ASSERT_OK_AND_ASSIGN(auto sim, Start({OPINION_SIM_PATH, "--port=0", "--seed=3", "--manual_clock",
                                        "--watchlist_size", "5", "--watchlist_out=" + watchlist}));
  ASSERT_OK_AND_ASSIGN(std::string line, sim->WaitForLine("listening", kTimeout));
  const int port = ListeningPort(line);
  ASSERT_GT(port, 0) << line;

  // The watch-list format: '#' comment lines, then "address label" lines.
  std::ifstream file(watchlist);
  std::vector<std::string> wallets;
  int comments = 0;
  const std::regex entry("(0x[0-9a-f]{40})[ \t]+whale-00[1-5]");
  for (std::string row; std::getline(file, row);) {
    if (!row.empty() && row[0] == '#') {
      ++comments;
      continue;
    }
    std::smatch match;
    EXPECT_TRUE(std::regex_match(row, match, entry)) << row;
    wallets.push_back(match[1].str());
  }
  EXPECT_GT(comments, 0);
  ASSERT_THAT(wallets, SizeIs(5));
  unlink(watchlist.c_str());

  // Every listed wallet trades.
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  for (const std::string& wallet : wallets) {
    httplib::Result trades = client.Get(
        absl::StrCat("/openapi/trade/user/", wallet, "?limit=1").c_str(), {{"apikey", "k"}});
    ASSERT_TRUE(trades) << httplib::to_string(trades.error());
    EXPECT_EQ(trades->status, 200);
    rapidjson::Document doc;
    doc.Parse(trades->body.c_str());
    ASSERT_TRUE(doc.IsObject() && doc.HasMember("result") && doc["result"].IsObject());
    EXPECT_GT(doc["result"]["total"].GetInt64(), 0) << wallet;
  }

  httplib::Result advanced = client.Post("/admin/advance?seconds=60", "", "application/json");
  ASSERT_TRUE(advanced);
  EXPECT_EQ(advanced->status, 200) << advanced->body;

  sim->Signal(SIGTERM);
  EXPECT_THAT(sim->Wait(kTimeout), IsOkAndHolds(0)) << sim->ErrorOutput();
  EXPECT_EQ(sim->Output(), line + "\n");  // exactly one line on stdout
}

TEST(OpinionSimBinaryTest, SigintAlsoStopsCleanly) {
  ASSERT_OK_AND_ASSIGN(auto sim,
                       Start({OPINION_SIM_PATH, "--port=0", "--markets=5", "--wallets=5"}));
  ASSERT_OK_AND_ASSIGN(std::string line, sim->WaitForLine("listening", kTimeout));
  ASSERT_GT(ListeningPort(line), 0) << line;
  sim->Signal(SIGINT);
  EXPECT_THAT(sim->Wait(kTimeout), IsOkAndHolds(0)) << sim->ErrorOutput();
}

TEST(OpinionSimBinaryTest, BadFlagsAreAOneLineError) {
  for (const char* bad :
       {"--port=abc", "--no_such_flag=1", "--envelope=xml", "--fault=explode:1",
        "--fault_rate=slow:2", "--time_scale=0", "stray", "--bad_key_status=500",
        "--multi_fill_rate=2", "--new_markets_per_day=-1", "--fault=api_error:1:errno=0"}) {
    ASSERT_OK_AND_ASSIGN(auto sim, Start({OPINION_SIM_PATH, "--port=0", bad}));
    EXPECT_THAT(sim->Wait(kTimeout), IsOkAndHolds(2)) << bad;
    EXPECT_EQ(sim->Output(), "") << bad;
    const std::vector<std::string> lines =
        absl::StrSplit(sim->ErrorOutput(), '\n', absl::SkipEmpty());
    EXPECT_THAT(lines, SizeIs(1)) << bad << ": " << sim->ErrorOutput();
  }
}

TEST(OpinionSimBinaryTest, HelpDescribesFlagsAndFaults) {
  ASSERT_OK_AND_ASSIGN(auto sim, Start({OPINION_SIM_PATH, "--help"}));
  EXPECT_THAT(sim->Wait(kTimeout), IsOkAndHolds(0));
  for (const char* text :
       {"--fault_rate", "--rate_limit", "--watchlist_out", "missing_fields", "/admin/faults",
        "--index_lag_max_s", "--new_markets_per_day", "--multi_fill_rate", "--empty_list_null",
        "--bad_key_status", "--region_blocked", "api_error", "/admin/region", "/token/orderbook"}) {
    EXPECT_THAT(sim->Output(), HasSubstr(text));
  }
}

}  // namespace
}  // namespace whalefeed::sim
