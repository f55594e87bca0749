// The whale-trades sync schedule against the seed design's, on opinion-sim over loopback HTTP into
// a real MariaDB, both in one run:
// - A (whalefeed): the real WhaleTradesJob with its default options, driven the way the scheduler
//   drives it (RunOnce at its NextRunTime, real clock), through CurlOpinionClient and one shared
//   RateLimiter at its defaults (12/s, burst 2), whose spare budget it spends on early polls as
//   whaled wires it;
// - B (seed design): every tracked wallet in batches of 5 (polled together) with 1 s between
//   batches, a round every 60 s; each wallet read newest page first down to its checkpoint by the
//   same per-wallet poll (WhaleTradesJob::PollWallet: same pages, same Store::IngestActivities),
//   through the same client and a limiter with the same settings (so neither schedule gets 429s
//   from bursting: the comparison is of the schedule, not of the throttling).
// Each schedule gets its own opinion-sim child (same seed, same simulated start: the same trade
// stream, and a rate limit of 15/s each) and its own fresh database, with all --wallets wallets
// tracked; they run at the same time. Each first makes its initial pass over every wallet (the
// backlog: a day of history), then runs --duration more (the measured window), then keeps running
// until every trade that became visible in the window is stored (at most --drain_max).
//
// Printed per schedule: the configured rate, requests/s achieved during the backlog and its share
// of the configured rate, 429s the simulator sent, detection lag p50 / p99 (the time a trade became
// visible in the simulator to the commit of its row), the window's trades and those missed. Then
// the goals, PASS or FAIL. Exit status 0 when every goal passes. --whale_min_poll_interval,
// --whale_max_poll_interval and --whale_budget_share change the job's cadence (whalefeed schedule
// only) to compare settings.
//
// Run through deploy/bench, which starts a private MariaDB and sets WHALEFEED_TEST_MYSQL_DSN:
//   deploy/bench sync_schedule_bench [--duration=4m] [--trades_per_minute=15] ...
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "db/mysql_store.h"
#include "sync/backoff_policy.h"
#include "sync/cancel_token.h"
#include "sync/http_client.h"
#include "sync/opinion_client.h"
#include "sync/opinion_decode.h"
#include "sync/rate_limiter.h"
#include "sync/watchlist.h"
#include "sync/whale_trades_job.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"

ABSL_FLAG(absl::Duration, duration, absl::Minutes(4),
          "measured window per schedule, after its initial pass over every wallet");
ABSL_FLAG(
    absl::Duration, drain_max, absl::Minutes(6),
    "after the window, the longest to wait for its trades to be stored (the rest are missed)");
ABSL_FLAG(int, wallets, 300, "simulated wallets, all tracked");
ABSL_FLAG(double, activity_skew, 1.2, "the simulator's Zipf exponent of wallet activity");
ABSL_FLAG(double, trades_per_minute, 15, "the simulator's trade events per simulated minute");
ABSL_FLAG(int, history_days, 1, "days of history before the start: the initial backlog");
ABSL_FLAG(double, time_scale, 1, "the simulator's simulated seconds per real second");
ABSL_FLAG(int, rate_limit, 15, "the simulator's accepted requests per second");
ABSL_FLAG(uint64_t, seed, 7, "the simulator's seed");
ABSL_FLAG(absl::Duration, whale_min_poll_interval,
          whalefeed::sync::WhaleTradesJobOptions{}.min_poll_interval,
          "the job's --whale_min_poll_interval (whalefeed schedule only; default: the job's)");
ABSL_FLAG(absl::Duration, whale_max_poll_interval,
          whalefeed::sync::WhaleTradesJobOptions{}.max_poll_interval,
          "the job's --whale_max_poll_interval (whalefeed schedule only; default: the job's)");
ABSL_FLAG(double, whale_budget_share, whalefeed::sync::WhaleTradesJobOptions{}.budget_share,
          "the job's --whale_budget_share (whalefeed schedule only; default: the job's; 0: due "
          "wallets only, as before early polls)");

namespace whalefeed::bench {
namespace {

constexpr char kApiKey[] = "sync-schedule-bench";
constexpr int kSeedBatch = 5;
constexpr absl::Duration kSeedBatchPause = absl::Seconds(1);
constexpr absl::Duration kSeedRound = absl::Seconds(60);

// One opinion-sim child.
struct Sim {
  std::unique_ptr<testing::Subprocess> process;
  std::string base_url;  // http://127.0.0.1:PORT/openapi
  std::string admin;     // http://127.0.0.1:PORT/admin
  std::string watchlist;
  int64_t sim_start = 0;  // simulated start, Unix s
  absl::Time real_start;  // the real time simulated time started at (estimated)
  double time_scale = 1;

  absl::Time RealOf(int64_t sim_seconds) const {
    return real_start + absl::Seconds(static_cast<double>(sim_seconds - sim_start) / time_scale);
  }
};

// `numbers_as_strings`: numbers kept as their text, as the upstream decoder reads them.
absl::StatusOr<rapidjson::Document> GetJson(const std::string& url,
                                            bool numbers_as_strings = false) {
  sync::CurlHttpClient http;
  ASSIGN_OR_RETURN(sync::HttpResponse r, http.Get(url, {}));
  if (r.status != 200) return absl::InternalError(absl::StrCat(url, ": HTTP ", r.status));
  rapidjson::Document doc;
  if (numbers_as_strings) {
    doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(r.body.c_str());
  } else {
    doc.Parse(r.body.c_str());
  }
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InternalError(absl::StrCat(url, ": not a JSON object"));
  }
  return doc;
}

absl::StatusOr<int64_t> SimNow(const Sim& sim) {
  ASSIGN_OR_RETURN(rapidjson::Document doc, GetJson(sim.admin + "/health"));
  if (!doc.HasMember("simNow")) return absl::InternalError("/admin/health without simNow");
  return doc["simNow"].GetInt64();
}

// The real time simulated time started at: watches /admin/health until simulated time ticks to the
// next whole second, whose real time is then known to a few milliseconds.
absl::Status EstimateRealStart(Sim& sim) {
  ASSIGN_OR_RETURN(rapidjson::Document doc, GetJson(sim.admin + "/health"));
  sim.sim_start = doc["simStart"].GetInt64();
  int64_t last = doc["simNow"].GetInt64();
  absl::Time before = absl::Now();
  const absl::Time give_up = before + absl::Seconds(10);
  while (absl::Now() < give_up) {
    ASSIGN_OR_RETURN(int64_t now, SimNow(sim));
    const absl::Time after = absl::Now();
    if (now != last) {
      const absl::Time tick = before + (after - before) / 2;
      sim.real_start =
          tick - absl::Seconds(static_cast<double>(now - sim.sim_start) / sim.time_scale);
      return absl::OkStatus();
    }
    before = after;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return absl::InternalError("simulated time did not move");
}

absl::StatusOr<Sim> StartSim(const std::string& name, int64_t start_unix) {
  Sim sim;
  sim.time_scale = absl::GetFlag(FLAGS_time_scale);
  sim.watchlist = absl::StrCat("/tmp/sync_schedule_bench_", getpid(), "_", name, ".txt");
  const int wallets = absl::GetFlag(FLAGS_wallets);
  ASSIGN_OR_RETURN(
      sim.process,
      testing::Subprocess::Start(
          {OPINION_SIM_PATH, "--port=0", absl::StrCat("--seed=", absl::GetFlag(FLAGS_seed)),
           absl::StrCat("--wallets=", wallets),
           absl::StrCat("--activity_skew=", absl::GetFlag(FLAGS_activity_skew)),
           absl::StrCat("--trades_per_minute=", absl::GetFlag(FLAGS_trades_per_minute)),
           absl::StrCat("--history_days=", absl::GetFlag(FLAGS_history_days)),
           absl::StrCat("--time_scale=", sim.time_scale),
           absl::StrCat("--rate_limit=", absl::GetFlag(FLAGS_rate_limit)),
           absl::StrCat("--start_time=", start_unix), absl::StrCat("--api_keys=", kApiKey),
           "--watchlist_out=" + sim.watchlist, absl::StrCat("--watchlist_size=", wallets)},
          {}));
  ASSIGN_OR_RETURN(std::string line,
                   sim.process->WaitForLine("listening on http://", absl::Seconds(120)));
  const size_t at = line.find("http://");
  sim.base_url = line.substr(at);
  while (!sim.base_url.empty() && std::isspace(static_cast<unsigned char>(sim.base_url.back()))) {
    sim.base_url.pop_back();
  }
  const size_t path = sim.base_url.find('/', std::string("http://").size());
  if (path == std::string::npos) return absl::InternalError("no URL in: " + line);
  sim.admin = sim.base_url.substr(0, path) + "/admin";
  RETURN_IF_ERROR(EstimateRealStart(sim));
  return sim;
}

// A trade the simulator made visible in the window, as the store would key it.
struct Truth {
  std::string activity_id;
  absl::Time visible;  // real time
};

// Every trade with visibleAt in [since, until] (simulated seconds).
absl::StatusOr<std::vector<Truth>> WindowTrades(const Sim& sim, int64_t since, int64_t until) {
  ASSIGN_OR_RETURN(
      rapidjson::Document doc,
      GetJson(absl::StrCat(sim.admin, "/trades?limit=1000000&since=", since, "&until=", until),
              /*numbers_as_strings=*/true));
  std::vector<Truth> out;
  for (const rapidjson::Value& t : doc["trades"].GetArray()) {
    const std::string wallet = t["wallet"].GetString();
    rapidjson::Document one;
    one.SetObject();
    rapidjson::Value list(rapidjson::kArrayType);
    rapidjson::Value copy(t, one.GetAllocator());
    list.PushBack(copy, one.GetAllocator());
    one.AddMember("list", list, one.GetAllocator());
    ASSIGN_OR_RETURN(sync::TradesPage page, sync::DecodeTradeList(&one, wallet));
    if (page.trades.size() != 1) {
      return absl::InternalError(absl::StrCat("a simulated trade does not decode: wallet ", wallet,
                                              " tx ", t["txHash"].GetString(), ": ",
                                              absl::StrJoin(page.issues.reasons, "; ")));
    }
    db::Activity a = page.trades[0];
    if (a.wallet.empty()) a.wallet = wallet;
    ASSIGN_OR_RETURN(db::Activity normalized, db::NormalizeActivity(a, wallet));
    int64_t visible = 0;
    if (!absl::SimpleAtoi(t["visibleAt"].GetString(), &visible)) {
      return absl::InternalError("a simulated trade without visibleAt");
    }
    out.push_back({normalized.activity_id, sim.RealOf(visible)});
  }
  return out;
}

absl::StatusOr<int64_t> Sim429s(const Sim& sim) {
  ASSIGN_OR_RETURN(rapidjson::Document doc, GetJson(sim.admin + "/stats"));
  const rapidjson::Value& r = doc["rateLimited"];
  return r["limiter"].GetInt64() + r["injected"].GetInt64();
}

// The client as the jobs see it, timing the calls: what a serial poller spends waiting for upstream
// (limiter waits included) against the rest of its time (decoding, the store).
class TimedApi final : public sync::OpinionApi {
 public:
  explicit TimedApi(sync::OpinionApi& api) : api_(api) {}

  absl::StatusOr<sync::MarketsPage> ListMarkets(int page, int limit,
                                                const sync::CancelToken& cancel) override {
    return api_.ListMarkets(page, limit, cancel);
  }
  absl::StatusOr<db::Market> GetCategoricalMarket(int64_t market_id,
                                                  const sync::CancelToken& cancel) override {
    return api_.GetCategoricalMarket(market_id, cancel);
  }
  absl::StatusOr<sync::MarketsPage> GetCategoricalMarketWithChildren(
      int64_t market_id, const sync::CancelToken& cancel) override {
    return api_.GetCategoricalMarketWithChildren(market_id, cancel);
  }
  absl::StatusOr<sync::TradesPage> ListUserTrades(absl::string_view wallet, int page, int limit,
                                                  const sync::CancelToken& cancel) override {
    const absl::Time start = absl::Now();
    absl::StatusOr<sync::TradesPage> r = api_.ListUserTrades(wallet, page, limit, cancel);
    const absl::Duration took = absl::Now() - start;
    absl::MutexLock lock(&mu_);
    in_calls_ += took;
    return r;
  }
  absl::StatusOr<std::vector<sync::QuoteToken>> ListQuoteTokens(
      const sync::CancelToken& cancel) override {
    return api_.ListQuoteTokens(cancel);
  }

  // The summed time inside ListUserTrades so far.
  absl::Duration in_calls() const {
    absl::MutexLock lock(&mu_);
    return in_calls_;
  }

 private:
  sync::OpinionApi& api_;
  mutable absl::Mutex mu_;
  absl::Duration in_calls_ ABSL_GUARDED_BY(mu_);
};

// A schedule: runs steps until `done` says so or `deadline` passes.
class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual const char* name() const = 0;
  // One step: returns when the next step may start (it may wait).
  virtual absl::Status Step(absl::Time deadline) = 0;
  // Whether the initial pass over every wallet is over.
  virtual absl::StatusOr<bool> BacklogDone() = 0;
};

// A: the job as the scheduler runs it.
class JobSchedule final : public Schedule {
 public:
  JobSchedule(sync::WhaleTradesJob& job, db::Store& store, db::Fence fence)
      : job_(job), store_(store), fence_(fence) {}
  const char* name() const override { return "whalefeed"; }

  absl::Status Step(absl::Time deadline) override {
    const absl::Time next = job_.NextRunTime(last_started_, absl::Now());
    if (next > deadline) {
      absl::SleepFor(deadline - absl::Now());
      return absl::OkStatus();
    }
    absl::SleepFor(next - absl::Now());
    last_started_ = absl::Now();
    absl::StatusOr<sync::JobOutcome> outcome =
        job_.RunOnce({fence_, &cancel_, last_started_, "bench"});
    if (!outcome.ok()) {
      ++failed_runs_;
      std::fprintf(stderr, "whalefeed run failed: %s\n", outcome.status().ToString().c_str());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> BacklogDone() override {
    ASSIGN_OR_RETURN(std::vector<db::Whale> whales, store_.ListWhales(/*tracked_only=*/true));
    for (const db::Whale& w : whales) {
      if (w.last_polled_time == absl::InfinitePast()) return false;
    }
    return true;
  }

 private:
  sync::WhaleTradesJob& job_;
  db::Store& store_;
  const db::Fence fence_;
  sync::CancelToken cancel_;
  absl::Time last_started_ = absl::InfinitePast();
  int failed_runs_ = 0;
};

// B: batches of 5 wallets polled together, 1 s between batches, a round every 60 s.
class SeedSchedule final : public Schedule {
 public:
  SeedSchedule(sync::WhaleTradesJob& poller, db::Store& store, db::Fence fence,
               std::vector<std::string> wallets)
      : poller_(poller), store_(store), fence_(fence), wallets_(std::move(wallets)) {}
  const char* name() const override { return "seed design"; }

  absl::Status Step(absl::Time deadline) override {
    if (next_ == 0) {
      // A new round, at most one a minute (missed rounds coalesce).
      if (round_started_ != absl::InfinitePast()) {
        const absl::Time due = round_started_ + kSeedRound;
        if (due > deadline) {
          absl::SleepFor(deadline - absl::Now());
          return absl::OkStatus();
        }
        absl::SleepFor(due - absl::Now());
      }
      round_started_ = absl::Now();
    }
    const size_t end = std::min(wallets_.size(), next_ + kSeedBatch);
    std::vector<std::thread> threads;
    for (size_t i = next_; i < end; ++i) {
      threads.emplace_back([this, wallet = wallets_[i]] {
        absl::StatusOr<db::Whale> whale = store_.GetWhale(wallet);
        absl::Status s = whale.status();
        if (whale.ok()) {
          s = poller_.PollWallet({fence_, &cancel_, absl::Now(), "bench"}, *whale).status();
        }
        if (!s.ok()) std::fprintf(stderr, "seed poll failed: %s\n", s.ToString().c_str());
      });
    }
    for (std::thread& t : threads) t.join();
    next_ = end;
    if (next_ >= wallets_.size()) {
      next_ = 0;
      ++rounds_;
    } else {
      absl::SleepFor(kSeedBatchPause);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> BacklogDone() override { return rounds_ >= 1; }

 private:
  sync::WhaleTradesJob& poller_;
  db::Store& store_;
  const db::Fence fence_;
  const std::vector<std::string> wallets_;
  sync::CancelToken cancel_;
  size_t next_ = 0;
  int rounds_ = 0;
  absl::Time round_started_ = absl::InfinitePast();
};

struct Result {
  std::string name;
  absl::Status status;
  double configured_rate = 0;
  double backlog_rate = 0;
  absl::Duration backlog_time;
  absl::Duration backlog_in_calls;  // summed time inside upstream calls during the backlog
  int64_t backlog_requests = 0;
  double window_rate = 0;  // requests/s during the measured window
  int64_t throttled = 0;
  absl::Duration lag_p50, lag_p99, ingested_lag_p50;
  int64_t trades = 0;
  int64_t missed = 0;
};

absl::Duration Percentile(std::vector<absl::Duration> v, double p) {
  if (v.empty()) return absl::ZeroDuration();
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// The commit time of every stored row: when the ingest that inserted it returned (on_commit), from
// the highest sequence each commit reported (sequences are in commit order).
class CommitLog {
 public:
  void Add(uint64_t max_sequence) {
    absl::MutexLock lock(&mu_);
    events_.push_back({max_sequence, absl::Now()});
  }
  // The first commit that covers `sequence`.
  absl::Time CommitOf(uint64_t sequence) const {
    absl::MutexLock lock(&mu_);
    absl::Time best = absl::InfiniteFuture();
    for (const auto& [seq, at] : events_) {
      if (seq >= sequence) best = std::min(best, at);
    }
    return best;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::pair<uint64_t, absl::Time>> events_ ABSL_GUARDED_BY(mu_);
};

struct Row {
  uint64_t sequence = 0;
  absl::Time ingested;
};

absl::StatusOr<absl::flat_hash_map<std::string, Row>> StoredRows(
    const testing::TestDatabase& database) {
  ASSIGN_OR_RETURN(std::unique_ptr<db::MySqlConnection> conn, database.Connect());
  absl::flat_hash_map<std::string, Row> rows;
  try {
    std::unique_ptr<sql::ResultSet> rs(
        conn->Prepare("SELECT activity_id, sequence, TIMESTAMPDIFF(MICROSECOND, "
                      "'1970-01-01 00:00:00', ingested_time) FROM whale_activity")
            .executeQuery());
    while (rs->next()) {
      rows[std::string(rs->getString(1))] = {rs->getUInt64(2),
                                             absl::FromUnixMicros(rs->getInt64(3))};
    }
  } catch (const sql::SQLException& e) {
    return absl::InternalError(absl::StrCat("reading whale_activity: ", e.what()));
  }
  return rows;
}

absl::Status RunOne(bool seed_design, int64_t start_unix, Result* result) {
  RealClock clock;
  sync::RealSleeper sleeper;
  ASSIGN_OR_RETURN(Sim sim, StartSim(seed_design ? "seed" : "whalefeed", start_unix));
  ASSIGN_OR_RETURN(std::unique_ptr<testing::TestDatabase> database,
                   testing::TestDatabase::Create());
  db::MySqlStoreOptions store_options;
  store_options.dsn = database->dsn();
  ASSIGN_OR_RETURN(std::unique_ptr<db::MySqlStore> store, db::MySqlStore::Create(store_options));
  RETURN_IF_ERROR(store->PrepareDatabase());
  ASSIGN_OR_RETURN(db::Fence fence, store->AdvanceLeaderEpoch("bench", absl::Now()));

  ASSIGN_OR_RETURN(std::vector<sync::WatchlistEntry> entries,
                   sync::ReadWatchlistFile(sim.watchlist));
  std::vector<std::string> wallets;
  for (const sync::WatchlistEntry& e : entries) {
    RETURN_IF_ERROR(
        store->TrackWhale(e.wallet, e.label, db::WhaleSource::kApi, absl::Now()).status());
    wallets.push_back(e.wallet);
  }

  ASSIGN_OR_RETURN(std::unique_ptr<sync::RateLimiter> limiter,
                   sync::RateLimiter::Create({}, &clock, &sleeper));
  sync::OpinionClientOptions client_options;
  client_options.base_url = sim.base_url;
  client_options.api_key = kApiKey;
  ASSIGN_OR_RETURN(
      std::unique_ptr<sync::CurlOpinionClient> client,
      sync::CurlOpinionClient::Create(client_options, limiter.get(), &clock, &sleeper));
  CommitLog commits;
  sync::WhaleTradesJobOptions job_options;  // the defaults, unless the flags say otherwise
  job_options.min_poll_interval = absl::GetFlag(FLAGS_whale_min_poll_interval);
  job_options.max_poll_interval = absl::GetFlag(FLAGS_whale_max_poll_interval);
  job_options.on_commit = [&commits](uint64_t max_sequence) { commits.Add(max_sequence); };
  job_options.budget_share = absl::GetFlag(FLAGS_whale_budget_share);
  job_options.upstream_budget = [limiter = limiter.get()] { return limiter->Stats(); };
  TimedApi timed(*client);
  sync::WhaleTradesJob job(*store, timed, clock, job_options);
  std::unique_ptr<Schedule> schedule;
  if (seed_design) {
    schedule = std::make_unique<SeedSchedule>(job, *store, fence, wallets);
  } else {
    schedule = std::make_unique<JobSchedule>(job, *store, fence);
  }
  result->name = schedule->name();
  result->configured_rate = limiter->Stats().configured_rate_per_second;

  // The backlog: the first pass over every wallet.
  const absl::Time begin = absl::Now();
  const int64_t requests_before = limiter->Stats().requests_total;
  for (;;) {
    RETURN_IF_ERROR(schedule->Step(absl::InfiniteFuture()));
    ASSIGN_OR_RETURN(bool done, schedule->BacklogDone());
    if (done) break;
  }
  const absl::Time backlog_end = absl::Now();
  result->backlog_time = backlog_end - begin;
  result->backlog_requests = limiter->Stats().requests_total - requests_before;
  result->backlog_in_calls = timed.in_calls();
  result->backlog_rate =
      static_cast<double>(result->backlog_requests) / absl::ToDoubleSeconds(result->backlog_time);
  ASSIGN_OR_RETURN(int64_t window_first, SimNow(sim));
  ++window_first;  // the first whole simulated second after the backlog

  // The measured window.
  const absl::Time window_end = backlog_end + absl::GetFlag(FLAGS_duration);
  const int64_t window_requests = limiter->Stats().requests_total;
  while (absl::Now() < window_end) RETURN_IF_ERROR(schedule->Step(window_end));
  result->window_rate = static_cast<double>(limiter->Stats().requests_total - window_requests) /
                        absl::ToDoubleSeconds(absl::Now() - backlog_end);
  ASSIGN_OR_RETURN(int64_t window_last, SimNow(sim));
  ASSIGN_OR_RETURN(std::vector<Truth> truth, WindowTrades(sim, window_first, window_last));

  // Until every trade of the window is stored.
  std::vector<std::string> ids;
  for (const Truth& t : truth) ids.push_back(t.activity_id);
  const absl::Time drain_end = window_end + absl::GetFlag(FLAGS_drain_max);
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<std::string> stored, store->FindStoredActivityIds(ids));
    if (stored.size() == ids.size() || absl::Now() >= drain_end) break;
    RETURN_IF_ERROR(schedule->Step(drain_end));
  }

  ASSIGN_OR_RETURN(result->throttled, Sim429s(sim));
  using Rows = absl::flat_hash_map<std::string, Row>;
  ASSIGN_OR_RETURN(Rows rows, StoredRows(*database));
  std::vector<absl::Duration> lags, ingested_lags;
  for (const Truth& t : truth) {
    auto it = rows.find(t.activity_id);
    if (it == rows.end()) {
      ++result->missed;
      continue;
    }
    lags.push_back(commits.CommitOf(it->second.sequence) - t.visible);
    ingested_lags.push_back(it->second.ingested - t.visible);
  }
  result->trades = static_cast<int64_t>(truth.size());
  result->lag_p50 = Percentile(lags, 0.5);
  result->lag_p99 = Percentile(lags, 0.99);
  result->ingested_lag_p50 = Percentile(ingested_lags, 0.5);

  sim.process->Signal(SIGTERM);
  (void)sim.process->Wait(absl::Seconds(30));
  std::remove(sim.watchlist.c_str());
  return absl::OkStatus();
}

std::string Secs(absl::Duration d) { return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(d)); }

int Main() {
  // Both simulators start at the same simulated second with the same seed: the same trades.
  const int64_t start_unix = absl::ToUnixSeconds(absl::Now());
  Result a, b;
  std::thread ta([&] { a.status = RunOne(/*seed_design=*/false, start_unix, &a); });
  std::thread tb([&] { b.status = RunOne(/*seed_design=*/true, start_unix, &b); });
  ta.join();
  tb.join();
  for (const Result* r : {&a, &b}) {
    if (!r->status.ok()) {
      std::fprintf(stderr, "%s: %s\n", r->name.c_str(), r->status.ToString().c_str());
      return 1;
    }
  }

  const sync::WhaleTradesJobOptions defaults;
  std::printf(
      "whalefeed job: poll interval %s..%s (job defaults %s..%s), tick %s, %d wallets/run, "
      "early polls up to %g of the rate (default %g)\n",
      absl::FormatDuration(absl::GetFlag(FLAGS_whale_min_poll_interval)).c_str(),
      absl::FormatDuration(absl::GetFlag(FLAGS_whale_max_poll_interval)).c_str(),
      absl::FormatDuration(defaults.min_poll_interval).c_str(),
      absl::FormatDuration(defaults.max_poll_interval).c_str(),
      absl::FormatDuration(defaults.tick_interval).c_str(), defaults.max_wallets_per_run,
      absl::GetFlag(FLAGS_whale_budget_share), defaults.budget_share);
  std::printf(
      "sync schedules: %d wallets (activity skew %g), %g trade events/min, time scale %g, "
      "%d day(s) of history, simulator limit %d/s; window %s after the backlog\n",
      absl::GetFlag(FLAGS_wallets), absl::GetFlag(FLAGS_activity_skew),
      absl::GetFlag(FLAGS_trades_per_minute), absl::GetFlag(FLAGS_time_scale),
      absl::GetFlag(FLAGS_history_days), absl::GetFlag(FLAGS_rate_limit),
      absl::FormatDuration(absl::GetFlag(FLAGS_duration)).c_str());
  std::printf("%-12s %10s %12s %8s %9s %6s %9s %9s %7s %7s\n", "schedule", "configured",
              "backlog req/s", "% conf", "backlog", "429s", "lag p50", "lag p99", "trades",
              "missed");
  for (const Result* r : {&a, &b}) {
    std::printf("%-12s %8.1f/s %12.2f %7.1f%% %9s %6lld %9s %9s %7lld %7lld\n", r->name.c_str(),
                r->configured_rate, r->backlog_rate, 100 * r->backlog_rate / r->configured_rate,
                Secs(r->backlog_time).c_str(), static_cast<long long>(r->throttled),
                Secs(r->lag_p50).c_str(), Secs(r->lag_p99).c_str(),
                static_cast<long long>(r->trades), static_cast<long long>(r->missed));
  }
  std::printf(
      "(lag: visible in the simulator -> ingest committed; by ingested_time, the poll's "
      "start: p50 %s / %s)\n",
      Secs(a.ingested_lag_p50).c_str(), Secs(b.ingested_lag_p50).c_str());

  std::printf("(requests/s during the window, after the backlog: %.2f / %.2f)\n", a.window_rate,
              b.window_rate);
  std::printf(
      "(backlog, whalefeed: %lld requests in %s, %s of it inside upstream calls (limiter waits "
      "included), %s outside them (decoding, the store); at %g/s the requests alone take %s)\n",
      static_cast<long long>(a.backlog_requests), Secs(a.backlog_time).c_str(),
      Secs(a.backlog_in_calls).c_str(), Secs(a.backlog_time - a.backlog_in_calls).c_str(),
      a.configured_rate,
      Secs(absl::Seconds(static_cast<double>(a.backlog_requests) / a.configured_rate)).c_str());

  const double share = a.backlog_rate / a.configured_rate;
  const bool rate_ok = share >= 0.9;
  const bool throttle_ok = a.throttled == 0;
  const bool lag_ok = a.lag_p50 <= b.lag_p50 / 2;
  const bool missed_ok = a.missed == 0 && b.missed == 0;
  std::printf("goal: >= 90%% of the configured rate while backlog: %.1f%%  %s\n", 100 * share,
              rate_ok ? "PASS" : "FAIL");
  std::printf("goal: zero 429s at default settings: %lld  %s\n",
              static_cast<long long>(a.throttled), throttle_ok ? "PASS" : "FAIL");
  std::printf("goal: lag p50 whalefeed <= 0.5 x seed design: %s vs %s (%.2fx)  %s\n",
              Secs(a.lag_p50).c_str(), Secs(b.lag_p50).c_str(),
              absl::ToDoubleSeconds(a.lag_p50) / std::max(1e-9, absl::ToDoubleSeconds(b.lag_p50)),
              lag_ok ? "PASS" : "FAIL");
  std::printf("check: no trade missed: %lld / %lld  %s\n", static_cast<long long>(a.missed),
              static_cast<long long>(b.missed), missed_ok ? "PASS" : "FAIL");
  std::fflush(stdout);
  return rate_ok && throttle_ok && lag_ok && missed_ok ? 0 : 1;
}

}  // namespace
}  // namespace whalefeed::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return whalefeed::bench::Main();
}
