// whaled: the whalefeed server. This file is the composition root: it reads the configuration
// (flags, each with a WHALEFEED_* environment variable), builds every concrete part (the store, the
// gRPC services, the background components in their start order), hands them to WhaledServer and
// runs until SIGTERM / SIGINT.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"
#include "db/dsn.h"
#include "db/mysql_store.h"
#include "server/admin_auth.h"
#include "server/answer_cache.h"
#include "server/feed_hub.h"
#include "server/feed_service.h"
#include "server/health_prober.h"
#include "server/health_service.h"
#include "server/market_service.h"
#include "server/whale_service.h"
#include "server/whaled_server.h"
// Sync control: leader election, scheduler, SyncService.
#include "server/sync_service.h"
#include "sync/backoff_policy.h"
#include "sync/jobs_factory.h"
#include "sync/mysql_leader_lock.h"
#include "sync/opinion_client.h"
#include "sync/rate_limiter.h"
#include "sync/sync_engine.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address, HOST:PORT (port 0: any free port)");
ABSL_FLAG(
    std::string, mysql_dsn, "mysql://whalefeed@127.0.0.1:3306/whalefeed",
    "database URL: mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE or "
    "mysql://USER@localhost/DATABASE?socket=PATH (user and password percent-encoded); the database "
    "is created when the user may");
ABSL_FLAG(std::string, opinion_base_url, "https://openapi.opinion.trade/openapi",
          "Opinion OpenAPI base URL (also OPINION_TRADE_BASE_URL); the API key is read from "
          "OPINION_TRADE_API_KEY only, never from a flag");
ABSL_FLAG(absl::Duration, health_probe_interval, absl::Seconds(2),
          "how often the database is pinged to set the health of \"\"");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "on SIGTERM/SIGINT, how long open calls may finish before they are cancelled; whaled "
          "exits at most 0.5s later, also when something is stuck (then with status 1)");
ABSL_FLAG(int, db_pool_size, 8,
          "database connections open at most (calls beyond that wait for one to come free)");
ABSL_FLAG(absl::Duration, db_pool_wait_timeout, absl::Seconds(5),
          "how long a call waits for a database connection while all are in use; then it fails "
          "with UNAVAILABLE");
// ---- The whale feed (WatchWhaleActivity) ----
ABSL_FLAG(absl::Duration, feed_tail_interval, absl::Milliseconds(200),
          "how often the feed reads new activity from the database (the leader's own commits reach "
          "streams at once)");
ABSL_FLAG(int, max_streams, 20000,
          "open WatchWhaleActivity streams at most; more are refused with RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, feed_buffer_bytes, 1 << 20,
          "bytes of activity a feed stream may have waiting for a slow client; beyond it the "
          "stream catches up from the database");
// ---- End of the whale feed ----

// Query services (MarketService, WhaleService).
namespace whalefeed {
// A flag value that is never printed: --help and flag dumps show "(set)" instead of the value.
struct SecretFlag {
  std::string value;
};
bool AbslParseFlag(absl::string_view text, SecretFlag* out, std::string* /*error*/) {
  out->value = std::string(text);
  return true;
}
std::string AbslUnparseFlag(const SecretFlag& secret) {
  return secret.value.empty() ? "" : "(set)";
}
}  // namespace whalefeed
ABSL_FLAG(whalefeed::SecretFlag, admin_token, {},
          "token that admin calls (TrackWhale, UntrackWhale, RunSyncJob) must send as "
          "`authorization: Bearer <token>`; empty disables them. Never logged or shown (--help "
          "says \"(set)\"); prefer the variable WHALEFEED_ADMIN_TOKEN to the flag, which other "
          "users of the machine can see");
ABSL_FLAG(absl::Duration, market_cache_ttl, absl::Seconds(2),
          "staleness bound of the GetMarket / ListMarkets cache: an answer is served from memory "
          "while the markets are unchanged, and a change is served by every call that starts this "
          "long after its commit; 0 disables the cache");
ABSL_FLAG(absl::Duration, whale_cache_ttl, absl::Seconds(2),
          "staleness bound of the GetWhale / ListWhales cache, as --market_cache_ttl for whales, "
          "their stats and activity; 0 disables the cache");

// ---- Sync control flags ----
ABSL_FLAG(std::string, replica_id, "",
          "this replica's id in the leader row, sync_logs and GetSyncStatus; empty: hostname, pid "
          "and a random suffix");
ABSL_FLAG(absl::Duration, leader_ping_interval, absl::Seconds(2),
          "how often the leader checks that it still holds the election lock (and followers try "
          "to take it); the lock's session is dropped by the server after 5 of these idle");
ABSL_FLAG(bool, sync_enabled, true,
          "take part in leader election and run the sync jobs when elected; false: serve only");
// ---- end of Sync control flags ----

// ---- Sync jobs and the upstream ----
ABSL_FLAG(absl::Duration, markets_interval, absl::Minutes(5), "how often every market is synced");
ABSL_FLAG(std::string, watchlist, "",
          "file of wallets to track: one address per line, an optional label after it, # comments; "
          "re-read on SIGHUP; empty: only wallets tracked through TrackWhale");
ABSL_FLAG(absl::Duration, whale_tick_interval, absl::Seconds(2),
          "how often the whale-trades job looks for wallets whose next poll is due");
ABSL_FLAG(absl::Duration, whale_min_poll_interval, absl::Seconds(10),
          "poll interval of a wallet that is trading now");
ABSL_FLAG(absl::Duration, whale_max_poll_interval, absl::Minutes(10),
          "poll interval a quiet wallet backs off to (the bound on staleness)");
ABSL_FLAG(absl::Duration, whale_poll_overlap, absl::Minutes(10),
          "how far below a wallet's newest stored trade each poll reads again, for late-indexed "
          "trades");
ABSL_FLAG(absl::Duration, backfill_max_age, absl::Hours(24 * 7),
          "how far back trades made before a wallet was tracked are fetched (never beyond "
          "--retention)");
ABSL_FLAG(absl::Duration, stats_interval, absl::Hours(1),
          "how often rolling stats windows, ranks and market whale flow are recomputed");
ABSL_FLAG(std::string, cleanup_time, "03:00", "time of day (UTC, HH:MM) of the daily cleanup");
ABSL_FLAG(absl::Duration, retention, absl::Hours(24 * 90),
          "activity ingested longer ago than this is deleted by the daily cleanup");
ABSL_FLAG(double, upstream_rate_per_second, 12,
          "requests per second to the Opinion OpenAPI, every job and retry included (the upstream "
          "allows 15)");
ABSL_FLAG(int, upstream_burst, 2, "requests the upstream limiter lets through at once (1 or 2)");
// ---- end of Sync jobs and the upstream ----
// ---- Whale early polls (work-conserving cadence) ----
ABSL_FLAG(double, whale_budget_share, 0.8,
          "share of the upstream rate (every job's requests counted) up to which the whale-trades "
          "job polls wallets before they are due, the furthest through their interval first; the "
          "rest is left to the other jobs; 0: only due wallets");
// ---- end of Whale early polls ----

namespace {

// The flags that read a WHALEFEED_<NAME> variable, and the variables of other names.
// One line per group of flags, so that additions stay small.
// clang-format off
constexpr const char* kEnvFlags[] = {
    "listen",           "mysql_dsn",    "opinion_base_url",    "health_probe_interval",
    "shutdown_timeout", "db_pool_size", "db_pool_wait_timeout",
    // Query services.
    "admin_token", "market_cache_ttl", "whale_cache_ttl",
    // The whale feed.
    "feed_tail_interval", "max_streams", "feed_buffer_bytes",
    // Sync control.
    "replica_id", "leader_ping_interval", "sync_enabled",
    // Sync jobs and the upstream.
    "markets_interval", "watchlist", "whale_tick_interval", "whale_min_poll_interval",
    "whale_max_poll_interval", "whale_poll_overlap", "backfill_max_age", "stats_interval",
    "cleanup_time", "retention", "upstream_rate_per_second", "upstream_burst",
    // Whale early polls.
    "whale_budget_share"};
// clang-format on
constexpr struct {
  const char* variable;
  const char* flag;
} kEnvAliases[] = {{"OPINION_TRADE_BASE_URL", "opinion_base_url"}};

// Exits at once, without running destructors: after a failed start a component may still run.
[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "whaled: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

// The upstream when OPINION_TRADE_API_KEY is not set: every call fails at once, saying so, so the
// markets and whale-trades runs fail in sync_logs and their health reports it, and nothing is sent
// anywhere. Stats and cleanup, which need no upstream, run as usual.
class UnconfiguredOpinionApi final : public whalefeed::sync::OpinionApi {
 public:
  absl::StatusOr<whalefeed::sync::MarketsPage> ListMarkets(
      int, int, const whalefeed::sync::CancelToken&) override {
    return Refused();
  }
  absl::StatusOr<whalefeed::db::Market> GetCategoricalMarket(
      int64_t, const whalefeed::sync::CancelToken&) override {
    return Refused();
  }
  absl::StatusOr<whalefeed::sync::TradesPage> ListUserTrades(
      absl::string_view, int, int, const whalefeed::sync::CancelToken&) override {
    return Refused();
  }
  absl::StatusOr<std::vector<whalefeed::sync::QuoteToken>> ListQuoteTokens(
      const whalefeed::sync::CancelToken&) override {
    return Refused();
  }

 private:
  static absl::Status Refused() {
    return absl::UnauthenticatedError(
        "OPINION_TRADE_API_KEY is not set: whaled has no key for the Opinion OpenAPI");
  }
};

// "HH:MM" (UTC) as the time after midnight.
bool ParseTimeOfDay(const std::string& text, absl::Duration* out) {
  int hours = 0, minutes = 0;
  if (text.size() != 5 || text[2] != ':' || !absl::SimpleAtoi(text.substr(0, 2), &hours) ||
      !absl::SimpleAtoi(text.substr(3, 2), &minutes) || hours < 0 || hours > 23 || minutes < 0 ||
      minutes > 59) {
    return false;
  }
  *out = absl::Hours(hours) + absl::Minutes(minutes);
  return true;
}

// Sets flags from the environment before the command line is parsed, so that a flag beats its
// variable, which beats the default.
void ApplyEnvironment() {
  auto apply = [](const std::string& variable, const char* flag_name) {
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) return;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(flag_name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      Die(absl::StrCat(variable, "=\"", value, "\": ", error));
    }
  };
  for (const auto& alias : kEnvAliases) apply(alias.variable, alias.flag);
  for (const char* name : kEnvFlags)
    apply(absl::StrCat("WHALEFEED_", absl::AsciiStrToUpper(name)), name);
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      absl::StrCat("whalefeed server ", whalefeed::kVersion,
                   ": syncs the Opinion OpenAPI into MySQL and serves markets, whales, stats and "
                   "the live whale feed "
                   "over gRPC.\n\nEvery flag can also be set by the environment variable "
                   "WHALEFEED_<FLAG NAME IN "
                   "CAPITALS> (a flag beats its variable);\nOPINION_TRADE_API_KEY holds the "
                   "upstream API key.\n\n"
                   "Usage: whaled [--listen=HOST:PORT] [--mysql_dsn=URL] ..."));
  ApplyEnvironment();
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1)
    Die(absl::StrCat("unexpected argument \"", positional[1], "\"; see --help"));

  auto dsn = whalefeed::db::ParseMySqlDsn(absl::GetFlag(FLAGS_mysql_dsn));
  if (!dsn.ok()) Die(std::string(dsn.status().message()));
  const std::string listen = absl::GetFlag(FLAGS_listen);
  if (absl::Status s = whalefeed::server::ValidateListenAddress(listen); !s.ok()) {
    Die(std::string(s.message()));
  }
  if (absl::GetFlag(FLAGS_health_probe_interval) <= absl::ZeroDuration()) {
    Die("--health_probe_interval must be positive");
  }
  if (absl::GetFlag(FLAGS_db_pool_size) < 1) Die("--db_pool_size must be at least 1");
  if (absl::GetFlag(FLAGS_db_pool_wait_timeout) <= absl::ZeroDuration()) {
    Die("--db_pool_wait_timeout must be positive");
  }
  if (absl::GetFlag(FLAGS_market_cache_ttl) < absl::ZeroDuration()) {
    Die("--market_cache_ttl must not be negative");
  }
  if (absl::GetFlag(FLAGS_whale_cache_ttl) < absl::ZeroDuration()) {
    Die("--whale_cache_ttl must not be negative");
  }
  // The whale feed
  if (absl::GetFlag(FLAGS_feed_tail_interval) <= absl::ZeroDuration()) {
    Die("--feed_tail_interval must be positive");
  }
  if (absl::GetFlag(FLAGS_max_streams) < 0) Die("--max_streams must not be negative");
  if (absl::GetFlag(FLAGS_feed_buffer_bytes) < 4096) {
    Die("--feed_buffer_bytes must be at least 4096");
  }

  if (absl::GetFlag(FLAGS_leader_ping_interval) <= absl::ZeroDuration()) {
    Die("--leader_ping_interval must be positive");
  }
  std::string replica_id = absl::GetFlag(FLAGS_replica_id);
  if (replica_id.empty()) replica_id = whalefeed::sync::DefaultReplicaId();
  if (absl::Status s =
          whalefeed::db::CheckText(replica_id, whalefeed::db::kMaxReplicaIdChars, "--replica_id");
      !s.ok()) {
    Die(std::string(s.message()));
  }

  // Sync jobs and the upstream.
  whalefeed::sync::SyncJobsOptions jobs_options;
  jobs_options.markets.interval = absl::GetFlag(FLAGS_markets_interval);
  jobs_options.whale_trades.watchlist_path = absl::GetFlag(FLAGS_watchlist);
  jobs_options.whale_trades.tick_interval = absl::GetFlag(FLAGS_whale_tick_interval);
  jobs_options.whale_trades.min_poll_interval = absl::GetFlag(FLAGS_whale_min_poll_interval);
  jobs_options.whale_trades.max_poll_interval = absl::GetFlag(FLAGS_whale_max_poll_interval);
  jobs_options.whale_trades.overlap = absl::GetFlag(FLAGS_whale_poll_overlap);
  jobs_options.whale_trades.backfill_max_age = absl::GetFlag(FLAGS_backfill_max_age);
  jobs_options.whale_trades.budget_share = absl::GetFlag(FLAGS_whale_budget_share);  // early polls
  jobs_options.stats.interval = absl::GetFlag(FLAGS_stats_interval);
  jobs_options.cleanup.retention = absl::GetFlag(FLAGS_retention);
  if (!ParseTimeOfDay(absl::GetFlag(FLAGS_cleanup_time), &jobs_options.cleanup.time_of_day)) {
    Die("--cleanup_time must be HH:MM (UTC), e.g. 03:00; got \"" +
        absl::GetFlag(FLAGS_cleanup_time) + "\"");
  }
  if (absl::Status s = whalefeed::sync::ValidateSyncJobsOptions(jobs_options); !s.ok()) {
    Die(std::string(s.message()));
  }
  whalefeed::sync::RateLimiterOptions limiter_options;
  limiter_options.rate_per_second = absl::GetFlag(FLAGS_upstream_rate_per_second);
  limiter_options.burst = absl::GetFlag(FLAGS_upstream_burst);
  const char* api_key = std::getenv("OPINION_TRADE_API_KEY");

  // Signals are taken by sigwait below: block them before any thread starts so every thread
  // inherits that.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // re-read the watch-list
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  whalefeed::RealClock clock;
  whalefeed::db::MySqlStoreOptions store_options;
  store_options.dsn = *dsn;
  store_options.pool.max_connections = absl::GetFlag(FLAGS_db_pool_size);
  store_options.pool.acquire_timeout = absl::GetFlag(FLAGS_db_pool_wait_timeout);
  auto store = whalefeed::db::MySqlStore::Create(store_options);
  if (!store.ok()) Die(std::string(store.status().message()));
  whalefeed::db::MySqlStore* mysql = store->get();

  // The prober marks every health status NOT_SERVING now, so health answers from the first call.
  whalefeed::server::HealthService health;
  whalefeed::server::HealthProberOptions prober_options;
  prober_options.interval = absl::GetFlag(FLAGS_health_probe_interval);
  prober_options.markets_interval = jobs_options.markets.interval;
  prober_options.stats_interval = jobs_options.stats.interval;
  whalefeed::server::HealthProber prober(
      mysql, [mysql] { return mysql->PrepareDatabase(); }, &health, &clock, prober_options);

  // Query services: markets and whales, each with a cache of answers kept while the data versions
  // (read every half staleness bound) are unchanged; admin calls checked against --admin_token.
  whalefeed::server::AdminAuth admin_auth(absl::GetFlag(FLAGS_admin_token).value);
  whalefeed::server::MarketServiceOptions market_options;
  market_options.cache_ttl = absl::GetFlag(FLAGS_market_cache_ttl);
  whalefeed::server::WhaleServiceOptions whale_options;
  whale_options.cache_ttl = absl::GetFlag(FLAGS_whale_cache_ttl);
  absl::Duration version_interval = absl::ZeroDuration();  // no cache: no reads
  for (absl::Duration ttl : {market_options.cache_ttl, whale_options.cache_ttl}) {
    if (ttl > absl::ZeroDuration() &&
        (version_interval == absl::ZeroDuration() || ttl / 2 < version_interval)) {
      version_interval = ttl / 2;
    }
  }
  whalefeed::server::DataVersionWatcher data_versions(mysql, &clock, version_interval);
  whalefeed::server::MarketService market_service(mysql, &clock, &data_versions, market_options);
  whalefeed::server::WhaleService whale_service(mysql, &clock, &data_versions, &admin_auth,
                                                whale_options);

  // The whale feed: every replica tails the activity table; on the leader the whale-trades job's
  // commits also wake it at once (on_commit below).
  whalefeed::server::FeedHubOptions feed_options;
  feed_options.tail_interval = absl::GetFlag(FLAGS_feed_tail_interval);
  feed_options.max_streams = absl::GetFlag(FLAGS_max_streams);
  feed_options.stream_buffer_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_feed_buffer_bytes));
  whalefeed::server::FeedHub feed_hub(mysql, &clock, whalefeed::server::ActivityFilterParser(),
                                      feed_options);
  whalefeed::server::FeedService feed_service(&feed_hub);
  // ---- Sync control: the sync engine (leader election + scheduler) and SyncService ----
  const absl::Time started_time = clock.Now();
  // The upstream: one rate limiter for every request of every job, and the client on it.
  whalefeed::sync::RealSleeper sleeper;
  auto limiter = whalefeed::sync::RateLimiter::Create(limiter_options, &clock, &sleeper);
  if (!limiter.ok()) Die(std::string(limiter.status().message()));
  std::unique_ptr<whalefeed::sync::OpinionApi> upstream;
  if (api_key != nullptr && *api_key != '\0') {
    whalefeed::sync::OpinionClientOptions client_options;
    client_options.base_url = absl::GetFlag(FLAGS_opinion_base_url);
    client_options.api_key = api_key;
    auto client = whalefeed::sync::CurlOpinionClient::Create(client_options, limiter->get(), &clock,
                                                             &sleeper);
    if (!client.ok()) Die(std::string(client.status().message()));
    upstream = std::move(*client);
  } else {
    upstream = std::make_unique<UnconfiguredOpinionApi>();
  }
  // The jobs every replica registers (only the leader runs them). Each commit of new trades wakes
  // the feed's streams at once.
  jobs_options.whale_trades.on_commit = [&feed_hub](uint64_t sequence) {
    feed_hub.NotifyCommitted(sequence);
  };
  // Whale early polls spend what the shared limiter has spare.
  jobs_options.whale_trades.upstream_budget = [limiter = limiter->get()] {
    return limiter->Stats();
  };
  auto made_jobs = whalefeed::sync::MakeSyncJobs(*mysql, *upstream, clock, jobs_options);
  if (!made_jobs.ok()) Die(std::string(made_jobs.status().message()));
  whalefeed::sync::WhaleTradesJob* whale_trades_job = made_jobs->whale_trades.get();
  std::vector<std::unique_ptr<whalefeed::sync::SyncJobRunner>> sync_jobs;
  sync_jobs.push_back(std::move(made_jobs->markets));
  sync_jobs.push_back(std::move(made_jobs->whale_trades));
  sync_jobs.push_back(std::move(made_jobs->stats));
  sync_jobs.push_back(std::move(made_jobs->cleanup));
  whalefeed::sync::SyncEngineOptions engine_options;
  engine_options.replica_id = replica_id;
  engine_options.elector.ping_interval = absl::GetFlag(FLAGS_leader_ping_interval);
  engine_options.elector.retry_interval = absl::GetFlag(FLAGS_leader_ping_interval);
  engine_options.scheduler.limiter = [limiter = limiter->get()] {
    const whalefeed::sync::LimiterStats stats = limiter->Stats();
    whalefeed::db::LimiterSnapshot snapshot;
    snapshot.rate_per_second = stats.rate_per_second;
    snapshot.requests_total = stats.requests_total;
    snapshot.throttled_total = stats.throttled_total;
    return snapshot;
  };
  // A refused upstream key shows in health at once, not at the next probe.
  engine_options.scheduler.on_run_finished = [&prober](const whalefeed::sync::RunReport&) {
    prober.ProbeOnce();
  };
  whalefeed::sync::MySqlLeaderLockOptions lock_options;
  lock_options.lock_name = whalefeed::sync::LeaderLockNameFor(dsn->database);
  lock_options.check_timeout =
      std::min(absl::Seconds(2), absl::GetFlag(FLAGS_leader_ping_interval));
  lock_options.idle_timeout =
      std::max(absl::Seconds(5), 5 * absl::GetFlag(FLAGS_leader_ping_interval));
  whalefeed::sync::SyncEngine sync_engine(
      mysql, std::make_unique<whalefeed::sync::MySqlLeaderLock>(mysql, lock_options), &clock,
      std::move(sync_jobs), engine_options);
  whalefeed::server::SyncServiceOptions sync_service_options;
  sync_service_options.replica_id = replica_id;
  sync_service_options.started_time = started_time;
  sync_service_options.intervals.markets = prober_options.markets_interval;
  sync_service_options.intervals.whale_trades = prober_options.whale_trades_interval;
  sync_service_options.intervals.stats = prober_options.stats_interval;
  sync_service_options.intervals.cleanup = prober_options.cleanup_interval;
  sync_service_options.leader_present = [mysql, name = lock_options.lock_name] {
    return whalefeed::sync::MySqlLeaderLock::IsHeldByAnyone(*mysql, name);
  };
  whalefeed::server::SyncService sync_service(mysql, &admin_auth, &clock, sync_engine.jobs(),
                                              sync_service_options);
  // ---- end of Sync control ----

  whalefeed::server::WhaledParts parts;
  parts.health = &health;
  parts.services = {&market_service, &whale_service, &feed_service, &sync_service};
  // Started in this order, stopped in reverse.
  parts.components = {&prober, &feed_hub};
  if (absl::GetFlag(FLAGS_sync_enabled)) parts.components.push_back(&sync_engine);  // Sync control

  whalefeed::server::WhaledServerOptions options;
  options.listen = listen;
  options.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  auto server = whalefeed::server::WhaledServer::Start(options, std::move(parts));
  if (!server.ok()) Die(std::string(server.status().message()));
  WF_LOG(INFO) << "whaled " << whalefeed::kVersion << " listening on "
               << listen.substr(0, listen.rfind(':')) << ":" << (*server)->port() << ", database "
               << dsn->Redacted() << ", replica " << replica_id;
  if (api_key == nullptr || *api_key == '\0') {
    WF_LOG(WARNING) << "OPINION_TRADE_API_KEY is not set: markets and whale trades are not "
                       "synced (their runs fail saying so); stats and cleanup run";
  }

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    if (absl::Status reloaded = whale_trades_job->Reload(); reloaded.ok()) {
      WF_LOG(INFO) << "SIGHUP: watch-list re-read";
    } else {
      WF_LOG(WARNING) << "SIGHUP: watch-list not re-read: " << reloaded.message();
    }
  }
  const absl::Time begin = absl::Now();
  WF_LOG(INFO) << "received " << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
               << ", shutting down";
  if (absl::Status stopped = (*server)->Shutdown(); !stopped.ok()) {
    // Something still runs and may use any of the parts above: destroying them could pull memory
    // from under it. Exit without running a destructor.
    WF_LOG(ERROR) << "did not stop cleanly in " << absl::FormatDuration(absl::Now() - begin) << ": "
                  << stopped.message() << "; exiting without waiting for it";
    std::_Exit(1);
  }
  server->reset();
  WF_LOG(INFO) << "stopped cleanly in " << absl::FormatDuration(absl::Now() - begin);
  return 0;
}
