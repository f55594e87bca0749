// OpinionSim: an offline imitation of the Opinion.Trade OpenAPI as it really behaves on the wire,
// for tests of the poller and for running whalefeed without the network. It serves real HTTP on
// 127.0.0.1 from its own threads; tests run it in-process on port 0 with a FakeClock, scripts run
// the `opinion-sim` binary (sim/main.cc).
//
// API (under Options::prefix, default "/openapi"; every request needs an `apikey` header):
//   GET /market                      E1: page (from 1), limit (default 10, capped at 20), status
//                                    (activated|resolved), marketType (0 binary = default, 1
//                                    categorical, 2 all), sortBy (1..8, default 1), labelId,
//                                    chainId. `total` counts top-level rows; parents carry
//                                    childMarkets.
//   GET /market/{id}                 E2: any market (binary, child, or parent with its children).
//   GET /market/categorical/{id}     E3: categorical parents only.
//   GET /positions/user/{wallet}     E10: net positions from the wallet's visible trades, largest
//                                    first.
//   GET /trade/user/{wallet}         E11: the wallet's visible trades, newest first; marketId
//                                    filter (matches marketId or rootMarketId).
// Wallets match case-insensitively; a well-formed but unknown wallet has no trades. Each API
// request goes through, in order: apikey check (401, errno 11002), the rate limiter (429, errno
// 10429), injected faults (sim/faults.h), parameter checks (400, errno 10400), the result (unknown
// market: errno 10404 with HTTP 200 or 404 per Options::not_found_status). Unknown paths: 404,
// errno 10404.
//
// Rate limit: strict per apikey: a request is refused with 429 (no Retry-After) when accepting it
// would put more than Options::rate_limit accepted requests into some 1-second window. Only
// accepted requests count (refused ones, 401s and admin calls do not). Requests that are then hit
// by an injected fault were accepted and do count. The limiter runs on the steady clock (real
// elapsed time), not on the simulated clock, so it stays strict whatever the time scale.
//
// Time: simulated now = start + (clock->Now() - clock at Create) * time_scale, or, with
// manual_clock, start + whatever /admin/advance added. Trades exist from `history_days` before
// start onwards and keep coming; a trade is visible once its createdAt (plus the optional indexing
// lag) <= simulated now. Markets do not change over simulated time. Generated trades stay in memory
// (about 70 bytes each; ~20k per simulated day with the defaults, 830k for the default 30-day
// history of all wallets), which is why time_scale is capped at 86400.
//
// Quirks of the real API imitated on purpose: marketType defaults to binary only; parents have ""
// token ids and a parent's status can lag behind its children (Created while they are Resolved);
// several fills of one order share a createdAt second; Merge/Split rows (price 1.00, outcomeSide 1)
// among Buy/Sell; usdAmount scaled by 1e18; optional late indexing (index_lag_max_s).
//
// Admin (no apikey, JSON; under "/admin", not under the prefix):
//   GET  /admin/health                 {"status":"ok","simNow":..,"simStart":..,"port":..}
//   GET  /admin/stats                  request counts, 429s (limiter / injected), faults fired,
//                                      worst and last sliding second, overall and per key
//   POST /admin/stats/reset            zeroes the counters
//   GET  /admin/faults                 active faults
//   POST /admin/faults                 {"clear":true,"faults":[{"kind":..,"count":..},...],
//                                       "spec":"http5xx:2,slow:1"}: clear first, then add
//   GET  /admin/trades?wallet=&since=&limit=   visible trades with appearedAt >= since (Unix s),
//                                      oldest first, all E11 fields plus wallet and appearedAt
//   GET  /admin/wallets?top=N          wallets by activity (default 20)
//   POST /admin/advance?seconds=N      manual_clock only: moves simulated time forward
//                                      (N <= 30 days)
//
// Thread-safety: all public methods are thread-safe. Requests are served concurrently by a pool of
// Options::threads threads; shared state lives in thread-safe members (TradeBook, FaultInjector,
// SlidingWindowRateLimiter) or behind mu_.
#ifndef WHALEFEED_SIM_OPINION_SIM_H_
#define WHALEFEED_SIM_OPINION_SIM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "sim/faults.h"
#include "sim/rate_limiter.h"
#include "sim/render.h"
#include "sim/trade_book.h"
#include "sim/world.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace whalefeed::sim {

class OpinionSim {
 public:
  struct Options {
    int port = 0;  // 0 = pick a free port
    std::string prefix = "/openapi";
    // Data.
    uint64_t seed = 1;
    int markets = 300;  // top-level markets
    int wallets = 300;
    double categorical_fraction = 0.15;
    int history_days = 30;
    double trades_per_minute = 15;  // trade events per simulated minute, all wallets together
    double activity_skew = 1.2;     // Zipf exponent of wallet activity
    int index_lag_max_s = 0;        // trades appear 0..N s after their createdAt
    // Time.
    double time_scale = 1;                         // simulated seconds per clock second
    absl::Time start_time = absl::InfinitePast();  // InfinitePast: clock->Now() at Create
    bool manual_clock = false;  // simulated time moves only through AdvanceManualClock / admin
    // Behaviour.
    std::vector<std::string> api_keys;  // accepted keys; empty: any non-empty key
    int rate_limit = 15;                // per key per sliding second; <= 0 disables the limiter
    EnvelopeStyle envelope = EnvelopeStyle::kErrno;
    int not_found_status = 200;  // HTTP status for an unknown market id: 200 or 404
    SideCasing side_casing = SideCasing::kTitle;
    std::vector<FaultSpec> faults;               // active from the start
    int threads = 32;                            // HTTP worker threads
    MonotonicClock monotonic_clock = SteadyNow;  // for the rate limiter only
  };

  // Generates the world, binds 127.0.0.1:port and starts serving before it returns.
  // `clock` must outlive the simulator.
  static absl::StatusOr<std::unique_ptr<OpinionSim>> Create(Options options, const Clock* clock);

  OpinionSim(const OpinionSim&) = delete;
  OpinionSim& operator=(const OpinionSim&) = delete;
  ~OpinionSim();  // Stop()s.

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" + prefix.
  std::string base_url() const;
  // Stops serving: interrupts slow (fault) responses and waits for the server threads. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(stop_mu_);

  absl::Time sim_start() const { return sim_start_; }
  absl::Time SimNow() const ABSL_LOCKS_EXCLUDED(mu_);
  // Only with Options::manual_clock (else FailedPrecondition); `d` must not be negative.
  absl::Status AdvanceManualClock(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

  const World& world() const { return *world_; }
  TradeBook& trade_book() { return *trade_book_; }
  FaultInjector& faults() { return faults_; }
  // The `n` most active wallets (fewer if there are fewer wallets).
  std::vector<const Wallet*> TopWallets(int n) const;
  // The body of GET /admin/stats.
  std::string StatsJson() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum class Endpoint { kMarketList, kMarketDetail, kMarketCategorical, kPositions, kTrades };
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  struct Stats {
    int64_t api_requests = 0;
    int64_t admin_requests = 0;
    std::map<std::string, int64_t> by_endpoint;
    std::map<int, int64_t> by_status;
    int64_t unauthorized = 0;
    int64_t limiter_429 = 0;
    int64_t injected_429 = 0;
    int64_t dropped_connections = 0;
  };

  OpinionSim(Options options, const Clock* clock, std::unique_ptr<World> world);
  absl::Status Start();
  int64_t SimNowSeconds() const { return absl::ToUnixSeconds(SimNow()); }

  // API plumbing.
  void ServeApi(Endpoint endpoint, const httplib::Request& req, httplib::Response& res);
  Reply Dispatch(Endpoint endpoint, const httplib::Request& req, const RenderOptions& render,
                 bool list_null);
  Reply MarketList(const httplib::Request& req, const RenderOptions& render, bool list_null);
  Reply MarketDetail(const httplib::Request& req, const RenderOptions& render, bool categorical);
  Reply WalletPositions(const httplib::Request& req, const RenderOptions& render, bool list_null);
  Reply WalletTrades(const httplib::Request& req, const RenderOptions& render, bool list_null);
  Reply Error(int http_status, int error, absl::string_view message) const;
  Reply NotFound(absl::string_view message) const;
  bool KeyAccepted(const std::string& key) const;
  void Respond(httplib::Response& res, const Reply& reply) ABSL_LOCKS_EXCLUDED(mu_);
  void Count(const std::string& endpoint, bool admin) ABSL_LOCKS_EXCLUDED(mu_);

  // Admin.
  Reply AdminHealth() const;
  Reply AdminFaults() const;
  Reply AdminSetFaults(const httplib::Request& req);
  Reply AdminTrades(const httplib::Request& req);
  Reply AdminWallets(const httplib::Request& req) const;
  Reply AdminAdvance(const httplib::Request& req);

  const Options options_;
  const Clock* const clock_;
  const std::unique_ptr<World> world_;
  const std::unique_ptr<TradeBook> trade_book_;
  const absl::Time real_start_;
  const absl::Time sim_start_;
  RenderOptions render_;  // set in the constructor, then read-only
  SlidingWindowRateLimiter limiter_;
  FaultInjector faults_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  int port_ = 0;
  absl::Notification stopping_;  // wakes slow responses up when stopping

  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;

  mutable absl::Mutex mu_;
  absl::Duration manual_offset_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_OPINION_SIM_H_
