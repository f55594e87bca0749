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
//                                    filter (exactly that marketId, not a parent's children).
//   GET /token/latest-price?token_id=   E6: last trade of a token (timestamp in ms).
//   GET /token/orderbook?token_id=      E7: bids (price descending) and asks (ascending); empty
//                                       once the market stops trading, one side empty at times.
//   GET /token/price-history?token_id=&interval=&start_at=&end_at=   E8: {"history":[{t,p}]};
//                                    interval 1h, anything else means 1d; seconds.
//   GET /quoteToken                  E9: the quote currencies (USDT, USDC, USD1); page, limit,
//                                    quoteTokenName, chainId.
// Wallets match case-insensitively; a well-formed but unknown wallet has no trades. Empty list
// pages send "list": null (Options::empty_list_null), as the live API does. Each API request goes
// through, in order: the region block (when on: HTTP 200, errno 10403, result null), apikey check
// (HTTP Options::bad_key_status, default 401, errno 11002 "Invalid API key"), the rate limiter
// (429, errno 10429), injected faults (sim/faults.h; api_error gives HTTP 200 + any errno),
// parameter checks (400, errno 10400), the result (unknown market or token: errno 10404 with HTTP
// 200 or 404 per Options::not_found_status). Unknown paths: 404, errno 10404.
//
// Rate limit: strict per apikey: a request is refused with 429 (no Retry-After) when accepting it
// would put more than Options::rate_limit accepted requests into some 1-second window. Only
// accepted requests count (refused ones, 401s and admin calls do not). Requests that are then hit
// by an injected fault were accepted and do count. The limiter runs on the steady clock (real
// elapsed time), not on the simulated clock, so it stays strict whatever the time scale.
//
// Time: simulated now = start + (clock->Now() - clock at Create) * time_scale, or, with
// manual_clock, start + whatever /admin/advance added. Trades exist from `history_days` before
// start onwards and keep coming; a trade is visible once its createdAt plus its indexing lag
// (0..index_lag_max_s, default 20 simulated seconds, shared by the fills of one transaction) <=
// simulated now, so a late one shows up below newer trades. Markets change over simulated time
// (sim/world.h): new ones are listed, statuses move to Resolving and Resolved (with resultTokenId
// and resolvedAt), volumes grow; all of it a pure function of the seed and the simulated time,
// like the trades. Generated trades stay in memory
// (about 70 bytes each; ~20k per simulated day with the defaults, 830k for the default 30-day
// history of all wallets), which is why time_scale is capped at 86400.
//
// Quirks of the real API imitated on purpose: marketType defaults to binary only; parents have ""
// token ids and a parent's status can lag behind its children (Created while they are Resolved);
// several fills of one order share a txHash and a createdAt second; Merge/Split rows (price 1.00,
// outcomeSide 1) among Buy/Sell; usdAmount scaled by 1e18 (amount * quoteTokenUsdPrice, which is
// not 1 for USDC/USD1 markets); amounts with up to 18 decimals; statusEnum "Finished" at times;
// token ids are uniform 256-bit decimals; late indexing (index_lag_max_s).
//
// Admin (no apikey, JSON; under "/admin", not under the prefix):
//   GET  /admin/health                 {"status":"ok","simNow":..,"simStart":..,"port":..}
//   GET  /admin/stats                  request counts, 429s (limiter / injected), faults fired,
//                                      worst and last sliding second, overall and per key;
//                                      maxRequestsPerSecond: the most API requests received (any
//                                      answer) in any sliding 1-second window since the reset
//   POST /admin/stats/reset            zeroes the counters
//   GET  /admin/faults                 active faults
//   POST /admin/faults                 {"clear":true,"faults":[{"kind":..,"count":..},...],
//                                       "spec":"http5xx:2,slow:1"}: clear first, then add
//   GET  /admin/trades?wallet=&since=&until=&offset=&limit=&pending=
//                                      the ground truth: every trade the API shows (visibleAt in
//                                      [since, until], until <= simNow; pending=true adds the ones
//                                      created but not visible yet), ordered by visibleAt, with all
//                                      E11 fields exactly as the API sends them plus wallet,
//                                      visibleAt (= appearedAt), fillIndex, tokenId, amountUsd
//   GET|POST /admin/region?blocked=true|false   region block switch
//   GET  /admin/wallets?top=N          wallets by activity (default 20)
//   POST /admin/advance?seconds=N      manual_clock only: moves simulated time forward
//                                      (N <= 30 days)
//
// Thread-safety: all public methods are thread-safe. Requests are served concurrently by a pool of
// Options::threads threads; shared state lives in thread-safe members (TradeBook, FaultInjector,
// SlidingWindowRateLimiter) or behind mu_.
#ifndef WHALEFEED_SIM_OPINION_SIM_H_
#define WHALEFEED_SIM_OPINION_SIM_H_

#include <atomic>
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
    double trades_per_minute = 15;    // trade events per simulated minute, all wallets together
    double activity_skew = 1.2;       // Zipf exponent of wallet activity
    int index_lag_max_s = 20;         // transactions appear 0..N simulated s after their createdAt
    double new_markets_per_day = 48;  // top-level markets created per simulated day after start
    double multi_fill_rate = 0.15;    // share of orders filled as 2-4 trades with one txHash
    // Time.
    double time_scale = 1;                         // simulated seconds per clock second
    absl::Time start_time = absl::InfinitePast();  // InfinitePast: clock->Now() at Create
    bool manual_clock = false;  // simulated time moves only through AdvanceManualClock / admin
    // Behaviour.
    std::vector<std::string> api_keys;  // accepted keys; empty: any non-empty key
    int rate_limit = 15;                // per key per sliding second; <= 0 disables the limiter
    EnvelopeStyle envelope = EnvelopeStyle::kErrno;
    int not_found_status = 200;   // HTTP status for an unknown market id: 200 or 404
    bool empty_list_null = true;  // an empty page sends "list": null, as the live API does
    int bad_key_status = 401;     // HTTP status with errno 11002 for a missing/unknown key: 200/401
    bool region_blocked = false;  // every API call answers HTTP 200 + errno 10403 (see SetRegion)
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

  // Switches the region block on or off (also POST /admin/region?blocked=true|false).
  void SetRegionBlocked(bool blocked) { region_blocked_.store(blocked); }
  bool region_blocked() const { return region_blocked_.load(); }

  const World& world() const { return *world_; }
  TradeBook& trade_book() { return *trade_book_; }
  FaultInjector& faults() { return faults_; }
  // The `n` most active wallets (fewer if there are fewer wallets).
  std::vector<const Wallet*> TopWallets(int n) const;
  // The body of GET /admin/stats.
  std::string StatsJson() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum class Endpoint {
    kMarketList,
    kMarketDetail,
    kMarketCategorical,
    kPositions,
    kTrades,
    kLatestPrice,
    kOrderbook,
    kPriceHistory,
    kQuoteTokens,
  };
  // The market and outcome side named by a token_id parameter.
  struct TokenLookup {
    const Market* market = nullptr;
    int outcome_side = 0;
    std::string token_id;
    int64_t now = 0;
  };
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
    int64_t region_blocked = 0;
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
  Reply LatestPrice(const httplib::Request& req);
  Reply Orderbook(const httplib::Request& req);
  Reply PriceHistory(const httplib::Request& req);
  Reply QuoteTokens(const httplib::Request& req, bool list_null);
  // False (with the reply in *error) when the token_id parameter is missing, malformed or unknown.
  bool LookupToken(const httplib::Request& req, TokenLookup* out, Reply* error) const;
  // Whether a list result goes out as "list": null: under the list_null fault, or when empty and
  // Options::empty_list_null.
  bool NullList(bool fault, int64_t items) const {
    return fault || (items == 0 && options_.empty_list_null);
  }
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
  Reply AdminRegion(const httplib::Request& req, bool set);

  const Options options_;
  const Clock* const clock_;
  const std::unique_ptr<World> world_;
  const std::unique_ptr<TradeBook> trade_book_;
  const absl::Time real_start_;
  const absl::Time sim_start_;
  RenderOptions render_;  // set in the constructor, then read-only
  SlidingWindowRateLimiter limiter_;
  // Counts every API request received (whatever its answer) per sliding second, for /admin/stats.
  SlidingWindowRateLimiter request_window_;
  FaultInjector faults_;
  std::atomic<bool> region_blocked_{false};
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
