// The whale sync of the real whaled binary against the real opinion-sim binary, on a database of
// the test's own:
// - whaled killed (SIGKILL) in the middle of a whale sync round and started again on the same
//   database ends with exactly the activity the simulator served (/admin/trades): nothing missing,
//   nothing twice, exact amounts; the run the killed process left RUNNING is closed as FAILED;
// - under each upstream fault (429 with and without Retry-After, 5xx, a timeout, dropped
//   connections, malformed JSON, wrong field types, "list": null, errno != 0 on HTTP 200) whaled
//   stays up and SERVING, shows the errors in sync_logs (or its log, for the one retried timeout),
//   never sends more than 15 requests in a sliding second, and lands every served trade once the
//   fault is switched off (or while it lasts, when it is intermittent).
// Waits poll for conditions with a deadline; the deadlines are failure bounds only.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "db/mysql_store.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/sim_ground_truth.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"

namespace whalefeed {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::ContainsRegex;
using ::whalefeed::testing::CompareWithSim;
using ::whalefeed::testing::FetchSimTrades;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::SimTrades;
using ::whalefeed::testing::Subprocess;
using ::whalefeed::testing::TestDatabase;
using ::whalefeed::testing::TradeDiff;

constexpr char kWhaled[] = WHALED_PATH;
constexpr char kOpinionSim[] = OPINION_SIM_PATH;
constexpr char kApiKey[] = "whaled-sync-e2e-key";
constexpr char kWhaleTradesHealth[] = "whalefeed.sync.whale_trades";
// The upstream's limit: no sliding second may carry more requests than this.
constexpr int64_t kUpstreamLimit = 15;
// Failure bounds only: every wait returns as soon as its condition holds.
constexpr absl::Duration kStartBound = absl::Seconds(30);
constexpr absl::Duration kSyncBound = absl::Seconds(60);

// Calls `condition` until it is OK or `timeout` has passed; returns its last status.
absl::Status PollUntil(absl::Duration timeout, const std::function<absl::Status()>& condition) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Status status = condition();
    if (status.ok() || absl::Now() > deadline) return status;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// The one line a program of the project prints once it serves, with the port it took.
absl::StatusOr<int> PortFromLine(const std::string& line, absl::string_view after) {
  const size_t at = line.find(std::string(after));
  if (at == std::string::npos) return absl::InternalError("no address in: " + line);
  const size_t colon = line.find(':', at + after.size());
  size_t end = colon + 1;
  while (end < line.size() && line[end] >= '0' && line[end] <= '9') ++end;
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(line.substr(colon + 1, end - colon - 1), &port)) {
    return absl::InternalError("no port in: " + line);
  }
  return port;
}

// ---- opinion-sim, through its binary and its admin endpoints ----

struct SimOptions {
  uint64_t seed = 1;
  double trades_per_minute = 1;
  int watchlist_size = 3;
};

class Sim {
 public:
  // Starts opinion-sim on a free port with a small world whose simulated clock stands still (moved
  // by Advance), two hours behind real time, so the ground truth changes only when the test says.
  // Its most active wallets are written to `watchlist_path`.
  static absl::StatusOr<std::unique_ptr<Sim>> Start(const SimOptions& options,
                                                    const std::string& watchlist_path) {
    const int64_t start = absl::ToUnixSeconds(absl::Now() - absl::Hours(2));
    absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
        {kOpinionSim, "--port=0", absl::StrCat("--seed=", options.seed), "--markets=20",
         "--new_markets_per_day=0", "--wallets=40", "--history_days=1",
         absl::StrCat("--trades_per_minute=", options.trades_per_minute), "--manual_clock",
         absl::StrCat("--start_time=", start), absl::StrCat("--api_keys=", kApiKey),
         "--watchlist_out=" + watchlist_path,
         absl::StrCat("--watchlist_size=", options.watchlist_size), "--threads=8"},
        {}, Subprocess::Streams::kSeparate);
    if (!process.ok()) return process.status();
    absl::StatusOr<std::string> line =
        (*process)->WaitForLine("opinion-sim listening on", kStartBound);
    if (!line.ok()) return line.status();
    absl::StatusOr<int> port = PortFromLine(*line, "http://127.0.0.1");
    if (!port.ok()) return port.status();
    auto sim = std::unique_ptr<Sim>(new Sim(*std::move(process), *port));
    std::ifstream in(watchlist_path);
    for (std::string entry; std::getline(in, entry);) {
      if (absl::StartsWith(entry, "0x")) {
        sim->wallets_.push_back(entry.substr(0, entry.find(' ')));
      }
    }
    if (static_cast<int>(sim->wallets_.size()) != options.watchlist_size) {
      return absl::InternalError(absl::StrCat("the watch-list ", watchlist_path, " lists ",
                                              sim->wallets_.size(), " wallets"));
    }
    return sim;
  }

  int port() const { return port_; }
  std::string base_url() const { return absl::StrCat("http://127.0.0.1:", port_, "/openapi"); }
  const std::vector<std::string>& wallets() const { return wallets_; }

  // Replaces the active faults by `spec` (the text form: KIND[:key=value]...[,...]); "" clears.
  absl::Status SetFaults(const std::string& spec) {
    return Post("/admin/faults", absl::StrCat(R"({"clear":true,"spec":")", spec, R"("})"));
  }
  // Moves simulated time forward: the trades of that time become visible.
  absl::Status Advance(absl::Duration d) {
    return Post(absl::StrCat("/admin/advance?seconds=", absl::ToInt64Seconds(d)), "");
  }
  // GET /admin/stats, parsed.
  absl::StatusOr<std::unique_ptr<rapidjson::Document>> Stats() {
    httplib::Client client("127.0.0.1", port_);
    httplib::Result r = client.Get("/admin/stats");
    if (!r) return absl::UnavailableError("GET /admin/stats: " + httplib::to_string(r.error()));
    auto doc = std::make_unique<rapidjson::Document>();
    doc->Parse(r->body.c_str());
    if (doc->HasParseError() || !doc->IsObject() || !doc->HasMember("maxRequestsPerSecond")) {
      return absl::DataLossError("GET /admin/stats: " + r->body.substr(0, 200));
    }
    return doc;
  }
  // The most API requests the simulator received in any sliding second.
  absl::StatusOr<int64_t> MaxRequestsPerSecond() {
    absl::StatusOr<std::unique_ptr<rapidjson::Document>> stats = Stats();
    if (!stats.ok()) return stats.status();
    return (**stats)["maxRequestsPerSecond"].GetInt64();
  }
  // Trade pages (E11) requested so far, whatever their answer.
  absl::StatusOr<int64_t> TradeRequests() {
    absl::StatusOr<std::unique_ptr<rapidjson::Document>> stats = Stats();
    if (!stats.ok()) return stats.status();
    const rapidjson::Value& by = (**stats)["byEndpoint"];
    return by.IsObject() && by.HasMember("trades") ? by["trades"].GetInt64() : 0;
  }

 private:
  Sim(std::unique_ptr<Subprocess> process, int port) : process_(std::move(process)), port_(port) {}

  absl::Status Post(const std::string& path, const std::string& body) {
    httplib::Client client("127.0.0.1", port_);
    httplib::Result r = client.Post(path, body, "application/json");
    if (!r) return absl::UnavailableError("POST " + path + ": " + httplib::to_string(r.error()));
    if (r->status != 200) {
      return absl::InternalError(absl::StrCat("POST ", path, ": HTTP ", r->status, ": ", r->body));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<Subprocess> process_;
  const int port_;
  std::vector<std::string> wallets_;
};

// ---- whaled, through its binary and gRPC ----

class Whaled {
 public:
  // Starts whaled as `replica_id` on a free port, syncing `watchlist` from the simulator at
  // `base_url` with short intervals; waits until it serves.
  static absl::StatusOr<std::unique_ptr<Whaled>> Start(const std::string& dsn_url,
                                                       const std::string& base_url,
                                                       const std::string& watchlist,
                                                       const std::string& replica_id) {
    absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
        {kWhaled, "--listen=127.0.0.1:0", "--mysql_dsn=" + dsn_url, "--replica_id=" + replica_id,
         "--opinion_base_url=" + base_url, "--watchlist=" + watchlist,
         "--health_probe_interval=200ms", "--leader_ping_interval=500ms", "--shutdown_timeout=2s",
         "--markets_interval=1h", "--stats_interval=1h", "--whale_tick_interval=200ms",
         "--whale_min_poll_interval=500ms", "--whale_max_poll_interval=1s",
         "--backfill_max_age=720h"},
        {absl::StrCat("OPINION_TRADE_API_KEY=", kApiKey)});
    if (!process.ok()) return process.status();
    absl::StatusOr<std::string> line = (*process)->WaitForLine("listening on", kStartBound);
    if (!line.ok()) return line.status();
    absl::StatusOr<int> port = PortFromLine(*line, "listening on");
    if (!port.ok()) return port.status();
    return std::unique_ptr<Whaled>(new Whaled(*std::move(process), *port));
  }

  Subprocess& process() { return *process_; }

  // Alive: Wait has not seen it exit.
  bool Alive() { return !process_->Wait(absl::ZeroDuration()).ok(); }

  absl::StatusOr<HealthCheckResponse::ServingStatus> HealthOf(const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = health_->Check(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response.status();
  }

  absl::StatusOr<v1::GetSyncStatusResponse> SyncStatus() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetSyncStatusResponse response;
    grpc::Status status = sync_->GetSyncStatus(&context, {}, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  // SIGTERM; the exit code.
  absl::StatusOr<int> Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait(kStartBound);
  }

 private:
  Whaled(std::unique_ptr<Subprocess> process, int port) : process_(std::move(process)) {
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    sync_ = v1::SyncService::NewStub(channel);
    health_ = Health::NewStub(channel);
  }

  std::unique_ptr<Subprocess> process_;
  std::unique_ptr<v1::SyncService::Stub> sync_;
  std::unique_ptr<Health::Stub> health_;
};

// ---- what whaled wrote, read from the database ----

struct RunRow {
  int64_t id = 0;
  db::RunStatus status = db::RunStatus::kUnspecified;
  bool ended = false;
  int64_t item_count = 0;
  std::string error;
  std::string replica_id;
};

// The whale-trades runs in sync_logs with an id above `after_id`, oldest first.
absl::StatusOr<std::vector<RunRow>> WhaleTradeRuns(const TestDatabase& database,
                                                   int64_t after_id = 0) {
  absl::StatusOr<std::unique_ptr<db::MySqlConnection>> c = database.Connect();
  if (!c.ok()) return c.status();
  std::vector<RunRow> runs;
  try {
    std::unique_ptr<sql::Statement> st((*c)->raw().createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery(absl::StrCat(
        "SELECT id, status, ended_time IS NOT NULL, item_count, error, replica_id FROM sync_logs "
        "WHERE job = ",
        static_cast<int>(db::SyncJob::kWhaleTrades), " AND id > ", after_id, " ORDER BY id")));
    while (rs->next()) {
      RunRow row;
      row.id = rs->getInt64(1);
      row.status = static_cast<db::RunStatus>(rs->getInt(2));
      row.ended = rs->getInt(3) != 0;
      row.item_count = rs->getInt64(4);
      row.error = rs->getString(5);
      row.replica_id = rs->getString(6);
      runs.push_back(std::move(row));
    }
  } catch (const sql::SQLException& e) {
    return absl::UnavailableError(absl::StrCat("reading sync_logs: ", e.what()));
  }
  return runs;
}

std::string Describe(const std::vector<RunRow>& runs) {
  std::vector<std::string> parts;
  for (const RunRow& r : runs) {
    parts.push_back(absl::StrCat("#", r.id, " status ", static_cast<int>(r.status), " items ",
                                 r.item_count, " by ", r.replica_id, ": ", r.error));
  }
  return absl::StrJoin(parts, "\n");
}

// OK once what is stored for every wallet equals what the simulator has served; the differences
// otherwise.
absl::Status MatchesGroundTruth(db::MySqlStore& store, Sim& sim) {
  absl::StatusOr<std::vector<db::Activity>> stored = store.ReadActivitiesAfter(0, 1000000);
  if (!stored.ok()) return stored.status();
  std::vector<std::string> problems;
  for (const std::string& wallet : sim.wallets()) {
    absl::StatusOr<SimTrades> expected = FetchSimTrades(sim.port(), wallet);
    if (!expected.ok()) return expected.status();
    const TradeDiff diff = CompareWithSim(*stored, wallet, *expected);
    if (!diff.empty()) problems.push_back(absl::StrCat(wallet, ": ", diff.ToString()));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::NotFoundError(absl::StrJoin(problems, "\n"));
}

absl::StatusOr<std::unique_ptr<db::MySqlStore>> OpenStore(const TestDatabase& database) {
  db::MySqlStoreOptions options;
  options.dsn = database.dsn();
  return db::MySqlStore::Create(options);
}

std::string TempPath(absl::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/whaled_sync_e2e_", getpid(), "_", name);
}

// ---- kill -9 in the middle of a whale sync round ----

TEST(WhaledSyncEndToEndTest, KilledMidWhaleSyncRestartsWithNoActivityMissingOrTwice) {
  ASSERT_OK_AND_ASSIGN(auto database, TestDatabase::Create());
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(*database));
  const std::string watchlist = TempPath("kill_watchlist");
  SimOptions sim_options;
  sim_options.seed = 21;
  sim_options.trades_per_minute = 1;
  sim_options.watchlist_size = 5;
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(sim_options, watchlist));
  // Every trade page takes 100 ms on top of the rate limit, so one round over the five wallets'
  // thousand-odd trades (dozens of pages) takes seconds: long enough to be killed in.
  ASSERT_OK(sim->SetFaults("slow:rate=1:endpoint=trade:delay_ms=100"));
  int64_t total = 0;
  for (const std::string& w : sim->wallets()) {
    ASSERT_OK_AND_ASSIGN(SimTrades trades, FetchSimTrades(sim->port(), w));
    total += static_cast<int64_t>(trades.size());
  }
  ASSERT_GT(total, 500) << "too few trades for a round that takes seconds";

  ASSERT_OK_AND_ASSIGN(auto first,
                       Whaled::Start(database->url(), sim->base_url(), watchlist, "replica-a"));
  // Mid-round: some wallets committed, others not polled yet, the run RUNNING; then two more trade
  // pages requested (the next wallet being read) before the kill.
  auto mid_round = [&]() -> absl::Status {
    absl::StatusOr<std::vector<db::Activity>> stored = store->ReadActivitiesAfter(0, 1);
    if (!stored.ok() || stored->empty()) return absl::NotFoundError("nothing committed yet");
    absl::StatusOr<std::vector<db::Whale>> whales = store->ListWhales(false);
    if (!whales.ok()) return whales.status();
    int unpolled = 0;
    for (const db::Whale& w : *whales) unpolled += w.last_polled_time == absl::InfinitePast();
    if (whales->size() != sim->wallets().size() || unpolled == 0) {
      return absl::NotFoundError(absl::StrCat(unpolled, " of ", whales->size(), " unpolled"));
    }
    absl::StatusOr<std::vector<RunRow>> runs = WhaleTradeRuns(*database);
    if (!runs.ok()) return runs.status();
    if (runs->empty() || runs->back().status != db::RunStatus::kRunning) {
      return absl::NotFoundError("no whale-trades run RUNNING");
    }
    return absl::OkStatus();
  };
  ASSERT_OK(PollUntil(kSyncBound, mid_round));
  ASSERT_OK_AND_ASSIGN(const int64_t pages_then, sim->TradeRequests());
  ASSERT_OK(PollUntil(kSyncBound, [&]() -> absl::Status {
    absl::StatusOr<int64_t> pages = sim->TradeRequests();
    if (!pages.ok()) return pages.status();
    return *pages >= pages_then + 2 ? absl::OkStatus() : absl::NotFoundError("no new page");
  }));
  first->process().Signal(SIGKILL);
  EXPECT_THAT(first->process().Wait(kStartBound), IsOkAndHolds(128 + SIGKILL));

  // The kill did land mid-round: part of the activity stored, a wallet never polled, the run left
  // RUNNING.
  ASSERT_OK_AND_ASSIGN(std::vector<db::Activity> at_kill, store->ReadActivitiesAfter(0, 1000000));
  EXPECT_GT(at_kill.size(), 0u);
  EXPECT_LT(static_cast<int64_t>(at_kill.size()), total);
  ASSERT_OK_AND_ASSIGN(std::vector<db::Whale> whales_at_kill, store->ListWhales(false));
  int unpolled_at_kill = 0;
  for (const db::Whale& w : whales_at_kill) {
    unpolled_at_kill += w.last_polled_time == absl::InfinitePast();
  }
  EXPECT_GT(unpolled_at_kill, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<RunRow> runs_at_kill, WhaleTradeRuns(*database));
  ASSERT_FALSE(runs_at_kill.empty());
  const RunRow left = runs_at_kill.back();
  ASSERT_EQ(left.status, db::RunStatus::kRunning) << Describe(runs_at_kill);
  EXPECT_FALSE(left.ended);
  std::printf("killed whaled mid-round: %zu of %lld trades stored, %d of %zu wallets not polled\n",
              at_kill.size(), static_cast<long long>(total), unpolled_at_kill,
              whales_at_kill.size());

  // While whaled is down, ten simulated minutes of new trades (late-indexed ones among them).
  ASSERT_OK(sim->Advance(absl::Minutes(10)));
  ASSERT_OK(sim->SetFaults(""));

  ASSERT_OK_AND_ASSIGN(auto second,
                       Whaled::Start(database->url(), sim->base_url(), watchlist, "replica-b"));
  ASSERT_OK_AND_ASSIGN(std::string taken,
                       second->process().WaitForLine("leadership taken", kStartBound));
  // The killed run, and any other job's run that was under way at the kill.
  EXPECT_THAT(taken, ContainsRegex("closed [1-9][0-9]* run\\(s\\) left running as FAILED"));
  ASSERT_OK_AND_ASSIGN(std::vector<RunRow> closed, WhaleTradeRuns(*database, left.id - 1));
  ASSERT_FALSE(closed.empty());
  EXPECT_EQ(closed.front().id, left.id);
  EXPECT_EQ(closed.front().status, db::RunStatus::kFailed);
  EXPECT_TRUE(closed.front().ended);
  EXPECT_EQ(closed.front().replica_id, "replica-a");

  // Synced to quiet: the ground truth reached, then a whole round later still exactly it.
  ASSERT_OK(PollUntil(kSyncBound, [&] { return MatchesGroundTruth(*store, *sim); }));
  ASSERT_OK_AND_ASSIGN(std::vector<RunRow> before_quiet, WhaleTradeRuns(*database));
  const int64_t last_id = before_quiet.back().id;
  ASSERT_OK(PollUntil(kSyncBound, [&]() -> absl::Status {
    absl::StatusOr<std::vector<RunRow>> runs = WhaleTradeRuns(*database, last_id);
    if (!runs.ok()) return runs.status();
    for (const RunRow& r : *runs) {
      if (r.status == db::RunStatus::kCompleted) return absl::OkStatus();
    }
    return absl::NotFoundError("no completed whale-trades run since the ground truth was reached");
  }));
  EXPECT_OK(MatchesGroundTruth(*store, *sim));
  ASSERT_OK_AND_ASSIGN(std::vector<db::Activity> stored, store->ReadActivitiesAfter(0, 1000000));
  int64_t expected_now = 0;
  for (const std::string& w : sim->wallets()) {
    ASSERT_OK_AND_ASSIGN(SimTrades trades, FetchSimTrades(sim->port(), w));
    expected_now += static_cast<int64_t>(trades.size());
  }
  EXPECT_EQ(static_cast<int64_t>(stored.size()), expected_now);
  EXPECT_GT(expected_now, total) << "the ten simulated minutes brought no new trade";

  EXPECT_THAT(second->HealthOf(""), IsOkAndHolds(HealthCheckResponse::SERVING));
  ASSERT_OK_AND_ASSIGN(int64_t busiest, sim->MaxRequestsPerSecond());
  EXPECT_LE(busiest, kUpstreamLimit);
  EXPECT_THAT(second->Stop(), IsOkAndHolds(0));
  std::remove(watchlist.c_str());
}

// ---- every upstream fault ----

// What shows that whaled met the fault.
enum class Evidence {
  kFailedRun,     // a FAILED whale-trades run whose error holds every `texts` entry
  kCompletedRun,  // a COMPLETED run whose note holds every `texts` entry
  kLog,           // whaled's log holds every `texts` entry
  kGroundTruth,   // intermittent: every served trade lands while the fault lasts
};

struct FaultCase {
  const char* name;
  const char* spec;  // opinion-sim's text form, switched on before whaled starts
  Evidence evidence;
  std::vector<std::string> texts;
  // A 429: the leader's limiter, as GetSyncStatus reports it, counts throttled responses.
  bool throttled = false;
  // A refused key: the whale-trades job's health is NOT_SERVING until a run completes again.
  bool key_refused = false;
};

void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name << " (" << c.spec << ")"; }

class WhaledUpstreamFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(WhaledUpstreamFaultTest, StaysUpShowsTheErrorsAndLandsEveryTradeOnceTheFaultEnds) {
  const FaultCase& fault = GetParam();
  ASSERT_OK_AND_ASSIGN(auto database, TestDatabase::Create());
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(*database));
  const std::string watchlist = TempPath(absl::StrCat(fault.name, "_watchlist"));
  SimOptions sim_options;
  sim_options.seed = 5;
  sim_options.trades_per_minute = 0.1;  // a few pages per wallet
  sim_options.watchlist_size = 3;
  ASSERT_OK_AND_ASSIGN(auto sim, Sim::Start(sim_options, watchlist));
  ASSERT_OK(sim->SetFaults(fault.spec));
  ASSERT_OK_AND_ASSIGN(auto whaled,
                       Whaled::Start(database->url(), sim->base_url(), watchlist, "replica-f"));

  auto still_serving = [&] {
    EXPECT_TRUE(whaled->Alive()) << whaled->process().Output();
    EXPECT_THAT(whaled->HealthOf(""), IsOkAndHolds(HealthCheckResponse::SERVING));
  };
  auto run_with = [&](db::RunStatus status) -> absl::Status {
    absl::StatusOr<std::vector<RunRow>> runs = WhaleTradeRuns(*database);
    if (!runs.ok()) return runs.status();
    for (const RunRow& r : *runs) {
      bool all = r.status == status;
      for (const std::string& text : fault.texts) all = all && absl::StrContains(r.error, text);
      if (all) return absl::OkStatus();
    }
    return absl::NotFoundError(absl::StrCat("no such run yet; runs so far:\n", Describe(*runs)));
  };
  switch (fault.evidence) {
    case Evidence::kFailedRun:
      EXPECT_OK(PollUntil(kSyncBound, [&] { return run_with(db::RunStatus::kFailed); }));
      break;
    case Evidence::kCompletedRun:
      EXPECT_OK(PollUntil(kSyncBound, [&] { return run_with(db::RunStatus::kCompleted); }));
      break;
    case Evidence::kLog:
      EXPECT_OK(PollUntil(kSyncBound, [&]() -> absl::Status {
        const std::string log = whaled->process().Output();
        for (const std::string& text : fault.texts) {
          if (!absl::StrContains(log, text)) return absl::NotFoundError("not logged: " + text);
        }
        return absl::OkStatus();
      }));
      break;
    case Evidence::kGroundTruth:
      EXPECT_OK(PollUntil(kSyncBound, [&] { return MatchesGroundTruth(*store, *sim); }));
      break;
  }
  still_serving();
  if (fault.throttled) {
    EXPECT_OK(PollUntil(kSyncBound, [&]() -> absl::Status {
      absl::StatusOr<v1::GetSyncStatusResponse> status = whaled->SyncStatus();
      if (!status.ok()) return status.status();
      if (status->limiter().throttled_total() > 0) return absl::OkStatus();
      return absl::NotFoundError("GetSyncStatus shows no throttled request");
    }));
  }
  auto whale_trades_health = [&](HealthCheckResponse::ServingStatus want) {
    return PollUntil(kSyncBound, [&]() -> absl::Status {
      absl::StatusOr<HealthCheckResponse::ServingStatus> health =
          whaled->HealthOf(kWhaleTradesHealth);
      if (!health.ok()) return health.status();
      if (*health == want) return absl::OkStatus();
      return absl::NotFoundError(absl::StrCat("the whale-trades job's health is ",
                                              HealthCheckResponse::ServingStatus_Name(*health)));
    });
  };
  if (fault.key_refused) {
    EXPECT_OK(whale_trades_health(HealthCheckResponse::NOT_SERVING));
  }
  // GetSyncStatus reports the whale-trades job (its last error when the last run failed).
  ASSERT_OK_AND_ASSIGN(v1::GetSyncStatusResponse status, whaled->SyncStatus());
  ASSERT_EQ(status.jobs_size(), 4);
  EXPECT_EQ(status.jobs(1).job(), v1::SYNC_JOB_WHALE_TRADES);
  if (status.jobs(1).last_status() == v1::RUN_STATUS_FAILED) {
    EXPECT_FALSE(status.jobs(1).last_error().empty());
  }

  // The fault switched off: every served trade lands, once.
  ASSERT_OK(sim->SetFaults(""));
  EXPECT_OK(PollUntil(kSyncBound, [&] { return MatchesGroundTruth(*store, *sim); }));
  still_serving();
  // The job is healthy again once a run completes.
  EXPECT_OK(whale_trades_health(HealthCheckResponse::SERVING));
  ASSERT_OK_AND_ASSIGN(int64_t busiest, sim->MaxRequestsPerSecond());
  EXPECT_LE(busiest, kUpstreamLimit);
  EXPECT_THAT(whaled->Stop(), IsOkAndHolds(0));
  std::remove(watchlist.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Faults, WhaledUpstreamFaultTest,
    ::testing::Values(
        FaultCase{"rate429_without_retry_after",
                  "rate429:rate=1:endpoint=trade",
                  Evidence::kFailedRun,
                  {"HTTP 429", "rate limited", "gave up after 5 attempts"},
                  /*throttled=*/true},
        FaultCase{"rate429_with_retry_after",
                  "rate429:rate=1:endpoint=trade:retry_after=1",
                  Evidence::kFailedRun,
                  {"HTTP 429", "rate limited", "gave up after 5 attempts"},
                  /*throttled=*/true},
        FaultCase{"http500",
                  "http5xx:rate=1:endpoint=trade",
                  Evidence::kFailedRun,
                  {"HTTP 500", "upstream server error", "gave up after 5 attempts"}},
        FaultCase{"http502_html_page",
                  "http5xx:rate=1:endpoint=trade:status=502",
                  Evidence::kFailedRun,
                  {"HTTP 502", "gave up after 5 attempts"}},
        // One request outlives whaled's 20 s upstream timeout and is retried: five in a row (what
        // a FAILED run would take) would take minutes.
        FaultCase{"timeout",
                  "slow:count=1:endpoint=trade:delay_ms=21000",
                  Evidence::kLog,
                  {"timed out", "(attempt 1 of 5; retrying)"}},
        FaultCase{"dropped_connection",
                  "drop:rate=1:endpoint=trade",
                  Evidence::kFailedRun,
                  {"gave up after 5 attempts"}},
        // A page that does not parse is retried; after the last attempt the wallet is put back
        // for later and the run, which goes on with the other wallets, names it in its note.
        FaultCase{
            "malformed_json",
            "malformed:rate=1:endpoint=trade",
            Evidence::kCompletedRun,
            {"wallets put back after an error", "body is not JSON", "gave up after 5 attempts"}},
        // Numbers where strings belong and strings where numbers belong are read exactly
        // (lenient typed decoding): nothing is an error, every trade lands during the fault.
        FaultCase{"wrong_types", "wrong_types:rate=1:endpoint=trade", Evidence::kGroundTruth, {}},
        // A null list on a page within `total` is retried like a page that does not parse;
        // after the last attempt the wallet is put back and named in the run's note.
        FaultCase{"list_null",
                  "list_null:rate=1:endpoint=trade",
                  Evidence::kCompletedRun,
                  {"wallets put back after an error", "result.list is empty on page 1",
                   "gave up after 5 attempts"}},
        FaultCase{"errno_11002_on_http_200",
                  "api_error:rate=1:endpoint=trade:errno=11002:http=200",
                  Evidence::kFailedRun,
                  {"HTTP 200, errno 11002", "refused the API key"},
                  /*throttled=*/false,
                  /*key_refused=*/true},
        FaultCase{"errno_10500_on_http_200",
                  "api_error:rate=1:endpoint=trade:errno=10500:http=200",
                  Evidence::kFailedRun,
                  {"HTTP 200, errno 10500", "gave up after 5 attempts"}},
        FaultCase{"drop_intermittent", "drop:rate=0.3:endpoint=trade", Evidence::kGroundTruth, {}},
        // A null list on a page that `total` says is not the last one: the trades below it must
        // still land once the fault is off.
        FaultCase{"list_null_intermittent",
                  "list_null:rate=0.3:endpoint=trade",
                  Evidence::kGroundTruth,
                  {}}),
    [](const ::testing::TestParamInfo<FaultCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace whalefeed
