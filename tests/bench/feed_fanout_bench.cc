// Fan-out of the whale feed (FeedService.WatchWhaleActivity) over loopback, against a bare floor
// measured in the same run:
// - feed: a server child process running the real FeedHub and FeedService on a WhaledServer, the
//   way whaled builds them, over a MySqlStore on a fresh database of the private MariaDB. The
//   child commits each event itself through Store::IngestActivities (fenced by
//   AdvanceLeaderEpoch) and then calls FeedHub::NotifyCommitted: the leader's path of design
//   §5.10;
// - bare: a server child process with a minimal callback-API server (one reactor per stream, one
//   write in flight, a small queue per stream) that writes, for each event, the same serialised
//   WatchWhaleActivityResponse bytes (built once, one shared grpc::ByteBuffer) to every stream:
//   the floor cost of a stream here.
// The subscribers are this process (callback client API, one reactor per stream, 100 streams per
// channel, each channel its own connection), all starting at LATEST; the servers run in children
// so that their RSS is theirs alone. For each subscriber count the tool reports
//   - server RSS per idle subscriber: (VmRSS with every stream open and past its first heartbeat
//     - VmRSS before any stream) / subscribers;
//   - p50 / p99 commit -> receive latency at a fixed event rate, over every (stream, event) pair:
//     receive time - the time the child's commit returned (the bare child: the time it started
//     writing the event), both CLOCK_MONOTONIC (std::chrono::steady_clock), shared by the
//     processes of one machine. The child reports its commit times; each event carries its number
//     in tx_hash;
// and, at --rate_subscribers, the highest event rate delivered without lag growing: the rate goes
// up step by step (--rates, --step_seconds each); a step holds when the child kept the rate, every
// event reached every stream within --grace after the step, and the p99 of the step's last second
// is at most max(2 x its first second's, 10 ms); a step that does not hold is tried again
// (--step_retries) before the search stops, since the machine is shared. Every measurement line
// also gives the cores the server and the subscribers used meanwhile, and the tool prints the load
// average at its start and end: client and servers share the machine's cores.
//
// Child control protocol (the child's stdin and stdout, one line each):
//   child:  "ready PORT"
//   parent: "emit COUNT RATE" -> child: "emitted FIRST_NUMBER COUNT ERRORS NS..." (commit times,
//           0 for an event whose commit failed)
//   parent: "quit" (or end of input) -> the child shuts down and exits.
//
// Run through deploy/bench, which starts a private MariaDB and sets WHALEFEED_TEST_MYSQL_DSN:
//   deploy/bench feed_fanout_bench [--subscribers=100,1000,10000] [--rate=10] ...
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "db/mysql_store.h"
#include "server/convert.h"
#include "server/feed_hub.h"
#include "server/feed_service.h"
#include "server/health_service.h"
#include "server/resume_token.h"
#include "server/whaled_server.h"
#include "tests/testing/test_database.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"

ABSL_FLAG(std::string, subscribers, "100,1000,10000", "subscriber counts, a comma list");
ABSL_FLAG(double, rate, 10, "events per second of the latency measurement");
ABSL_FLAG(absl::Duration, latency_duration, absl::Seconds(5), "length of the latency measurement");
ABSL_FLAG(int, rate_subscribers, 1000,
          "subscribers of the highest-rate search (0: skip it; it runs only when this count is in "
          "--subscribers)");
ABSL_FLAG(std::string, rates, "5,10,15,20,25,30,35,40,50,60,80,100,120,160,200,240,320",
          "event rates tried in order by the highest-rate search, a comma list; it stops at the "
          "first that does not hold");
ABSL_FLAG(absl::Duration, step_seconds, absl::Seconds(3), "length of one rate step");
ABSL_FLAG(absl::Duration, grace, absl::Seconds(1),
          "how long after a step's last event every stream must have it");
ABSL_FLAG(int, step_retries, 1,
          "times a rate step that did not hold is tried again before the search stops (the machine "
          "is shared: one noisy second should not end it)");
ABSL_FLAG(absl::Duration, latency_wait, absl::Seconds(30),
          "how long after the latency measurement's last event the tool waits for every stream to "
          "have every event (late ones count in the percentiles)");
ABSL_FLAG(int, streams_per_channel, 100, "subscriber streams per channel (connection)");
ABSL_FLAG(std::string, serve, "", "internal: run as the feed or bare server child (feed|bare)");

namespace whalefeed::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

void SleepUntilNs(int64_t ns) {
  std::this_thread::sleep_until(SteadyClock::time_point(std::chrono::nanoseconds(ns)));
}

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

rlim_t FileLimit() {
  rlimit limit{};
  return getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
}

const std::string kWallet = "0x" + std::string(40, 'f');
constexpr char kWalletLabel[] = "fan-out whale";

// Event number `n` as the children commit (feed) or serialise (bare) it: every field filled the
// way a polled trade fills it; the number is in tx_hash.
db::Activity EventActivity(uint64_t n, absl::Time now) {
  db::Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", n);
  a.wallet = kWallet;
  a.market_id = 16565;
  a.root_market_id = 788;
  a.market_title = "Team A";
  a.root_market_title = "Who wins the final?";
  a.side = db::Side::kBuy;
  a.outcome = db::Outcome::kYes;
  a.outcome_label = "YES";
  a.price = "0.62";
  a.shares = "16129.03";
  a.amount_usd = "10000";
  a.fee_usd = "20";
  a.profit_usd = "0";
  a.traded_time = now - absl::Seconds(2);
  a.ingested_time = now;
  a.origin = db::Origin::kLive;
  return a;
}

// The event number a received activity carries (0 when it carries none).
uint64_t EventNumber(const std::string& tx_hash) {
  uint64_t n = 0;
  if (tx_hash.size() < 16 || !absl::SimpleHexAtoi(tx_hash.substr(tx_hash.size() - 16), &n)) {
    return 0;
  }
  return n;
}

// ---- Server children --------------------------------------------------------------------------

// What a server child does between the control lines.
class ServerChild {
 public:
  virtual ~ServerChild() = default;
  // Commits (or, bare, starts writing) event `n`; returns its commit time (steady ns) or an error.
  virtual absl::StatusOr<int64_t> Emit(uint64_t n) = 0;
  virtual void Shutdown() = 0;
};

// Reads control lines from stdin until "quit" or end of input.
int ServeControl(ServerChild& child, int port) {
  std::printf("ready %d\n", port);
  std::fflush(stdout);
  uint64_t next = 1;
  char* line = nullptr;
  size_t capacity = 0;
  while (getline(&line, &capacity, stdin) > 0) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    for (std::string& w : words) absl::StripAsciiWhitespace(&w);
    if (words.empty()) continue;
    if (words[0] == "quit") break;
    int count = 0;
    double rate = 0;
    if (words[0] != "emit" || words.size() != 3 || !absl::SimpleAtoi(words[1], &count) ||
        !absl::SimpleAtod(words[2], &rate) || count <= 0 || rate <= 0) {
      std::printf("error bad command: %s", line);
      std::fflush(stdout);
      continue;
    }
    const uint64_t first = next;
    std::vector<int64_t> commits(count, 0);
    int errors = 0;
    std::string first_error;
    const int64_t start = NowNs();
    const double interval_ns = 1e9 / rate;
    for (int i = 0; i < count; ++i) {
      SleepUntilNs(start + static_cast<int64_t>(i * interval_ns));
      absl::StatusOr<int64_t> at = child.Emit(next++);
      if (at.ok()) {
        commits[i] = *at;
      } else if (errors++ == 0) {
        first_error = at.status().ToString();
      }
    }
    if (errors > 0) {
      std::fprintf(stderr, "emit: %d errors, first: %s\n", errors, first_error.c_str());
    }
    std::printf("emitted %llu %d %d %s\n", static_cast<unsigned long long>(first), count, errors,
                absl::StrJoin(commits, " ").c_str());
    std::fflush(stdout);
  }
  free(line);
  child.Shutdown();
  return 0;
}

// The real feed over MariaDB, built as server/main.cc builds it.
class FeedChild final : public ServerChild {
 public:
  static int Run() {
    auto database = testing::TestDatabase::Create();
    if (!database.ok()) return Fail("database", database.status());
    db::MySqlStoreOptions store_options;
    store_options.dsn = (*database)->dsn();
    auto store = db::MySqlStore::Create(store_options);
    if (!store.ok()) return Fail("store", store.status());
    if (absl::Status s = (*store)->PrepareDatabase(); !s.ok()) return Fail("migrations", s);
    auto fence = (*store)->AdvanceLeaderEpoch("feed-fanout-bench", absl::Now());
    if (!fence.ok()) return Fail("leader epoch", fence.status());
    auto whale = (*store)->TrackWhale(kWallet, kWalletLabel, db::WhaleSource::kFile, absl::Now());
    if (!whale.ok()) return Fail("whale", whale.status());

    RealClock clock;
    server::FeedHub hub(store->get(), &clock, server::ActivityFilterParser(),
                        server::FeedHubOptions());
    server::FeedService feed_service(&hub);
    server::HealthService health;
    server::WhaledParts parts;
    parts.health = &health;
    parts.services = {&feed_service};
    parts.components = {&hub};
    server::WhaledServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.shutdown_timeout = absl::Seconds(2);
    auto server = server::WhaledServer::Start(server_options, std::move(parts));
    if (!server.ok()) return Fail("server", server.status());
    if (!hub.WaitReady(absl::Seconds(30))) return Fail("hub", absl::DeadlineExceededError("ready"));

    FeedChild child(store->get(), &hub, *fence, server->get());
    return ServeControl(child, (*server)->port());
  }

  absl::StatusOr<int64_t> Emit(uint64_t n) override {
    const absl::Time now = absl::Now();
    const db::Activity activity = EventActivity(n, now);
    const db::PollState poll{now, now + absl::Minutes(1), static_cast<int64_t>(n)};
    ASSIGN_OR_RETURN(
        db::IngestResult result,
        store_->IngestActivities(fence_, kWallet, absl::MakeConstSpan(&activity, 1), poll, now));
    const int64_t committed = NowNs();
    if (result.inserted_sequences.empty()) return absl::InternalError("event not inserted");
    hub_->NotifyCommitted(result.inserted_sequences.back());
    return committed;
  }

  void Shutdown() override { (void)server_->Shutdown(); }

 private:
  FeedChild(db::Store* store, server::FeedHub* hub, db::Fence fence, server::WhaledServer* server)
      : store_(store), hub_(hub), fence_(fence), server_(server) {}

  static int Fail(const char* what, const absl::Status& status) {
    std::fprintf(stderr, "feed server child: %s: %s\n", what, status.ToString().c_str());
    return 1;
  }

  db::Store* const store_;
  server::FeedHub* const hub_;
  const db::Fence fence_;
  server::WhaledServer* const server_;
};

// The floor: a callback-API server that writes the same bytes to every stream, nothing else.
class BareFeedService final
    : public v1::FeedService::WithRawCallbackMethod_WatchWhaleActivity<v1::FeedService::Service> {
 public:
  // Messages a stream may have waiting beyond the one in flight; more are dropped (counted).
  static constexpr size_t kQueueLimit = 1024;

  BareFeedService() {
    v1::WatchWhaleActivityResponse response;
    v1::Heartbeat* heartbeat = response.mutable_heartbeat();
    server::SetTimestamp(absl::Now(), heartbeat->mutable_server_time());
    heartbeat->set_caught_up(true);
    response.set_resume_token(server::EncodeResumeToken(kFeedId, 0));
    grpc::Slice slice(response.SerializeAsString());
    heartbeat_ = grpc::ByteBuffer(&slice, 1);
  }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchWhaleActivity(
      grpc::CallbackServerContext* /*context*/, const grpc::ByteBuffer* /*request*/) override {
    auto* stream = new Stream(this);
    {
      absl::MutexLock lock(&mu_);
      streams_.insert(stream);
    }
    stream->Push(heartbeat_);
    return stream;
  }

  // Writes `message` to every open stream.
  void FanOut(const grpc::ByteBuffer& message) {
    absl::MutexLock lock(&mu_);
    for (Stream* stream : streams_) stream->Push(message);
  }

  // The bytes the feed sends for event `n`: one activity and the token after it.
  static grpc::ByteBuffer EventMessage(uint64_t n) {
    v1::WatchWhaleActivityResponse response;
    db::Activity activity = EventActivity(n, absl::Now());
    activity.sequence = n;
    activity.activity_id = db::MakeActivityId(activity);
    server::ToProto(activity, kWalletLabel, response.add_activities());
    response.set_resume_token(server::EncodeResumeToken(kFeedId, n));
    grpc::Slice slice(response.SerializeAsString());
    return grpc::ByteBuffer(&slice, 1);
  }

  uint64_t dropped() const { return dropped_.load(); }

 private:
  static constexpr char kFeedId[] = "0123456789abcdef0123456789abcdef";

  class Stream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
   public:
    explicit Stream(BareFeedService* service) : service_(service) {}

    void Push(const grpc::ByteBuffer& message) {
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_) return;
        if (writing_) {
          if (queue_.size() >= kQueueLimit) {
            service_->dropped_.fetch_add(1);
          } else {
            queue_.push_back(message);
          }
          return;
        }
        writing_ = true;
        current_ = message;
      }
      StartWrite(&current_);
    }

    void OnWriteDone(bool ok) override {
      bool next = false;
      bool finish = false;
      {
        absl::MutexLock lock(&mu_);
        if (ok && !cancelled_ && !queue_.empty()) {
          current_ = std::move(queue_.front());
          queue_.pop_front();
          next = true;
        } else {
          writing_ = false;
          if (!ok) queue_.clear();
          finish = cancelled_ && !finished_;
          finished_ = finished_ || finish;
        }
      }
      if (next) {
        StartWrite(&current_);
      } else if (finish) {
        Finish(grpc::Status::CANCELLED);
      }
    }

    void OnCancel() override {
      bool finish = false;
      {
        absl::MutexLock lock(&mu_);
        cancelled_ = true;
        queue_.clear();
        finish = !writing_ && !finished_;
        finished_ = finished_ || finish;
      }
      if (finish) Finish(grpc::Status::CANCELLED);
    }

    void OnDone() override {
      {
        absl::MutexLock lock(&service_->mu_);
        service_->streams_.erase(this);
      }
      delete this;
    }

   private:
    BareFeedService* const service_;
    absl::Mutex mu_;
    bool writing_ ABSL_GUARDED_BY(mu_) = false;
    bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
    bool finished_ ABSL_GUARDED_BY(mu_) = false;
    std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);
    grpc::ByteBuffer current_;  // the write in flight
  };

  grpc::ByteBuffer heartbeat_;
  absl::Mutex mu_;
  absl::flat_hash_set<Stream*> streams_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> dropped_{0};
};

class BareChild final : public ServerChild {
 public:
  static int Run() {
    BareFeedService service;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (server == nullptr || port == 0) {
      std::fprintf(stderr, "bare server child: could not listen\n");
      return 1;
    }
    BareChild child(&service, server.get());
    return ServeControl(child, port);
  }

  absl::StatusOr<int64_t> Emit(uint64_t n) override {
    const grpc::ByteBuffer message = BareFeedService::EventMessage(n);
    const int64_t committed = NowNs();
    service_->FanOut(message);
    return committed;
  }

  void Shutdown() override {
    if (service_->dropped() > 0) {
      std::fprintf(stderr, "bare server child: %llu messages dropped on full queues\n",
                   static_cast<unsigned long long>(service_->dropped()));
    }
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

 private:
  BareChild(BareFeedService* service, grpc::Server* server) : service_(service), server_(server) {}
  BareFeedService* const service_;
  grpc::Server* const server_;
};

// ---- The parent: server processes and subscribers ----------------------------------------------

// A server child process and its control pipe.
class Child {
 public:
  static absl::StatusOr<std::unique_ptr<Child>> Start(const std::string& mode) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::string self = "/proc/self/exe";
    std::string serve = "--serve=" + mode;
    char* argv[] = {self.data(), serve.data(), nullptr};
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    if (rc != 0) {
      close(to_child[1]);
      close(from_child[0]);
      return absl::InternalError(absl::StrCat("posix_spawn: ", std::strerror(rc)));
    }
    auto child = std::unique_ptr<Child>(
        new Child(mode, pid, fdopen(to_child[1], "w"), fdopen(from_child[0], "r")));
    ASSIGN_OR_RETURN(std::string ready, child->ReadLine());
    std::vector<std::string> words = absl::StrSplit(ready, ' ');
    if (words.size() != 2 || words[0] != "ready" || !absl::SimpleAtoi(words[1], &child->port_)) {
      return absl::InternalError(absl::StrCat(mode, " server child did not start: ", ready));
    }
    return child;
  }

  ~Child() {
    if (in_ != nullptr) {
      std::fputs("quit\n", in_);
      std::fclose(in_);
    }
    // Bounded: a child that does not exit within 20 s is killed.
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        std::fclose(out_);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    std::fclose(out_);
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // CPU time (user + system) the child has used, in seconds.
  double CpuSeconds() const {
    std::ifstream in(absl::StrCat("/proc/", pid_, "/stat"));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
    int64_t user = 0, system = 0;
    if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &user) ||
        !absl::SimpleAtoi(fields[12], &system)) {
      return 0;
    }
    return static_cast<double>(user + system) / sysconf(_SC_CLK_TCK);
  }

  // VmRSS of the child, in kB.
  absl::StatusOr<int64_t> RssKb() const {
    std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) != 0) continue;
      int64_t kb = 0;
      std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (words.size() >= 2 && absl::SimpleAtoi(words[1], &kb)) return kb;
    }
    return absl::InternalError(absl::StrCat("no VmRSS for pid ", pid_));
  }

  struct Emitted {
    uint64_t first = 0;
    std::vector<int64_t> commits;  // steady ns per event, 0 when its commit failed
    int errors = 0;
  };

  // Asks for `count` events at `rate` per second and waits until they are all emitted.
  absl::StatusOr<Emitted> Emit(int count, double rate) {
    std::fprintf(in_, "emit %d %.3f\n", count, rate);
    std::fflush(in_);
    ASSIGN_OR_RETURN(std::string line, ReadLine());
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    Emitted out;
    int got = 0;
    if (words.size() < 4 || words[0] != "emitted" || !absl::SimpleAtoi(words[1], &out.first) ||
        !absl::SimpleAtoi(words[2], &got) || got != count ||
        !absl::SimpleAtoi(words[3], &out.errors) || words.size() != 4 + static_cast<size_t>(got)) {
      return absl::InternalError(absl::StrCat(mode_, " server child answered: ", line));
    }
    out.commits.resize(count);
    for (int i = 0; i < count; ++i) (void)absl::SimpleAtoi(words[4 + i], &out.commits[i]);
    return out;
  }

 private:
  Child(std::string mode, pid_t pid, FILE* in, FILE* out)
      : mode_(std::move(mode)), pid_(pid), in_(in), out_(out) {}

  absl::StatusOr<std::string> ReadLine() {
    char* line = nullptr;
    size_t capacity = 0;
    const ssize_t n = getline(&line, &capacity, out_);
    std::string text = n > 0 ? std::string(line, n) : "";
    free(line);
    if (n <= 0) return absl::InternalError(absl::StrCat(mode_, " server child ended"));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }

  const std::string mode_;
  const pid_t pid_;
  FILE* in_;
  FILE* out_;
  int port_ = 0;
};

// One receive: the event's number and when it arrived (steady ns).
struct Receipt {
  uint64_t event;
  int64_t at;
};

class Fleet;

class Subscriber final : public grpc::ClientReadReactor<v1::WatchWhaleActivityResponse> {
 public:
  explicit Subscriber(Fleet* fleet) : fleet_(fleet) {}

  void Begin(v1::FeedService::Stub* stub, const v1::WatchWhaleActivityRequest& request) {
    stub->async()->WatchWhaleActivity(&context_, &request, this);
    StartRead(&response_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  std::vector<Receipt> TakeReceipts() {
    absl::MutexLock lock(&mu_);
    return std::move(receipts_);
  }
  grpc::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  Fleet* const fleet_;
  grpc::ClientContext context_;
  v1::WatchWhaleActivityResponse response_;
  bool first_ = true;  // touched by this stream's reactions only, one at a time
  absl::Mutex mu_;
  std::vector<Receipt> receipts_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// N subscriber streams to one server.
class Fleet {
 public:
  Fleet(int port, int subscribers) {
    const int per_channel = std::max(1, absl::GetFlag(FLAGS_streams_per_channel));
    v1::WatchWhaleActivityRequest request;
    request.set_start(v1::START_POSITION_LATEST);
    request.mutable_heartbeat_interval()->set_seconds(60);  // idle streams stay idle
    for (int i = 0; i < subscribers; ++i) {
      if (i % per_channel == 0) {
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
        args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
        stubs_.push_back(v1::FeedService::NewStub(grpc::CreateCustomChannel(
            absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args)));
      }
      subscribers_.push_back(std::make_unique<Subscriber>(this));
    }
    for (int i = 0; i < subscribers; ++i) {
      subscribers_[i]->Begin(stubs_[i / per_channel].get(), request);
    }
  }

  ~Fleet() {
    for (auto& s : subscribers_) s->Cancel();
    WaitFor([this] { return done_.load() == static_cast<int>(subscribers_.size()); },
            absl::Seconds(60));
    if (done_.load() != static_cast<int>(subscribers_.size())) {
      // Reactors still referenced by gRPC must not be destroyed.
      for (auto& s : subscribers_) (void)s.release();
    }
  }

  int size() const { return static_cast<int>(subscribers_.size()); }
  int started() const { return started_.load(); }
  int ended() const { return done_.load(); }
  int64_t received() const { return received_.load(); }

  // Every stream past its first message (the heartbeat), within `timeout`.
  bool WaitStarted(absl::Duration timeout) {
    return WaitFor([this] { return started_.load() + done_.load() >= size(); }, timeout) &&
           done_.load() == 0;
  }

  std::string FirstError() {
    for (auto& s : subscribers_) {
      grpc::Status status = s->status();
      if (!status.ok()) return absl::StrCat(status.error_code(), ": ", status.error_message());
    }
    return "";
  }

  std::vector<std::vector<Receipt>> TakeReceipts() {
    std::vector<std::vector<Receipt>> all;
    all.reserve(subscribers_.size());
    for (auto& s : subscribers_) all.push_back(s->TakeReceipts());
    return all;
  }

  template <typename Predicate>
  static bool WaitFor(Predicate done, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!done()) {
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }

 private:
  friend class Subscriber;

  std::vector<std::unique_ptr<v1::FeedService::Stub>> stubs_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  std::atomic<int> started_{0};
  std::atomic<int> done_{0};
  std::atomic<int64_t> received_{0};
};

void Subscriber::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows
  const int64_t now = NowNs();
  if (first_) {
    first_ = false;
    fleet_->started_.fetch_add(1);
  }
  if (response_.activities_size() > 0) {
    absl::MutexLock lock(&mu_);
    for (const v1::WhaleActivity& a : response_.activities()) {
      receipts_.push_back({EventNumber(a.tx_hash()), now});
    }
  }
  fleet_->received_.fetch_add(response_.activities_size());
  StartRead(&response_);
}

void Subscriber::OnDone(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  fleet_->done_.fetch_add(1);
}

// ---- Measurements ------------------------------------------------------------------------------

// The q-quantile of `sorted` latencies plus `missing` ones that never arrived (slower than any):
// infinity when it falls among those.
double PercentileMs(const std::vector<int64_t>& sorted, double q, int64_t missing = 0) {
  const size_t total = sorted.size() + static_cast<size_t>(std::max<int64_t>(0, missing));
  if (total == 0) return 0;
  const size_t i = std::min(total - 1, static_cast<size_t>(q * total));
  return i < sorted.size() ? sorted[i] / 1e6 : std::numeric_limits<double>::infinity();
}

// One burst of events at a rate, as every subscriber received it.
struct Phase {
  bool ok = false;  // measured at all (the child answered)
  std::string error;
  int events = 0;
  double rate = 0;
  double achieved_rate = 0;  // as the child committed them
  int commit_errors = 0;
  int64_t expected = 0;   // events x subscribers
  int64_t delivered = 0;  // within the grace after the last event
  double p50_ms = 0;
  double p99_ms = 0;
  double first_second_p99_ms = 0;
  double last_second_p99_ms = 0;
  // CPU used while the events were emitted and delivered, per second of that time: server (the
  // child) and subscribers (this process). 2.0 is both cores.
  double server_cores = 0;
  double client_cores = 0;

  // The lag did not grow: the rate was kept, everything arrived, the last second no slower than
  // twice the first (10 ms of slack for scheduling noise on a shared machine).
  bool Held() const {
    return ok && commit_errors == 0 && achieved_rate >= 0.95 * rate && delivered == expected &&
           last_second_p99_ms <= std::max(2 * first_second_p99_ms, 10.0);
  }
};

double OwnCpuSeconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Phase RunPhase(Child& child, Fleet& fleet, int count, double rate, absl::Duration grace) {
  Phase phase;
  phase.events = count;
  phase.rate = rate;
  phase.expected = static_cast<int64_t>(count) * fleet.size();
  (void)fleet.TakeReceipts();  // anything earlier is not this phase's
  const int64_t target = fleet.received() + phase.expected;
  const double server_cpu = child.CpuSeconds(), client_cpu = OwnCpuSeconds();
  const absl::Time start = absl::Now();
  absl::StatusOr<Child::Emitted> emitted = child.Emit(count, rate);
  if (!emitted.ok()) {
    phase.error = emitted.status().ToString();
    return phase;
  }
  Fleet::WaitFor([&] { return fleet.received() >= target; }, grace);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  phase.server_cores = (child.CpuSeconds() - server_cpu) / seconds;
  phase.client_cores = (OwnCpuSeconds() - client_cpu) / seconds;
  phase.ok = true;
  phase.commit_errors = emitted->errors;
  const std::vector<int64_t>& commits = emitted->commits;
  if (count > 1 && commits.back() > commits.front()) {
    phase.achieved_rate = (count - 1) / ((commits.back() - commits.front()) / 1e9);
  } else {
    phase.achieved_rate = rate;
  }
  const int per_second = std::max(1, static_cast<int>(rate));
  std::vector<int64_t> all, first, last;
  for (const std::vector<Receipt>& stream : fleet.TakeReceipts()) {
    for (const Receipt& r : stream) {
      if (r.event < emitted->first || r.event >= emitted->first + count) continue;
      const size_t i = r.event - emitted->first;
      if (commits[i] == 0) continue;
      const int64_t latency = r.at - commits[i];
      all.push_back(latency);
      if (i < static_cast<size_t>(per_second)) first.push_back(latency);
      if (i + per_second >= static_cast<size_t>(count)) last.push_back(latency);
    }
  }
  for (auto* v : {&all, &first, &last}) std::sort(v->begin(), v->end());
  phase.delivered = static_cast<int64_t>(all.size());
  // Events that did not arrive in time count as slower than every one that did.
  phase.p50_ms = PercentileMs(all, 0.50, phase.expected - phase.delivered);
  phase.p99_ms = PercentileMs(all, 0.99, phase.expected - phase.delivered);
  phase.first_second_p99_ms = PercentileMs(first, 0.99);
  phase.last_second_p99_ms = PercentileMs(last, 0.99);
  return phase;
}

// What one server did at one subscriber count.
struct Run {
  std::string error;  // empty: measured
  int64_t rss_before_kb = 0;
  int64_t rss_idle_kb = 0;
  double connect_seconds = 0;
  Phase latency;
  bool searched = false;
  double highest_rate = 0;    // 0: not even the lowest held
  double highest_p99_ms = 0;  // at highest_rate
  std::vector<Phase> steps;

  double KbPerSubscriber(int n) const {
    return n > 0 ? static_cast<double>(rss_idle_kb - rss_before_kb) / n : 0;
  }
};

std::string Describe(const Phase& p) {
  if (!p.ok) return "failed: " + p.error;
  return absl::StrFormat(
      "%6.0f ev/s: kept %6.1f/s, p50 %7.2f ms, p99 %7.2f ms (first s %7.2f, last s %7.2f), "
      "delivered %lld/%lld%s, cores used: server %.2f, subscribers %.2f -> %s",
      p.rate, p.achieved_rate, p.p50_ms, p.p99_ms, p.first_second_p99_ms, p.last_second_p99_ms,
      static_cast<long long>(p.delivered), static_cast<long long>(p.expected),
      p.commit_errors > 0 ? absl::StrCat(", ", p.commit_errors, " commit errors") : "",
      p.server_cores, p.client_cores, p.Held() ? "held" : "lag grew");
}

Run Measure(const std::string& mode, int n, bool search) {
  Run run;
  auto child = Child::Start(mode);
  if (!child.ok()) {
    run.error = child.status().ToString();
    return run;
  }
  absl::StatusOr<int64_t> before = (*child)->RssKb();
  if (!before.ok()) {
    run.error = before.status().ToString();
    return run;
  }
  run.rss_before_kb = *before;
  const absl::Time connect_start = absl::Now();
  Fleet fleet((*child)->port(), n);
  if (!fleet.WaitStarted(absl::Seconds(30) + absl::Milliseconds(10) * n)) {
    run.error = absl::StrFormat("%d of %d streams started, %d ended (%s)", fleet.started(), n,
                                fleet.ended(), fleet.FirstError());
    return run;
  }
  run.connect_seconds = absl::ToDoubleSeconds(absl::Now() - connect_start);
  absl::SleepFor(absl::Milliseconds(500));  // let the first writes' buffers settle
  absl::StatusOr<int64_t> idle = (*child)->RssKb();
  if (!idle.ok()) {
    run.error = idle.status().ToString();
    return run;
  }
  run.rss_idle_kb = *idle;

  const double rate = absl::GetFlag(FLAGS_rate);
  const absl::Duration grace = absl::GetFlag(FLAGS_grace);
  // Warm-up: the first events pay for prepared statements, buffers and the like.
  (void)RunPhase(**child, fleet, std::max(3, static_cast<int>(rate / 2)), rate, grace);
  const int events = std::max(
      2, static_cast<int>(rate * absl::ToDoubleSeconds(absl::GetFlag(FLAGS_latency_duration))));
  run.latency = RunPhase(**child, fleet, events, rate, absl::GetFlag(FLAGS_latency_wait));
  std::printf(
      "  %-4s %6d subscribers: idle RSS %.1f MB (%.1f before), streams opened in %.1f s; %s\n",
      mode.c_str(), n, run.rss_idle_kb / 1024.0, run.rss_before_kb / 1024.0, run.connect_seconds,
      Describe(run.latency).c_str());
  std::fflush(stdout);

  if (search) {
    run.searched = true;
    const absl::Duration step = absl::GetFlag(FLAGS_step_seconds);
    for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_rates), ',')) {
      double r = 0;
      if (!absl::SimpleAtod(part, &r) || r <= 0) continue;
      const int count = std::max(2, static_cast<int>(r * absl::ToDoubleSeconds(step)));
      bool held = false;
      for (int attempt = 0; attempt <= absl::GetFlag(FLAGS_step_retries) && !held; ++attempt) {
        if (attempt > 0) {
          // Let the previous attempt's backlog drain (nothing arrives for 200 ms, 10 s at most).
          for (int i = 0; i < 50; ++i) {
            const int64_t seen = fleet.received();
            absl::SleepFor(absl::Milliseconds(200));
            if (fleet.received() == seen) break;
          }
        }
        Phase p = RunPhase(**child, fleet, count, r, grace);
        std::printf("    %-4s step %s%s\n", mode.c_str(), Describe(p).c_str(),
                    attempt > 0 ? " (retry)" : "");
        std::fflush(stdout);
        held = p.Held();
        run.steps.push_back(std::move(p));
      }
      if (!held) break;
      run.highest_rate = r;
      run.highest_p99_ms = run.steps.back().p99_ms;
    }
  }
  if (fleet.ended() > 0) run.error = "streams ended early: " + fleet.FirstError();
  return run;
}

std::vector<int> ParseInts(const std::string& list) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v) && v > 0) out.push_back(v);
  }
  return out;
}

double Ratio(double a, double b) {
  return b > 0 && std::isfinite(a) && std::isfinite(b) ? a / b : 0;
}
const char* Verdict(bool pass) { return pass ? "PASS" : "FAIL"; }

// The machine's load average (other work on it makes every figure noisier).
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

int Main() {
  RaiseFileLimit();
  const std::vector<int> counts = ParseInts(absl::GetFlag(FLAGS_subscribers));
  const int search_at = absl::GetFlag(FLAGS_rate_subscribers);
  const double rate = absl::GetFlag(FLAGS_rate);
  std::printf(
      "\nWatchWhaleActivity fan-out on loopback: feed (FeedHub + FeedService on MariaDB, events "
      "committed through IngestActivities + NotifyCommitted) vs bare (callback server writing the "
      "same bytes); %d cores shared by client and servers; file limit %llu; load average %s\n",
      static_cast<int>(std::thread::hardware_concurrency()),
      static_cast<unsigned long long>(FileLimit()), LoadAverage().c_str());
  std::fflush(stdout);

  struct Row {
    int n;
    Run feed;
    Run bare;
  };
  std::vector<Row> rows;
  for (int n : counts) {
    Row row{n, {}, {}};
    row.feed = Measure("feed", n, n == search_at);
    row.bare = Measure("bare", n, n == search_at);
    for (const Run* r : {&row.feed, &row.bare}) {
      if (!r->error.empty()) std::printf("  %d subscribers: %s\n", n, r->error.c_str());
    }
    rows.push_back(std::move(row));
  }

  std::printf(
      "\nServer RSS per idle subscriber (VmRSS of the server process, after every stream's "
      "first heartbeat, minus before any stream)\n");
  std::printf("%11s | %12s %12s | %12s %12s | %7s | %s\n", "subscribers", "feed KB/sub", "feed MB",
              "bare KB/sub", "bare MB", "ratio", "goal: <= 1.5x bare (10,000: < 300 MB)");
  for (const Row& r : rows) {
    const double feed = r.feed.KbPerSubscriber(r.n), bare = r.bare.KbPerSubscriber(r.n);
    const double ratio = Ratio(feed, bare);
    bool pass = r.feed.error.empty() && r.bare.error.empty() && ratio <= 1.5;
    std::string goal = absl::StrCat(Verdict(pass));
    if (r.n == 10000) {
      const bool under = r.feed.error.empty() && r.feed.rss_idle_kb < 300 * 1024;
      absl::StrAppend(&goal, absl::StrFormat(", %.0f MB total: %s", r.feed.rss_idle_kb / 1024.0,
                                             Verdict(under)));
    }
    std::printf("%11d | %12.1f %12.1f | %12.1f %12.1f | %6.2fx | %s\n", r.n, feed,
                r.feed.rss_idle_kb / 1024.0, bare, r.bare.rss_idle_kb / 1024.0, ratio,
                goal.c_str());
  }

  std::printf(
      "\nCommit -> receive latency at %.0f events/s for %s, over every (stream, event) delivered "
      "within %s after the last event (inf: more than 1%% or 50%% never arrived in that time); "
      "ev/s: the rate the server could commit (bare: start) them at\n",
      rate, absl::FormatDuration(absl::GetFlag(FLAGS_latency_duration)).c_str(),
      absl::FormatDuration(absl::GetFlag(FLAGS_latency_wait)).c_str());
  std::printf("%11s | %9s %9s %9s %6s | %9s %9s %9s %6s | %7s %7s | %s\n", "subscribers",
              "feed p50", "feed p99", "delivered", "ev/s", "bare p50", "bare p99", "delivered",
              "ev/s", "p50 x", "p99 x", "goal: p99 < 50 ms at 1,000");
  for (const Row& r : rows) {
    const Phase& f = r.feed.latency;
    const Phase& b = r.bare.latency;
    auto pct = [](const Phase& p) {
      return p.expected > 0 ? absl::StrFormat("%.1f%%", 100.0 * p.delivered / p.expected)
                            : std::string("-");
    };
    std::string goal = "-";
    if (r.n == 1000) {
      goal = Verdict(f.ok && f.delivered == f.expected && f.p99_ms < 50 && rate == 10);
      if (rate != 10) goal += " (goal is at 10 events/s)";
    }
    auto ratio = [](double a, double b) {
      return std::isfinite(a) && std::isfinite(b) ? absl::StrFormat("%6.2fx", Ratio(a, b))
                                                  : std::string("    n/a");
    };
    std::printf("%11d | %9.2f %9.2f %9s %6.1f | %9.2f %9.2f %9s %6.1f | %7s %7s | %s\n", r.n,
                f.p50_ms, f.p99_ms, pct(f).c_str(), f.achieved_rate, b.p50_ms, b.p99_ms,
                pct(b).c_str(), b.achieved_rate, ratio(f.p50_ms, b.p50_ms).c_str(),
                ratio(f.p99_ms, b.p99_ms).c_str(), goal.c_str());
  }

  for (const Row& r : rows) {
    if (!r.feed.searched) continue;
    std::printf(
        "\nHighest event rate delivered to %d subscribers without lag growing (steps of %s; "
        "held = rate kept, all delivered within %s, last-second p99 <= max(2x first second, "
        "10 ms))\n",
        r.n, absl::FormatDuration(absl::GetFlag(FLAGS_step_seconds)).c_str(),
        absl::FormatDuration(absl::GetFlag(FLAGS_grace)).c_str());
    auto last_failed = [](const Run& run) {
      return !run.steps.empty() && !run.steps.back().Held()
                 ? absl::StrFormat("%.0f", run.steps.back().rate)
                 : std::string("-");
    };
    std::printf("%11s | %9s %9s %9s | %9s %9s %9s | %7s | %s\n", "subscribers", "feed ev/s",
                "p99 ms", "failed at", "bare ev/s", "p99 ms", "failed at", "ratio",
                "goal: >= 0.8x bare");
    const double ratio = Ratio(r.feed.highest_rate, r.bare.highest_rate);
    std::printf("%11d | %9.0f %9.2f %9s | %9.0f %9.2f %9s | %6.2fx | %s\n", r.n,
                r.feed.highest_rate, r.feed.highest_p99_ms, last_failed(r.feed).c_str(),
                r.bare.highest_rate, r.bare.highest_p99_ms, last_failed(r.bare).c_str(), ratio,
                Verdict(r.bare.highest_rate > 0 && ratio >= 0.8));
  }
  std::printf("\nload average at the end: %s\n\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace whalefeed::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  whalefeed::bench::RaiseFileLimit();
  signal(SIGPIPE, SIG_IGN);
  const std::string serve = absl::GetFlag(FLAGS_serve);
  if (serve == "feed") return whalefeed::bench::FeedChild::Run();
  if (serve == "bare") return whalefeed::bench::BareChild::Run();
  if (!serve.empty()) {
    std::fprintf(stderr, "feed_fanout_bench: --serve must be feed or bare, not %s\n",
                 serve.c_str());
    return 2;
  }
  return whalefeed::bench::Main();
}
