// opinion-sim: serves the simulated Opinion OpenAPI (sim/opinion_sim.h) on 127.0.0.1 until SIGTERM
// or SIGINT.
//
//   opinion-sim --port=0 --seed=7 --time_scale=60 --watchlist_out=/tmp/watch.txt
//
// Once it serves it prints exactly one line to stdout (and flushes it):
//   opinion-sim listening on http://127.0.0.1:PORT/openapi
// so a script can start it with --port=0 and read the port. Logs go to stderr.
// Exit status: 0 after SIGTERM/SIGINT (or --help), 2 for bad flags (one line on stderr), 1 when it
// cannot start (port taken, watch-list not writable).
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/log.h"
#include "sim/faults.h"
#include "sim/opinion_sim.h"

ABSL_FLAG(int, port, 8089,
          "TCP port on 127.0.0.1; 0 picks a free one (read it from the first line)");
ABSL_FLAG(std::string, prefix, "/openapi", "path prefix of the API endpoints");
ABSL_FLAG(uint64_t, seed, 1, "seed of all generated data (and of fault probabilities)");
ABSL_FLAG(int, markets, 300, "number of top-level markets (binary + categorical parents)");
ABSL_FLAG(int, wallets, 300, "number of wallets");
ABSL_FLAG(double, categorical_fraction, 0.15, "share of categorical markets (2-6 children each)");
ABSL_FLAG(int, history_days, 30, "days of trade history before the start");
ABSL_FLAG(double, trades_per_minute, 15,
          "trade events per simulated minute, all wallets together (a multi-fill event gives 2-4 "
          "trades)");
ABSL_FLAG(double, activity_skew, 1.2,
          "Zipf exponent of wallet activity: the wallet of rank r trades at a rate ~ r^-skew");
ABSL_FLAG(int, index_lag_max_s, 20,
          "late indexing: each transaction becomes visible 0..N simulated seconds after its "
          "createdAt, so it can show up below newer trades; 0 = at once");
ABSL_FLAG(double, new_markets_per_day, 48,
          "top-level markets created per simulated day during the first 30 simulated days (they "
          "trade, cut off and resolve later); 0 = none");
ABSL_FLAG(double, multi_fill_rate, 0.15,
          "share of buy/sell orders filled against several makers: 2-4 trades sharing one txHash "
          "and one createdAt second; 0 = one trade per transaction");
ABSL_FLAG(double, time_scale, 1,
          "simulated seconds per real second (60: a minute per second), at most 86400");
ABSL_FLAG(int64_t, start_time, 0, "simulated start, Unix seconds; 0 = now");
ABSL_FLAG(bool, manual_clock, false,
          "simulated time stands still except for POST /admin/advance?seconds=N");
ABSL_FLAG(std::string, api_keys, "",
          "comma-separated accepted apikey values; empty = any non-empty key");
ABSL_FLAG(int, rate_limit, 15,
          "accepted requests per apikey in any sliding second (429 beyond it); 0 = unlimited");
ABSL_FLAG(std::string, envelope, "errno",
          "envelope spelling: errno ({errno,errmsg,result}, as live) or code ({code,msg,result})");
ABSL_FLAG(int, not_found_status, 200, "HTTP status for an unknown market or token id: 200 or 404");
ABSL_FLAG(bool, empty_list_null, true,
          "send \"list\": null for an empty page, as the live API does (--noempty_list_null: [])");
ABSL_FLAG(int, bad_key_status, 401,
          "HTTP status for a missing or unknown apikey (always errno 11002 \"Invalid API key\"): "
          "401, 403 or 200");
ABSL_FLAG(bool, region_blocked, false,
          "start region-blocked: every API call answers HTTP 200 with errno 10403 (switch at run "
          "time with POST /admin/region?blocked=true|false)");
ABSL_FLAG(std::string, side_casing, "title", "trade side spelling: title (Buy) or upper (BUY)");
ABSL_FLAG(
    std::string, fault, "",
    "faults for the next N requests: KIND:N[:key=value...][,...], e.g. rate429:3:retry_after=2");
ABSL_FLAG(std::string, fault_rate, "",
          "faults with a probability per request: KIND:P[:key=value...][,...], e.g. slow:0.1");
ABSL_FLAG(std::string, watchlist_out, "",
          "write the most active wallets to this file at start: '#' comment lines, then one "
          "'0xaddr label' per line");
ABSL_FLAG(int, watchlist_size, 20, "number of wallets written to --watchlist_out");
ABSL_FLAG(int, threads, 32, "HTTP worker threads");

namespace {

using whalefeed::sim::OpinionSim;

constexpr char kUsage[] = R"(opinion-sim: an offline imitation of the Opinion.Trade OpenAPI.

Usage: opinion-sim [--flag=value]...

Prints "opinion-sim listening on http://127.0.0.1:PORT/openapi" once it serves; stops on SIGTERM/SIGINT.

API (header "apikey" required): GET PREFIX/market, PREFIX/market/{id}, PREFIX/market/categorical/{id},
PREFIX/positions/user/{wallet}, PREFIX/trade/user/{wallet}, PREFIX/token/latest-price?token_id=,
PREFIX/token/orderbook?token_id=, PREFIX/token/price-history?token_id=&interval=&start_at=&end_at=,
PREFIX/quoteToken.
Admin (no key): GET /admin/health, /admin/stats, /admin/faults, /admin/region,
/admin/trades?wallet=&since=&until=&offset=&limit=&pending=true, /admin/wallets?top=N;
POST /admin/faults (JSON), /admin/stats/reset, /admin/advance?seconds=N, /admin/region?blocked=B.

Faults (--fault / --fault_rate / POST /admin/faults), KIND[:N][:key=value]...:
  rate429         HTTP 429 (key retry_after=S adds "Retry-After: S")
  http5xx         HTTP 500 JSON, or status=502/503 as an HTML proxy page
  api_error       HTTP 200 (or http=4xx/5xx) with errno=N (default 11002; 11001 key without wallet,
                  10403 region block), message in the chosen envelope, result null
  slow            answer after delay_ms=D (default 2000)
  drop            close the connection half-way through the body
  malformed       truncated JSON body
  list_null       "list": null in list results
  wrong_types     price/amount/volume/sharesOwned as numbers, marketId/createdAt as strings
  missing_fields  records at even positions lose txHash/createdAt/price (trades), token ids/
                  createdAt/volume (markets), tokenId/sharesOwned (positions)
  keys: count=N, rate=P, endpoint=market|trade|positions, status=5xx, retry_after=S, delay_ms=D,
        errno=N, http=S
  e.g. --fault=rate429:3,http5xx:2:status=502,api_error:1:errno=10403
       --fault_rate=drop:0.05:endpoint=trade
  POST /admin/faults {"clear":true,"faults":[{"kind":"slow","count":1,"delayMs":1500}]}

Flags:
)";

bool IsOurFlag(const absl::CommandLineFlag& flag) {
  return absl::EndsWith(flag.Filename(), "sim/main.cc");
}

void PrintUsage() {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsOurFlag(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::cout << kUsage;
  for (const absl::CommandLineFlag* flag : flags) {
    std::cout << "  --" << flag->Name() << " (default: \"" << flag->DefaultValue() << "\")\n      "
              << flag->Help() << "\n";
  }
  std::cout.flush();
}

// absl::ParseCommandLine reports a bad flag over several lines; this parser, on absl's own flag
// registry, keeps it to one. Accepts --name=value, --name value, --bool, --nobool (one or two
// dashes).
absl::Status ParseFlags(int argc, char** argv, bool* help) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    if (arg == "help" || arg == "helpfull" || arg == "h") {
      *help = true;
      continue;
    }
    absl::string_view name = arg;
    absl::string_view value;
    const size_t eq = arg.find('=');
    const bool has_value = eq != absl::string_view::npos;
    if (has_value) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag != nullptr && !IsOurFlag(*flag)) flag = nullptr;
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* positive = absl::FindCommandLineFlag(name.substr(2));
      if (positive != nullptr && IsOurFlag(*positive) && positive->IsOfType<bool>()) {
        flag = positive;
        value = "false";
      }
    } else if (flag != nullptr && !has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value '", value, "' for --", flag->Name(), ": ", error));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<OpinionSim::Options> OptionsFromFlags() {
  OpinionSim::Options options;
  options.port = absl::GetFlag(FLAGS_port);
  options.prefix = absl::GetFlag(FLAGS_prefix);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.markets = absl::GetFlag(FLAGS_markets);
  options.wallets = absl::GetFlag(FLAGS_wallets);
  options.categorical_fraction = absl::GetFlag(FLAGS_categorical_fraction);
  options.history_days = absl::GetFlag(FLAGS_history_days);
  options.trades_per_minute = absl::GetFlag(FLAGS_trades_per_minute);
  options.activity_skew = absl::GetFlag(FLAGS_activity_skew);
  options.index_lag_max_s = absl::GetFlag(FLAGS_index_lag_max_s);
  options.new_markets_per_day = absl::GetFlag(FLAGS_new_markets_per_day);
  options.multi_fill_rate = absl::GetFlag(FLAGS_multi_fill_rate);
  options.empty_list_null = absl::GetFlag(FLAGS_empty_list_null);
  options.bad_key_status = absl::GetFlag(FLAGS_bad_key_status);
  options.region_blocked = absl::GetFlag(FLAGS_region_blocked);
  options.time_scale = absl::GetFlag(FLAGS_time_scale);
  const int64_t start = absl::GetFlag(FLAGS_start_time);
  if (start < 0) return absl::InvalidArgumentError("--start_time must be >= 0");
  if (start > 0) options.start_time = absl::FromUnixSeconds(start);
  options.manual_clock = absl::GetFlag(FLAGS_manual_clock);
  options.api_keys = absl::StrSplit(absl::GetFlag(FLAGS_api_keys), ',', absl::SkipWhitespace());
  options.rate_limit = absl::GetFlag(FLAGS_rate_limit);
  const std::string envelope = absl::GetFlag(FLAGS_envelope);
  if (envelope == "errno") {
    options.envelope = whalefeed::sim::EnvelopeStyle::kErrno;
  } else if (envelope == "code") {
    options.envelope = whalefeed::sim::EnvelopeStyle::kCode;
  } else {
    return absl::InvalidArgumentError("--envelope must be errno or code");
  }
  options.not_found_status = absl::GetFlag(FLAGS_not_found_status);
  const std::string casing = absl::GetFlag(FLAGS_side_casing);
  if (casing == "title") {
    options.side_casing = whalefeed::sim::SideCasing::kTitle;
  } else if (casing == "upper") {
    options.side_casing = whalefeed::sim::SideCasing::kUpper;
  } else {
    return absl::InvalidArgumentError("--side_casing must be title or upper");
  }
  auto counted = whalefeed::sim::ParseFaultSpecs(absl::GetFlag(FLAGS_fault), false);
  if (!counted.ok())
    return absl::InvalidArgumentError(absl::StrCat("--fault: ", counted.status().message()));
  auto random = whalefeed::sim::ParseFaultSpecs(absl::GetFlag(FLAGS_fault_rate), true);
  if (!random.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--fault_rate: ", random.status().message()));
  }
  options.faults = *counted;
  options.faults.insert(options.faults.end(), random->begin(), random->end());
  options.threads = absl::GetFlag(FLAGS_threads);
  if (absl::GetFlag(FLAGS_watchlist_size) < 1) {
    return absl::InvalidArgumentError("--watchlist_size must be >= 1");
  }
  return options;
}

absl::Status WriteWatchlist(const OpinionSim& sim, const std::string& path, int size) {
  std::ofstream out(path, std::ios::trunc);
  out << "# opinion-sim watch-list (seed " << absl::GetFlag(FLAGS_seed) << "): the " << size
      << " most active wallets, most active first.\n"
      << "# One wallet per line: address, then an optional label after whitespace.\n";
  for (const whalefeed::sim::Wallet* wallet : sim.TopWallets(size)) {
    out << wallet->address << " " << wallet->label << "\n";
  }
  out.flush();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

int Fail(int code, absl::string_view message) {
  std::cerr << "opinion-sim: " << absl::StrReplaceAll(message, {{"\n", " "}}) << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  bool help = false;
  if (absl::Status status = ParseFlags(argc, argv, &help); !status.ok()) {
    return Fail(2, status.message());
  }
  if (help) {
    PrintUsage();
    return 0;
  }
  absl::StatusOr<OpinionSim::Options> options = OptionsFromFlags();
  if (!options.ok()) return Fail(2, options.status().message());

  // Block the stop signals before any thread starts (threads inherit the mask); main waits for
  // them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  whalefeed::RealClock clock;
  absl::StatusOr<std::unique_ptr<OpinionSim>> sim = OpinionSim::Create(*std::move(options), &clock);
  if (!sim.ok()) {
    return Fail(sim.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                sim.status().message());
  }
  const std::string watchlist = absl::GetFlag(FLAGS_watchlist_out);
  if (!watchlist.empty()) {
    if (absl::Status status = WriteWatchlist(**sim, watchlist, absl::GetFlag(FLAGS_watchlist_size));
        !status.ok()) {
      return Fail(1, status.message());
    }
  }
  WF_LOG(INFO) << "seed " << absl::GetFlag(FLAGS_seed) << ", " << (*sim)->world().markets().size()
               << " markets, " << (*sim)->world().wallets().size() << " wallets, simulated start "
               << absl::ToUnixSeconds((*sim)->sim_start());
  std::cout << "opinion-sim listening on " << (*sim)->base_url() << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  WF_LOG(INFO) << "signal " << signal_number << ", stopping";
  (*sim)->Stop();
  return 0;
}
