// whalectl through its real binary against a fake replica over real gRPC: every command's readable
// output, its JSON (parsed back), exit codes and error lines, times, amounts and title cutting, and
// a watch that outlives a server restart.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "tests/client/fake_whaled.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace whalefeed {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::whalefeed::testing::ActivityMessage;
using ::whalefeed::testing::FakeWhaled;
using ::whalefeed::testing::HeartbeatMessage;
using ::whalefeed::testing::Subprocess;

constexpr char kWallet[] = "0xabcdef0123456789abcdef0123456789abcdef01";

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

// The environment of every run: no server or token from the caller's environment, a wide
// terminal, UTC as the local zone; `env` overrides.
std::vector<std::string> Environment(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> all = {
      {"WHALEFEED_SERVER", ""}, {"WHALEFEED_ADMIN_TOKEN", ""}, {"COLUMNS", "200"}, {"TZ", "UTC"}};
  for (const auto& [name, value] : env) all[name] = value;
  std::vector<std::string> entries;
  for (const auto& [name, value] : all) entries.push_back(absl::StrCat(name, "=", value));
  return entries;
}

absl::StatusOr<std::unique_ptr<Subprocess>> Start(std::vector<std::string> args,
                                                  const std::map<std::string, std::string>& env) {
  args.insert(args.begin(), WHALECTL_PATH);
  return Subprocess::Start(args, Environment(env), Subprocess::Streams::kSeparate);
}

Result Whalectl(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  auto process = Start(std::move(args), env);
  EXPECT_OK(process.status());
  if (!process.ok()) return {};
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(60));
  EXPECT_OK(code.status());
  return {code.ok() ? *code : -1, (*process)->Output(), (*process)->ErrorOutput()};
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

size_t Width(absl::string_view s) {
  size_t width = 0;
  for (char c : s) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

template <typename M>
M ParseJson(const std::string& line) {
  M message;
  auto status = google::protobuf::util::JsonStringToMessage(line, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
  return message;
}

MATCHER_P(EqualsProto, expected, "equals " + expected.DebugString()) {
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

void SetTime(google::protobuf::Timestamp* t, int64_t seconds) { t->set_seconds(seconds); }

// 2026-01-01T00:00:00Z
constexpr int64_t kNewYear = 1767225600;

v1::Market BinaryMarket() {
  v1::Market m;
  m.set_market_id(101);
  m.set_title("Will BTC close above $100k in 2026?");
  m.set_status(v1::MARKET_STATUS_ACTIVATED);
  m.set_market_type(v1::MARKET_TYPE_BINARY);
  m.set_yes_label("Yes");
  m.set_no_label("No");
  m.set_volume("98765432.10");
  m.set_volume_24h("1234567.89");
  m.set_volume_7d("7654321");
  m.set_whale_volume_24h("50000");
  m.add_labels("Crypto");
  SetTime(m.mutable_cutoff_time(), kNewYear + 180 * 86400);  // 2026-06-30
  return m;
}

v1::Market CategoricalMarket() {
  v1::Market m;
  m.set_market_id(200);
  m.set_title(
      "Who wins the 2028 United States presidential election, as called by the major networks "
      "on election night?");
  m.set_status(v1::MARKET_STATUS_ACTIVATED);
  m.set_market_type(v1::MARKET_TYPE_CATEGORICAL);
  m.set_volume_24h("-5.5");
  m.set_whale_volume_24h("0");
  for (auto [id, name] : {std::pair<int, const char*>{201, "Alice"}, {202, "Bob"}}) {
    v1::Market* child = m.add_children();
    child->set_market_id(id);
    child->set_parent_market_id(200);
    child->set_title(name);
    child->set_status(v1::MARKET_STATUS_ACTIVATED);
    child->set_whale_volume_24h("1000.5");
  }
  return m;
}

v1::WhaleActivity Activity(uint64_t sequence) {
  return ActivityMessage({sequence}, "t").activities(0);
}

class WhalectlCommandsTest : public ::testing::Test {
 protected:
  std::string server() const { return "--server=" + fake_.address(); }

  FakeWhaled fake_;
};

// ---- markets ----

TEST_F(WhalectlCommandsTest, MarketsListTable) {
  v1::ListMarketsResponse page;
  *page.add_markets() = BinaryMarket();
  *page.add_markets() = CategoricalMarket();
  page.set_total_size(2);
  fake_.Reply("ListMarkets", page);
  Result r = Whalectl({server(), "--utc", "markets", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_THAT(lines[0],
              AllOf(StartsWith(" ID  STATUS"), HasSubstr("VOLUME 24H"), HasSubstr("TITLE")));
  EXPECT_THAT(lines[1], AllOf(StartsWith("101  ACTIVATED"), HasSubstr("1,234,567.89"),
                              HasSubstr("$50,000"), HasSubstr("2026-06-30 00:00:00"),
                              HasSubstr("Will BTC close above $100k in 2026?")));
  EXPECT_THAT(lines[2], AllOf(HasSubstr("CATEGORICAL"), HasSubstr("-5.5"), HasSubstr("$0")));
  EXPECT_THAT(lines[3], AllOf(HasSubstr("201"), HasSubstr("$1,000.5"), HasSubstr("  - Alice")));
  EXPECT_THAT(lines[4], HasSubstr("  - Bob"));
  EXPECT_EQ(lines[5], "2 of 2 markets");
}

TEST_F(WhalectlCommandsTest, MarketsListCutsTitlesToTheTerminalWidth) {
  v1::ListMarketsResponse page;
  *page.add_markets() = CategoricalMarket();
  fake_.Reply("ListMarkets", page);
  Result r = Whalectl({server(), "markets", "list"}, {{"COLUMNS", "80"}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("election night?")));
  EXPECT_THAT(r.out, HasSubstr("Who wins the 2028"));
  EXPECT_THAT(r.out, HasSubstr("…"));
  for (const std::string& line : Lines(r.out)) EXPECT_LE(Width(line), 80u) << line;
  // Wide enough: nothing is cut.
  Result wide = Whalectl({server(), "markets", "list"}, {{"COLUMNS", "300"}});
  EXPECT_THAT(wide.out, HasSubstr("election night?"));
}

TEST_F(WhalectlCommandsTest, MarketsListAllFollowsPageTokensAndPrintsJsonPerResponse) {
  v1::ListMarketsResponse first, second;
  *first.add_markets() = BinaryMarket();
  first.set_next_page_token("p2");
  first.set_total_size(2);
  *second.add_markets() = CategoricalMarket();
  second.set_total_size(2);
  fake_.On<v1::ListMarketsRequest, v1::ListMarketsResponse>(
      "ListMarkets", [&](const v1::ListMarketsRequest& request, v1::ListMarketsResponse* out) {
        *out = request.page_token().empty() ? first : second;
        return grpc::Status::OK;
      });
  Result r = Whalectl({server(), "-o", "json", "--all", "--filter=status = ACTIVATED", "--order-by",
                       "volume desc", "--page_size=1", "markets", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(ParseJson<v1::ListMarketsResponse>(lines[0]), EqualsProto(first));
  EXPECT_THAT(ParseJson<v1::ListMarketsResponse>(lines[1]), EqualsProto(second));
  const auto calls = fake_.calls("ListMarkets");
  ASSERT_EQ(calls.size(), 2u);
  const auto& request = static_cast<const v1::ListMarketsRequest&>(*calls[1].request);
  EXPECT_EQ(request.page_token(), "p2");
  EXPECT_EQ(request.filter(), "status = ACTIVATED");
  EXPECT_EQ(request.order_by(), "volume desc");
  EXPECT_EQ(request.page_size(), 1);

  // Without --all: one page, and how to get the next.
  Result one = Whalectl({server(), "markets", "list"});
  EXPECT_THAT(one.out, HasSubstr("more: --page_token=p2"));
  EXPECT_EQ(fake_.calls("ListMarkets").size(), 3u);
}

TEST_F(WhalectlCommandsTest, MarketsGet) {
  fake_.Reply("GetMarket", CategoricalMarket());
  Result r = Whalectl({server(), "markets", "get", "200"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("Market 200: Who wins the 2028"));
  EXPECT_THAT(r.out, HasSubstr("CATEGORICAL"));
  EXPECT_THAT(r.out, AllOf(HasSubstr("Alice"), HasSubstr("Bob"), HasSubstr("OPTION")));
  EXPECT_EQ(
      static_cast<const v1::GetMarketRequest&>(*fake_.calls("GetMarket")[0].request).market_id(),
      200);
  Result json = Whalectl({server(), "-o", "json", "markets", "get", "200"});
  EXPECT_THAT(ParseJson<v1::Market>(json.out), EqualsProto(CategoricalMarket()));
}

TEST_F(WhalectlCommandsTest, NotFoundIsOneLineOnStderrAndExitThree) {
  fake_.Fail("GetMarket", grpc::Status(grpc::StatusCode::NOT_FOUND, "market_id 999: no market"));
  Result r = Whalectl({server(), "markets", "get", "999"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "whalectl: NOT_FOUND: market_id 999: no market\n");
  EXPECT_THAT(r.out, IsEmpty());
  // A message over several lines still makes one line.
  fake_.Fail("GetMarket", grpc::Status(grpc::StatusCode::NOT_FOUND, "no market\nwith that id"));
  EXPECT_EQ(Whalectl({server(), "markets", "get", "999"}).err,
            "whalectl: NOT_FOUND: no market with that id\n");
  Result usage = Whalectl({server(), "markets", "get", "abc"});
  EXPECT_EQ(usage.code, 2);
  EXPECT_THAT(usage.err, HasSubstr("MARKET_ID must be an integer, got \"abc\""));
}

// ---- whales ----

v1::Whale TopWhale() {
  v1::Whale w;
  w.set_wallet(kWallet);
  w.set_label("Fund X");
  w.set_tracked(true);
  v1::WhaleStats* s = w.add_stats();
  s->set_window(v1::STATS_WINDOW_7D);
  s->set_rank(1);
  s->set_volume_usd("1250000.50");
  s->set_trade_count(1234);
  s->set_realized_profit_usd("-4200");
  SetTime(s->mutable_last_trade_time(), kNewYear);
  return w;
}

TEST_F(WhalectlCommandsTest, WhalesTop) {
  v1::ListWhalesResponse page;
  *page.add_whales() = TopWhale();
  fake_.Reply("ListWhales", page);
  Result r = Whalectl({server(), "--utc", "--window=7d", "whales", "top"});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(lines[1],
              AllOf(StartsWith("   1  0xabcdef"), HasSubstr("$1,250,000.50"), HasSubstr("1,234"),
                    HasSubstr("-$4,200"), HasSubstr("2026-01-01 00:00:00"), HasSubstr("Fund X")));
  EXPECT_EQ(
      static_cast<const v1::ListWhalesRequest&>(*fake_.calls("ListWhales")[0].request).window(),
      v1::STATS_WINDOW_7D);
  Result bad = Whalectl({server(), "--window=1y", "whales", "top"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--window must be 24h, 7d, 30d or all, got \"1y\""));
}

TEST_F(WhalectlCommandsTest, WhalesGetShowsEveryWindowRecentActivityAndTheSafeAddressNote) {
  v1::GetWhaleResponse response;
  v1::Whale* whale = response.mutable_whale();
  *whale = TopWhale();
  whale->clear_stats();
  for (auto window :
       {v1::STATS_WINDOW_24H, v1::STATS_WINDOW_7D, v1::STATS_WINDOW_30D, v1::STATS_WINDOW_ALL}) {
    v1::WhaleStats* s = whale->add_stats();
    s->set_window(window);
    s->set_volume_usd("0");
  }
  SetTime(whale->mutable_last_polled_time(), kNewYear);
  *response.add_recent_activity() = Activity(7);
  fake_.Reply("GetWhale", response);
  Result r = Whalectl({server(), "--utc", "--limit=5", "whales", "get", kWallet});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith(absl::StrCat(kWallet, "  Fund X\n")));
  EXPECT_THAT(r.out, HasSubstr("Safe (proxy) address"));
  for (const char* window : {"24H", "7D", "30D", "ALL"}) EXPECT_THAT(r.out, HasSubstr(window));
  EXPECT_THAT(r.out, AllOf(HasSubstr("Recent activity"), HasSubstr("2026-01-01 00:00:07"),
                           HasSubstr("0x1111…1111"), HasSubstr("$10,000.00")));
  const auto& request =
      static_cast<const v1::GetWhaleRequest&>(*fake_.calls("GetWhale")[0].request);
  EXPECT_EQ(request.wallet(), kWallet);
  EXPECT_EQ(request.recent_activity_limit(), 5);
}

TEST_F(WhalectlCommandsTest, WhalesTrackAndUntrackSendTheAdminToken) {
  v1::Whale whale = TopWhale();
  fake_.Reply("TrackWhale", whale);
  Result r =
      Whalectl({server(), "--admin_token=tok", "--label=Fund X", "whales", "track", kWallet});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith(absl::StrCat("tracking ", kWallet)));
  auto calls = fake_.calls("TrackWhale");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].authorization, "Bearer tok");
  EXPECT_EQ(static_cast<const v1::TrackWhaleRequest&>(*calls[0].request).label(), "Fund X");

  whale.set_tracked(false);
  fake_.Reply("UntrackWhale", whale);
  Result untrack = Whalectl({server(), "-o", "json", "whales", "untrack", kWallet},
                            {{"WHALEFEED_ADMIN_TOKEN", "from-env"}});
  EXPECT_EQ(untrack.code, 0) << untrack.err;
  EXPECT_THAT(ParseJson<v1::Whale>(untrack.out), EqualsProto(whale));
  EXPECT_EQ(fake_.calls("UntrackWhale")[0].authorization, "Bearer from-env");
}

TEST_F(WhalectlCommandsTest, DeniedIsExitFive) {
  fake_.Fail("TrackWhale", grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "wrong admin token"));
  Result r = Whalectl({server(), "--admin_token=bad", "whales", "track", kWallet});
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.err, "whalectl: PERMISSION_DENIED: wrong admin token\n");
  fake_.Fail("TrackWhale", grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no admin token"));
  EXPECT_EQ(Whalectl({server(), "whales", "track", kWallet}).code, 5);
}

// ---- activity ----

v1::ListWhaleActivityResponse ActivityPage() {
  v1::ListWhaleActivityResponse page;
  v1::WhaleActivity labelled = Activity(1);
  labelled.set_wallet_label("Fund X");
  *page.add_activities() = labelled;
  v1::WhaleActivity child = Activity(2);
  child.set_side(v1::SIDE_SELL);
  child.set_outcome(v1::OUTCOME_NO);
  child.set_outcome_label("Nope");
  child.set_market_id(201);
  child.set_root_market_id(200);
  child.set_market_title("Alice");
  child.set_root_market_title("Who wins 2028?");
  child.set_amount_usd("1234567.5");
  child.set_origin(v1::ORIGIN_BACKFILL);
  *page.add_activities() = child;
  page.set_resume_token("rt-42");
  return page;
}

TEST_F(WhalectlCommandsTest, ActivityListInUtcAndInTheLocalZone) {
  fake_.Reply("ListWhaleActivity", ActivityPage());
  Result r = Whalectl(
      {server(), "--utc", "--include-backfill", "--filter=amount_usd >= 1", "activity", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[1], AllOf(StartsWith("2026-01-01 00:00:01    1  Fund X"), HasSubstr("BUY"),
                              HasSubstr("YES"), HasSubstr("$10,000.00"),
                              HasSubstr("Will BTC close above $100k in 2026?")));
  EXPECT_THAT(lines[2], AllOf(StartsWith("2026-01-01 00:00:02    2  0x1111…1111"),
                              HasSubstr("SELL"), HasSubstr("NO (Nope)"), HasSubstr("$1,234,567.5"),
                              HasSubstr("backfill"), HasSubstr("Who wins 2028? / Alice")));
  EXPECT_EQ(lines[3], "what came after: whalectl watch --from=rt-42");
  const auto& request = static_cast<const v1::ListWhaleActivityRequest&>(
      *fake_.calls("ListWhaleActivity")[0].request);
  EXPECT_TRUE(request.include_backfill());
  EXPECT_EQ(request.filter(), "amount_usd >= 1");

  // The local zone (here nine hours east of UTC) unless --utc.
  Result local = Whalectl({server(), "activity", "list"}, {{"TZ", "Fixed/UTC+09:00:00"}});
  EXPECT_THAT(local.out, HasSubstr("2026-01-01 09:00:01"));
  Result json = Whalectl({server(), "-o", "json", "activity", "list"});
  EXPECT_THAT(ParseJson<v1::ListWhaleActivityResponse>(json.out), EqualsProto(ActivityPage()));
}

TEST_F(WhalectlCommandsTest, InvalidArgumentIsExitFour) {
  fake_.Fail("ListWhaleActivity",
             grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "filter: unknown field \"colour\""));
  Result r = Whalectl({server(), "--filter=colour = red", "activity", "list"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "whalectl: INVALID_ARGUMENT: filter: unknown field \"colour\"\n");
}

// ---- sync, version ----

v1::GetSyncStatusResponse SyncStatus() {
  v1::GetSyncStatusResponse s;
  v1::SyncJobStatus* markets = s.add_jobs();
  markets->set_job(v1::SYNC_JOB_MARKETS);
  markets->set_last_status(v1::RUN_STATUS_COMPLETED);
  markets->set_last_item_count(12345);
  markets->set_healthy(true);
  SetTime(markets->mutable_last_started_time(), kNewYear);
  v1::SyncJobStatus* trades = s.add_jobs();
  trades->set_job(v1::SYNC_JOB_WHALE_TRADES);
  trades->set_last_status(v1::RUN_STATUS_FAILED);
  trades->set_last_error("upstream rejected the API key");
  s.set_leader_replica_id("replica-a");
  s.set_leader_epoch(3);
  s.mutable_limiter()->set_rate_per_second(12);
  s.mutable_limiter()->set_requests_total(1500000);
  s.mutable_detection_lag()->set_seconds(2);
  s.mutable_server()->set_version("1.2.3");
  s.mutable_server()->set_replica_id("replica-b");
  s.mutable_server()->set_schema_version(7);
  SetTime(s.mutable_server()->mutable_started_time(), kNewYear);
  return s;
}

TEST_F(WhalectlCommandsTest, SyncStatus) {
  fake_.Reply("GetSyncStatus", SyncStatus());
  Result r = Whalectl({server(), "--utc", "sync", "status"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("markets"), HasSubstr("COMPLETED"), HasSubstr("12,345"),
                           HasSubstr("whale_trades"), HasSubstr("FAILED"),
                           HasSubstr("upstream rejected the API key"),
                           HasSubstr("replica-a (epoch 3"), HasSubstr("1,500,000 requests"),
                           HasSubstr("2s"), HasSubstr("whaled 1.2.3, replica replica-b")));
  Result json = Whalectl({server(), "-o", "json", "sync", "status"});
  EXPECT_THAT(ParseJson<v1::GetSyncStatusResponse>(json.out), EqualsProto(SyncStatus()));
}

TEST_F(WhalectlCommandsTest, SyncRun) {
  // Set here, read by the server's thread: the handoff between them runs through whalectl, another
  // process, which ThreadSanitizer cannot follow.
  std::atomic<bool> accepted = true;
  fake_.On<v1::RunSyncJobRequest, v1::RunSyncJobResponse>(
      "RunSyncJob", [&](const v1::RunSyncJobRequest&, v1::RunSyncJobResponse* response) {
        response->set_accepted(accepted.load());
        return grpc::Status::OK;
      });
  Result r = Whalectl({server(), "--admin_token=t", "sync", "run", "whale-trades"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("queued a whale_trades run"));
  auto calls = fake_.calls("RunSyncJob");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(static_cast<const v1::RunSyncJobRequest&>(*calls[0].request).job(),
            v1::SYNC_JOB_WHALE_TRADES);
  EXPECT_EQ(calls[0].authorization, "Bearer t");
  accepted = false;
  Result again = Whalectl({server(), "sync", "run", "markets"});
  EXPECT_THAT(again.out, HasSubstr("markets is already running or queued"));
  Result bad = Whalectl({server(), "sync", "run", "everything"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(fake_.calls("RunSyncJob").size(), 2u);
}

TEST_F(WhalectlCommandsTest, VersionShowsTheClientAndTheServerInfo) {
  fake_.Reply("GetSyncStatus", SyncStatus());
  Result r = Whalectl({server(), "--utc", "version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("whalectl ", WHALEFEED_VERSION,
                                "\nwhaled 1.2.3 (replica replica-b, schema 7, started "
                                "2026-01-01 00:00:00)\n"));
  Result json = Whalectl({server(), "-o", "json", "version"});
  EXPECT_EQ(json.code, 0) << json.err;
  const std::string prefix =
      absl::StrCat("{\"client\":{\"version\":\"", WHALEFEED_VERSION, "\"},\"server\":");
  ASSERT_THAT(json.out, StartsWith(prefix));
  ASSERT_TRUE(absl::EndsWith(json.out, "}\n")) << json.out;
  EXPECT_THAT(ParseJson<v1::ServerInfo>(
                  json.out.substr(prefix.size(), json.out.size() - prefix.size() - 2)),
              EqualsProto(SyncStatus().server()));
}

// ---- transport errors ----

TEST_F(WhalectlCommandsTest, UnavailableIsExitSixAfterRetries) {
  fake_.Fail("ListMarkets", grpc::Status(grpc::StatusCode::UNAVAILABLE, "database down"));
  Result r = Whalectl({server(), "markets", "list"});
  EXPECT_EQ(r.code, 6);
  EXPECT_THAT(r.err, StartsWith("whalectl: UNAVAILABLE: database down (whaled at 127.0.0.1:"));
  EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_GT(fake_.calls("ListMarkets").size(), 1u);  // a read is retried
}

TEST_F(WhalectlCommandsTest, DeadlineIsExitSix) {
  // Shared with the handler, which may still be leaving its wait when the test ends.
  auto release = std::make_shared<absl::Notification>();
  fake_.Set("GetSyncStatus", [release](const auto&, auto*) {
    release->WaitForNotificationWithTimeout(absl::Seconds(30));
    return grpc::Status::OK;
  });
  Result r = Whalectl({server(), "--timeout=300ms", "sync", "status"});
  release->Notify();
  EXPECT_EQ(r.code, 6);
  EXPECT_THAT(r.err, StartsWith("whalectl: DEADLINE_EXCEEDED: "));
}

// ---- watch ----

// The feed the watch tests see: from no token, a heartbeat and activities 1 and 2; from "t2", a
// heartbeat and activity 3; then nothing until the server stops.
void ServeFeed(FakeWhaled& fake) {
  fake.OnWatch([&fake](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest& request,
                       FakeWhaled::WatchWriter* writer) {
    if (request.resume_token() != "t2") {
      writer->Write(HeartbeatMessage("t0"));
      v1::WatchWhaleActivityResponse batch;
      const v1::ListWhaleActivityResponse page = ActivityPage();
      *batch.mutable_activities() = page.activities();
      batch.set_resume_token("t2");
      writer->Write(batch);
    } else {
      writer->Write(HeartbeatMessage("t2"));
      writer->Write(ActivityMessage({3}, "t3"));
    }
    return fake.WaitWhileServing(context);
  });
}

const v1::WatchWhaleActivityRequest& WatchRequest(const FakeWhaled::Call& call) {
  return static_cast<const v1::WatchWhaleActivityRequest&>(*call.request);
}

TEST_F(WhalectlCommandsTest, WatchPrintsOneLinePerActivityAndStopsOnSigterm) {
  ServeFeed(fake_);
  ASSERT_OK_AND_ASSIGN(auto watch, Start({server(), "--utc", "watch"}, {}));
  ASSERT_OK(watch->WaitForLine("Who wins 2028?", absl::Seconds(30)).status());
  watch->Signal(SIGTERM);
  ASSERT_OK_AND_ASSIGN(int code, watch->Wait(absl::Seconds(30)));
  EXPECT_EQ(code, 0) << watch->ErrorOutput();
  EXPECT_EQ(watch->Output(),
            "2026-01-01 00:00:01  Fund X            BUY   YES      $10,000.00  "
            "Will BTC close above $100k in 2026?\n"
            "2026-01-01 00:00:02  0x1111…1111       SELL  NO (Nope)    $1,234,567.5  "
            "[backfill] Who wins 2028? / Alice\n");
  const auto calls = fake_.calls("WatchWhaleActivity");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(WatchRequest(calls[0]).start(), v1::START_POSITION_LATEST);
}

TEST_F(WhalectlCommandsTest, WatchVerboseShowsHeartbeatsAndJsonShowsEveryMessage) {
  ServeFeed(fake_);
  ASSERT_OK_AND_ASSIGN(auto verbose, Start({server(), "--verbose", "watch"}, {}));
  ASSERT_OK(verbose->WaitForLine("Who wins 2028?", absl::Seconds(30)).status());
  verbose->Signal(SIGTERM);
  ASSERT_OK(verbose->Wait(absl::Seconds(30)).status());
  EXPECT_THAT(Lines(verbose->Output()).at(0), StartsWith("-- heartbeat 2026-01-01"));

  ASSERT_OK_AND_ASSIGN(auto json, Start({server(), "-o", "json", "watch"}, {}));
  ASSERT_OK(json->WaitForLine("Alice", absl::Seconds(30)).status());
  json->Signal(SIGTERM);
  ASSERT_OK_AND_ASSIGN(int code, json->Wait(absl::Seconds(30)));
  EXPECT_EQ(code, 0);
  const std::vector<std::string> lines = Lines(json->Output());
  ASSERT_EQ(lines.size(), 2u) << json->Output();
  EXPECT_THAT(ParseJson<v1::WatchWhaleActivityResponse>(lines[0]),
              EqualsProto(HeartbeatMessage("t0")));
  const auto batch = ParseJson<v1::WatchWhaleActivityResponse>(lines[1]);
  EXPECT_EQ(batch.activities_size(), 2);
  EXPECT_EQ(batch.resume_token(), "t2");
}

TEST_F(WhalectlCommandsTest, WatchStartPositionsAndRequestFields) {
  ServeFeed(fake_);
  auto first_request = [&](std::vector<std::string> flags) {
    const size_t before = fake_.calls("WatchWhaleActivity").size();
    flags.insert(flags.begin(), server());
    flags.push_back("watch");
    auto watch = Start(flags, {});
    EXPECT_OK(watch.status());
    EXPECT_TRUE(fake_.WaitForCalls("WatchWhaleActivity", before + 1, absl::Seconds(30)));
    (*watch)->Signal(SIGTERM);
    EXPECT_OK((*watch)->Wait(absl::Seconds(30)).status());
    return WatchRequest(fake_.calls("WatchWhaleActivity").at(before));
  };
  EXPECT_EQ(first_request({"--from=earliest"}).start(), v1::START_POSITION_EARLIEST);
  EXPECT_EQ(first_request({"--from=v1.token"}).resume_token(), "v1.token");
  EXPECT_EQ(first_request({"--from=2026-01-01T00:00:00Z"}).start_time().seconds(), kNewYear);
  v1::WatchWhaleActivityRequest r =
      first_request({"--include-backfill", "--filter=side = BUY", "--heartbeat-interval=2s"});
  EXPECT_TRUE(r.include_backfill());
  EXPECT_EQ(r.filter(), "side = BUY");
  EXPECT_EQ(r.heartbeat_interval().seconds(), 2);
}

TEST_F(WhalectlCommandsTest, WatchSurvivesAServerRestart) {
  ServeFeed(fake_);
  ASSERT_OK_AND_ASSIGN(auto watch, Start({server(), "watch"}, {}));
  ASSERT_OK(watch->WaitForLine("Who wins 2028?", absl::Seconds(30)).status());
  fake_.Restart();
  // Activity 3 comes only to a watch that resumed from "t2".
  ASSERT_OK(watch->WaitForLine("2026-01-01 00:00:03", absl::Seconds(30)).status())
      << watch->ErrorOutput();
  watch->Signal(SIGINT);
  ASSERT_OK_AND_ASSIGN(int code, watch->Wait(absl::Seconds(30)));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(Lines(watch->Output()).size(), 3u) << watch->Output();
  EXPECT_THAT(watch->ErrorOutput(), HasSubstr("resuming in"));
  EXPECT_EQ(WatchRequest(fake_.calls("WatchWhaleActivity").back()).resume_token(), "t2");
}

TEST_F(WhalectlCommandsTest, WatchFromATokenBelowRetentionSaysWhereToResume) {
  fake_.OnWatch([](grpc::ServerContext* context, const v1::WatchWhaleActivityRequest&,
                   FakeWhaled::WatchWriter*) {
    context->AddTrailingMetadata("whalefeed-oldest-resume-token", "v1.oldest");
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        "resume_token is below the retention floor");
  });
  Result r = Whalectl({server(), "--from=v1.ancient", "watch"});
  EXPECT_EQ(r.code, 4);
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("whalectl: OUT_OF_RANGE: resume_token is below the retention "
                                   "floor"));
  EXPECT_THAT(lines[1], HasSubstr("--from=v1.oldest"));
}

}  // namespace
}  // namespace whalefeed
