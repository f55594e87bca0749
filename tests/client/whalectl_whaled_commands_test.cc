// Every whalectl command through its real binary against the real whaled binary, on a database of
// the test's own that the test seeds through MySqlStore (whaled runs with --sync_enabled=false, so
// the data is exactly what the test wrote): the readable output (concrete cells: exact amounts with
// thousands separators, --utc and local times, rows in the server's order), the JSON output parsed
// back into the response message and compared with what whaled answers the same request over a
// stub of the test's own, and the exit code of each documented error.
//
// Two whaleds, each on its own database: one for the read commands (no admin token configured, data
// that never changes), one for the commands that change data (track, untrack, sync run) and for
// watch, with an admin token.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "db/mysql_store.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::whalefeed::testing::Subprocess;
using ::whalefeed::testing::TestDatabase;

constexpr char kAdminToken[] = "s3cret-admin-token";
constexpr char kReplicaId[] = "whalectl-test-replica";

// Exit codes of whalectl's usage text.
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 3;
constexpr int kExitInvalid = 4;
constexpr int kExitDenied = 5;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// 2026-01-01 00:00:00 UTC: the seeded data's times are fixed around it.
const absl::Time kT0 = Utc(2026, 1, 1);

std::string Wallet(char digit) { return "0x" + std::string(40, digit); }
// The same wallet spelled in capitals (the "0x" stays).
std::string Upper(const std::string& wallet) {
  return "0x" + absl::AsciiStrToUpper(wallet.substr(2));
}
const std::string kAlpha = Wallet('a');    // tracked, labelled, the most activity
const std::string kBeta = Wallet('b');     // tracked, no label
const std::string kGamma = Wallet('c');    // polled, no trades found, then untracked
const std::string kUnknown = Wallet('d');  // never tracked

const char kBtcTitle[] = "Will BTC close above $100k in 2026?";
const char kElectionTitle[] = "Who wins the 2028 US presidential election?";
const char kEthTitle[] = "Did ETH flip BTC in 2025?";

// ---- whalectl runs ----

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

// A wide terminal (nothing is cut), a local zone far from UTC (so --utc shows), and nothing from
// the caller's environment; `env` overrides.
std::vector<std::string> Environment(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> all = {{"WHALEFEED_SERVER", ""},
                                            {"WHALEFEED_ADMIN_TOKEN", ""},
                                            {"COLUMNS", "250"},
                                            {"TZ", "Fixed/UTC+09:00:00"}};
  for (const auto& [name, value] : env) all[name] = value;
  std::vector<std::string> entries;
  for (const auto& [name, value] : all) entries.push_back(absl::StrCat(name, "=", value));
  return entries;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The cells of a table line: text separated by two spaces or more (cells hold single spaces only;
// empty cells disappear).
std::vector<std::string> Cells(absl::string_view line) {
  std::vector<std::string> cells;
  std::string cell;
  int spaces = 0;
  for (char c : line) {
    if (c == ' ') {
      ++spaces;
      continue;
    }
    if (!cell.empty() && spaces >= 2) {
      cells.push_back(cell);
      cell.clear();
    } else if (!cell.empty() && spaces == 1) {
      cell += ' ';
    }
    spaces = 0;
    cell += c;
  }
  if (!cell.empty()) cells.push_back(cell);
  return cells;
}

std::vector<std::vector<std::string>> Table(const std::vector<std::string>& lines) {
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : lines) rows.push_back(Cells(line));
  return rows;
}

template <typename M>
M ParseJson(const std::string& line) {
  M message;
  auto status = google::protobuf::util::JsonStringToMessage(line, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
  return message;
}

MATCHER_P(EqualsProto, expected, "equals " + expected.ShortDebugString()) {
  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(arg, expected)) return true;
  *result_listener << differences;
  return false;
}

std::string UtcText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
}

// The value after "--page_token=" in whalectl's "more:" line.
std::string PageTokenIn(const std::string& out) {
  for (const std::string& line : Lines(out)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "more: --page_token=")) {
      return std::string(rest.substr(0, rest.find(' ')));
    }
  }
  return "";
}

// ---- A whaled on a seeded database ----

// Follows Health.Watch of `service` until it reports `want`: the test waits on the server's events.
absl::Status WaitForHealth(const std::string& address, const std::string& service,
                           HealthCheckResponse::ServingStatus want) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  HealthCheckRequest request;
  request.set_service(service);
  auto reader = stub->Watch(&context, request);
  HealthCheckResponse response;
  while (reader->Read(&response)) {
    if (response.status() == want) {
      context.TryCancel();
      (void)reader->Finish();
      return absl::OkStatus();
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("health of \"", service, "\" never became ",
                                                  HealthCheckResponse::ServingStatus_Name(want),
                                                  ": ", reader->Finish().error_message()));
}

// A database of the test's own with the schema applied, the store the test seeds it through, and
// whaled serving it.
class Deployment {
 public:
  static absl::StatusOr<std::unique_ptr<Deployment>> Create() {
    auto deployment = std::unique_ptr<Deployment>(new Deployment());
    ASSIGN_OR_RETURN(deployment->database_, TestDatabase::Create());
    db::MySqlStoreOptions options;
    options.dsn = deployment->database_->dsn();
    ASSIGN_OR_RETURN(deployment->store_, db::MySqlStore::Create(options));
    RETURN_IF_ERROR(deployment->store_->PrepareDatabase());
    ASSIGN_OR_RETURN(deployment->fence_, deployment->store_->AdvanceLeaderEpoch("seed", kT0));
    return deployment;
  }

  ~Deployment() {
    // The test's own connection goes first: an idle client that is not polled answers whaled's
    // shutdown only at gRPC's next backup poll (5 s), which would hold the shutdown that long.
    channel_.reset();
    if (whaled_ != nullptr) {
      whaled_->Signal(SIGTERM);
      absl::StatusOr<int> code = whaled_->Wait(absl::Seconds(30));
      EXPECT_OK(code.status());
      EXPECT_EQ(code.value_or(-1), 0) << whaled_->Output();
    }
  }

  // Starts whaled (serve only, no sync) with `flags` added, and waits until it serves.
  absl::Status StartWhaled(std::vector<std::string> flags) {
    std::vector<std::string> argv = {WHALED_PATH,
                                     "--listen=127.0.0.1:0",
                                     "--mysql_dsn=" + database_->url(),
                                     "--sync_enabled=false",
                                     "--replica_id=" + std::string(kReplicaId),
                                     "--health_probe_interval=200ms",
                                     "--shutdown_timeout=5s"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ASSIGN_OR_RETURN(whaled_, Subprocess::Start(argv, {"WHALEFEED_ADMIN_TOKEN="}));
    ASSIGN_OR_RETURN(const std::string line,
                     whaled_->WaitForLine("listening on", absl::Seconds(60)));
    const size_t colon = line.find(':', line.find("listening on"));
    int port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(line.substr(colon + 1, line.find(',', colon) - colon - 1), &port)) {
      return absl::InternalError("no port in: " + line);
    }
    address_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    return WaitForHealth(address_, "", HealthCheckResponse::SERVING);
  }

  db::MySqlStore& store() { return *store_; }
  // The sequences of every trade the test committed, in commit order. Sequences may skip numbers,
  // so the test reads them instead of assuming them.
  std::vector<uint64_t>& sequences() { return sequences_; }
  const db::Fence& fence() const { return fence_; }
  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string WhaledOutput() const { return whaled_ == nullptr ? "" : whaled_->Output(); }

  // Starts `whalectl --server=<this whaled> args...`.
  absl::StatusOr<std::unique_ptr<Subprocess>> StartWhalectl(
      std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    args.insert(args.begin(), {WHALECTL_PATH, "--server=" + address_});
    return Subprocess::Start(args, Environment(env), Subprocess::Streams::kSeparate);
  }

  Result Whalectl(std::vector<std::string> args,
                  const std::map<std::string, std::string>& env = {}) const {
    auto process = StartWhalectl(std::move(args), env);
    EXPECT_OK(process.status());
    if (!process.ok()) return {};
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(60));
    EXPECT_OK(code.status());
    return {code.ok() ? *code : -1, (*process)->Output(), (*process)->ErrorOutput()};
  }

 private:
  Deployment() = default;

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<db::MySqlStore> store_;
  db::Fence fence_;
  std::vector<uint64_t> sequences_;
  std::unique_ptr<Subprocess> whaled_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return context;
}

// What whaled answers `request` over a stub of the test's own: what whalectl's JSON must equal.
template <typename Response, typename Stub, typename Request>
Response Direct(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                Stub& stub, const Request& request) {
  Response response;
  auto context = Context();
  grpc::Status status = (stub.*method)(context.get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

// ---- Seed data ----

db::Market Market(int64_t id, int64_t parent, const std::string& title, db::MarketType type) {
  db::Market m;
  m.market_id = id;
  m.parent_market_id = parent;
  m.title = title;
  m.status = db::MarketStatus::kActivated;
  m.market_type = type;
  if (type == db::MarketType::kBinary) {
    m.yes_label = "Yes";
    m.no_label = "No";
    m.yes_token_id = absl::StrCat(id, "1");
    m.no_token_id = absl::StrCat(id, "2");
  }
  m.created_time = Utc(2025, 10, 1);
  return m;
}

// Markets 101 (binary), 200 (categorical, children 201 and 202) and 300 (resolved), with whale
// flow on 101 and 201.
absl::Status SeedMarkets(Deployment& d) {
  db::Market btc = Market(101, 0, kBtcTitle, db::MarketType::kBinary);
  btc.volume = "98765432.10";
  btc.volume_24h = "1234567.89";
  btc.volume_7d = "7654321";
  btc.labels = {"Crypto", "Bitcoin"};
  btc.slug = "btc-100k-2026";
  btc.yes_token_id =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  btc.cutoff_time = Utc(2026, 6, 30);
  db::Market election = Market(200, 0, kElectionTitle, db::MarketType::kCategorical);
  election.volume = "2500000";
  election.volume_24h = "500000";
  election.volume_7d = "750000.5";
  election.labels = {"Politics"};
  election.slug = "us-election-2028";
  election.cutoff_time = Utc(2028, 11, 8);
  db::Market alice = Market(201, 200, "Alice", db::MarketType::kBinary);
  alice.cutoff_time = election.cutoff_time;
  db::Market bob = Market(202, 200, "Bob", db::MarketType::kBinary);
  bob.cutoff_time = election.cutoff_time;
  db::Market eth = Market(300, 0, kEthTitle, db::MarketType::kBinary);
  eth.status = db::MarketStatus::kResolved;
  eth.volume_24h = "10";
  eth.cutoff_time = Utc(2025, 12, 31);
  eth.resolved_time = Utc(2025, 12, 31, 12);
  eth.result_token_id = "3001";
  RETURN_IF_ERROR(
      d.store()
          .UpsertMarkets(d.fence(), {btc, election, alice, bob, eth}, kT0 + absl::Hours(1))
          .status());
  db::MarketWhaleFlow btc_yes{101, db::Outcome::kYes, "50000", "0"};
  db::MarketWhaleFlow btc_no{101, db::Outcome::kNo, "2000", "500.5"};
  db::MarketWhaleFlow alice_yes{201, db::Outcome::kYes, "1000.25", "0"};
  return d.store().UpsertMarketWhaleFlow(d.fence(), {btc_yes, btc_no, alice_yes},
                                         kT0 + absl::Hours(1));
}

db::WhaleStats Stats(const std::string& wallet, db::StatsWindow window, const std::string& volume,
                     int64_t trades, const std::string& profit, int32_t rank,
                     absl::Time last_trade) {
  db::WhaleStats s;
  s.wallet = wallet;
  s.window = window;
  s.volume_usd = volume;
  s.buy_volume_usd = volume;
  s.realized_profit_usd = profit;
  s.largest_trade_usd = volume;
  s.average_trade_usd = volume;
  s.trade_count = trades;
  s.markets_traded = 1;
  s.first_trade_time = Utc(2025, 1, 1);
  s.last_trade_time = last_trade;
  s.rank = rank;
  s.computed_time = kT0 + absl::Hours(12);
  return s;
}

db::Activity Trade(const std::string& tx, int64_t market_id, db::Side side, db::Outcome outcome,
                   const std::string& amount, absl::Time traded, db::Origin origin) {
  db::Activity a;
  a.tx_hash = tx;
  a.market_id = market_id;
  a.root_market_id = market_id;
  a.market_title = market_id == 101 ? kBtcTitle : kEthTitle;
  a.root_market_title = a.market_title;
  a.side = side;
  a.outcome = outcome;
  a.outcome_label = outcome == db::Outcome::kYes ? "Yes" : "No";
  a.price = "0.5";
  a.shares = "100";
  a.amount_usd = amount;
  a.traded_time = traded;
  a.origin = origin;
  return a;
}

// Commits one poll of `wallet` that found `trades`.
absl::Status IngestPoll(Deployment& d, const std::string& wallet, std::vector<db::Activity> trades,
                        const db::PollState& poll, absl::Time now) {
  for (db::Activity& trade : trades) trade.wallet = wallet;
  ASSIGN_OR_RETURN(const db::IngestResult result,
                   d.store().IngestActivities(d.fence(), wallet, trades, poll, now));
  if (result.inserted_sequences.size() != trades.size()) {
    return absl::InternalError(absl::StrCat("stored ", result.inserted_sequences.size(), " of ",
                                            trades.size(), " trades of ", wallet));
  }
  d.sequences().insert(d.sequences().end(), result.inserted_sequences.begin(),
                       result.inserted_sequences.end());
  return absl::OkStatus();
}

std::string TxHash(int n) { return absl::StrFormat("0x%064x", n); }

// Whales, their statistics in every window and their activity:
//   seq 1  Alpha  BUY  YES  15,000     2026-01-01 10:00  market 101  LIVE
//   seq 2  Alpha  SELL NO   2,500.5    2026-01-01 11:00  market 201 (in 200)  LIVE
//   seq 3  Alpha  BUY  YES  120,000    2025-12-30 00:00  market 101  BACKFILL
//   seq 4  Beta   BUY  NO   1,000,000  2026-01-01 12:00  market 300  LIVE, ingested 42 s later
absl::Status SeedWhales(Deployment& d) {
  db::Store& store = d.store();
  RETURN_IF_ERROR(
      store.TrackWhale(kAlpha, "Alpha Fund", db::WhaleSource::kFile, Utc(2025, 12, 1)).status());
  RETURN_IF_ERROR(store.TrackWhale(kBeta, "", db::WhaleSource::kApi, Utc(2025, 12, 2)).status());
  RETURN_IF_ERROR(
      store.TrackWhale(kGamma, "Gamma", db::WhaleSource::kFile, Utc(2025, 12, 3)).status());

  db::WhaleStats alpha_24h =
      Stats(kAlpha, db::StatsWindow::k24h, "1234567.5", 12, "4321.25", 1, kT0 + absl::Hours(11));
  alpha_24h.buy_volume_usd = "1000000";
  alpha_24h.sell_volume_usd = "234567.5";
  alpha_24h.largest_trade_usd = "120000";
  alpha_24h.average_trade_usd = "102880.625";
  alpha_24h.markets_traded = 3;
  const std::vector<db::WhaleStats> stats = {
      alpha_24h,
      Stats(kBeta, db::StatsWindow::k24h, "20000", 1, "-1250.75", 2, kT0 + absl::Hours(12)),
      Stats(kAlpha, db::StatsWindow::k7d, "1500000", 20, "5000", 2, kT0 + absl::Hours(11)),
      Stats(kBeta, db::StatsWindow::k7d, "3000000", 5, "-7000", 1, kT0 + absl::Hours(12)),
      Stats(kAlpha, db::StatsWindow::k30d, "5000000", 40, "10000", 1, kT0 + absl::Hours(11)),
      Stats(kBeta, db::StatsWindow::k30d, "4000000", 10, "0", 2, kT0 + absl::Hours(12)),
      Stats(kAlpha, db::StatsWindow::kAll, "6000000", 50, "12000.5", 2, kT0 + absl::Hours(11)),
      Stats(kBeta, db::StatsWindow::kAll, "9876543.21", 100, "123456.78", 1, kT0 + absl::Hours(12)),
  };
  RETURN_IF_ERROR(store.UpsertWhaleStats(d.fence(), stats, kT0 + absl::Hours(12)));

  db::Activity alice_sell = Trade(TxHash(2), 201, db::Side::kSell, db::Outcome::kNo, "2500.5",
                                  kT0 + absl::Hours(11), db::Origin::kLive);
  alice_sell.root_market_id = 200;
  alice_sell.market_title = "Alice";
  alice_sell.root_market_title = kElectionTitle;
  alice_sell.outcome_label = "Not Alice";
  alice_sell.price = "0.25";
  const std::vector<db::Activity> alpha_trades = {
      Trade(TxHash(1), 101, db::Side::kBuy, db::Outcome::kYes, "15000", kT0 + absl::Hours(10),
            db::Origin::kLive),
      alice_sell,
      Trade(TxHash(3), 101, db::Side::kBuy, db::Outcome::kYes, "120000", Utc(2025, 12, 30),
            db::Origin::kBackfill),
  };
  const absl::Time alpha_polled = kT0 + absl::Hours(12);
  RETURN_IF_ERROR(IngestPoll(d, kAlpha, alpha_trades,
                             {alpha_polled, alpha_polled + absl::Minutes(1), 3}, alpha_polled));
  const absl::Time beta_polled = kT0 + absl::Hours(12) + absl::Seconds(42);
  RETURN_IF_ERROR(IngestPoll(d, kBeta,
                             {Trade(TxHash(4), 300, db::Side::kBuy, db::Outcome::kNo, "1000000",
                                    kT0 + absl::Hours(12), db::Origin::kLive)},
                             {beta_polled, beta_polled + absl::Minutes(1), 1}, beta_polled));
  // Gamma was polled and the upstream knew no trades of it; then it was untracked.
  const absl::Time gamma_polled = kT0 + absl::Hours(6);
  RETURN_IF_ERROR(
      IngestPoll(d, kGamma, {}, {gamma_polled, gamma_polled + absl::Minutes(10), 0}, gamma_polled));
  return store.UntrackWhale(kGamma).status();
}

// Sync runs relative to `now` (job health is judged against the real clock): markets completed a
// minute ago, whale trades running, stats failed; cleanup never ran.
absl::Status SeedSyncRuns(Deployment& d, absl::Time now) {
  db::Store& store = d.store();
  ASSIGN_OR_RETURN(const int64_t markets, store.StartSyncRun(d.fence(), db::SyncJob::kMarkets,
                                                             "seed", now - absl::Minutes(2)));
  RETURN_IF_ERROR(store.FinishSyncRun(d.fence(), markets, db::RunStatus::kCompleted, 1234, "",
                                      now - absl::Minutes(1)));
  ASSIGN_OR_RETURN(const int64_t stats, store.StartSyncRun(d.fence(), db::SyncJob::kStats, "seed",
                                                           now - absl::Minutes(10)));
  RETURN_IF_ERROR(store.FinishSyncRun(d.fence(), stats, db::RunStatus::kFailed, 0,
                                      "upstream said: 503 Service Unavailable",
                                      now - absl::Minutes(9)));
  RETURN_IF_ERROR(
      store.StartSyncRun(d.fence(), db::SyncJob::kWhaleTrades, "seed", now - absl::Seconds(30))
          .status());
  return store.PublishLimiter(d.fence(), {12, 12345, 7}, now - absl::Seconds(5));
}

// The activity table's row of seeded trade `n` (1 to 4, see SeedWhales) stored as `sequence`.
std::vector<std::string> ActivityRow(int n, uint64_t sequence) {
  const std::string seq = absl::StrCat(sequence);
  switch (n) {
    case 1:
      return {"2026-01-01 10:00:00", seq, "Alpha Fund", "BUY", "YES", "$15,000", "0.5", kBtcTitle};
    case 2:
      return {"2026-01-01 11:00:00",
              seq,
              "Alpha Fund",
              "SELL",
              "NO (Not Alice)",
              "$2,500.5",
              "0.25",
              absl::StrCat(kElectionTitle, " / Alice")};
    case 3:
      return {"2025-12-30 00:00:00",
              seq,
              "Alpha Fund",
              "BUY",
              "YES",
              "$120,000",
              "0.5",
              "backfill",
              kBtcTitle};
    default:
      return {"2026-01-01 12:00:00", seq,   "0xbbbb…bbbb", "BUY", "NO",
              "$1,000,000",          "0.5", kEthTitle};
  }
}

// ---- The read commands: one whaled on data that never changes, no admin token configured ----

class WhalectlWhaledReadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    seeded_time_ = new absl::Time(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())));
    absl::StatusOr<std::unique_ptr<Deployment>> d = Deployment::Create();
    absl::Status status = d.status();
    if (status.ok()) {
      deployment_ = d->release();
      status = Setup(*deployment_);
    }
    setup_ = new absl::Status(status);
  }
  static absl::Status Setup(Deployment& d) {
    RETURN_IF_ERROR(SeedMarkets(d));
    RETURN_IF_ERROR(SeedWhales(d));
    RETURN_IF_ERROR(SeedSyncRuns(d, *seeded_time_));
    // The market cache never sees a change: the data is written before whaled starts.
    RETURN_IF_ERROR(d.StartWhaled({}));
    // The prober sets the jobs' health after "": wait for it too.
    return WaitForHealth(d.address(), "whalefeed.sync.markets", HealthCheckResponse::SERVING);
  }
  static void TearDownTestSuite() {
    delete deployment_;
    deployment_ = nullptr;
    delete setup_;
    delete seeded_time_;
  }
  void SetUp() override {
    ASSERT_OK(*setup_) << (deployment_ == nullptr ? "" : deployment_->WhaledOutput());
    markets_ = v1::MarketService::NewStub(deployment_->channel());
    whales_ = v1::WhaleService::NewStub(deployment_->channel());
    sync_ = v1::SyncService::NewStub(deployment_->channel());
  }

  static Result Whalectl(std::vector<std::string> args,
                         const std::map<std::string, std::string>& env = {}) {
    return deployment_->Whalectl(std::move(args), env);
  }
  // The stored sequence of seeded trade `n` (1 to 4), and its row in an activity table.
  static uint64_t Sequence(int n) { return deployment_->sequences().at(n - 1); }
  static std::vector<std::string> Row(int n) { return ActivityRow(n, Sequence(n)); }

  std::unique_ptr<v1::MarketService::Stub> markets_;
  std::unique_ptr<v1::WhaleService::Stub> whales_;
  std::unique_ptr<v1::SyncService::Stub> sync_;

  static Deployment* deployment_;
  static absl::Status* setup_;
  static absl::Time* seeded_time_;
};

Deployment* WhalectlWhaledReadTest::deployment_ = nullptr;
absl::Status* WhalectlWhaledReadTest::setup_ = nullptr;
absl::Time* WhalectlWhaledReadTest::seeded_time_ = nullptr;

const std::vector<std::string> kMarketsHeader = {"ID",        "STATUS", "TYPE", "VOLUME 24H",
                                                 "WHALE 24H", "CUTOFF", "TITLE"};
const std::vector<std::string> kBtcRow = {
    "101", "ACTIVATED", "BINARY", "1,234,567.89", "$52,500.5", "2026-06-30 00:00:00", kBtcTitle};
const std::vector<std::string> kElectionRow = {"200",         "ACTIVATED", "CATEGORICAL",
                                               "500,000",     "$1,000.25", "2028-11-08 00:00:00",
                                               kElectionTitle};
const std::vector<std::string> kAliceRow = {"201", "ACTIVATED", "$1,000.25", "2028-11-08 00:00:00",
                                            "- Alice"};
const std::vector<std::string> kBobRow = {"202", "ACTIVATED", "$0", "2028-11-08 00:00:00", "- Bob"};
const std::vector<std::string> kEthRow = {
    "300", "RESOLVED", "BINARY", "10", "$0", "2025-12-31 00:00:00", kEthTitle};

TEST_F(WhalectlWhaledReadTest, MarketsListShowsTopLevelMarketsWithChildrenByVolume) {
  Result r = Whalectl({"--utc", "markets", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(Table(Lines(r.out)), ElementsAre(kMarketsHeader, kBtcRow, kElectionRow, kAliceRow,
                                               kBobRow, kEthRow, ElementsAre("3 of 3 markets")));

  Result json = Whalectl({"-o", "json", "markets", "list"});
  ASSERT_EQ(json.code, 0) << json.err;
  ASSERT_THAT(Lines(json.out), SizeIs(1));
  auto page = ParseJson<v1::ListMarketsResponse>(json.out);
  EXPECT_THAT(page, EqualsProto(Direct(&v1::MarketService::Stub::ListMarkets, *markets_,
                                       v1::ListMarketsRequest())));
  ASSERT_THAT(page.markets(), SizeIs(3));
  EXPECT_EQ(page.total_size(), 3);
  EXPECT_EQ(page.next_page_token(), "");
  EXPECT_EQ(page.markets(0).market_id(), 101);
  EXPECT_EQ(page.markets(0).volume(), "98765432.1");
  EXPECT_EQ(page.markets(0).whale_volume_24h(), "52500.5");
  EXPECT_EQ(page.markets(0).yes_token_id(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  EXPECT_EQ(page.markets(1).market_id(), 200);
  ASSERT_THAT(page.markets(1).children(), SizeIs(2));
  EXPECT_EQ(page.markets(1).children(0).market_id(), 201);
  EXPECT_EQ(page.markets(1).children(0).parent_market_id(), 200);
  EXPECT_EQ(page.markets(1).children(1).title(), "Bob");
  EXPECT_EQ(page.markets(2).market_id(), 300);
  EXPECT_EQ(page.markets(2).status(), v1::MARKET_STATUS_RESOLVED);
  EXPECT_EQ(page.markets(2).resolved_time().seconds(), absl::ToUnixSeconds(Utc(2025, 12, 31, 12)));
}

TEST_F(WhalectlWhaledReadTest, MarketsListFiltersOrdersAndPages) {
  Result resolved = Whalectl({"--utc", "markets", "list", "--filter=status = RESOLVED"});
  ASSERT_EQ(resolved.code, 0) << resolved.err;
  EXPECT_THAT(Table(Lines(resolved.out)),
              ElementsAre(kMarketsHeader, kEthRow, ElementsAre("1 of 1 markets")));

  Result by_id = Whalectl({"--utc", "markets", "list", "--order-by=market_id desc"});
  ASSERT_EQ(by_id.code, 0) << by_id.err;
  EXPECT_THAT(Table(Lines(by_id.out)),
              ElementsAre(kMarketsHeader, kEthRow, kElectionRow, kAliceRow, kBobRow, kBtcRow,
                          ElementsAre("3 of 3 markets")));

  // One market a page: the hint names the token that continues, and that token does.
  Result first = Whalectl({"--utc", "markets", "list", "--page_size=1"});
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string token = PageTokenIn(first.out);
  ASSERT_NE(token, "") << first.out;
  EXPECT_THAT(Lines(first.out),
              ElementsAre(::testing::_, ::testing::_, "1 of 3 markets",
                          absl::StrCat("more: --page_token=", token, " (or --all)")));
  EXPECT_EQ(Cells(Lines(first.out)[1]), kBtcRow);
  Result second = Whalectl({"--utc", "markets", "list", "--page_size=1", "--page_token=" + token});
  ASSERT_EQ(second.code, 0) << second.err;
  std::vector<std::string> lines = Lines(second.out);
  ASSERT_THAT(lines, SizeIs(6)) << second.out;
  EXPECT_THAT(Table({lines[1], lines[2], lines[3]}), ElementsAre(kElectionRow, kAliceRow, kBobRow));
  EXPECT_EQ(lines[4], "1 of 3 markets");
  EXPECT_THAT(lines[5], StartsWith("more: --page_token="));

  // --all follows every token: one table, and in JSON one object per page.
  Result all = Whalectl({"--utc", "markets", "list", "--page_size=1", "--all"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_THAT(Table(Lines(all.out)), ElementsAre(kMarketsHeader, kBtcRow, kElectionRow, kAliceRow,
                                                 kBobRow, kEthRow, ElementsAre("3 of 3 markets")));
  Result json = Whalectl({"-o", "json", "markets", "list", "--page_size=1", "--all"});
  ASSERT_EQ(json.code, 0) << json.err;
  const std::vector<std::string> pages = Lines(json.out);
  ASSERT_THAT(pages, SizeIs(3));
  v1::ListMarketsRequest request;
  request.set_page_size(1);
  for (size_t i = 0; i < pages.size(); ++i) {
    const v1::ListMarketsResponse expected =
        Direct(&v1::MarketService::Stub::ListMarkets, *markets_, request);
    const auto page = ParseJson<v1::ListMarketsResponse>(pages[i]);
    EXPECT_THAT(page, EqualsProto(expected)) << "page " << i;
    EXPECT_EQ(page.next_page_token().empty(), i + 1 == pages.size());
    request.set_page_token(expected.next_page_token());
  }
  EXPECT_EQ(ParseJson<v1::ListMarketsResponse>(pages[0]).next_page_token(), token);
}

TEST_F(WhalectlWhaledReadTest, MarketsListErrors) {
  Result filter = Whalectl({"markets", "list", "--filter=colour = \"red\""});
  EXPECT_EQ(filter.code, kExitInvalid);
  EXPECT_EQ(filter.out, "");
  EXPECT_THAT(filter.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  EXPECT_THAT(filter.err, HasSubstr("colour"));
  EXPECT_EQ(Lines(filter.err).size(), 1u) << filter.err;

  Result order = Whalectl({"markets", "list", "--order_by=title"});
  EXPECT_EQ(order.code, kExitInvalid);
  EXPECT_THAT(order.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  EXPECT_THAT(order.err, HasSubstr("title"));

  Result token = Whalectl({"markets", "list", "--page_token=not-a-token"});
  EXPECT_EQ(token.code, kExitInvalid);
  EXPECT_THAT(token.err, StartsWith("whalectl: INVALID_ARGUMENT: "));

  Result size = Whalectl({"markets", "list", "--page_size=-1"});
  EXPECT_EQ(size.code, kExitInvalid);
  EXPECT_THAT(size.err, StartsWith("whalectl: INVALID_ARGUMENT: "));

  Result extra = Whalectl({"markets", "list", "101"});
  EXPECT_EQ(extra.code, kExitUsage);
  EXPECT_THAT(extra.err, StartsWith("whalectl: usage: "));
}

TEST_F(WhalectlWhaledReadTest, MarketsGetACategoricalMarketShowsItsChildren) {
  Result r = Whalectl({"--utc", "markets", "get", "200"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(16)) << r.out;
  EXPECT_THAT(
      std::vector<std::string>(lines.begin(), lines.begin() + 12),
      ElementsAre(absl::StrCat("Market 200: ", kElectionTitle),
                  "  status          ACTIVATED",    //
                  "  type            CATEGORICAL",  //
                  "  volume          2,500,000",    //
                  "  volume 24h      500,000",      //
                  "  volume 7d       750,000.5",    //
                  "  whale 24h       $1,000.25",    //
                  "  labels          Politics",     //
                  "  created         2025-10-01 00:00:00", "  cutoff          2028-11-08 00:00:00",
                  "  resolved        -",  //
                  "  synced          2026-01-01 01:00:00"));
  EXPECT_THAT(Table({lines.begin() + 12, lines.end()}),
              ElementsAre(ElementsAre("slug", "us-election-2028"),
                          ElementsAre("ID", "STATUS", "WHALE 24H", "OPTION"),
                          ElementsAre("201", "ACTIVATED", "$1,000.25", "Alice"),
                          ElementsAre("202", "ACTIVATED", "$0", "Bob")));
  // A blank line sets the children's table apart.
  EXPECT_THAT(r.out, HasSubstr("us-election-2028\n\n"));

  Result json = Whalectl({"-o", "json", "markets", "get", "200"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto market = ParseJson<v1::Market>(json.out);
  v1::GetMarketRequest request;
  request.set_market_id(200);
  EXPECT_THAT(market, EqualsProto(Direct(&v1::MarketService::Stub::GetMarket, *markets_, request)));
  EXPECT_EQ(market.market_type(), v1::MARKET_TYPE_CATEGORICAL);
  EXPECT_EQ(market.volume_7d(), "750000.5");
  EXPECT_EQ(market.whale_volume_24h(), "1000.25");
  EXPECT_EQ(market.synced_time().seconds(), absl::ToUnixSeconds(kT0 + absl::Hours(1)));
  ASSERT_THAT(market.children(), SizeIs(2));
  EXPECT_EQ(market.children(0).market_id(), 201);
  EXPECT_EQ(market.children(0).whale_volume_24h(), "1000.25");
  EXPECT_EQ(market.children(1).market_id(), 202);
  EXPECT_EQ(market.children(1).whale_volume_24h(), "0");
}

TEST_F(WhalectlWhaledReadTest, MarketsGetAChildByItsOwnId) {
  // In the local zone (UTC+9, a zone abseil knows without tzdata) unless --utc.
  Result r = Whalectl({"markets", "get", "201"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Market 201: Alice\n"
            "  status          ACTIVATED\n"
            "  type            BINARY\n"
            "  parent          200\n"
            "  outcomes        Yes / No\n"
            "  volume          0\n"
            "  volume 24h      0\n"
            "  volume 7d       0\n"
            "  whale 24h       $1,000.25\n"
            "  created         2025-10-01 09:00:00\n"
            "  cutoff          2028-11-08 09:00:00\n"
            "  resolved        -\n"
            "  synced          2026-01-01 10:00:00\n"
            "  yes token       2011\n"
            "  no token        2012\n");

  Result json = Whalectl({"-o", "json", "markets", "get", "201"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto market = ParseJson<v1::Market>(json.out);
  v1::GetMarketRequest request;
  request.set_market_id(201);
  EXPECT_THAT(market, EqualsProto(Direct(&v1::MarketService::Stub::GetMarket, *markets_, request)));
  EXPECT_EQ(market.parent_market_id(), 200);
  EXPECT_EQ(market.title(), "Alice");
  EXPECT_THAT(market.children(), IsEmpty());
}

TEST_F(WhalectlWhaledReadTest, MarketsGetErrors) {
  Result unknown = Whalectl({"markets", "get", "999"});
  EXPECT_EQ(unknown.code, kExitNotFound);
  EXPECT_EQ(unknown.out, "");
  EXPECT_THAT(unknown.err, StartsWith("whalectl: NOT_FOUND: "));
  EXPECT_THAT(unknown.err, HasSubstr("999"));

  Result zero = Whalectl({"markets", "get", "0"});
  EXPECT_EQ(zero.code, kExitInvalid);
  EXPECT_THAT(zero.err, StartsWith("whalectl: INVALID_ARGUMENT: market_id"));

  Result word = Whalectl({"markets", "get", "btc"});
  EXPECT_EQ(word.code, kExitUsage);
  EXPECT_THAT(word.err, HasSubstr("MARKET_ID must be an integer, got \"btc\""));
}

const std::vector<std::string> kWhalesHeader = {"RANK",   "WALLET",     "VOLUME",  "TRADES",
                                                "PROFIT", "LAST TRADE", "TRACKED", "LABEL"};

TEST_F(WhalectlWhaledReadTest, WhalesTopInEveryWindow) {
  const std::string alpha_last = "2026-01-01 11:00:00";
  const std::string beta_last = "2026-01-01 12:00:00";
  const std::vector<std::string> gamma = {"-", kGamma, "$0", "0", "$0", "-", "no", "Gamma"};
  const std::map<std::string, std::vector<std::vector<std::string>>> windows = {
      {"24h",
       {kWhalesHeader,
        {"1", kAlpha, "$1,234,567.5", "12", "$4,321.25", alpha_last, "yes", "Alpha Fund"},
        {"2", kBeta, "$20,000", "1", "-$1,250.75", beta_last, "yes"},
        gamma}},
      {"7d",
       {kWhalesHeader,
        {"1", kBeta, "$3,000,000", "5", "-$7,000", beta_last, "yes"},
        {"2", kAlpha, "$1,500,000", "20", "$5,000", alpha_last, "yes", "Alpha Fund"},
        gamma}},
      {"30d",
       {kWhalesHeader,
        {"1", kAlpha, "$5,000,000", "40", "$10,000", alpha_last, "yes", "Alpha Fund"},
        {"2", kBeta, "$4,000,000", "10", "$0", beta_last, "yes"},
        gamma}},
      {"all",
       {kWhalesHeader,
        {"1", kBeta, "$9,876,543.21", "100", "$123,456.78", beta_last, "yes"},
        {"2", kAlpha, "$6,000,000", "50", "$12,000.5", alpha_last, "yes", "Alpha Fund"},
        gamma}},
  };
  const std::map<std::string, v1::StatsWindow> numbers = {{"24h", v1::STATS_WINDOW_24H},
                                                          {"7d", v1::STATS_WINDOW_7D},
                                                          {"30d", v1::STATS_WINDOW_30D},
                                                          {"all", v1::STATS_WINDOW_ALL}};
  for (const auto& [window, rows] : windows) {
    SCOPED_TRACE(window);
    Result r = Whalectl({"--utc", "whales", "top", "--window=" + window});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(Table(Lines(r.out)), ElementsAreArray(rows));

    Result json = Whalectl({"-o", "json", "whales", "top", "--window", window});
    ASSERT_EQ(json.code, 0) << json.err;
    const auto page = ParseJson<v1::ListWhalesResponse>(json.out);
    v1::ListWhalesRequest request;
    request.set_window(numbers.at(window));
    EXPECT_THAT(page, EqualsProto(Direct(&v1::WhaleService::Stub::ListWhales, *whales_, request)));
    ASSERT_THAT(page.whales(), SizeIs(3));
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(page.whales(i).wallet(), rows[i + 1][1]);
      ASSERT_THAT(page.whales(i).stats(), SizeIs(1));
      EXPECT_EQ(page.whales(i).stats(0).window(), numbers.at(window));
    }
  }
  // The default window is 24h.
  Result plain = Whalectl({"--utc", "whales", "top"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_THAT(Table(Lines(plain.out)), ElementsAreArray(windows.at("24h")));
}

TEST_F(WhalectlWhaledReadTest, WhalesTopFiltersPagesAndRefusesBadInput) {
  Result tracked = Whalectl({"--utc", "whales", "top", "--filter=tracked = true", "--page_size=1"});
  ASSERT_EQ(tracked.code, 0) << tracked.err;
  const std::string token = PageTokenIn(tracked.out);
  ASSERT_NE(token, "") << tracked.out;
  std::vector<std::string> lines = Lines(tracked.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(Cells(lines[1])[1], kAlpha);
  Result next = Whalectl({"--utc", "whales", "top", "--filter=tracked = true", "--page_size=1",
                          "--page_token=" + token});
  ASSERT_EQ(next.code, 0) << next.err;
  lines = Lines(next.out);
  ASSERT_THAT(lines, SizeIs(2)) << next.out;  // Beta, the last tracked one: no "more" line
  EXPECT_EQ(Cells(lines[1])[1], kBeta);

  Result window = Whalectl({"whales", "top", "--window=1y"});
  EXPECT_EQ(window.code, kExitUsage);
  EXPECT_THAT(window.err, HasSubstr("--window must be 24h, 7d, 30d or all, got \"1y\""));
  Result filter = Whalectl({"whales", "top", "--filter=tracked = maybe"});
  EXPECT_EQ(filter.code, kExitInvalid);
  EXPECT_THAT(filter.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  Result other_query = Whalectl({"whales", "top", "--page_token=" + token});
  EXPECT_EQ(other_query.code, kExitInvalid) << "a token of another filter";
  EXPECT_THAT(other_query.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
}

const std::vector<std::string> kActivityHeader = {"TRADED",  "SEQ",    "WHALE", "SIDE",
                                                  "OUTCOME", "AMOUNT", "PRICE", "MARKET"};
TEST_F(WhalectlWhaledReadTest, WhalesGetShowsEveryWindowAndRecentActivity) {
  Result r = Whalectl({"--utc", "whales", "get", kAlpha});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(16)) << r.out;
  EXPECT_THAT(std::vector<std::string>(lines.begin(), lines.begin() + 6),
              ElementsAre(kAlpha + "  Alpha Fund",  //
                          "  tracked         yes, since 2025-12-01 00:00:00",
                          "  source          FILE",  //
                          "  last polled     2026-01-01 12:00:00",
                          "  next poll       2026-01-01 12:01:00",  //
                          "  trades seen     3"));
  EXPECT_THAT(Table({lines.begin() + 6, lines.end()}),
              ElementsAre(ElementsAre("WINDOW", "RANK", "VOLUME", "BUY", "SELL", "PROFIT", "TRADES",
                                      "MARKETS", "LARGEST", "LAST TRADE"),
                          ElementsAre("24H", "1", "$1,234,567.5", "$1,000,000", "$234,567.5",
                                      "$4,321.25", "12", "3", "$120,000", "2026-01-01 11:00:00"),
                          ElementsAre("7D", "2", "$1,500,000", "$1,500,000", "$0", "$5,000", "20",
                                      "1", "$1,500,000", "2026-01-01 11:00:00"),
                          ElementsAre("30D", "1", "$5,000,000", "$5,000,000", "$0", "$10,000", "40",
                                      "1", "$5,000,000", "2026-01-01 11:00:00"),
                          ElementsAre("ALL", "2", "$6,000,000", "$6,000,000", "$0", "$12,000.5",
                                      "50", "1", "$6,000,000", "2026-01-01 11:00:00"),
                          ElementsAre("Recent activity"), kActivityHeader,
                          // Newest trade first, BACKFILL included.
                          Row(2), Row(1), Row(3)));

  Result limited = Whalectl({"--utc", "whales", "get", kAlpha, "--limit=2"});
  ASSERT_EQ(limited.code, 0) << limited.err;
  EXPECT_THAT(Table(Lines(limited.out)), ::testing::Contains(Row(1)));
  EXPECT_THAT(Table(Lines(limited.out)), ::testing::Not(::testing::Contains(Row(3))));

  Result json = Whalectl({"-o", "json", "whales", "get", Upper(kAlpha)});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto response = ParseJson<v1::GetWhaleResponse>(json.out);
  v1::GetWhaleRequest request;
  request.set_wallet(kAlpha);
  EXPECT_THAT(response, EqualsProto(Direct(&v1::WhaleService::Stub::GetWhale, *whales_, request)));
  EXPECT_EQ(response.whale().wallet(), kAlpha);
  EXPECT_EQ(response.whale().source(), v1::WHALE_SOURCE_FILE);
  EXPECT_EQ(response.whale().trades_seen(), 3);
  ASSERT_THAT(response.whale().stats(), SizeIs(4));
  EXPECT_EQ(response.whale().stats(0).average_trade_usd(), "102880.625");
  ASSERT_THAT(response.recent_activity(), SizeIs(3));
  EXPECT_EQ(response.recent_activity(0).sequence(), Sequence(2));
  EXPECT_EQ(response.recent_activity(0).root_market_id(), 200);
  EXPECT_EQ(response.recent_activity(0).wallet_label(), "Alpha Fund");
  EXPECT_EQ(response.recent_activity(2).origin(), v1::ORIGIN_BACKFILL);
}

TEST_F(WhalectlWhaledReadTest, WhalesGetOfAWalletWithoutTradesSaysItMayBeASafeAddress) {
  Result r = Whalectl({"--utc", "whales", "get", kGamma});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(12)) << r.out;
  EXPECT_THAT(std::vector<std::string>(lines.begin(), lines.begin() + 6),
              ElementsAre(kGamma + "  Gamma", "  tracked         no", "  source          FILE",
                          "  last polled     2026-01-01 06:00:00",
                          "  next poll       2026-01-01 06:10:00", "  trades seen     0"));
  EXPECT_THAT(lines[6], StartsWith("  note: Opinion.Trade knows no trades of this address."));
  // Every window, with zero figures.
  EXPECT_THAT(Table({lines.begin() + 8, lines.end()}),
              ElementsAre(ElementsAre("24H", "-", "$0", "$0", "$0", "$0", "0", "0", "$0", "-"),
                          ElementsAre("7D", "-", "$0", "$0", "$0", "$0", "0", "0", "$0", "-"),
                          ElementsAre("30D", "-", "$0", "$0", "$0", "$0", "0", "0", "$0", "-"),
                          ElementsAre("ALL", "-", "$0", "$0", "$0", "$0", "0", "0", "$0", "-")));
}

TEST_F(WhalectlWhaledReadTest, WhalesGetErrors) {
  Result unknown = Whalectl({"whales", "get", kUnknown});
  EXPECT_EQ(unknown.code, kExitNotFound);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(unknown.err, absl::StrCat("whalectl: NOT_FOUND: wallet ", kUnknown, " is not known\n"));

  Result malformed = Whalectl({"whales", "get", "0x1234"});
  EXPECT_EQ(malformed.code, kExitInvalid);
  EXPECT_THAT(malformed.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  EXPECT_THAT(malformed.err, HasSubstr("wallet"));

  Result limit = Whalectl({"whales", "get", kAlpha, "--limit=-1"});
  EXPECT_EQ(limit.code, kExitInvalid);
  EXPECT_THAT(limit.err, StartsWith("whalectl: INVALID_ARGUMENT: recent_activity_limit"));

  Result missing = Whalectl({"whales", "get"});
  EXPECT_EQ(missing.code, kExitUsage);
}

TEST_F(WhalectlWhaledReadTest, ActivityListLeavesBackfillOutUnlessAsked) {
  Result r = Whalectl({"--utc", "activity", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(5)) << r.out;
  EXPECT_THAT(Table({lines.begin(), lines.begin() + 4}),
              ElementsAre(kActivityHeader, Row(4), Row(2), Row(1)));
  // The walk's resume token: watching from it continues where the list ended.
  v1::ListWhaleActivityResponse direct =
      Direct(&v1::WhaleService::Stub::ListWhaleActivity, *whales_, v1::ListWhaleActivityRequest());
  EXPECT_EQ(lines[4], "what came after: whalectl watch --from=" + direct.resume_token());

  Result backfill = Whalectl({"--utc", "activity", "list", "--include-backfill"});
  ASSERT_EQ(backfill.code, 0) << backfill.err;
  lines = Lines(backfill.out);
  ASSERT_THAT(lines, SizeIs(6)) << backfill.out;
  EXPECT_THAT(Table({lines.begin(), lines.begin() + 5}),
              ElementsAre(kActivityHeader, Row(4), Row(3), Row(2), Row(1)));

  Result json = Whalectl({"-o", "json", "activity", "list", "--include_backfill"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto page = ParseJson<v1::ListWhaleActivityResponse>(json.out);
  v1::ListWhaleActivityRequest request;
  request.set_include_backfill(true);
  EXPECT_THAT(page,
              EqualsProto(Direct(&v1::WhaleService::Stub::ListWhaleActivity, *whales_, request)));
  ASSERT_THAT(page.activities(), SizeIs(4));
  EXPECT_EQ(page.activities(0).sequence(), Sequence(4));
  EXPECT_EQ(page.activities(0).amount_usd(), "1000000");
  EXPECT_EQ(page.activities(0).wallet(), kBeta);
  EXPECT_EQ(page.activities(0).ingested_time().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Hours(12) + absl::Seconds(42)));
  EXPECT_EQ(page.activities(1).origin(), v1::ORIGIN_BACKFILL);
  EXPECT_EQ(page.activities(2).market_title(), "Alice");
  EXPECT_EQ(page.activities(2).root_market_title(), kElectionTitle);
  EXPECT_EQ(page.activities(2).side(), v1::SIDE_SELL);
  EXPECT_EQ(page.activities(3).activity_id().size(), 32u);
  EXPECT_NE(page.resume_token(), "");

  // In the local zone (UTC+9) without --utc.
  Result local = Whalectl({"activity", "list", absl::StrCat("--filter=sequence = ", Sequence(4))});
  ASSERT_EQ(local.code, 0) << local.err;
  lines = Lines(local.out);
  ASSERT_THAT(lines, SizeIs(3)) << local.out;
  EXPECT_EQ(Cells(lines[1])[0], "2026-01-01 21:00:00");
}

TEST_F(WhalectlWhaledReadTest, ActivityListFiltersOrdersAndPages) {
  Result alpha = Whalectl({"--utc", "activity", "list", "--filter", "wallet = \"" + kAlpha + "\""});
  ASSERT_EQ(alpha.code, 0) << alpha.err;
  std::vector<std::string> lines = Lines(alpha.out);
  ASSERT_THAT(lines, SizeIs(4)) << alpha.out;
  EXPECT_THAT(Table({lines.begin(), lines.begin() + 3}),
              ElementsAre(kActivityHeader, Row(2), Row(1)));

  Result big =
      Whalectl({"--utc", "activity", "list", "--include-backfill",
                "--filter=amount_usd >= 10000 AND side = BUY", "--order-by=amount_usd desc"});
  ASSERT_EQ(big.code, 0) << big.err;
  lines = Lines(big.out);
  ASSERT_THAT(lines, SizeIs(5)) << big.out;
  EXPECT_THAT(Table({lines.begin(), lines.begin() + 4}),
              ElementsAre(kActivityHeader, Row(4), Row(3), Row(1)));

  Result first = Whalectl({"--utc", "activity", "list", "--page_size=2"});
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string token = PageTokenIn(first.out);
  ASSERT_NE(token, "") << first.out;
  lines = Lines(first.out);
  ASSERT_THAT(lines, SizeIs(5)) << first.out;
  EXPECT_THAT(Table({lines.begin(), lines.begin() + 3}),
              ElementsAre(kActivityHeader, Row(4), Row(2)));
  EXPECT_EQ(lines[3], absl::StrCat("more: --page_token=", token, " (or --all)"));
  Result second = Whalectl({"--utc", "activity", "list", "--page_size=2", "--page_token=" + token});
  ASSERT_EQ(second.code, 0) << second.err;
  lines = Lines(second.out);
  ASSERT_THAT(lines, SizeIs(3)) << second.out;
  EXPECT_THAT(Table({lines.begin(), lines.begin() + 2}), ElementsAre(kActivityHeader, Row(1)));
  // Every page of a walk names the same position to watch from: the walk's mark.
  EXPECT_EQ(lines[2], Lines(first.out)[4]);
  EXPECT_THAT(lines[2], StartsWith("what came after: whalectl watch --from="));

  Result all = Whalectl({"--utc", "activity", "list", "--page_size=1", "--all"});
  ASSERT_EQ(all.code, 0) << all.err;
  lines = Lines(all.out);
  ASSERT_THAT(lines, SizeIs(5)) << all.out;
  EXPECT_THAT(Table({lines.begin(), lines.begin() + 4}),
              ElementsAre(kActivityHeader, Row(4), Row(2), Row(1)));

  Result json = Whalectl({"-o", "json", "activity", "list", "--page_size=1", "--all"});
  ASSERT_EQ(json.code, 0) << json.err;
  const std::vector<std::string> pages = Lines(json.out);
  ASSERT_THAT(pages, SizeIs(3));
  v1::ListWhaleActivityRequest request;
  request.set_page_size(1);
  const uint64_t sequences[] = {Sequence(4), Sequence(2), Sequence(1)};
  for (size_t i = 0; i < pages.size(); ++i) {
    const v1::ListWhaleActivityResponse expected =
        Direct(&v1::WhaleService::Stub::ListWhaleActivity, *whales_, request);
    const auto page = ParseJson<v1::ListWhaleActivityResponse>(pages[i]);
    EXPECT_THAT(page, EqualsProto(expected)) << "page " << i;
    ASSERT_THAT(page.activities(), SizeIs(1));
    EXPECT_EQ(page.activities(0).sequence(), sequences[i]);
    request.set_page_token(expected.next_page_token());
  }
}

TEST_F(WhalectlWhaledReadTest, ActivityListErrors) {
  Result field = Whalectl({"activity", "list", "--filter=colour = \"red\""});
  EXPECT_EQ(field.code, kExitInvalid);
  EXPECT_EQ(field.out, "");
  EXPECT_THAT(field.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  EXPECT_THAT(field.err, HasSubstr("colour"));

  Result mixed =
      Whalectl({"activity", "list", "--filter=side = BUY AND side = SELL OR sequence = 1"});
  EXPECT_EQ(mixed.code, kExitInvalid);
  EXPECT_THAT(mixed.err, HasSubstr("parentheses"));

  Result order = Whalectl({"activity", "list", "--order_by=amount_usd"});
  EXPECT_EQ(order.code, kExitInvalid);
  EXPECT_THAT(order.err, HasSubstr("order_by"));

  Result flag = Whalectl({"activity", "list", "--include-backfil"});
  EXPECT_EQ(flag.code, kExitUsage);
  EXPECT_THAT(flag.err, HasSubstr("unknown flag --include_backfil"));
}

TEST_F(WhalectlWhaledReadTest, SyncStatusShowsJobsLimiterAndFreshness) {
  const absl::Time now = *seeded_time_;
  Result r = Whalectl({"--utc", "sync", "status"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(10)) << r.out;
  EXPECT_THAT(
      Table({lines.begin(), lines.begin() + 5}),
      ElementsAre(ElementsAre("JOB", "HEALTHY", "LAST RUN", "STARTED", "ENDED", "ITEMS", "NEXT RUN",
                              "ERROR"),
                  ElementsAre("markets", "yes", "COMPLETED", UtcText(now - absl::Minutes(2)),
                              UtcText(now - absl::Minutes(1)), "1,234", "-"),
                  ElementsAre("whale_trades", "NO", "RUNNING", UtcText(now - absl::Seconds(30)),
                              "-", "0", "-"),
                  ElementsAre("stats", "NO", "FAILED", UtcText(now - absl::Minutes(10)),
                              UtcText(now - absl::Minutes(9)), "0", "-",
                              "upstream said: 503 Service Unavailable"),
                  ElementsAre("cleanup", "NO", "never", "-", "-", "0", "-")));
  // whaled runs no sync, so no replica holds the election lock.
  EXPECT_THAT(std::vector<std::string>(lines.begin() + 5, lines.end()),
              ElementsAre("  leader          none elected",
                          absl::StrCat("  rate limiter    12.00 req/s, 12,345 requests, 7 "
                                       "throttled (published ",
                                       UtcText(now - absl::Seconds(5)), ")"),
                          "  last whale poll 2026-01-01 12:00:42",  //
                          "  detection lag   42s",
                          ::testing::MatchesRegex(
                              absl::StrCat("  server          whaled ", WHALEFEED_VERSION,
                                           ", replica ", kReplicaId, ", schema [1-9][0-9]*"))));

  Result json = Whalectl({"-o", "json", "sync", "status"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto status = ParseJson<v1::GetSyncStatusResponse>(json.out);
  EXPECT_THAT(status, EqualsProto(Direct(&v1::SyncService::Stub::GetSyncStatus, *sync_,
                                         v1::GetSyncStatusRequest())));
  ASSERT_THAT(status.jobs(), SizeIs(4));
  EXPECT_EQ(status.jobs(0).job(), v1::SYNC_JOB_MARKETS);
  EXPECT_EQ(status.jobs(0).last_status(), v1::RUN_STATUS_COMPLETED);
  EXPECT_EQ(status.jobs(0).last_item_count(), 1234);
  EXPECT_TRUE(status.jobs(0).healthy());
  EXPECT_EQ(status.jobs(2).last_error(), "upstream said: 503 Service Unavailable");
  EXPECT_FALSE(status.jobs(2).healthy());
  EXPECT_EQ(status.leader_replica_id(), "");
  EXPECT_EQ(status.leader_epoch(), 1);
  EXPECT_EQ(status.limiter().requests_total(), 12345);
  EXPECT_EQ(status.limiter().throttled_total(), 7);
  EXPECT_EQ(status.detection_lag().seconds(), 42);
  EXPECT_EQ(status.server().replica_id(), kReplicaId);
  EXPECT_EQ(status.server().version(), WHALEFEED_VERSION);

  Result extra = Whalectl({"sync", "status", "now"});
  EXPECT_EQ(extra.code, kExitUsage);
}

TEST_F(WhalectlWhaledReadTest, HealthOfTheServerAndOfEachJob) {
  Result serving = Whalectl({"health"});
  EXPECT_EQ(serving.code, 0) << serving.err;
  EXPECT_EQ(serving.out, "SERVING\n");
  Result json = Whalectl({"-o", "json", "health"});
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(ParseJson<HealthCheckResponse>(json.out).status(), HealthCheckResponse::SERVING);

  Result markets = Whalectl({"health", "whalefeed.sync.markets"});
  EXPECT_EQ(markets.code, 0) << markets.err;
  EXPECT_EQ(markets.out, "SERVING\n");
  // Its last run failed: not serving, exit 1, in JSON too.
  Result stats = Whalectl({"health", "whalefeed.sync.stats"});
  EXPECT_EQ(stats.code, kExitError);
  EXPECT_EQ(stats.out, "NOT_SERVING\n");
  Result stats_json = Whalectl({"-o", "json", "health", "whalefeed.sync.stats"});
  EXPECT_EQ(stats_json.code, kExitError);
  EXPECT_EQ(ParseJson<HealthCheckResponse>(stats_json.out).status(),
            HealthCheckResponse::NOT_SERVING);

  Result unknown = Whalectl({"health", "whalefeed.sync.everything"});
  EXPECT_EQ(unknown.code, kExitNotFound);
  EXPECT_EQ(unknown.err,
            "whalectl: NOT_FOUND: the server knows no health service "
            "\"whalefeed.sync.everything\"\n");
}

TEST_F(WhalectlWhaledReadTest, TheServerFromTheEnvironment) {
  // No --server: WHALEFEED_SERVER names the replicas, a dead one first.
  ASSERT_OK_AND_ASSIGN(
      auto process,
      Subprocess::Start(
          {WHALECTL_PATH, "--utc", "markets", "list", "--filter=market_id = 300"},
          Environment({{"WHALEFEED_SERVER", "127.0.0.1:1," + deployment_->address()}}),
          Subprocess::Streams::kSeparate));
  ASSERT_OK_AND_ASSIGN(const int code, process->Wait(absl::Seconds(60)));
  EXPECT_EQ(code, 0) << process->ErrorOutput();
  EXPECT_THAT(Table(Lines(process->Output())),
              ElementsAre(kMarketsHeader, kEthRow, ElementsAre("1 of 1 markets")));
}

TEST_F(WhalectlWhaledReadTest, VersionOfTheToolAndTheServer) {
  v1::GetSyncStatusResponse status =
      Direct(&v1::SyncService::Stub::GetSyncStatus, *sync_, v1::GetSyncStatusRequest());
  Result r = Whalectl({"--utc", "version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            absl::StrCat(
                "whalectl ", WHALEFEED_VERSION, "\nwhaled ", WHALEFEED_VERSION, " (replica ",
                kReplicaId, ", schema ", status.server().schema_version(), ", started ",
                UtcText(absl::FromUnixSeconds(status.server().started_time().seconds())), ")\n"));

  Result json = Whalectl({"-o", "json", "version"});
  ASSERT_EQ(json.code, 0) << json.err;
  // {"client": {...}, "server": ServerInfo}: read with RapidJSON, the server part then parsed as
  // its message.
  rapidjson::Document object;
  object.Parse(json.out.c_str());
  ASSERT_FALSE(object.HasParseError()) << json.out;
  ASSERT_TRUE(object.IsObject() && object.HasMember("client") && object["client"].IsObject() &&
              object["client"].HasMember("version") && object["client"]["version"].IsString())
      << json.out;
  EXPECT_EQ(std::string(object["client"]["version"].GetString()), WHALEFEED_VERSION);
  ASSERT_TRUE(object.HasMember("server")) << json.out;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  object["server"].Accept(writer);
  const std::string server_json = buffer.GetString();
  EXPECT_THAT(ParseJson<v1::ServerInfo>(server_json), EqualsProto(status.server()));
}

TEST_F(WhalectlWhaledReadTest, AdminCommandsAreRefusedWhenTheServerHasNoAdminToken) {
  Result track = Whalectl({"--admin_token=anything", "whales", "track", kUnknown});
  EXPECT_EQ(track.code, kExitDenied);
  EXPECT_EQ(track.out, "");
  EXPECT_THAT(track.err, StartsWith("whalectl: PERMISSION_DENIED: admin calls are disabled"));
  Result run = Whalectl({"sync", "run", "markets"}, {{"WHALEFEED_ADMIN_TOKEN", "anything"}});
  EXPECT_EQ(run.code, kExitDenied);
  EXPECT_THAT(run.err, StartsWith("whalectl: PERMISSION_DENIED: admin calls are disabled"));
}

// ---- The commands that change data, and watch: a whaled with an admin token ----

class WhalectlWhaledAdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Deployment>> d = Deployment::Create();
    absl::Status status = d.status();
    if (status.ok()) {
      deployment_ = d->release();
      status = Setup(*deployment_);
    }
    setup_ = new absl::Status(status);
  }
  static absl::Status Setup(Deployment& d) {
    RETURN_IF_ERROR(
        d.store().TrackWhale(kAlpha, "Alpha Fund", db::WhaleSource::kFile, kT0).status());
    RETURN_IF_ERROR(d.store().TrackWhale(kBeta, "", db::WhaleSource::kFile, kT0).status());
    return d.StartWhaled({"--admin_token=" + std::string(kAdminToken)});
  }
  static void TearDownTestSuite() {
    delete deployment_;
    deployment_ = nullptr;
    delete setup_;
  }
  void SetUp() override {
    ASSERT_OK(*setup_) << (deployment_ == nullptr ? "" : deployment_->WhaledOutput());
    whales_ = v1::WhaleService::NewStub(deployment_->channel());
  }

  static Result Whalectl(std::vector<std::string> args,
                         const std::map<std::string, std::string>& env = {}) {
    return deployment_->Whalectl(std::move(args), env);
  }

  // Commits `trades` of `wallet` as a poll would.
  static absl::Status Ingest(const std::string& wallet, const std::vector<db::Activity>& trades) {
    const absl::Time now = absl::Now();
    return IngestPoll(*deployment_, wallet, trades,
                      {now, now + absl::Minutes(1), static_cast<int64_t>(trades.size())}, now);
  }

  std::unique_ptr<v1::WhaleService::Stub> whales_;

  static Deployment* deployment_;
  static absl::Status* setup_;
};

Deployment* WhalectlWhaledAdminTest::deployment_ = nullptr;
absl::Status* WhalectlWhaledAdminTest::setup_ = nullptr;

TEST_F(WhalectlWhaledAdminTest, TrackAndUntrackWithTheTokenFromTheFlagOrTheEnvironment) {
  const std::string wallet = Wallet('e');
  Result track = Whalectl(
      {"--utc", "--admin_token", kAdminToken, "whales", "track", wallet, "--label=Epsilon"});
  ASSERT_EQ(track.code, 0) << track.err;
  std::vector<std::string> lines = Lines(track.out);
  ASSERT_THAT(lines, SizeIs(11)) << track.out;
  EXPECT_EQ(lines[0], "tracking " + wallet);
  EXPECT_EQ(lines[1], wallet + "  Epsilon");
  EXPECT_THAT(lines[2], ::testing::MatchesRegex("  tracked         yes, since "
                                                "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}"));
  EXPECT_EQ(lines[3], "  source          API");
  EXPECT_EQ(lines[4], "  last polled     -");
  EXPECT_EQ(lines[5], "  trades seen     0");
  EXPECT_THAT(Cells(lines[6]), ElementsAre("WINDOW", "RANK", "VOLUME", "BUY", "SELL", "PROFIT",
                                           "TRADES", "MARKETS", "LARGEST", "LAST TRADE"));

  v1::GetWhaleRequest get;
  get.set_wallet(wallet);
  // The token from the environment; an upper-case address is the same wallet. Tracking a tracked
  // wallet changes its label.
  Result relabel =
      Whalectl({"-o", "json", "whales", "track", Upper(wallet), "--label", "Epsilon Capital"},
               {{"WHALEFEED_ADMIN_TOKEN", kAdminToken}});
  ASSERT_EQ(relabel.code, 0) << relabel.err;
  auto whale = ParseJson<v1::Whale>(relabel.out);
  EXPECT_THAT(whale, EqualsProto(Direct(&v1::WhaleService::Stub::GetWhale, *whales_, get).whale()));
  EXPECT_EQ(whale.wallet(), wallet);
  EXPECT_EQ(whale.label(), "Epsilon Capital");
  EXPECT_TRUE(whale.tracked());
  EXPECT_EQ(whale.source(), v1::WHALE_SOURCE_API);
  EXPECT_THAT(whale.stats(), SizeIs(4));

  Result untrack =
      Whalectl({"--utc", "whales", "untrack", wallet}, {{"WHALEFEED_ADMIN_TOKEN", kAdminToken}});
  ASSERT_EQ(untrack.code, 0) << untrack.err;
  lines = Lines(untrack.out);
  ASSERT_THAT(lines, SizeIs(11)) << untrack.out;
  EXPECT_EQ(lines[0], "no longer tracking " + wallet);
  EXPECT_EQ(lines[1], wallet + "  Epsilon Capital");
  EXPECT_EQ(lines[2], "  tracked         no");

  Result untrack_json = Whalectl(
      {"-o", "json", "--admin-token=" + std::string(kAdminToken), "whales", "untrack", wallet});
  ASSERT_EQ(untrack_json.code, 0) << untrack_json.err;
  whale = ParseJson<v1::Whale>(untrack_json.out);
  EXPECT_THAT(whale, EqualsProto(Direct(&v1::WhaleService::Stub::GetWhale, *whales_, get).whale()));
  EXPECT_FALSE(whale.tracked());
  EXPECT_EQ(whale.label(), "Epsilon Capital");

  // The flag beats the environment.
  Result both = Whalectl({"--admin_token=" + std::string(kAdminToken), "whales", "track", wallet},
                         {{"WHALEFEED_ADMIN_TOKEN", "wrong"}});
  EXPECT_EQ(both.code, 0) << both.err;
}

TEST_F(WhalectlWhaledAdminTest, AdminCommandsWithoutOrWithAWrongToken) {
  const std::string wallet = Wallet('f');
  Result missing = Whalectl({"whales", "track", wallet});
  EXPECT_EQ(missing.code, kExitDenied);
  EXPECT_EQ(missing.out, "");
  EXPECT_THAT(missing.err, StartsWith("whalectl: UNAUTHENTICATED: "));
  Result wrong = Whalectl({"--admin_token=not-the-token", "whales", "track", wallet});
  EXPECT_EQ(wrong.code, kExitDenied);
  EXPECT_EQ(wrong.err, "whalectl: PERMISSION_DENIED: admin token is wrong\n");
  Result wrong_env = Whalectl({"whales", "untrack", kAlpha}, {{"WHALEFEED_ADMIN_TOKEN", "nope"}});
  EXPECT_EQ(wrong_env.code, kExitDenied);
  EXPECT_EQ(wrong_env.err, "whalectl: PERMISSION_DENIED: admin token is wrong\n");
  Result sync_missing = Whalectl({"sync", "run", "stats"});
  EXPECT_EQ(sync_missing.code, kExitDenied);
  EXPECT_THAT(sync_missing.err, StartsWith("whalectl: UNAUTHENTICATED: "));
  Result sync_wrong = Whalectl({"--admin_token=not-the-token", "sync", "run", "stats"});
  EXPECT_EQ(sync_wrong.code, kExitDenied);
  EXPECT_EQ(sync_wrong.err, "whalectl: PERMISSION_DENIED: admin token is wrong\n");
  // Nothing changed.
  v1::GetWhaleRequest get;
  get.set_wallet(wallet);
  v1::GetWhaleResponse response;
  auto context = Context();
  EXPECT_EQ(whales_->GetWhale(context.get(), get, &response).error_code(), grpc::NOT_FOUND);

  // With the token, the server's own refusals keep their codes.
  Result unknown =
      Whalectl({"--admin_token=" + std::string(kAdminToken), "whales", "untrack", Wallet('9')});
  EXPECT_EQ(unknown.code, kExitNotFound);
  EXPECT_EQ(unknown.err,
            absl::StrCat("whalectl: NOT_FOUND: wallet ", Wallet('9'), " is not known\n"));
  Result malformed =
      Whalectl({"--admin_token=" + std::string(kAdminToken), "whales", "track", "0xnot-a-wallet"});
  EXPECT_EQ(malformed.code, kExitInvalid);
  EXPECT_THAT(malformed.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  Result label = Whalectl({"--admin_token=" + std::string(kAdminToken), "whales", "track", wallet,
                           "--label=" + std::string(300, 'x')});
  EXPECT_EQ(label.code, kExitInvalid);
  EXPECT_THAT(label.err, StartsWith("whalectl: INVALID_ARGUMENT: label: 300 characters"));
}

TEST_F(WhalectlWhaledAdminTest, SyncRunQueuesAJobOnce) {
  const std::map<std::string, std::string> admin = {{"WHALEFEED_ADMIN_TOKEN", kAdminToken}};
  Result first = Whalectl({"sync", "run", "markets"}, admin);
  EXPECT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.out, "queued a markets run; the leader starts it within seconds\n");
  // No leader takes it (whaled runs no sync): the request stays pending.
  Result again = Whalectl({"sync", "run", "MARKETS"}, admin);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, "markets is already running or queued; nothing new was queued\n");

  const absl::Time before = absl::Now();
  Result json =
      Whalectl({"-o", "json", "--admin_token", kAdminToken, "sync", "run", "whale-trades"});
  EXPECT_EQ(json.code, 0) << json.err;
  auto response = ParseJson<v1::RunSyncJobResponse>(json.out);
  EXPECT_TRUE(response.accepted());
  EXPECT_GE(response.requested_time().seconds(), absl::ToUnixSeconds(before) - 1);
  EXPECT_LE(response.requested_time().seconds(), absl::ToUnixSeconds(absl::Now()) + 1);
  Result json_again =
      Whalectl({"-o", "json", "--admin_token", kAdminToken, "sync", "run", "whale_trades"});
  EXPECT_EQ(json_again.code, 0) << json_again.err;
  response = ParseJson<v1::RunSyncJobResponse>(json_again.out);
  EXPECT_FALSE(response.accepted());
  EXPECT_FALSE(response.has_requested_time());

  Result job = Whalectl({"sync", "run", "everything"}, admin);
  EXPECT_EQ(job.code, kExitUsage);
  EXPECT_THAT(job.err,
              HasSubstr("JOB must be markets, whale_trades, stats or cleanup, got \"everything\""));
  Result none = Whalectl({"sync", "run"}, admin);
  EXPECT_EQ(none.code, kExitUsage);
}

// The activity lines of a watch's output (heartbeat lines left out).
std::vector<std::string> ActivityLines(const std::string& out) {
  std::vector<std::string> lines;
  for (const std::string& line : Lines(out)) {
    if (!absl::StartsWith(line, "-- heartbeat ")) lines.push_back(line);
  }
  return lines;
}

TEST_F(WhalectlWhaledAdminTest, WatchPrintsActivityCommittedAfterItStartsAndEndsOnSigterm) {
  ASSERT_OK_AND_ASSIGN(auto watch, deployment_->StartWhalectl({"--utc", "--verbose", "watch"}));
  ASSERT_OK_AND_ASSIGN(
      auto with_backfill,
      deployment_->StartWhalectl({"--utc", "--verbose", "watch", "--include-backfill"}));
  // The first message of every stream is a heartbeat at the start position: from here on, every
  // commit reaches the watch.
  for (Subprocess* process : {watch.get(), with_backfill.get()}) {
    ASSERT_OK_AND_ASSIGN(const std::string heartbeat,
                         process->WaitForLine("-- heartbeat", absl::Seconds(30)));
    EXPECT_THAT(heartbeat, HasSubstr("(caught up)"));
  }

  db::Activity live = Trade(TxHash(100), 101, db::Side::kBuy, db::Outcome::kYes, "250000.75",
                            Utc(2026, 1, 2, 9, 30), db::Origin::kLive);
  db::Activity backfill = Trade(TxHash(101), 300, db::Side::kSell, db::Outcome::kNo, "99999",
                                Utc(2025, 12, 20), db::Origin::kBackfill);
  db::Activity beta = Trade(TxHash(102), 300, db::Side::kSell, db::Outcome::kNo, "1234567.5",
                            Utc(2026, 1, 2, 9, 31), db::Origin::kLive);
  ASSERT_OK(Ingest(kAlpha, {backfill, live}));
  ASSERT_OK(Ingest(kBeta, {beta}));
  const std::string backfill_line = absl::StrCat(
      "2025-12-20 00:00:00  Alpha Fund        SELL  NO         $99,999  [backfill] ", kEthTitle);
  const std::string live_line =
      absl::StrCat("2026-01-02 09:30:00  Alpha Fund        BUY   YES     $250,000.75  ", kBtcTitle);
  const std::string beta_line =
      absl::StrCat("2026-01-02 09:31:00  0xbbbb…bbbb       SELL  NO    $1,234,567.5  ", kEthTitle);
  // The last commit's line: every earlier one is printed before it.
  for (Subprocess* process : {watch.get(), with_backfill.get()}) {
    ASSERT_OK(process->WaitForLine("$1,234,567.5", absl::Seconds(30)).status())
        << process->Output();
  }

  watch->Signal(SIGTERM);
  with_backfill->Signal(SIGTERM);
  for (Subprocess* process : {watch.get(), with_backfill.get()}) {
    ASSERT_OK_AND_ASSIGN(const int code, process->Wait(absl::Seconds(30)));
    EXPECT_EQ(code, 0) << process->ErrorOutput();
    EXPECT_EQ(process->ErrorOutput(), "");
  }
  // In commit order; the BACKFILL trade only with --include-backfill, marked.
  EXPECT_THAT(ActivityLines(watch->Output()), ElementsAre(live_line, beta_line));
  EXPECT_THAT(ActivityLines(with_backfill->Output()),
              ElementsAre(backfill_line, live_line, beta_line));
}

TEST_F(WhalectlWhaledAdminTest, WatchInJsonWithAFilterAndBackfillEndsOnSigint) {
  ASSERT_OK_AND_ASSIGN(auto watch, deployment_->StartWhalectl(
                                       {"-o", "json", "watch", "--include-backfill", "--filter",
                                        "wallet = \"" + kAlpha + "\" AND side = SELL"}));
  ASSERT_OK(watch->WaitForLine("\"heartbeat\"", absl::Seconds(30)).status()) << watch->Output();

  ASSERT_OK(Ingest(kBeta, {Trade(TxHash(200), 300, db::Side::kSell, db::Outcome::kNo, "5000",
                                 Utc(2026, 1, 3), db::Origin::kLive)}));
  ASSERT_OK(Ingest(kAlpha, {Trade(TxHash(201), 101, db::Side::kBuy, db::Outcome::kYes, "6000",
                                  Utc(2026, 1, 3, 1), db::Origin::kLive),
                            Trade(TxHash(202), 101, db::Side::kSell, db::Outcome::kNo, "7000.5",
                                  Utc(2025, 12, 25), db::Origin::kBackfill)}));
  ASSERT_OK(watch->WaitForLine("\"activities\"", absl::Seconds(30)).status()) << watch->Output();

  watch->Signal(SIGINT);
  ASSERT_OK_AND_ASSIGN(const int code, watch->Wait(absl::Seconds(30)));
  EXPECT_EQ(code, 0) << watch->ErrorOutput();
  EXPECT_EQ(watch->ErrorOutput(), "");

  const std::vector<std::string> lines = Lines(watch->Output());
  ASSERT_THAT(lines, ::testing::Not(IsEmpty()));
  const auto first = ParseJson<v1::WatchWhaleActivityResponse>(lines[0]);
  EXPECT_TRUE(first.has_heartbeat()) << lines[0];
  EXPECT_TRUE(first.heartbeat().caught_up());
  EXPECT_NE(first.resume_token(), "");
  std::vector<v1::WhaleActivity> activities;
  for (const std::string& line : lines) {
    const auto message = ParseJson<v1::WatchWhaleActivityResponse>(line);
    EXPECT_NE(message.resume_token(), "") << line;
    for (const v1::WhaleActivity& a : message.activities()) activities.push_back(a);
  }
  // Only Alpha's SELL, a BACKFILL trade, passes the filter.
  ASSERT_THAT(activities, SizeIs(1)) << watch->Output();
  EXPECT_EQ(activities[0].wallet(), kAlpha);
  EXPECT_EQ(activities[0].wallet_label(), "Alpha Fund");
  EXPECT_EQ(activities[0].side(), v1::SIDE_SELL);
  EXPECT_EQ(activities[0].origin(), v1::ORIGIN_BACKFILL);
  EXPECT_EQ(activities[0].amount_usd(), "7000.5");
  EXPECT_EQ(activities[0].tx_hash(), TxHash(202));
  EXPECT_EQ(activities[0].traded_time().seconds(), absl::ToUnixSeconds(Utc(2025, 12, 25)));
}

TEST_F(WhalectlWhaledAdminTest, WatchFromAnActivityListContinuesWhereTheListEnded) {
  ASSERT_OK(Ingest(kAlpha, {Trade(TxHash(300), 101, db::Side::kBuy, db::Outcome::kYes, "300",
                                  Utc(2026, 1, 4), db::Origin::kLive)}));
  Result list = Whalectl({"--utc", "activity", "list", "--page_size=1"});
  ASSERT_EQ(list.code, 0) << list.err;
  std::string from;
  for (const std::string& line : Lines(list.out)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "what came after: whalectl watch --from="))
      from = std::string(rest);
  }
  ASSERT_NE(from, "") << list.out;
  // Committed after the list: the watch from its token starts with exactly this one.
  ASSERT_OK(Ingest(kAlpha, {Trade(TxHash(301), 101, db::Side::kSell, db::Outcome::kYes, "301",
                                  Utc(2026, 1, 4, 1), db::Origin::kLive)}));
  ASSERT_OK_AND_ASSIGN(auto watch,
                       deployment_->StartWhalectl({"-o", "json", "watch", "--from=" + from}));
  ASSERT_OK(watch->WaitForLine("\"activities\"", absl::Seconds(30)).status()) << watch->Output();
  watch->Signal(SIGTERM);
  ASSERT_OK_AND_ASSIGN(const int code, watch->Wait(absl::Seconds(30)));
  EXPECT_EQ(code, 0) << watch->ErrorOutput();
  std::vector<std::string> hashes;
  for (const std::string& line : Lines(watch->Output())) {
    const auto message = ParseJson<v1::WatchWhaleActivityResponse>(line);
    for (const auto& a : message.activities()) {
      hashes.push_back(a.tx_hash());
    }
  }
  EXPECT_THAT(hashes, ElementsAre(TxHash(301)));
}

TEST_F(WhalectlWhaledAdminTest, WatchErrors) {
  Result filter = Whalectl({"watch", "--filter=colour = \"red\""});
  EXPECT_EQ(filter.code, kExitInvalid);
  EXPECT_THAT(filter.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  EXPECT_THAT(filter.err, HasSubstr("colour"));
  Result token = Whalectl({"watch", "--from=not-a-resume-token"});
  EXPECT_EQ(token.code, kExitInvalid);
  EXPECT_THAT(token.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  Result interval = Whalectl({"watch", "--heartbeat_interval=90s"});
  EXPECT_EQ(interval.code, kExitInvalid);
  EXPECT_THAT(interval.err, StartsWith("whalectl: INVALID_ARGUMENT: "));
  Result extra = Whalectl({"watch", "everything"});
  EXPECT_EQ(extra.code, kExitUsage);
}

}  // namespace
}  // namespace whalefeed
