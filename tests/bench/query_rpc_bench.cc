// Unary read RPCs of a real whaled over loopback, against the floors of an RPC measured in the same
// run:
// - GetMarket, ListMarkets (50 rows), GetWhale, ListWhales (50 rows) served by whaled (a child
//   process, on a private MariaDB seeded here);
// - grpc.health.v1.Health/Check on the same whaled: the floor cost of an RPC there;
// - a bare callback server of this tool's own that answers each method with the very bytes whaled
//   answered it with: the floor cost of carrying that payload. It runs as a child process
//   (this binary again, --serve_bytes), as whaled does, so that both sides pay the same process
//   boundary and scheduling.
// Every call goes through one generic stub (request bytes prepared once, responses not parsed), so
// the client's cost is the same for whaled and for the bare server. Each cell keeps `concurrency`
// calls in flight for --duration and prints QPS, p50 and p99, and the ratios the goals use:
// GetMarket / Check, and every RPC / its same-bytes floor.
//
// Run through deploy/bench, which builds whaled, starts a private MariaDB and sets
// WHALEFEED_TEST_MYSQL_DSN.
#include <cppconn/exception.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "db/mysql_store.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(3), "measured time per cell");
ABSL_FLAG(absl::Duration, warmup, absl::Milliseconds(500), "unmeasured time before each cell");
ABSL_FLAG(std::string, concurrency, "1,16,64", "calls kept in flight, a comma list");
ABSL_FLAG(int, markets, 2000, "top-level markets seeded (one in eight categorical, 3 children)");
ABSL_FLAG(int, whales, 500, "whales seeded, each with stats for every window");
ABSL_FLAG(std::string, serve_bytes, "",
          "internal: serve the same-bytes floor from this file (lines of method, tab, base64 "
          "answer), print \"ready PORT\" and run until SIGTERM");

namespace whalefeed::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string Wallet(int i) { return absl::StrFormat("0x%040x", 0xa11ce0000 + i); }

// Markets, whales and their stats, as the sync would have left them.
absl::Status Seed(db::MySqlStore& store, const testing::TestDatabase& database) {
  const absl::Time now = absl::Now();
  ASSIGN_OR_RETURN(db::Fence fence, store.AdvanceLeaderEpoch("bench", now));
  std::vector<db::Market> markets;
  int64_t next_child = 1000000;
  for (int i = 1; i <= absl::GetFlag(FLAGS_markets); ++i) {
    db::Market m;
    m.market_id = i;
    m.title = absl::StrCat("Will benchmark market number ", i, " resolve YES before the deadline?");
    m.status = db::MarketStatus::kActivated;
    m.market_type = i % 8 == 0 ? db::MarketType::kCategorical : db::MarketType::kBinary;
    if (m.market_type == db::MarketType::kBinary) {
      m.yes_label = "YES";
      m.no_label = "NO";
      m.yes_token_id =
          absl::StrCat("1157920892373161954235709850086879078532699846656405640394", i);
      m.no_token_id = absl::StrCat("2157920892373161954235709850086879078532699846656405640394", i);
    }
    m.volume = absl::StrCat(i * 1000, ".25");
    m.volume_24h = absl::StrCat((i * 7919) % 100000, ".5");
    m.volume_7d = absl::StrCat((i * 104729) % 1000000, ".75");
    m.labels = {"crypto", absl::StrCat("tag", i % 10)};
    m.slug = absl::StrCat("benchmark-market-", i);
    m.rules = "Resolves YES if the benchmark says so.";
    m.created_time = now - absl::Hours(24 * 30) + absl::Minutes(i);
    m.cutoff_time = now + absl::Hours(24 * 30) + absl::Minutes(i);
    markets.push_back(m);
    if (m.market_type == db::MarketType::kCategorical) {
      for (int c = 0; c < 3; ++c) {
        db::Market child = m;
        child.market_id = next_child++;
        child.parent_market_id = m.market_id;
        child.market_type = db::MarketType::kBinary;
        child.title = absl::StrCat("Option ", c);
        child.yes_label = "YES";
        child.no_label = "NO";
        child.yes_token_id = absl::StrCat(child.market_id, "1");
        child.no_token_id = absl::StrCat(child.market_id, "2");
        child.slug.clear();
        markets.push_back(std::move(child));
      }
    }
  }
  for (size_t i = 0; i < markets.size(); i += 500) {
    const size_t n = std::min<size_t>(500, markets.size() - i);
    RETURN_IF_ERROR(
        store.UpsertMarkets(fence, absl::MakeConstSpan(markets).subspan(i, n), now).status());
  }
  ASSIGN_OR_RETURN(std::unique_ptr<db::MySqlConnection> conn, database.Connect());
  for (int i = 0; i < absl::GetFlag(FLAGS_whales); ++i) {
    RETURN_IF_ERROR(
        store.TrackWhale(Wallet(i), absl::StrCat("whale ", i), db::WhaleSource::kFile, now)
            .status());
    for (int window = 1; window <= 4; ++window) {
      try {
        conn->Execute(absl::StrFormat(
            "INSERT INTO whale_stats (wallet, window_kind, volume_usd, buy_volume_usd, "
            "sell_volume_usd, realized_profit_usd, largest_trade_usd, average_trade_usd, "
            "trade_count, markets_traded, first_trade_time, last_trade_time, `rank`, "
            "computed_time) VALUES ('%s', %d, %d.5, %d, %d.5, 12.25, 9000, 450.5, %d, %d, "
            "UTC_TIMESTAMP(6) - INTERVAL 20 DAY, UTC_TIMESTAMP(6), %d, UTC_TIMESTAMP(6))",
            Wallet(i), window, (i * 7907) % 1000000 * window, (i * 7907) % 500000 * window,
            (i * 7907) % 500000 * window, 10 + i % 90, 1 + i % 30, i + 1));
      } catch (const sql::SQLException& e) {
        return absl::InternalError(absl::StrCat("seeding whale_stats: ", e.what()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> StartWhaled(const std::string& url, std::unique_ptr<testing::Subprocess>* out) {
  ASSIGN_OR_RETURN(*out, testing::Subprocess::Start({WHALED_PATH, "--listen=127.0.0.1:0",
                                                     "--mysql_dsn=" + url, "--sync_enabled=false"},
                                                    {}));
  ASSIGN_OR_RETURN(std::string line, (*out)->WaitForLine("listening on", absl::Seconds(60)));
  const size_t colon = line.find(':', line.find("listening on"));
  int port = 0;
  size_t end = colon + 1;
  while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) ++end;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(line.substr(colon + 1, end - colon - 1), &port)) {
    return absl::InternalError("no port in: " + line);
  }
  return port;
}

// Answers every call of method M with bytes_[M]: no parsing, no work, the payload's floor.
class SameBytesService final : public grpc::CallbackGenericService {
 public:
  explicit SameBytesService(std::map<std::string, std::string> bytes) : bytes_(std::move(bytes)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    auto it = bytes_.find(context->method());
    return new Reactor(it == bytes_.end() ? nullptr : &it->second);
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(const std::string* bytes) : bytes_(bytes) {
      if (bytes_ == nullptr) {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no bytes for this method"));
        return;
      }
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status::OK);
        return;
      }
      grpc::Slice slice(*bytes_);
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    const std::string* bytes_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  const std::map<std::string, std::string> bytes_;
};

struct Cell {
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;
  std::string first_error;
};

// Keeps `concurrency` calls of `method` in flight over `stub` for warmup + duration.
class Load {
 public:
  Load(grpc::GenericStub* stub, std::string method, const std::string& request, int concurrency)
      : stub_(stub), method_(std::move(method)), slots_(concurrency) {
    grpc::Slice slice(request);
    request_ = grpc::ByteBuffer(&slice, 1);
  }

  Cell Run(absl::Duration warmup, absl::Duration duration) {
    remaining_.store(static_cast<int>(slots_.size()));
    const auto start = Clock::now();
    measure_from_ = start + absl::ToChronoNanoseconds(warmup);
    stop_at_ = measure_from_ + absl::ToChronoNanoseconds(duration);
    for (size_t i = 0; i < slots_.size(); ++i) Issue(i);
    done_.WaitForNotification();
    std::vector<int64_t> all;
    Cell cell;
    for (Slot& slot : slots_) {
      all.insert(all.end(), slot.latencies_ns.begin(), slot.latencies_ns.end());
      cell.errors += slot.errors;
      if (cell.first_error.empty()) cell.first_error = slot.first_error;
    }
    std::sort(all.begin(), all.end());
    cell.qps = static_cast<double>(all.size()) / absl::ToDoubleSeconds(duration);
    if (!all.empty()) {
      cell.p50_ms = all[all.size() / 2] / 1e6;
      cell.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)] / 1e6;
    }
    return cell;
  }

 private:
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    grpc::ByteBuffer response;
    Clock::time_point started;
    std::vector<int64_t> latencies_ns;
    int64_t errors = 0;
    std::string first_error;
  };

  void Issue(size_t i) {
    Slot& slot = slots_[i];
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.started = Clock::now();
    stub_->UnaryCall(slot.context.get(), method_, grpc::StubOptions(), &request_, &slot.response,
                     [this, i](grpc::Status status) { OnDone(i, status); });
  }

  // Calls of one slot run one after another, so its fields need no lock.
  void OnDone(size_t i, const grpc::Status& status) {
    Slot& slot = slots_[i];
    const auto now = Clock::now();
    if (!status.ok()) {
      if (slot.errors++ == 0) {
        slot.first_error = absl::StrCat(status.error_code(), ": ", status.error_message());
      }
    } else if (slot.started >= measure_from_ && now <= stop_at_) {
      slot.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.started).count());
    }
    if (now >= stop_at_ || slot.errors > 100) {
      if (remaining_.fetch_sub(1) == 1) done_.Notify();
      return;
    }
    Issue(i);
  }

  grpc::GenericStub* const stub_;
  const std::string method_;
  grpc::ByteBuffer request_;
  std::vector<Slot> slots_;
  Clock::time_point measure_from_;
  Clock::time_point stop_at_;
  std::atomic<int> remaining_{0};
  absl::Notification done_;
};

struct Rpc {
  std::string name;
  std::string method;
  std::string request;   // serialised
  std::string response;  // what whaled answered, serialised ("" when it failed)
};

std::shared_ptr<grpc::Channel> Channel(const std::string& target) {
  grpc::ChannelArguments args;
  // A channel of its own per run, never shared with another through gRPC's subchannel pool.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// The floor server's child process: serves the answers in `path` until SIGTERM.
int ServeBytes(const std::string& path) {
  // Blocked before gRPC starts its threads, so that only sigwait below takes it.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::map<std::string, std::string> bytes;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    std::string answer;
    if (tab == std::string::npos || !absl::Base64Unescape(line.substr(tab + 1), &answer)) {
      std::fprintf(stderr, "query_rpc_bench: %s: bad line\n", path.c_str());
      return 1;
    }
    bytes[line.substr(0, tab)] = std::move(answer);
  }
  SameBytesService service(std::move(bytes));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "query_rpc_bench: the floor server cannot listen\n");
    return 1;
  }
  std::printf("ready %d\n", port);
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

int Main() {
  auto database = testing::TestDatabase::Create();
  if (!database.ok()) {
    std::fprintf(stderr, "query_rpc_bench: %s\n", database.status().ToString().c_str());
    return 1;
  }
  db::MySqlStoreOptions options;
  options.dsn = (*database)->dsn();
  auto store = db::MySqlStore::Create(options);
  absl::Status status = store.ok() ? (*store)->PrepareDatabase() : store.status();
  if (status.ok()) status = Seed(**store, **database);
  if (!status.ok()) {
    std::fprintf(stderr, "query_rpc_bench: seeding: %s\n", status.ToString().c_str());
    return 1;
  }
  std::unique_ptr<testing::Subprocess> whaled;
  absl::StatusOr<int> port = StartWhaled((*database)->url(), &whaled);
  if (!port.ok()) {
    std::fprintf(stderr, "query_rpc_bench: whaled: %s\n", port.status().ToString().c_str());
    return 1;
  }
  const std::string target = absl::StrCat("127.0.0.1:", *port);

  std::vector<Rpc> rpcs;
  {
    grpc::health::v1::HealthCheckRequest check;
    rpcs.push_back({"Health/Check", "/grpc.health.v1.Health/Check", check.SerializeAsString(), ""});
    v1::GetMarketRequest get_market;
    get_market.set_market_id(8);  // a categorical parent: comes with its children
    rpcs.push_back(
        {"GetMarket", "/whalefeed.v1.MarketService/GetMarket", get_market.SerializeAsString(), ""});
    v1::ListMarketsRequest list_markets;
    list_markets.set_page_size(50);
    rpcs.push_back({"ListMarkets(50)", "/whalefeed.v1.MarketService/ListMarkets",
                    list_markets.SerializeAsString(), ""});
    v1::GetWhaleRequest get_whale;
    get_whale.set_wallet(Wallet(7));
    rpcs.push_back(
        {"GetWhale", "/whalefeed.v1.WhaleService/GetWhale", get_whale.SerializeAsString(), ""});
    v1::ListWhalesRequest list_whales;
    list_whales.set_page_size(50);
    rpcs.push_back({"ListWhales(50)", "/whalefeed.v1.WhaleService/ListWhales",
                    list_whales.SerializeAsString(), ""});
  }

  // Whaled's answers: the bytes the bare server will answer with.
  grpc::GenericStub whaled_stub(Channel(target));
  std::map<std::string, std::string> bytes;
  for (Rpc& rpc : rpcs) {
    grpc::Slice slice(rpc.request);
    grpc::ByteBuffer request(&slice, 1), response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    absl::Notification done;
    grpc::Status call_status;
    whaled_stub.UnaryCall(&context, rpc.method, grpc::StubOptions(), &request, &response,
                          [&](grpc::Status s) {
                            call_status = std::move(s);
                            done.Notify();
                          });
    done.WaitForNotification();
    if (!call_status.ok()) {
      std::printf("%-16s whaled answered %d: %s (left out)\n", rpc.name.c_str(),
                  call_status.error_code(), call_status.error_message().c_str());
      continue;
    }
    std::vector<grpc::Slice> slices;
    (void)response.Dump(&slices);
    for (const grpc::Slice& s : slices) {
      rpc.response.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    bytes[rpc.method] = rpc.response;
  }

  // The floor server: a child process like whaled, serving the answers written here.
  const std::string bytes_path = absl::StrCat("/tmp/query_rpc_bench.", getpid(), ".bytes");
  {
    std::ofstream out(bytes_path);
    for (const auto& [method, answer] : bytes)
      out << method << '\t' << absl::Base64Escape(answer) << '\n';
  }
  auto bare = testing::Subprocess::Start({"/proc/self/exe", "--serve_bytes=" + bytes_path});
  absl::StatusOr<std::string> ready =
      bare.ok() ? (*bare)->WaitForLine("ready ", absl::Seconds(30)) : bare.status();
  std::remove(bytes_path.c_str());
  int bare_port = 0;
  if (!ready.ok() || !absl::SimpleAtoi(ready->substr(ready->find(' ') + 1), &bare_port)) {
    std::fprintf(stderr, "query_rpc_bench: the floor server: %s\n",
                 ready.ok() ? ready->c_str() : ready.status().ToString().c_str());
    return 1;
  }
  grpc::GenericStub bare_stub(Channel(absl::StrCat("127.0.0.1:", bare_port)));

  std::vector<int> levels;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',')) {
    int level = 0;
    if (absl::SimpleAtoi(part, &level) && level > 0) levels.push_back(level);
  }
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);

  std::printf(
      "\nwhaled on loopback, %d markets, %d whales; %s per cell; client and servers share the "
      "machine; whaled and the floor server are each a process of their own\n",
      absl::GetFlag(FLAGS_markets), absl::GetFlag(FLAGS_whales),
      absl::FormatDuration(duration).c_str());
  std::printf("%-16s %5s %8s | %10s %8s %8s | %10s %8s | %9s %9s\n", "rpc", "conc", "bytes",
              "whaled/s", "p50 ms", "p99 ms", "floor/s", "p99 ms", "vs floor", "vs Check");
  for (int level : levels) {
    double check_qps = 0;
    for (const Rpc& rpc : rpcs) {
      if (rpc.response.empty() && rpc.name != "Health/Check") continue;
      Cell served = Load(&whaled_stub, rpc.method, rpc.request, level).Run(warmup, duration);
      Cell floor = Load(&bare_stub, rpc.method, rpc.request, level).Run(warmup, duration);
      if (rpc.name == "Health/Check") check_qps = served.qps;
      std::printf("%-16s %5d %8zu | %10.0f %8.2f %8.2f | %10.0f %8.2f | %8.2fx %8.2fx\n",
                  rpc.name.c_str(), level, rpc.response.size(), served.qps, served.p50_ms,
                  served.p99_ms, floor.qps, floor.p99_ms,
                  floor.qps > 0 ? served.qps / floor.qps : 0,
                  check_qps > 0 ? served.qps / check_qps : 0);
      if (served.errors > 0 || floor.errors > 0) {
        std::printf("  errors: whaled %lld (%s), floor %lld (%s)\n",
                    static_cast<long long>(served.errors), served.first_error.c_str(),
                    static_cast<long long>(floor.errors), floor.first_error.c_str());
      }
    }
  }
  std::printf(
      "\ngoals: GetMarket >= 0.70x Check (\"vs Check\"); each list >= 0.70x its same-bytes floor "
      "(\"vs floor\")\n");
  (*bare)->Signal(SIGTERM);
  (void)(*bare)->Wait(absl::Seconds(20));
  whaled->Signal(SIGTERM);
  (void)whaled->Wait(absl::Seconds(20));
  return 0;
}

}  // namespace
}  // namespace whalefeed::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_serve_bytes).empty()) {
    return whalefeed::bench::ServeBytes(absl::GetFlag(FLAGS_serve_bytes));
  }
  return whalefeed::bench::Main();
}
