// whalectl: the whalefeed command line, on the client library (client/whalefeed_client.h). The
// usage text below (kUsage) is the reference for commands, flags and exit codes.
#include <google/protobuf/util/json_util.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/whalefeed_client.h"
#include "common/version.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "whaled address HOST:PORT, or several replicas separated by commas (also "
          "WHALEFEED_SERVER)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call, retries included");
ABSL_FLAG(std::string, admin_token, "",
          "admin token for track, untrack and sync run (also WHALEFEED_ADMIN_TOKEN)");
ABSL_FLAG(std::string, o, "table", "output: table (readable) or json (one object per response)");
ABSL_FLAG(bool, utc, false, "show times in UTC instead of the local time zone");
ABSL_FLAG(bool, verbose, false, "watch: also print heartbeats");
ABSL_FLAG(std::string, filter, "", "list and watch: filter (AIP-160 subset, see the API docs)");
ABSL_FLAG(std::string, order_by, "", "list: sort order, e.g. \"volume desc\"");
ABSL_FLAG(int32_t, page_size, 0, "list: items per page (0: the server's default, 50)");
ABSL_FLAG(std::string, page_token, "", "list: continue from this next_page_token");
ABSL_FLAG(bool, all, false, "list: follow next_page_token to the end");
ABSL_FLAG(std::string, window, "24h", "whales top: statistics window, 24h, 7d, 30d or all");
ABSL_FLAG(int32_t, limit, 0, "whales get: recent activities to show (0: 20)");
ABSL_FLAG(std::string, label, "", "whales track: the whale's label (empty keeps the stored one)");
ABSL_FLAG(bool, include_backfill, false,
          "activity list and watch: include BACKFILL activity (traded before tracking began)");
ABSL_FLAG(std::string, from, "",
          "watch: start position: a resume token, an RFC 3339 time, a duration ago (\"1h\"), "
          "earliest or latest (default)");
ABSL_FLAG(absl::Duration, heartbeat_interval, absl::ZeroDuration(),
          "watch: heartbeat interval, 1s to 60s (0: the server's default, 15s)");

namespace whalefeed {
namespace {

constexpr char kUsage[] =
    R"(whalefeed command line.

Usage: whalectl [FLAGS] COMMAND [ARGS]

Commands:
  markets list                 top-level markets (--filter --order_by --page_size --page_token --all)
  markets get MARKET_ID        one market, with its children
  whales top                   the leaderboard (--window 24h|7d|30d|all, list flags)
  whales get WALLET            one whale: statistics of every window and recent activity (--limit)
  whales track WALLET          start tracking a wallet (--label; admin)
  whales untrack WALLET        stop tracking a wallet, its history is kept (admin)
  activity list                stored whale activity (list flags, --include_backfill)
  watch                        the live whale feed, one line per activity, until Ctrl-C (exit 0);
                               resumes by itself when the server restarts or fails over (--filter, --from TOKEN|TIME|DURATION|
                               earliest|latest, --include_backfill, --verbose: heartbeats too)
  sync status                  sync jobs, leader, rate limiter, data freshness
  sync run JOB                 run a sync job now: markets, whale_trades, stats or cleanup (admin)
  health [SERVICE]             grpc.health.v1 status of the server ("") or of SERVICE
  version                      this tool's version and the server's

Common flags: --server HOST:PORT[,HOST:PORT...] (WHALEFEED_SERVER; default 127.0.0.1:50051),
  --timeout, --admin_token (WHALEFEED_ADMIN_TOKEN), -o table|json, --utc. Flag names take '-' or
  '_' alike (--include-backfill). Admin commands send `authorization: Bearer <token>`.

Output: readable tables by default; amounts exact, with thousands separators; times in the local
  time zone (UTC with --utc); long titles cut to the terminal width (COLUMNS, else the terminal,
  else 100). -o json prints each response as one line of proto3 JSON.

Exit codes:
  0  success (health: SERVING)
  1  other error (health: the service is not SERVING)
  2  usage error (unknown command, bad flag or argument)
  3  not found (NOT_FOUND)
  4  invalid argument (INVALID_ARGUMENT, OUT_OF_RANGE)
  5  not allowed (UNAUTHENTICATED, PERMISSION_DENIED)
  6  server unavailable or too slow (UNAVAILABLE, DEADLINE_EXCEEDED)
Errors are one line on stderr: "whalectl: CODE: message".)";

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 3;
constexpr int kExitInvalid = 4;
constexpr int kExitDenied = 5;
constexpr int kExitUnavailable = 6;

int ExitCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitInvalid;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitDenied;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    default:
      return kExitError;
  }
}

// `text` on one line: line breaks and other control characters become spaces.
std::string OneLine(absl::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return line;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "whalectl: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               OneLine(status.message()).c_str());
  return ExitCode(status.code());
}

int Usage(absl::string_view message) {
  std::fprintf(stderr, "whalectl: usage: %s; see whalectl --help\n", std::string(message).c_str());
  return kExitUsage;
}

bool Json() { return absl::GetFlag(FLAGS_o) == "json"; }

void PrintJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  std::printf("%s\n", out.c_str());
}

// ---- Text: widths, cutting, numbers and times. ----

// Display width in code points (UTF-8); enough for titles, labels and the ellipsis.
size_t Width(absl::string_view s) {
  size_t width = 0;
  for (char c : s) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

// `s` cut to `width` code points, the last one an ellipsis when something was cut.
std::string Cut(absl::string_view s, size_t width) {
  if (Width(s) <= width) return std::string(s);
  if (width == 0) return "";
  size_t kept = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (kept == width - 1) break;
      ++kept;
    }
  }
  return absl::StrCat(s.substr(0, i), "…");
}

size_t TerminalWidth() {
  int columns = 0;
  if (const char* env = std::getenv("COLUMNS");
      env != nullptr && absl::SimpleAtoi(env, &columns) && columns > 0) {
    return static_cast<size_t>(columns);
  }
  winsize size{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return 100;
}

// A decimal string with thousands separators, exactly ("1234567.50" -> "1,234,567.50"). Anything
// that is not a plain decimal comes back as it is.
std::string GroupThousands(absl::string_view decimal) {
  absl::string_view digits = decimal;
  const bool negative = absl::ConsumePrefix(&digits, "-");
  const size_t dot = digits.find('.');
  const absl::string_view integer = digits.substr(0, dot);
  const absl::string_view fraction =
      dot == absl::string_view::npos ? absl::string_view() : digits.substr(dot);
  auto all_digits = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
  };
  if (integer.empty() || !all_digits(integer) ||
      (dot != absl::string_view::npos &&
       (fraction.size() < 2 || !all_digits(fraction.substr(1))))) {
    return std::string(decimal);
  }
  std::string grouped;
  for (size_t i = 0; i < integer.size(); ++i) {
    if (i > 0 && (integer.size() - i) % 3 == 0) grouped += ',';
    grouped += integer[i];
  }
  return absl::StrCat(negative ? "-" : "", grouped, fraction);
}

// A USD amount: "$10,000.00", "-$12.50"; "-" when empty.
std::string Usd(absl::string_view decimal) {
  if (decimal.empty()) return "-";
  std::string grouped = GroupThousands(decimal);
  if (absl::StartsWith(grouped, "-")) return absl::StrCat("-$", grouped.substr(1));
  return absl::StrCat("$", grouped);
}

std::string Amount(absl::string_view decimal) {
  return decimal.empty() ? "-" : GroupThousands(decimal);
}

std::string Count(int64_t n) { return GroupThousands(absl::StrCat(n)); }

absl::TimeZone Zone() {
  return absl::GetFlag(FLAGS_utc) ? absl::UTCTimeZone() : absl::LocalTimeZone();
}

std::string Time(bool set, const google::protobuf::Timestamp& t) {
  if (!set) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S",
                          absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()),
                          Zone());
}
#define WF_TIME(message, field) Time((message).has_##field(), (message).field())

std::string Duration(bool set, const google::protobuf::Duration& d) {
  if (!set) return "-";
  return absl::FormatDuration(absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()));
}

// An enum value's name without its prefix: SIDE_BUY -> BUY.
std::string Short(const std::string& name, absl::string_view prefix) {
  absl::string_view s = name;
  absl::ConsumePrefix(&s, prefix);
  return std::string(s);
}

std::string ShortWallet(const std::string& wallet) {
  if (wallet.size() <= 12) return wallet;
  return absl::StrCat(wallet.substr(0, 6), "…", wallet.substr(wallet.size() - 4));
}

// A table printed at once: every column as wide as its widest cell, the last one cut to what the
// terminal leaves it.
class Table {
 public:
  // `right`: the columns aligned right (numbers).
  Table(std::vector<std::string> headers, std::vector<bool> right)
      : headers_(std::move(headers)), right_(std::move(right)) {
    right_.resize(headers_.size(), false);
  }
  void Add(std::vector<std::string> row) {
    row.resize(headers_.size());
    for (std::string& cell : row) cell = OneLine(cell);
    rows_.push_back(std::move(row));
  }
  bool empty() const { return rows_.empty(); }

  void Print() const {
    const size_t n = headers_.size();
    std::vector<size_t> widths(n);
    for (size_t c = 0; c < n; ++c) {
      widths[c] = Width(headers_[c]);
      for (const auto& row : rows_) widths[c] = std::max(widths[c], Width(row[c]));
    }
    size_t fixed = 0;
    for (size_t c = 0; c + 1 < n; ++c) fixed += widths[c] + 2;
    const size_t terminal = TerminalWidth();
    const size_t last = std::max<size_t>(terminal > fixed ? terminal - fixed : 0, 8);
    widths[n - 1] = std::min(widths[n - 1], last);
    PrintRow(headers_, widths);
    for (const auto& row : rows_) PrintRow(row, widths);
  }

 private:
  void PrintRow(const std::vector<std::string>& row, const std::vector<size_t>& widths) const {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool last = c + 1 == row.size();
      std::string cell = Cut(row[c], widths[c]);
      const std::string pad(widths[c] - Width(cell), ' ');
      if (right_[c]) {
        line += pad + cell;
      } else {
        line += cell;
        if (!last) line += pad;
      }
      if (!last) line += "  ";
    }
    std::printf("%s\n", line.c_str());
  }

  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

void Field(absl::string_view name, absl::string_view value) {
  std::printf("  %-15s %s\n", std::string(name).c_str(), std::string(value).c_str());
}

void NextPageHint(const std::string& token) {
  if (!token.empty() && !absl::GetFlag(FLAGS_all)) {
    std::printf("more: --page_token=%s (or --all)\n", token.c_str());
  }
}

// ---- Commands. ----

using client::WhalefeedClient;
using Args = std::vector<std::string>;

std::string OutcomeText(const v1::WhaleActivity& a) {
  const std::string outcome = Short(v1::Outcome_Name(a.outcome()), "OUTCOME_");
  if (a.outcome_label().empty() || absl::EqualsIgnoreCase(a.outcome_label(), outcome)) {
    return outcome;
  }
  return absl::StrCat(outcome, " (", a.outcome_label(), ")");
}

std::string MarketText(const v1::WhaleActivity& a) {
  if (a.root_market_id() != 0 && a.root_market_id() != a.market_id() &&
      !a.root_market_title().empty()) {
    return absl::StrCat(a.root_market_title(), " / ", a.market_title());
  }
  return a.market_title();
}

std::string WhoText(const v1::WhaleActivity& a) {
  return a.wallet_label().empty() ? ShortWallet(a.wallet()) : a.wallet_label();
}

void AddActivityRows(Table& table,
                     const google::protobuf::RepeatedPtrField<v1::WhaleActivity>& list) {
  for (const v1::WhaleActivity& a : list) {
    table.Add({WF_TIME(a, traded_time), absl::StrCat(a.sequence()), WhoText(a),
               Short(v1::Side_Name(a.side()), "SIDE_"), OutcomeText(a), Usd(a.amount_usd()),
               a.price(), a.origin() == v1::ORIGIN_BACKFILL ? "backfill" : "", MarketText(a)});
  }
}

Table ActivityTable() {
  return Table({"TRADED", "SEQ", "WHALE", "SIDE", "OUTCOME", "AMOUNT", "PRICE", "", "MARKET"},
               {false, true, false, false, false, true, true, false, false});
}

int MarketsList(WhalefeedClient& client) {
  v1::ListMarketsRequest request;
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_order_by(absl::GetFlag(FLAGS_order_by));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  request.set_page_token(absl::GetFlag(FLAGS_page_token));
  Table table({"ID", "STATUS", "TYPE", "VOLUME 24H", "WHALE 24H", "CUTOFF", "TITLE"},
              {true, false, false, true, true, false, false});
  int64_t shown = 0, total = 0;
  std::string next;
  do {
    absl::StatusOr<v1::ListMarketsResponse> page = client.ListMarkets(request);
    if (!page.ok()) return Fail(page.status());
    if (Json()) PrintJson(*page);
    for (const v1::Market& m : page->markets()) {
      ++shown;
      table.Add(
          {absl::StrCat(m.market_id()), Short(v1::MarketStatus_Name(m.status()), "MARKET_STATUS_"),
           Short(v1::MarketType_Name(m.market_type()), "MARKET_TYPE_"), Amount(m.volume_24h()),
           Usd(m.whale_volume_24h()), WF_TIME(m, cutoff_time), m.title()});
      for (const v1::Market& child : m.children()) {
        table.Add({absl::StrCat(child.market_id()),
                   Short(v1::MarketStatus_Name(child.status()), "MARKET_STATUS_"), "", "",
                   Usd(child.whale_volume_24h()), WF_TIME(child, cutoff_time),
                   absl::StrCat("  - ", child.title())});
      }
    }
    total = page->total_size();
    next = page->next_page_token();
    request.set_page_token(next);
  } while (absl::GetFlag(FLAGS_all) && !next.empty());
  if (Json()) return kExitOk;
  table.Print();
  std::printf("%s of %s markets\n", Count(shown).c_str(), Count(total).c_str());
  NextPageHint(next);
  return kExitOk;
}

int MarketsGet(WhalefeedClient& client, const std::string& id) {
  v1::GetMarketRequest request;
  int64_t market_id = 0;
  if (!absl::SimpleAtoi(id, &market_id)) {
    return Usage(absl::StrCat("MARKET_ID must be an integer, got \"", id, "\""));
  }
  request.set_market_id(market_id);
  absl::StatusOr<v1::Market> m = client.GetMarket(request);
  if (!m.ok()) return Fail(m.status());
  if (Json()) {
    PrintJson(*m);
    return kExitOk;
  }
  std::printf(
      "%s\n",
      Cut(absl::StrCat("Market ", m->market_id(), ": ", m->title()), TerminalWidth()).c_str());
  Field("status", Short(v1::MarketStatus_Name(m->status()), "MARKET_STATUS_"));
  Field("type", Short(v1::MarketType_Name(m->market_type()), "MARKET_TYPE_"));
  if (m->parent_market_id() != 0) Field("parent", absl::StrCat(m->parent_market_id()));
  if (!m->yes_label().empty())
    Field("outcomes", absl::StrCat(m->yes_label(), " / ", m->no_label()));
  Field("volume", Amount(m->volume()));
  Field("volume 24h", Amount(m->volume_24h()));
  Field("volume 7d", Amount(m->volume_7d()));
  Field("whale 24h", Usd(m->whale_volume_24h()));
  if (m->labels_size() > 0) Field("labels", absl::StrJoin(m->labels(), ", "));
  Field("created", WF_TIME(*m, created_time));
  Field("cutoff", WF_TIME(*m, cutoff_time));
  Field("resolved", WF_TIME(*m, resolved_time));
  Field("synced", WF_TIME(*m, synced_time));
  if (!m->slug().empty()) Field("slug", m->slug());
  if (!m->yes_token_id().empty()) Field("yes token", m->yes_token_id());
  if (!m->no_token_id().empty()) Field("no token", m->no_token_id());
  if (!m->result_token_id().empty()) Field("result token", m->result_token_id());
  if (m->children_size() > 0) {
    std::printf("\n");
    Table table({"ID", "STATUS", "WHALE 24H", "OPTION"}, {true, false, true, false});
    for (const v1::Market& child : m->children()) {
      table.Add({absl::StrCat(child.market_id()),
                 Short(v1::MarketStatus_Name(child.status()), "MARKET_STATUS_"),
                 Usd(child.whale_volume_24h()), child.title()});
    }
    table.Print();
  }
  return kExitOk;
}

absl::StatusOr<v1::StatsWindow> ParseWindow(const std::string& text) {
  const std::string w = absl::AsciiStrToLower(text);
  if (w == "24h") return v1::STATS_WINDOW_24H;
  if (w == "7d") return v1::STATS_WINDOW_7D;
  if (w == "30d") return v1::STATS_WINDOW_30D;
  if (w == "all") return v1::STATS_WINDOW_ALL;
  return absl::InvalidArgumentError(
      absl::StrCat("--window must be 24h, 7d, 30d or all, got \"", text, "\""));
}

int WhalesTop(WhalefeedClient& client) {
  absl::StatusOr<v1::StatsWindow> window = ParseWindow(absl::GetFlag(FLAGS_window));
  if (!window.ok()) return Usage(window.status().message());
  v1::ListWhalesRequest request;
  request.set_window(*window);
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_order_by(absl::GetFlag(FLAGS_order_by));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  request.set_page_token(absl::GetFlag(FLAGS_page_token));
  Table table({"RANK", "WALLET", "VOLUME", "TRADES", "PROFIT", "LAST TRADE", "TRACKED", "LABEL"},
              {true, false, true, true, true, false, false, false});
  std::string next;
  do {
    absl::StatusOr<v1::ListWhalesResponse> page = client.ListWhales(request);
    if (!page.ok()) return Fail(page.status());
    if (Json()) PrintJson(*page);
    for (const v1::Whale& w : page->whales()) {
      v1::WhaleStats stats;
      for (const v1::WhaleStats& s : w.stats()) {
        if (s.window() == *window) stats = s;
      }
      table.Add({stats.rank() > 0 ? absl::StrCat(stats.rank()) : "-", w.wallet(),
                 Usd(stats.volume_usd()), Count(stats.trade_count()),
                 Usd(stats.realized_profit_usd()), WF_TIME(stats, last_trade_time),
                 w.tracked() ? "yes" : "no", w.label()});
    }
    next = page->next_page_token();
    request.set_page_token(next);
  } while (absl::GetFlag(FLAGS_all) && !next.empty());
  if (Json()) return kExitOk;
  table.Print();
  NextPageHint(next);
  return kExitOk;
}

void PrintWhale(const v1::Whale& w) {
  std::printf("%s%s\n", w.wallet().c_str(), w.label().empty() ? "" : ("  " + w.label()).c_str());
  Field("tracked", w.tracked() ? absl::StrCat("yes, since ", WF_TIME(w, tracked_since)) : "no");
  Field("source", Short(v1::WhaleSource_Name(w.source()), "WHALE_SOURCE_"));
  Field("last polled", WF_TIME(w, last_polled_time));
  if (w.has_next_poll_time()) Field("next poll", WF_TIME(w, next_poll_time));
  Field("trades seen", Count(w.trades_seen()));
  if (w.trades_seen() == 0 && w.has_last_polled_time()) {
    std::printf(
        "  note: Opinion.Trade knows no trades of this address. Is it a Safe (proxy) address? "
        "Track the wallet that trades (the login wallet) instead.\n");
  }
  if (w.stats_size() == 0) return;
  std::printf("\n");
  Table table({"WINDOW", "RANK", "VOLUME", "BUY", "SELL", "PROFIT", "TRADES", "MARKETS", "LARGEST",
               "LAST TRADE"},
              {false, true, true, true, true, true, true, true, true, false});
  for (const v1::WhaleStats& s : w.stats()) {
    table.Add({Short(v1::StatsWindow_Name(s.window()), "STATS_WINDOW_"),
               s.rank() > 0 ? absl::StrCat(s.rank()) : "-", Usd(s.volume_usd()),
               Usd(s.buy_volume_usd()), Usd(s.sell_volume_usd()), Usd(s.realized_profit_usd()),
               Count(s.trade_count()), Count(s.markets_traded()), Usd(s.largest_trade_usd()),
               WF_TIME(s, last_trade_time)});
  }
  table.Print();
}

int WhalesGet(WhalefeedClient& client, const std::string& wallet) {
  v1::GetWhaleRequest request;
  request.set_wallet(wallet);
  request.set_recent_activity_limit(absl::GetFlag(FLAGS_limit));
  absl::StatusOr<v1::GetWhaleResponse> response = client.GetWhale(request);
  if (!response.ok()) return Fail(response.status());
  if (Json()) {
    PrintJson(*response);
    return kExitOk;
  }
  PrintWhale(response->whale());
  if (response->recent_activity_size() > 0) {
    std::printf("\nRecent activity\n");
    Table table = ActivityTable();
    AddActivityRows(table, response->recent_activity());
    table.Print();
  }
  return kExitOk;
}

int WhalesTrack(WhalefeedClient& client, const std::string& wallet, bool track) {
  absl::StatusOr<v1::Whale> whale;
  if (track) {
    v1::TrackWhaleRequest request;
    request.set_wallet(wallet);
    request.set_label(absl::GetFlag(FLAGS_label));
    whale = client.TrackWhale(request);
  } else {
    v1::UntrackWhaleRequest request;
    request.set_wallet(wallet);
    whale = client.UntrackWhale(request);
  }
  if (!whale.ok()) return Fail(whale.status());
  if (Json()) {
    PrintJson(*whale);
    return kExitOk;
  }
  std::printf("%s %s\n", track ? "tracking" : "no longer tracking", whale->wallet().c_str());
  PrintWhale(*whale);
  return kExitOk;
}

int ActivityList(WhalefeedClient& client) {
  v1::ListWhaleActivityRequest request;
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_order_by(absl::GetFlag(FLAGS_order_by));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  request.set_page_token(absl::GetFlag(FLAGS_page_token));
  request.set_include_backfill(absl::GetFlag(FLAGS_include_backfill));
  Table table = ActivityTable();
  std::string next, resume;
  do {
    absl::StatusOr<v1::ListWhaleActivityResponse> page = client.ListWhaleActivity(request);
    if (!page.ok()) return Fail(page.status());
    if (Json()) PrintJson(*page);
    AddActivityRows(table, page->activities());
    next = page->next_page_token();
    resume = page->resume_token();
    request.set_page_token(next);
  } while (absl::GetFlag(FLAGS_all) && !next.empty());
  if (Json()) return kExitOk;
  table.Print();
  NextPageHint(next);
  if (!resume.empty()) {
    std::printf("what came after: whalectl watch --from=%s\n", resume.c_str());
  }
  return kExitOk;
}

std::string HumanJob(v1::SyncJob job) {
  return absl::AsciiStrToLower(Short(v1::SyncJob_Name(job), "SYNC_JOB_"));
}

int SyncStatus(WhalefeedClient& client) {
  absl::StatusOr<v1::GetSyncStatusResponse> s = client.GetSyncStatus();
  if (!s.ok()) return Fail(s.status());
  if (Json()) {
    PrintJson(*s);
    return kExitOk;
  }
  Table table({"JOB", "HEALTHY", "LAST RUN", "STARTED", "ENDED", "ITEMS", "NEXT RUN", "ERROR"},
              {false, false, false, false, false, true, false, false});
  for (const v1::SyncJobStatus& job : s->jobs()) {
    table.Add({HumanJob(job.job()), job.healthy() ? "yes" : "NO",
               job.last_status() == v1::RUN_STATUS_UNSPECIFIED
                   ? "never"
                   : Short(v1::RunStatus_Name(job.last_status()), "RUN_STATUS_"),
               WF_TIME(job, last_started_time), WF_TIME(job, last_ended_time),
               Count(job.last_item_count()), WF_TIME(job, next_run_time), job.last_error()});
  }
  table.Print();
  std::printf("\n");
  Field("leader", s->leader_replica_id().empty()
                      ? "none elected"
                      : absl::StrCat(s->leader_replica_id(), " (epoch ", s->leader_epoch(),
                                     ", since ", WF_TIME(*s, leader_acquired_time), ")"));
  if (s->has_limiter()) {
    const v1::LimiterStatus& l = s->limiter();
    Field("rate limiter",
          absl::StrCat(absl::StrFormat("%.2f", l.rate_per_second()), " req/s, ",
                       Count(l.requests_total()), " requests, ", Count(l.throttled_total()),
                       " throttled (published ", WF_TIME(l, published_time), ")"));
  }
  Field("last whale poll", WF_TIME(*s, last_whale_poll_time));
  Field("detection lag", Duration(s->has_detection_lag(), s->detection_lag()));
  Field("server",
        absl::StrCat("whaled ", s->server().version(), ", replica ", s->server().replica_id(),
                     ", schema ", s->server().schema_version()));
  return kExitOk;
}

int SyncRun(WhalefeedClient& client, const std::string& job_name) {
  std::string name = absl::AsciiStrToUpper(job_name);
  std::replace(name.begin(), name.end(), '-', '_');
  v1::SyncJob job = v1::SYNC_JOB_UNSPECIFIED;
  if (!v1::SyncJob_Parse(absl::StrCat("SYNC_JOB_", name), &job) ||
      job == v1::SYNC_JOB_UNSPECIFIED) {
    return Usage(absl::StrCat("JOB must be markets, whale_trades, stats or cleanup, got \"",
                              job_name, "\""));
  }
  v1::RunSyncJobRequest request;
  request.set_job(job);
  absl::StatusOr<v1::RunSyncJobResponse> response = client.RunSyncJob(request);
  if (!response.ok()) return Fail(response.status());
  if (Json()) {
    PrintJson(*response);
    return kExitOk;
  }
  if (response->accepted()) {
    std::printf("queued a %s run; the leader starts it within seconds\n", HumanJob(job).c_str());
  } else {
    std::printf("%s is already running or queued; nothing new was queued\n", HumanJob(job).c_str());
  }
  return kExitOk;
}

int Health(WhalefeedClient& client, const std::string& service) {
  auto response = client.Check(service);
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kNotFound) {
      return Fail(absl::NotFoundError(
          absl::StrCat("the server knows no health service \"", service, "\"")));
    }
    return Fail(response.status());
  }
  if (Json()) {
    PrintJson(*response);
  } else {
    std::printf(
        "%s\n",
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response->status()).c_str());
  }
  return response->status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                              : kExitError;
}

int Version(WhalefeedClient& client) {
  absl::StatusOr<v1::GetSyncStatusResponse> s = client.GetSyncStatus();
  if (!s.ok() && s.status().code() != absl::StatusCode::kUnimplemented) {
    if (!Json()) std::printf("whalectl %s\n", kVersion);
    return Fail(s.status());
  }
  if (Json()) {
    v1::ServerInfo none;
    std::string server;
    google::protobuf::util::JsonPrintOptions options;
    (void)google::protobuf::util::MessageToJsonString(s.ok() ? s->server() : none, &server,
                                                      options);
    std::printf("{\"client\":{\"version\":\"%s\"},\"server\":%s}\n", kVersion, server.c_str());
    return kExitOk;
  }
  std::printf("whalectl %s\n", kVersion);
  if (!s.ok()) {
    std::printf(
        "whaled: version not reported (this server does not implement GetSyncStatus yet)\n");
    return kExitOk;
  }
  const v1::ServerInfo& server = s->server();
  std::printf("whaled %s (replica %s, schema %lld, started %s)\n", server.version().c_str(),
              server.replica_id().c_str(), static_cast<long long>(server.schema_version()),
              WF_TIME(server, started_time).c_str());
  return kExitOk;
}

// ---- watch ----

absl::Status ParseFrom(const std::string& from, v1::WatchWhaleActivityRequest& request) {
  if (from.empty() || absl::EqualsIgnoreCase(from, "latest")) {
    request.set_start(v1::START_POSITION_LATEST);
    return absl::OkStatus();
  }
  if (absl::EqualsIgnoreCase(from, "earliest")) {
    request.set_start(v1::START_POSITION_EARLIEST);
    return absl::OkStatus();
  }
  absl::Time time;
  absl::Duration ago;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, from, &time, &error)) {
  } else if (absl::ParseDuration(from, &ago) && ago > absl::ZeroDuration()) {
    time = absl::Now() - ago;
  } else {
    request.set_resume_token(from);
    return absl::OkStatus();
  }
  const int64_t nanos = absl::ToUnixNanos(time);
  request.mutable_start_time()->set_seconds(nanos / 1000000000);
  request.mutable_start_time()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  if (nanos < 0 && nanos % 1000000000 != 0) {
    request.mutable_start_time()->set_seconds(nanos / 1000000000 - 1);
    request.mutable_start_time()->set_nanos(static_cast<int32_t>(nanos % 1000000000 + 1000000000));
  }
  return absl::OkStatus();
}

std::string ActivityLine(const v1::WhaleActivity& a) {
  std::string who = Cut(WhoText(a), 16);
  who.append(16 - Width(who), ' ');
  std::string side = Short(v1::Side_Name(a.side()), "SIDE_");
  side.append(side.size() < 5 ? 5 - side.size() : 0, ' ');
  std::string amount = Usd(a.amount_usd());
  amount.insert(0, amount.size() < 14 ? 14 - amount.size() : 0, ' ');
  std::string line = absl::StrCat(WF_TIME(a, traded_time), "  ", who, "  ", side, " ",
                                  OutcomeText(a), "  ", amount, "  ");
  if (a.origin() == v1::ORIGIN_BACKFILL) absl::StrAppend(&line, "[backfill] ");
  const size_t width = TerminalWidth();
  const size_t room = width > Width(line) + 8 ? width - Width(line) : 8;
  return OneLine(absl::StrCat(line, Cut(MarketText(a), room)));
}

std::string HeartbeatLine(const v1::WatchWhaleActivityResponse& m) {
  const v1::Heartbeat& h = m.heartbeat();
  return absl::StrCat("-- heartbeat ", WF_TIME(h, server_time), "  position ", h.latest_sequence(),
                      " of ", h.head_sequence(), h.caught_up() ? " (caught up)" : " (catching up)",
                      "  last poll ", WF_TIME(h, last_whale_poll_time), "  lag ",
                      Duration(h.has_detection_lag(), h.detection_lag()));
}

int Watch(WhalefeedClient& client) {
  v1::WatchWhaleActivityRequest request;
  if (absl::Status s = ParseFrom(absl::GetFlag(FLAGS_from), request); !s.ok()) {
    return Usage(s.message());
  }
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_include_backfill(absl::GetFlag(FLAGS_include_backfill));
  const absl::Duration interval = absl::GetFlag(FLAGS_heartbeat_interval);
  if (interval != absl::ZeroDuration()) {
    request.mutable_heartbeat_interval()->set_seconds(absl::ToInt64Seconds(interval));
    request.mutable_heartbeat_interval()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(interval % absl::Seconds(1))));
  }
  client::WatchStop stop;
  // Ctrl-C and SIGTERM end the watch cleanly: the signals are blocked in every thread (gRPC's
  // threads inherit the mask) and taken by one thread of their own.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  std::thread([&stop, signals] {
    int signal = 0;
    sigwait(&signals, &signal);
    stop.Stop();
  }).detach();
  const bool json = Json();
  const bool verbose = absl::GetFlag(FLAGS_verbose);
  client::WatchHooks hooks;
  hooks.on_reconnect = [](const absl::Status& cause, absl::Duration wait) {
    std::fprintf(stderr, "whalectl: stream ended (%s: %s); resuming in %s\n",
                 absl::StatusCodeToString(cause.code()).c_str(),
                 std::string(cause.message()).c_str(), absl::FormatDuration(wait).c_str());
  };
  const absl::Status end = client.WatchWhaleActivity(
      request,
      [&](const v1::WatchWhaleActivityResponse& message) {
        if (json) {
          PrintJson(message);
        } else if (message.has_heartbeat()) {
          if (verbose) std::printf("%s\n", HeartbeatLine(message).c_str());
        } else {
          for (const v1::WhaleActivity& a : message.activities()) {
            std::printf("%s\n", ActivityLine(a).c_str());
          }
        }
        // Whoever reads (a pipe too) sees each message at once; a closed reader ends the watch.
        if (std::fflush(stdout) != 0 || std::ferror(stdout)) stop.Stop();
      },
      &stop, hooks);
  if (!end.ok()) {
    const int code = Fail(end);
    if (std::optional<std::string> oldest = client::OldestResumeToken(end);
        oldest.has_value() && end.code() == absl::StatusCode::kOutOfRange) {
      std::fprintf(stderr,
                   "whalectl: the oldest retained position is %s: --from=%s resumes there "
                   "(what lies between was deleted by retention)\n",
                   oldest->c_str(), oldest->c_str());
    }
    return code;
  }
  return kExitOk;
}

// ---- main ----

// absl flags are spelled with '_'; accept '-' in flag names too (--include-backfill).
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (!absl::StartsWith(arg, "--")) continue;
    const size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + end, '-', '_');
  }
  return args;
}

// A flag that absl would refuse (unknown name, bad value) is a usage error, exit 2; absl itself
// would exit 1. Its own flags (--help and the like) are left to it.
absl::Status CheckFlags(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) continue;
    if (arg.empty()) continue;
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    if (absl::StartsWith(name, "help") || name == "version" || name == "only_check_args" ||
        name == "flagfile" || name == "fromenv" || name == "tryfromenv" || name == "undefok") {
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>() && eq == absl::string_view::npos) {
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    std::string value;
    if (eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value \"", value, "\" of --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

int Run(const std::vector<std::string>& args) {
  if (args.empty()) return Usage("missing command");
  const std::string& command = args[0];
  const std::string output = absl::GetFlag(FLAGS_o);
  if (output != "table" && output != "json") {
    return Usage(absl::StrCat("-o must be table or json, got \"", output, "\""));
  }
  client::ClientOptions options;
  for (absl::string_view address :
       absl::StrSplit(absl::GetFlag(FLAGS_server), ',', absl::SkipWhitespace())) {
    options.addresses.emplace_back(absl::StripAsciiWhitespace(address));
  }
  options.default_deadline = absl::GetFlag(FLAGS_timeout);
  options.admin_token = absl::GetFlag(FLAGS_admin_token);
  if (options.addresses.empty()) return Usage("--server names no address");
  if (options.default_deadline <= absl::ZeroDuration()) return Usage("--timeout must be positive");
  auto client = WhalefeedClient::Create(options);
  if (!client.ok()) return Usage(client.status().message());
  WhalefeedClient& c = **client;

  const std::string sub = args.size() > 1 ? args[1] : "";
  const size_t n = args.size();
  if (command == "markets" && sub == "list" && n == 2) return MarketsList(c);
  if (command == "markets" && sub == "get" && n == 3) return MarketsGet(c, args[2]);
  if (command == "whales" && sub == "top" && n == 2) return WhalesTop(c);
  if (command == "whales" && sub == "get" && n == 3) return WhalesGet(c, args[2]);
  if (command == "whales" && sub == "track" && n == 3) return WhalesTrack(c, args[2], true);
  if (command == "whales" && sub == "untrack" && n == 3) return WhalesTrack(c, args[2], false);
  if (command == "activity" && sub == "list" && n == 2) return ActivityList(c);
  if (command == "sync" && sub == "status" && n == 2) return SyncStatus(c);
  if (command == "sync" && sub == "run" && n == 3) return SyncRun(c, args[2]);
  if (command == "watch" && n == 1) return Watch(c);
  if (command == "health" && n <= 2) return Health(c, sub);
  if (command == "version" && n == 1) return Version(c);
  return Usage(absl::StrCat("unknown command or arguments \"", absl::StrJoin(args, " "), "\""));
}

}  // namespace
}  // namespace whalefeed

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  std::signal(SIGPIPE, SIG_IGN);

  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "client/whalectl.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(whalefeed::kUsage);
  if (const char* server = std::getenv("WHALEFEED_SERVER"); server != nullptr && *server != '\0') {
    absl::SetFlag(&FLAGS_server, server);
  }
  if (const char* token = std::getenv("WHALEFEED_ADMIN_TOKEN");
      token != nullptr && *token != '\0') {
    absl::SetFlag(&FLAGS_admin_token, token);
  }
  std::vector<std::string> normalized = whalefeed::NormalizeFlagNames(argc, argv);
  // --help, -h and `help` print the usage and every flag, and exit 0 (abseil's own --help exits 1).
  for (size_t i = 1; i < normalized.size() && normalized[i] != "--"; ++i) {
    const std::string& arg = normalized[i];
    if (arg == "--help" || arg == "-help" || arg == "-h" || (arg == "help" && i == 1)) {
      absl::flags_internal::FlagsHelp(std::cout, "client/whalectl.cc",
                                      absl::flags_internal::HelpFormat::kHumanReadable,
                                      whalefeed::kUsage);
      return whalefeed::kExitOk;
    }
  }
  if (absl::Status s = whalefeed::CheckFlags(normalized); !s.ok()) {
    return whalefeed::Usage(s.message());
  }
  std::vector<char*> pointers;
  for (std::string& arg : normalized) pointers.push_back(arg.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  // watch takes Ctrl-C and SIGTERM on a thread of its own: block them before gRPC starts its
  // threads, which inherit the mask. Other commands end by the default action.
  if (!args.empty() && args[0] == "watch") pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return whalefeed::Run(args);
}
