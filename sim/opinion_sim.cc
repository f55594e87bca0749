#include "sim/opinion_sim.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "rapidjson/document.h"
#include "sim/decimal.h"

namespace whalefeed::sim {
namespace {

// errno values. 11002 and 10403 are known from the real API; the others are the simulator's own.
constexpr int kErrBadParam = 10400;
constexpr int kErrRegionBlocked = 10403;
constexpr int kErrNotFound = 10404;
constexpr int kErrRateLimited = 10429;
constexpr int kErrInternal = 10500;
constexpr int kErrInvalidKey = 11002;

constexpr int64_t kDefaultLimit = 10;
constexpr int64_t kMaxLimit = 20;

std::string RegexEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (absl::string_view("\\^$.|?*+()[]{}").find(c) != absl::string_view::npos) {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

// An optional integer query parameter: nullopt when absent, an error when not a (64-bit) integer.
absl::StatusOr<std::optional<int64_t>> IntParam(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(req.get_param_value(name), &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parameter: ", name, " must be an integer"));
  }
  return value;
}

struct Paging {
  int64_t offset = 0;
  int64_t limit = kDefaultLimit;
};

// page from 1 (default 1); limit default 10, capped (not rejected) at 20.
absl::StatusOr<Paging> ParsePaging(const httplib::Request& req) {
  ASSIGN_OR_RETURN(std::optional<int64_t> page, IntParam(req, "page"));
  ASSIGN_OR_RETURN(std::optional<int64_t> limit, IntParam(req, "limit"));
  Paging paging;
  const int64_t p = page.value_or(1);
  if (p < 1) return absl::InvalidArgumentError("invalid parameter: page must be >= 1");
  paging.limit = limit.value_or(kDefaultLimit);
  if (paging.limit < 1) return absl::InvalidArgumentError("invalid parameter: limit must be >= 1");
  paging.limit = std::min(paging.limit, kMaxLimit);
  paging.offset = p - 1 > std::numeric_limits<int64_t>::max() / paging.limit
                      ? std::numeric_limits<int64_t>::max()
                      : (p - 1) * paging.limit;
  return paging;
}

// An optional positive id (marketId filter): 0 when absent.
absl::StatusOr<int64_t> MarketIdParam(const httplib::Request& req) {
  ASSIGN_OR_RETURN(std::optional<int64_t> id, IntParam(req, "marketId"));
  if (id.has_value() && *id < 1) {
    return absl::InvalidArgumentError("invalid parameter: marketId must be positive");
  }
  return id.value_or(0);
}

// A chainId other than "56" matches nothing.
bool OtherChain(const httplib::Request& req) {
  return req.has_param("chainId") && req.get_param_value("chainId") != kChainId;
}

bool IsWalletAddress(absl::string_view s) {
  if (s.size() != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  return std::all_of(s.begin() + 2, s.end(),
                     [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
}

// The path and query of the wallet endpoints (E10, E11).
struct WalletQuery {
  std::string address;
  Paging paging;
  int64_t market_id = 0;
};

absl::StatusOr<WalletQuery> ParseWalletQuery(const httplib::Request& req) {
  WalletQuery query;
  query.address = req.matches[1].str();
  if (!IsWalletAddress(query.address)) {
    return absl::InvalidArgumentError("invalid parameter: walletAddress must be a 0x address");
  }
  absl::StatusOr<Paging> paging = ParsePaging(req);
  if (!paging.ok()) return paging.status();
  query.paging = *paging;
  absl::StatusOr<int64_t> market_id = MarketIdParam(req);
  if (!market_id.ok()) return market_id.status();
  query.market_id = *market_id;
  return query;
}

std::string Json(const std::function<void(JsonWriter&)>& body) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  body(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

void WriteInt(JsonWriter& w, absl::string_view key, int64_t value) {
  WriteKey(w, key);
  w.Int64(value);
}

// The result of a list endpoint: {"total": N, "list": [...]}, or "list": null under that fault.
// `write_items` writes the page's items into the open array.
std::string RenderList(EnvelopeStyle style, int64_t total, bool list_null,
                       const std::function<void(JsonWriter&)>& write_items) {
  return RenderEnvelope(style, 0, "", [&](JsonWriter& w) {
    w.StartObject();
    WriteInt(w, "total", total);
    WriteKey(w, "list");
    if (list_null) {
      w.Null();
    } else {
      w.StartArray();
      write_items(w);
      w.EndArray();
    }
    w.EndObject();
  });
}

absl::string_view EndpointName(int endpoint) {
  static constexpr absl::string_view kNames[] = {
      "market_list",  "market_detail", "market_categorical", "positions",   "trades",
      "latest_price", "orderbook",     "price_history",      "quote_tokens"};
  return kNames[endpoint];
}

// Items on a page of `total` items starting at `offset`.
int64_t PageItems(int64_t total, int64_t offset, int64_t limit) {
  return offset >= total ? 0 : std::min(limit, total - offset);
}

std::string PriceText(int milli) { return FormatTrimmed(milli, 3, 2); }

}  // namespace

absl::StatusOr<std::unique_ptr<OpinionSim>> OpinionSim::Create(Options options,
                                                               const Clock* clock) {
  if (clock == nullptr) return absl::InvalidArgumentError("a clock is required");
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError("port must be in 0..65535");
  }
  if (options.prefix.empty() || options.prefix[0] != '/' || options.prefix.back() == '/' ||
      options.prefix.find_first_of("?# \t") != std::string::npos || options.prefix == "/admin" ||
      absl::StartsWith(options.prefix, "/admin/")) {
    return absl::InvalidArgumentError(
        "prefix must start with '/', not end with '/', and not be under /admin");
  }
  if (options.history_days < 0 || options.history_days > 365) {
    return absl::InvalidArgumentError("history_days must be in 0..365");
  }
  if (options.index_lag_max_s < 0 || options.index_lag_max_s > 86400) {
    return absl::InvalidArgumentError("index_lag_max_s must be in 0..86400");
  }
  // Trades are kept in memory (~70 bytes each, ~20k per simulated day with the defaults), so
  // simulated time may not race ahead without bound.
  if (!(options.time_scale > 0 && options.time_scale <= 86400)) {
    return absl::InvalidArgumentError("time_scale must be in (0, 86400]");
  }
  if (options.threads < 1 || options.threads > 1024) {
    return absl::InvalidArgumentError("threads must be in 1..1024");
  }
  if (options.not_found_status != 200 && options.not_found_status != 404) {
    return absl::InvalidArgumentError("not_found_status must be 200 or 404");
  }
  if (options.bad_key_status != 200 && options.bad_key_status != 401 &&
      options.bad_key_status != 403) {
    return absl::InvalidArgumentError("bad_key_status must be 200, 401 or 403");
  }
  if (!(options.multi_fill_rate >= 0 && options.multi_fill_rate <= 1)) {
    return absl::InvalidArgumentError("multi_fill_rate must be in [0, 1]");
  }
  if (!options.monotonic_clock) return absl::InvalidArgumentError("monotonic_clock is required");
  for (const FaultSpec& spec : options.faults) RETURN_IF_ERROR(ValidateFaultSpec(spec));

  const absl::Time start =
      options.start_time == absl::InfinitePast() ? clock->Now() : options.start_time;
  WorldConfig config;
  config.seed = options.seed;
  config.markets = options.markets;
  config.wallets = options.wallets;
  config.categorical_fraction = options.categorical_fraction;
  config.trades_per_minute = options.trades_per_minute;
  config.activity_skew = options.activity_skew;
  config.start_unix = absl::ToUnixSeconds(start);
  config.new_markets_per_day = options.new_markets_per_day;
  ASSIGN_OR_RETURN(std::unique_ptr<World> world, World::Generate(config));

  auto sim = absl::WrapUnique(new OpinionSim(std::move(options), clock, std::move(world)));
  RETURN_IF_ERROR(sim->Start());
  return sim;
}

OpinionSim::OpinionSim(Options options, const Clock* clock, std::unique_ptr<World> world)
    : options_(std::move(options)),
      clock_(clock),
      world_(std::move(world)),
      trade_book_(std::make_unique<TradeBook>(
          world_.get(), TradeBookConfig{options_.history_days, options_.index_lag_max_s,
                                        options_.multi_fill_rate})),
      real_start_(clock->Now()),
      sim_start_(absl::FromUnixSeconds(world_->config().start_unix)),
      limiter_(options_.rate_limit, absl::Seconds(1), options_.monotonic_clock),
      request_window_(0, absl::Seconds(1), options_.monotonic_clock),
      faults_(MixSeed({options_.seed, 0x6661756c7473ULL})),  // "faults"
      region_blocked_(options_.region_blocked) {
  render_.side_casing = options_.side_casing;
  render_.seed = options_.seed;
  for (const FaultSpec& spec : options_.faults) faults_.Add(spec);
}

OpinionSim::~OpinionSim() { Stop(); }

std::string OpinionSim::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_, options_.prefix);
}

absl::Status OpinionSim::Start() {
  server_ = std::make_unique<httplib::Server>();
  const int threads = options_.threads;
  // A big pool, so that slow (fault) responses do not starve the others.
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_keep_alive_timeout(2);
  server_->set_keep_alive_max_count(100);
  server_->set_tcp_nodelay(true);
  server_->set_payload_max_length(1 << 20);

  const std::string prefix = RegexEscape(options_.prefix);
  auto api = [this](Endpoint endpoint) {
    return [this, endpoint](const httplib::Request& req, httplib::Response& res) {
      ServeApi(endpoint, req, res);
    };
  };
  server_->Get(prefix + "/market", api(Endpoint::kMarketList));
  server_->Get(prefix + "/market/categorical/([^/]+)", api(Endpoint::kMarketCategorical));
  server_->Get(prefix + "/market/([^/]+)", api(Endpoint::kMarketDetail));
  server_->Get(prefix + "/positions/user/([^/]+)", api(Endpoint::kPositions));
  server_->Get(prefix + "/trade/user/([^/]+)", api(Endpoint::kTrades));
  server_->Get(prefix + "/token/latest-price", api(Endpoint::kLatestPrice));
  server_->Get(prefix + "/token/orderbook", api(Endpoint::kOrderbook));
  server_->Get(prefix + "/token/price-history", api(Endpoint::kPriceHistory));
  server_->Get(prefix + "/quoteToken", api(Endpoint::kQuoteTokens));

  auto admin = [this](absl::string_view name, auto handler) {
    return [this, name = std::string(name), handler](const httplib::Request& req,
                                                     httplib::Response& res) {
      Count(name, /*admin=*/true);
      Respond(res, handler(req));
    };
  };
  server_->Get("/admin/health",
               admin("health", [this](const httplib::Request&) { return AdminHealth(); }));
  server_->Get("/admin/stats", admin("stats", [this](const httplib::Request&) {
                 return Reply{200, StatsJson()};
               }));
  server_->Post("/admin/stats/reset", admin("stats_reset", [this](const httplib::Request&) {
                  limiter_.ResetStats();
                  request_window_.ResetStats();
                  {
                    absl::MutexLock lock(&mu_);
                    stats_ = Stats();
                  }
                  return Reply{200, R"({"status":"ok"})"};
                }));
  server_->Get("/admin/faults",
               admin("faults", [this](const httplib::Request&) { return AdminFaults(); }));
  server_->Post("/admin/faults", admin("faults_set", [this](const httplib::Request& req) {
                  return AdminSetFaults(req);
                }));
  server_->Get("/admin/trades",
               admin("trades", [this](const httplib::Request& req) { return AdminTrades(req); }));
  server_->Get("/admin/wallets",
               admin("wallets", [this](const httplib::Request& req) { return AdminWallets(req); }));
  server_->Post("/admin/advance", admin("advance", [this](const httplib::Request& req) {
                  return AdminAdvance(req);
                }));
  server_->Get("/admin/region", admin("region", [this](const httplib::Request& req) {
                 return AdminRegion(req, /*set=*/false);
               }));
  server_->Post("/admin/region", admin("region_set", [this](const httplib::Request& req) {
                  return AdminRegion(req, /*set=*/true);
                }));

  // Called for every response with status >= 400; fills in a JSON body where there is none (no
  // route, or a request httplib itself refused).
  server_->set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        {
          absl::MutexLock lock(&mu_);
          ++stats_.by_status[res.status];
        }
        const int error = res.status == 404 ? kErrNotFound : kErrBadParam;
        res.set_content(RenderEnvelope(options_.envelope, error,
                                       res.status == 404 ? "not found" : "bad request", nullptr),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_->set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(RenderEnvelope(options_.envelope, kErrInternal, "internal error", nullptr),
                        "application/json");
      });

  if (options_.port == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else {
    port_ = server_->bind_to_port("127.0.0.1", options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind 127.0.0.1:", options_.port));
  }
  auto exited = std::make_shared<std::atomic<bool>>(false);
  listener_ = std::thread([this, exited] {
    server_->listen_after_bind();
    exited->store(true);
  });
  // httplib 0.11 has no "ready" callback, and a stop() that comes before its accept loop runs is
  // lost; so wait (briefly: it is the thread's first step) until the loop runs.
  while (!server_->is_running() && !exited->load()) absl::SleepFor(absl::Milliseconds(1));
  if (exited->load()) {
    listener_.join();
    return absl::InternalError("the HTTP server stopped right after it started");
  }
  return absl::OkStatus();
}

void OpinionSim::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_.Notify();
  if (server_ != nullptr) server_->stop();
  if (listener_.joinable()) listener_.join();
}

absl::Time OpinionSim::SimNow() const {
  if (options_.manual_clock) {
    absl::MutexLock lock(&mu_);
    return sim_start_ + manual_offset_;
  }
  return sim_start_ + (clock_->Now() - real_start_) * options_.time_scale;
}

absl::Status OpinionSim::AdvanceManualClock(absl::Duration d) {
  if (!options_.manual_clock) {
    return absl::FailedPreconditionError("the simulator was not started with a manual clock");
  }
  if (d < absl::ZeroDuration()) return absl::InvalidArgumentError("time cannot go backwards");
  absl::MutexLock lock(&mu_);
  manual_offset_ += d;
  return absl::OkStatus();
}

std::vector<const Wallet*> OpinionSim::TopWallets(int n) const {
  std::vector<const Wallet*> out;
  for (const Wallet& w : world_->wallets()) {
    if (static_cast<int>(out.size()) >= n) break;
    out.push_back(&w);
  }
  return out;
}

bool OpinionSim::KeyAccepted(const std::string& key) const {
  if (key.empty()) return false;
  if (options_.api_keys.empty()) return true;
  return std::find(options_.api_keys.begin(), options_.api_keys.end(), key) !=
         options_.api_keys.end();
}

void OpinionSim::Count(const std::string& endpoint, bool admin) {
  absl::MutexLock lock(&mu_);
  ++(admin ? stats_.admin_requests : stats_.api_requests);
  ++stats_.by_endpoint[admin ? absl::StrCat("admin_", endpoint) : endpoint];
}

void OpinionSim::Respond(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type);
  absl::MutexLock lock(&mu_);
  ++stats_.by_status[reply.status];
}

OpinionSim::Reply OpinionSim::Error(int http_status, int error, absl::string_view message) const {
  return Reply{http_status, RenderEnvelope(options_.envelope, error, message, nullptr)};
}

OpinionSim::Reply OpinionSim::NotFound(absl::string_view message) const {
  return Error(options_.not_found_status, kErrNotFound, message);
}

void OpinionSim::ServeApi(Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
  Count(std::string(EndpointName(static_cast<int>(endpoint))), /*admin=*/false);
  const std::string key = req.get_header_value("apikey");
  request_window_.TryAcquire(key);  // counts every request received, whatever the answer
  if (region_blocked_.load()) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.region_blocked;
    }
    Respond(res, Error(200, kErrRegionBlocked, ErrnoMessage(kErrRegionBlocked)));
    return;
  }
  if (!KeyAccepted(key)) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.unauthorized;
    }
    Respond(res, Error(options_.bad_key_status, kErrInvalidKey, ErrnoMessage(kErrInvalidKey)));
    return;
  }
  if (!limiter_.TryAcquire(key)) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.limiter_429;
    }
    Respond(res, Error(429, kErrRateLimited, "Too many requests"));
    return;
  }

  const FaultScope scope = endpoint == Endpoint::kTrades      ? FaultScope::kTrade
                           : endpoint == Endpoint::kPositions ? FaultScope::kPositions
                                                              : FaultScope::kMarket;
  const bool is_list = endpoint == Endpoint::kMarketList || endpoint == Endpoint::kTrades ||
                       endpoint == Endpoint::kPositions || endpoint == Endpoint::kQuoteTokens;
  const FaultDecision faults = faults_.Decide(scope, is_list);
  if (faults.delay > absl::ZeroDuration()) stopping_.WaitForNotificationWithTimeout(faults.delay);
  std::optional<FaultKind> terminal;
  if (faults.terminal.has_value()) terminal = faults.terminal->kind;
  if (terminal == FaultKind::kRateLimit) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.injected_429;
    }
    if (faults.terminal->retry_after_s > 0) {
      res.set_header("Retry-After", absl::StrCat(faults.terminal->retry_after_s));
    }
    Respond(res, Error(429, kErrRateLimited, "Too many requests"));
    return;
  }
  if (terminal == FaultKind::kServerError) {
    const int status = faults.terminal->status;
    if (status == 500) {
      Respond(res, Error(500, kErrInternal, "Internal server error"));
    } else {
      // What a proxy in front of the API sends: HTML, not the JSON envelope.
      Respond(res,
              Reply{status,
                    absl::StrCat("<html><head><title>", status, "</title></head><body><center><h1>",
                                 status, " Server Error</h1></center></body></html>\n"),
                    "text/html"});
    }
    return;
  }

  if (terminal == FaultKind::kApiError) {
    const FaultSpec& spec = *faults.terminal;
    Respond(res, Error(spec.http_status, spec.error_code, ErrnoMessage(spec.error_code)));
    return;
  }

  RenderOptions render = render_;
  render.wrong_types = faults.wrong_types;
  render.missing_fields = faults.missing_fields;
  Reply reply = Dispatch(endpoint, req, render, faults.list_null);

  if (terminal == FaultKind::kDrop) {
    // Announce the full length, send half of the body, then give up: httplib closes the connection.
    auto body = std::make_shared<std::string>(std::move(reply.body));
    res.status = reply.status;
    res.set_content_provider(body->size(), reply.content_type,
                             [body](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset == 0) sink.write(body->data(), body->size() / 2);
                               return false;
                             });
    absl::MutexLock lock(&mu_);
    ++stats_.dropped_connections;
    ++stats_.by_status[reply.status];
    return;
  }
  if (terminal == FaultKind::kMalformed && !reply.body.empty()) {
    reply.body.resize(std::max<size_t>(1, reply.body.size() * 2 / 3));
  }
  Respond(res, reply);
}

OpinionSim::Reply OpinionSim::Dispatch(Endpoint endpoint, const httplib::Request& req,
                                       const RenderOptions& render, bool list_null) {
  switch (endpoint) {
    case Endpoint::kMarketList:
      return MarketList(req, render, list_null);
    case Endpoint::kMarketDetail:
      return MarketDetail(req, render, /*categorical=*/false);
    case Endpoint::kMarketCategorical:
      return MarketDetail(req, render, /*categorical=*/true);
    case Endpoint::kPositions:
      return WalletPositions(req, render, list_null);
    case Endpoint::kTrades:
      return WalletTrades(req, render, list_null);
    case Endpoint::kLatestPrice:
      return LatestPrice(req);
    case Endpoint::kOrderbook:
      return Orderbook(req);
    case Endpoint::kPriceHistory:
      return PriceHistory(req);
    case Endpoint::kQuoteTokens:
      return QuoteTokens(req, list_null);
  }
  return Error(500, kErrInternal, "internal error");
}

OpinionSim::Reply OpinionSim::MarketList(const httplib::Request& req, const RenderOptions& render,
                                         bool list_null) {
  absl::StatusOr<Paging> paging = ParsePaging(req);
  if (!paging.ok()) return Error(400, kErrBadParam, paging.status().message());
  absl::StatusOr<std::optional<int64_t>> market_type = IntParam(req, "marketType");
  if (!market_type.ok() || market_type->value_or(0) < 0 || market_type->value_or(0) > 2) {
    return Error(400, kErrBadParam, "invalid parameter: marketType must be 0, 1 or 2");
  }
  absl::StatusOr<std::optional<int64_t>> sort_by = IntParam(req, "sortBy");
  if (!sort_by.ok() || sort_by->value_or(1) < 1 || sort_by->value_or(1) > 8) {
    return Error(400, kErrBadParam, "invalid parameter: sortBy must be in 1..8");
  }
  absl::StatusOr<std::optional<int64_t>> label = IntParam(req, "labelId");
  if (!label.ok()) return Error(400, kErrBadParam, label.status().message());
  int status_filter = 0;
  if (req.has_param("status")) {
    const std::string status = absl::AsciiStrToLower(req.get_param_value("status"));
    if (status == "activated") {
      status_filter = kStatusActivated;
    } else if (status == "resolved") {
      status_filter = kStatusResolved;
    } else {
      return Error(400, kErrBadParam, "invalid parameter: status must be activated or resolved");
    }
  }

  const int64_t type = market_type->value_or(0);
  const int64_t now = SimNowSeconds();
  const auto& markets = world_->markets();
  struct Row {
    const Market* market;
    MarketState state;
  };
  std::vector<Row> rows;
  if (!OtherChain(req)) {
    for (int index : world_->top_level()) {
      const Market& m = markets[index];
      if (m.created_at > now) continue;  // not listed yet
      const bool categorical = m.kind == MarketKind::kCategorical;
      if ((type == 0 && categorical) || (type == 1 && !categorical)) continue;
      if (label->has_value() &&
          std::find(m.label_ids.begin(), m.label_ids.end(), **label) == m.label_ids.end()) {
        continue;
      }
      MarketState state = world_->StateAt(m, now);
      if (status_filter != 0 && state.status != status_filter) continue;
      rows.push_back({&m, std::move(state)});
    }
  }
  const int64_t sort = sort_by->value_or(1);
  auto key = [sort](const Row& row) -> int64_t {
    const Market* m = row.market;
    switch (sort) {
      case 1:
        return -m->created_at;
      case 2:  // ending soon; no cutoff last
        return m->cutoff_at == 0 ? std::numeric_limits<int64_t>::max() : m->cutoff_at;
      case 3:
        return -row.state.volume_centi;
      case 4:
        return row.state.volume_centi;
      case 5:
        return -row.state.volume24h_centi;
      case 6:
        return row.state.volume24h_centi;
      case 7:
        return -row.state.volume7d_centi;
      default:
        return row.state.volume7d_centi;
    }
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    return std::make_tuple(key(a), -a.market->id) < std::make_tuple(key(b), -b.market->id);
  });

  const int64_t total = static_cast<int64_t>(rows.size());
  const int64_t items = PageItems(total, paging->offset, paging->limit);
  return Reply{200,
               RenderList(options_.envelope, total, NullList(list_null, items), [&](JsonWriter& w) {
                 for (int64_t i = 0; i < items; ++i) {
                   WriteMarket(w, *world_, *rows[paging->offset + i].market, now, render,
                               static_cast<int>(i));
                 }
               })};
}

OpinionSim::Reply OpinionSim::MarketDetail(const httplib::Request& req, const RenderOptions& render,
                                           bool categorical) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(req.matches[1].str(), &id) || id < 1) {
    return Error(400, kErrBadParam, "invalid parameter: marketId must be a positive integer");
  }
  const int64_t now = SimNowSeconds();
  const Market* market = world_->FindMarket(id);
  if (market == nullptr || market->created_at > now ||
      (categorical && market->kind != MarketKind::kCategorical)) {
    return NotFound("market not found");
  }
  return Reply{200, RenderEnvelope(options_.envelope, 0, "", [&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "data");
                 WriteMarket(w, *world_, *market, now, render, 0);
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::WalletPositions(const httplib::Request& req,
                                              const RenderOptions& render, bool list_null) {
  absl::StatusOr<WalletQuery> query = ParseWalletQuery(req);
  if (!query.ok()) return Error(400, kErrBadParam, query.status().message());
  const Paging& paging = query->paging;

  const int64_t now = SimNowSeconds();
  const int wallet = world_->FindWallet(query->address);
  std::vector<Position> positions;
  if (wallet >= 0 && !OtherChain(req)) {
    positions = trade_book_->WalletPositions(wallet, now, query->market_id);
  }
  const int64_t total = static_cast<int64_t>(positions.size());
  const int64_t items = PageItems(total, paging.offset, paging.limit);
  return Reply{
      200, RenderList(options_.envelope, total, NullList(list_null, items), [&](JsonWriter& w) {
        for (int64_t i = 0; i < items; ++i) {
          WritePosition(w, *world_, positions[paging.offset + i], now, render, static_cast<int>(i));
        }
      })};
}

OpinionSim::Reply OpinionSim::WalletTrades(const httplib::Request& req, const RenderOptions& render,
                                           bool list_null) {
  absl::StatusOr<WalletQuery> query = ParseWalletQuery(req);
  if (!query.ok()) return Error(400, kErrBadParam, query.status().message());
  const Paging& paging = query->paging;

  const int wallet = world_->FindWallet(query->address);
  TradePage page;
  if (wallet >= 0 && !OtherChain(req)) {
    page = trade_book_->WalletTrades(wallet, SimNowSeconds(), query->market_id, paging.offset,
                                     paging.limit);
  }
  const bool null_list = NullList(list_null, static_cast<int64_t>(page.trades.size()));
  return Reply{200, RenderList(options_.envelope, page.total, null_list, [&](JsonWriter& w) {
                 for (size_t i = 0; i < page.trades.size(); ++i) {
                   WriteTrade(w, *world_, page.trades[i], render, static_cast<int>(i));
                 }
               })};
}

// ---- Tokens and quote tokens (E6-E9) ----

bool OpinionSim::LookupToken(const httplib::Request& req, TokenLookup* out, Reply* error) const {
  const std::string token = req.has_param("token_id") ? req.get_param_value("token_id") : "";
  if (token.empty() || token.size() > 78 || !std::all_of(token.begin(), token.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      })) {
    *error = Error(400, kErrBadParam, "invalid parameter: token_id must be a decimal token id");
    return false;
  }
  out->now = SimNowSeconds();
  const auto [index, side] = world_->FindToken(token);
  if (index < 0 || world_->markets()[index].created_at > out->now) {
    *error = NotFound("token not found");
    return false;
  }
  out->market = &world_->markets()[index];
  out->outcome_side = side;
  out->token_id = token;
  return true;
}

namespace {

// The last moment a market traded, as of `now`: its cutoff or resolution once passed.
int64_t LastTradingTime(const Market& m, int64_t now) {
  int64_t t = now;
  if (m.cutoff_at > 0) t = std::min(t, m.cutoff_at);
  if (m.resolved_at > 0) t = std::min(t, m.resolved_at);
  return std::max(t, m.created_at);
}

}  // namespace

OpinionSim::Reply OpinionSim::LatestPrice(const httplib::Request& req) {
  TokenLookup token;
  Reply error;
  if (!LookupToken(req, &token, &error)) return error;
  const Market& m = *token.market;
  // A pure function of the token and the minute: the same query gives the same answer.
  const int64_t end = LastTradingTime(m, token.now);
  Rng rng(MixSeed({options_.seed, 0x6c61737450ULL, static_cast<uint64_t>(m.id),
                   static_cast<uint64_t>(token.outcome_side), static_cast<uint64_t>(end / 60)}));
  const int64_t last = std::max(m.created_at, end - rng.UniformInt(0, 90));
  const int price = std::clamp(
      world_->PriceMilli(m, token.outcome_side, last) + static_cast<int>(rng.UniformInt(-5, 5)), 5,
      995);
  const bool buy = rng.Bernoulli(0.5);
  const int64_t size_centi = rng.UniformInt(100, 2'000'000);
  const int64_t millis = last * 1000 + rng.UniformInt(0, 999);
  return Reply{200, RenderEnvelope(options_.envelope, 0, "", [&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "tokenId");
                 WriteString(w, token.token_id);
                 WriteKey(w, "price");
                 WriteString(w, PriceText(price));
                 WriteKey(w, "side");
                 WriteString(w, buy ? "buy-limit" : "sell-limit");  // as seen live
                 WriteKey(w, "size");
                 WriteString(w, FormatFixed(size_centi, 2));
                 WriteInt(w, "timestamp", millis);
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::Orderbook(const httplib::Request& req) {
  TokenLookup token;
  Reply error;
  if (!LookupToken(req, &token, &error)) return error;
  const Market& m = *token.market;
  // Changes every 10 simulated seconds.
  Rng rng(
      MixSeed({options_.seed, 0x626f6f6bULL, static_cast<uint64_t>(m.id),
               static_cast<uint64_t>(token.outcome_side), static_cast<uint64_t>(token.now / 10)}));
  std::vector<std::pair<int, int64_t>> bids;  // (price milli, size centi)
  std::vector<std::pair<int, int64_t>> asks;
  if (world_->TradeableAt(m, token.now)) {
    const int tick = world_->PriceMilli(m, token.outcome_side, token.now) / 10 * 10;
    const int roll = static_cast<int>(rng.UniformInt(0, 9));  // 0: no asks, 1: no bids
    const int64_t bid_levels = roll == 1 ? 0 : rng.UniformInt(1, 8);
    const int64_t ask_levels = roll == 0 ? 0 : rng.UniformInt(1, 8);
    for (int64_t k = 0; k < bid_levels && tick - 10 * k >= 10; ++k) {
      bids.emplace_back(tick - 10 * static_cast<int>(k), rng.UniformInt(500, 5'000'000));
    }
    for (int64_t k = 0; k < ask_levels && tick + 10 + 10 * k <= 990; ++k) {
      asks.emplace_back(tick + 10 + 10 * static_cast<int>(k), rng.UniformInt(500, 5'000'000));
    }
  }
  auto side = [](JsonWriter& w, const std::vector<std::pair<int, int64_t>>& levels) {
    w.StartArray();
    for (const auto& [price, size] : levels) {
      w.StartObject();
      WriteKey(w, "price");
      WriteString(w, PriceText(price));
      WriteKey(w, "size");
      WriteString(w, FormatFixed(size, 2));
      w.EndObject();
    }
    w.EndArray();
  };
  return Reply{200, RenderEnvelope(options_.envelope, 0, "", [&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "market");
                 WriteString(w, m.condition_id);
                 WriteKey(w, "tokenId");
                 WriteString(w, token.token_id);
                 WriteInt(w, "timestamp", token.now * 1000 + rng.UniformInt(0, 999));
                 WriteKey(w, "bids");
                 side(w, bids);
                 WriteKey(w, "asks");
                 side(w, asks);
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::PriceHistory(const httplib::Request& req) {
  absl::StatusOr<std::optional<int64_t>> start_at = IntParam(req, "start_at");
  if (!start_at.ok()) return Error(400, kErrBadParam, start_at.status().message());
  absl::StatusOr<std::optional<int64_t>> end_at = IntParam(req, "end_at");
  if (!end_at.ok()) return Error(400, kErrBadParam, end_at.status().message());
  TokenLookup token;
  Reply error;
  if (!LookupToken(req, &token, &error)) return error;
  const Market& m = *token.market;
  // Only 1h and 1d take effect; anything else silently means 1d (as live).
  const int64_t interval =
      req.has_param("interval") && req.get_param_value("interval") == "1h" ? 3600 : 86400;
  constexpr int64_t kMaxPoints = 5000;
  const int64_t last = std::min(end_at->value_or(token.now), token.now);
  const int64_t first_wanted = std::max(start_at->value_or(m.created_at), m.created_at);
  std::vector<std::pair<int64_t, int>> points;
  if (first_wanted <= last && last >= 0) {
    int64_t first = (std::max<int64_t>(first_wanted, 0) + interval - 1) / interval * interval;
    first = std::max(first, last / interval * interval - (kMaxPoints - 1) * interval);
    const int64_t close = LastTradingTime(m, token.now);
    for (int64_t t = first; t <= last; t += interval) {
      points.emplace_back(t, world_->PriceMilli(m, token.outcome_side, std::min(t, close)));
    }
  }
  return Reply{200, RenderEnvelope(options_.envelope, 0, "", [&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "history");
                 w.StartArray();
                 for (const auto& [t, price] : points) {
                   w.StartObject();
                   WriteInt(w, "t", t);
                   WriteKey(w, "p");
                   WriteString(w, PriceText(price));
                   w.EndObject();
                 }
                 w.EndArray();
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::QuoteTokens(const httplib::Request& req, bool list_null) {
  absl::StatusOr<Paging> paging = ParsePaging(req);
  if (!paging.ok()) return Error(400, kErrBadParam, paging.status().message());
  const std::string name = req.has_param("quoteTokenName")
                               ? absl::AsciiStrToLower(req.get_param_value("quoteTokenName"))
                               : "";
  std::vector<const QuoteToken*> rows;
  if (!OtherChain(req)) {
    for (const QuoteToken& q : world_->quote_tokens()) {
      if (name.empty() || absl::AsciiStrToLower(q.name) == name) rows.push_back(&q);
    }
  }
  const int64_t total = static_cast<int64_t>(rows.size());
  const int64_t items = PageItems(total, paging->offset, paging->limit);
  return Reply{200,
               RenderList(options_.envelope, total, NullList(list_null, items), [&](JsonWriter& w) {
                 for (int64_t i = 0; i < items; ++i) {
                   const QuoteToken& q = *rows[paging->offset + i];
                   w.StartObject();
                   WriteInt(w, "id", q.id);
                   WriteKey(w, "quoteTokenName");
                   WriteString(w, q.name);
                   WriteKey(w, "quoteTokenAddress");
                   WriteString(w, q.address);
                   WriteKey(w, "ctfExchangeAddress");
                   WriteString(w, q.ctf_exchange);
                   WriteInt(w, "decimal", q.decimals);
                   WriteKey(w, "symbol");
                   WriteString(w, q.symbol);
                   WriteKey(w, "chainId");
                   WriteString(w, kChainId);
                   WriteInt(w, "createdAt", q.created_at);
                   w.EndObject();
                 }
               })};
}

// ---- Admin ----

OpinionSim::Reply OpinionSim::AdminHealth() const {
  return Reply{200, Json([&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "status");
                 WriteString(w, "ok");
                 WriteInt(w, "simNow", SimNowSeconds());
                 WriteInt(w, "simStart", absl::ToUnixSeconds(sim_start_));
                 WriteInt(w, "port", port_);
                 WriteKey(w, "prefix");
                 WriteString(w, options_.prefix);
                 WriteKey(w, "manualClock");
                 w.Bool(options_.manual_clock);
                 WriteKey(w, "timeScale");
                 w.Double(options_.time_scale);
                 WriteInt(w, "indexLagMaxS", options_.index_lag_max_s);
                 WriteKey(w, "regionBlocked");
                 w.Bool(region_blocked_.load());
                 w.EndObject();
               })};
}

std::string OpinionSim::StatsJson() const {
  const SlidingWindowRateLimiter::Snapshot limiter = limiter_.GetSnapshot();
  const SlidingWindowRateLimiter::Snapshot received = request_window_.GetSnapshot();
  const std::map<std::string, int64_t> fired = faults_.FiredByKind();
  Stats stats;
  {
    absl::MutexLock lock(&mu_);
    stats = stats_;
  }
  auto counters = [](JsonWriter& w, const SlidingWindowRateLimiter::Counters& c) {
    w.StartObject();
    WriteInt(w, "accepted", c.accepted);
    WriteInt(w, "rejected", c.rejected);
    WriteInt(w, "worstSecond", c.worst_window_accepted);
    WriteInt(w, "worstSecondOffered", c.worst_window_offered);
    WriteInt(w, "lastSecond", c.last_window_accepted);
    WriteInt(w, "lastSecondOffered", c.last_window_offered);
    w.EndObject();
  };
  return Json([&](JsonWriter& w) {
    w.StartObject();
    WriteInt(w, "simNow", SimNowSeconds());
    WriteInt(w, "totalRequests", stats.api_requests);
    WriteInt(w, "adminRequests", stats.admin_requests);
    WriteKey(w, "byEndpoint");
    w.StartObject();
    for (const auto& [name, n] : stats.by_endpoint) WriteInt(w, name, n);
    w.EndObject();
    WriteKey(w, "byStatus");
    w.StartObject();
    for (const auto& [status, n] : stats.by_status) WriteInt(w, absl::StrCat(status), n);
    w.EndObject();
    WriteInt(w, "unauthorized", stats.unauthorized);
    WriteKey(w, "rateLimited");
    w.StartObject();
    WriteInt(w, "limiter", stats.limiter_429);
    WriteInt(w, "injected", stats.injected_429);
    w.EndObject();
    WriteInt(w, "droppedConnections", stats.dropped_connections);
    WriteInt(w, "regionBlocked", stats.region_blocked);
    // Every API request received (accepted, refused, any answer), in the busiest sliding 1-second
    // window (closed at both ends, real time) since the start or the last reset: what a client
    // sent, to compare with the 15 rps limit.
    WriteInt(w, "maxRequestsPerSecond", received.overall.worst_window_offered);
    WriteKey(w, "maxRequestsPerSecondPerKey");
    w.StartObject();
    for (const auto& [key, c] : received.per_key) WriteInt(w, key, c.worst_window_offered);
    w.EndObject();
    WriteInt(w, "requestsLastSecond", received.overall.last_window_offered);
    WriteKey(w, "faultsFired");
    w.StartObject();
    for (const auto& [kind, n] : fired) WriteInt(w, kind, n);
    w.EndObject();
    // The busiest 1-second window of accepted requests ever seen, and the last second's count.
    WriteInt(w, "worstSecond", limiter.overall.worst_window_accepted);
    WriteKey(w, "worstSecondPerKey");
    w.StartObject();
    for (const auto& [key, c] : limiter.per_key) WriteInt(w, key, c.worst_window_accepted);
    w.EndObject();
    WriteInt(w, "lastSecond", limiter.overall.last_window_accepted);
    WriteKey(w, "limiter");
    w.StartObject();
    WriteInt(w, "limit", limiter_.limit());
    WriteInt(w, "windowMs", 1000);
    WriteKey(w, "overall");
    counters(w, limiter.overall);
    WriteKey(w, "perKey");
    w.StartObject();
    for (const auto& [key, c] : limiter.per_key) {
      WriteKey(w, key);
      counters(w, c);
    }
    w.EndObject();
    w.EndObject();
    w.EndObject();
  });
}

OpinionSim::Reply OpinionSim::AdminFaults() const {
  const std::vector<FaultInjector::Active> active = faults_.List();
  const std::map<std::string, int64_t> fired = faults_.FiredByKind();
  return Reply{200, Json([&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "faults");
                 w.StartArray();
                 for (const FaultInjector::Active& f : active) {
                   w.StartObject();
                   WriteInt(w, "id", f.id);
                   WriteKey(w, "kind");
                   WriteString(w, FaultKindName(f.spec.kind));
                   WriteInt(w, "count", f.spec.count);
                   WriteKey(w, "rate");
                   w.Double(f.spec.rate);
                   WriteKey(w, "endpoint");
                   WriteString(w, FaultScopeName(f.spec.scope));
                   WriteInt(w, "status", f.spec.status);
                   WriteInt(w, "retryAfter", f.spec.retry_after_s);
                   WriteInt(w, "delayMs", f.spec.delay_ms);
                   WriteInt(w, "fired", f.fired);
                   WriteKey(w, "spec");
                   WriteString(w, FaultSpecToString(f.spec));
                   w.EndObject();
                 }
                 w.EndArray();
                 WriteKey(w, "firedByKind");
                 w.StartObject();
                 for (const auto& [kind, n] : fired) WriteInt(w, kind, n);
                 w.EndObject();
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::AdminSetFaults(const httplib::Request& req) {
  auto bad = [](absl::string_view message) {
    return Reply{400, Json([&](JsonWriter& w) {
                   w.StartObject();
                   WriteKey(w, "error");
                   WriteString(w, message);
                   w.EndObject();
                 })};
  };
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) return bad("the body must be a JSON object");
  bool clear = false;
  std::vector<FaultSpec> specs;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const absl::string_view key(it->name.GetString(), it->name.GetStringLength());
    const rapidjson::Value& v = it->value;
    if (key == "clear") {
      if (!v.IsBool()) return bad("\"clear\" must be a boolean");
      clear = v.GetBool();
    } else if (key == "faults") {
      if (!v.IsArray()) return bad("\"faults\" must be an array");
      for (const rapidjson::Value& item : v.GetArray()) {
        absl::StatusOr<FaultSpec> spec = FaultSpecFromJson(item);
        if (!spec.ok()) return bad(spec.status().message());
        specs.push_back(*spec);
      }
    } else if (key == "spec") {
      if (!v.IsString()) return bad("\"spec\" must be a string");
      absl::StatusOr<std::vector<FaultSpec>> parsed =
          ParseFaultSpecs(v.GetString(), /*bare_number_is_rate=*/false);
      if (!parsed.ok()) return bad(parsed.status().message());
      specs.insert(specs.end(), parsed->begin(), parsed->end());
    } else {
      return bad(absl::StrCat("unknown field \"", key, "\""));
    }
  }
  if (clear) faults_.Clear();
  for (const FaultSpec& spec : specs) {
    faults_.Add(spec);
    WF_LOG(INFO) << "fault added: " << FaultSpecToString(spec);
  }
  return AdminFaults();
}

OpinionSim::Reply OpinionSim::AdminTrades(const httplib::Request& req) {
  auto bad = [this](absl::string_view message) { return Error(400, kErrBadParam, message); };
  int wallet = -1;
  if (req.has_param("wallet") && !req.get_param_value("wallet").empty()) {
    const std::string address = req.get_param_value("wallet");
    if (!IsWalletAddress(address)) return bad("invalid parameter: wallet must be a 0x address");
    wallet = world_->FindWallet(address);
    if (wallet < 0) return NotFound("unknown wallet");
  }
  absl::StatusOr<std::optional<int64_t>> since = IntParam(req, "since");
  if (!since.ok()) return bad(since.status().message());
  absl::StatusOr<std::optional<int64_t>> until = IntParam(req, "until");
  if (!until.ok()) return bad(until.status().message());
  absl::StatusOr<std::optional<int64_t>> offset = IntParam(req, "offset");
  if (!offset.ok() || offset->value_or(0) < 0) {
    return bad("invalid parameter: offset must be >= 0");
  }
  absl::StatusOr<std::optional<int64_t>> limit = IntParam(req, "limit");
  if (!limit.ok() || limit->value_or(1) < 1 || limit->value_or(1) > 1000000) {
    return bad("invalid parameter: limit must be in 1..1000000");
  }
  bool pending = false;
  if (req.has_param("pending")) {
    const std::string value = req.get_param_value("pending");
    if (value != "true" && value != "false") {
      return bad("invalid parameter: pending must be true or false");
    }
    pending = value == "true";
  }
  const int64_t now = SimNowSeconds();
  std::vector<Trade> trades = trade_book_->VisibleTrades(
      wallet, now, since->value_or(std::numeric_limits<int64_t>::min()), pending);
  if (until->has_value() && !pending) {
    trades.erase(std::remove_if(trades.begin(), trades.end(),
                                [&](const Trade& t) { return t.visible_at > **until; }),
                 trades.end());
  }
  const size_t total = trades.size();
  const size_t first = std::min<size_t>(total, offset->value_or(0));
  const size_t returned = std::min<size_t>(total - first, limit->value_or(1000000));
  return Reply{200, Json([&](JsonWriter& w) {
                 w.StartObject();
                 WriteInt(w, "simNow", now);
                 WriteInt(w, "total", static_cast<int64_t>(total));
                 WriteInt(w, "offset", static_cast<int64_t>(first));
                 WriteInt(w, "returned", static_cast<int64_t>(returned));
                 WriteKey(w, "trades");
                 w.StartArray();
                 for (size_t i = first; i < first + returned; ++i) {
                   const Trade& t = trades[i];
                   const Market& m = world_->markets()[t.market];
                   WriteTrade(w, *world_, t, render_, static_cast<int>(i), [&](JsonWriter& x) {
                     WriteKey(x, "wallet");
                     WriteString(x, world_->wallets()[t.wallet].address);
                     WriteInt(x, "appearedAt", t.visible_at);
                     WriteInt(x, "visibleAt", t.visible_at);
                     WriteKey(x, "visible");
                     x.Bool(t.visible_at <= now);
                     WriteInt(x, "fillIndex", t.fill);
                     WriteKey(x, "tokenId");
                     WriteString(x, t.outcome_side == 1 ? m.yes_token_id : m.no_token_id);
                     WriteKey(x, "amountUsd");
                     WriteString(x, AmountUsd(t));
                   });
                 }
                 w.EndArray();
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::AdminWallets(const httplib::Request& req) const {
  absl::StatusOr<std::optional<int64_t>> top = IntParam(req, "top");
  if (!top.ok() || top->value_or(20) < 1) {
    return Error(400, kErrBadParam, "invalid parameter: top must be a positive integer");
  }
  const int n = static_cast<int>(
      std::min<int64_t>(top->value_or(20), static_cast<int64_t>(world_->wallets().size())));
  return Reply{200, Json([&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "wallets");
                 w.StartArray();
                 for (const Wallet* wallet : TopWallets(n)) {
                   w.StartObject();
                   WriteKey(w, "address");
                   WriteString(w, wallet->address);
                   WriteKey(w, "label");
                   WriteString(w, wallet->label);
                   WriteInt(w, "rank", wallet->rank);
                   WriteKey(w, "expectedTradesPerDay");
                   w.Double(wallet->trades_per_second * 86400);
                   w.EndObject();
                 }
                 w.EndArray();
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::AdminRegion(const httplib::Request& req, bool set) {
  if (set) {
    const std::string value = req.has_param("blocked") ? req.get_param_value("blocked") : "";
    if (value != "true" && value != "false") {
      return Error(400, kErrBadParam, "invalid parameter: blocked must be true or false");
    }
    SetRegionBlocked(value == "true");
    WF_LOG(INFO) << "region block " << (value == "true" ? "on" : "off");
  }
  return Reply{200, Json([&](JsonWriter& w) {
                 w.StartObject();
                 WriteKey(w, "regionBlocked");
                 w.Bool(region_blocked_.load());
                 w.EndObject();
               })};
}

OpinionSim::Reply OpinionSim::AdminAdvance(const httplib::Request& req) {
  absl::StatusOr<std::optional<int64_t>> seconds = IntParam(req, "seconds");
  if (!seconds.ok() || !seconds->has_value() || **seconds < 0 || **seconds > 30 * 86400) {
    return Error(400, kErrBadParam, "invalid parameter: seconds must be in 0..2592000 (30 days)");
  }
  const absl::Status status = AdvanceManualClock(absl::Seconds(**seconds));
  if (!status.ok()) return Error(409, kErrBadParam, status.message());
  return AdminHealth();
}

}  // namespace whalefeed::sim
