#include "tests/testing/sim_ground_truth.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sync/exact_decimal.h"
#include "sync/http_client.h"

namespace whalefeed::testing {
namespace {

constexpr size_t kExamples = 5;

db::Side SideOf(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text == "buy") return db::Side::kBuy;
  if (text == "sell") return db::Side::kSell;
  if (text == "merge") return db::Side::kMerge;
  if (text == "split") return db::Side::kSplit;
  return db::Side::kUnspecified;
}

bool IsString(const rapidjson::Value& v, const char* name) {
  return v.HasMember(name) && v[name].IsString();
}

bool IsInt(const rapidjson::Value& v, const char* name) {
  return v.HasMember(name) && v[name].IsInt64();
}

void Note(TradeDiff& diff, std::string what) {
  if (diff.examples.size() < kExamples) diff.examples.push_back(std::move(what));
}

}  // namespace

TradeKey KeyOf(const db::Activity& a) {
  return TradeKey{a.tx_hash, a.market_id, static_cast<int>(a.outcome), static_cast<int>(a.side),
                  a.shares,  a.price};
}

absl::StatusOr<SimTrades> FetchSimTrades(int port, const std::string& wallet) {
  sync::CurlHttpClient http;
  absl::StatusOr<sync::HttpResponse> r = http.Get(
      absl::StrCat("http://127.0.0.1:", port, "/admin/trades?limit=1000000&wallet=", wallet), {});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("GET /admin/trades: HTTP ", r->status, ": ", r->body.substr(0, 200)));
  }
  rapidjson::Document doc;
  doc.Parse(r->body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("trades") ||
      !doc["trades"].IsArray()) {
    return absl::DataLossError(
        absl::StrCat("GET /admin/trades: not a trade list: ", r->body.substr(0, 200)));
  }
  SimTrades out;
  for (const rapidjson::Value& t : doc["trades"].GetArray()) {
    if (!t.IsObject() || !IsString(t, "txHash") || !IsInt(t, "marketId") ||
        !t.HasMember("outcomeSide") || !t["outcomeSide"].IsInt() || !IsString(t, "side") ||
        !IsString(t, "shares") || !IsString(t, "price") || !IsString(t, "amount") ||
        !IsInt(t, "createdAt") || !IsInt(t, "appearedAt")) {
      return absl::DataLossError("GET /admin/trades: a trade lacks a field the comparison needs");
    }
    absl::StatusOr<std::string> shares = db::NormalizeDecimal(t["shares"].GetString(), "shares");
    absl::StatusOr<std::string> price = db::NormalizeDecimal(t["price"].GetString(), "price");
    absl::StatusOr<std::string> amount = db::NormalizeDecimal(t["amount"].GetString(), "amount");
    absl::StatusOr<std::string> usd_price = db::NormalizeDecimal(
        IsString(t, "quoteTokenUsdPrice") ? t["quoteTokenUsdPrice"].GetString() : "1",
        "quoteTokenUsdPrice");
    for (const auto* s : {&shares, &price, &amount, &usd_price}) {
      if (!s->ok()) return s->status();
    }
    absl::StatusOr<std::string> amount_usd =
        db::NormalizeDecimal(sync::MultiplyDecimals(*amount, *usd_price), "amount_usd");
    if (!amount_usd.ok()) return amount_usd.status();
    const db::Side side = SideOf(t["side"].GetString());
    const TradeKey key{t["txHash"].GetString(),
                       t["marketId"].GetInt64(),
                       t["outcomeSide"].GetInt(),
                       static_cast<int>(side),
                       *shares,
                       *price};
    SimTrade trade;
    trade.side = side;
    trade.amount_usd = *amount_usd;
    trade.traded = absl::FromUnixSeconds(t["createdAt"].GetInt64());
    trade.appeared = t["appearedAt"].GetInt64();
    if (!out.emplace(key, trade).second) {
      return absl::DataLossError(
          absl::StrCat("GET /admin/trades: trade ", t["txHash"].GetString(), " listed twice"));
    }
  }
  return out;
}

__int128 DecimalUnits(const std::string& canonical) {
  __int128 out = 0;
  int frac = -1;
  bool negative = false;
  for (char c : canonical) {
    if (c == '-') {
      negative = true;
    } else if (c == '.') {
      frac = 0;
    } else {
      out = out * 10 + (c - '0');
      if (frac >= 0) ++frac;
    }
  }
  for (int i = std::max(frac, 0); i < 18; ++i) out *= 10;
  return negative ? -out : out;
}

std::string TradeDiff::ToString() const {
  return absl::StrCat(
      stored, " stored, ", expected, " served: ", missing, " missing, ", duplicated,
      " stored twice, ", unexpected, " never served, ", wrong, " with another amount or time",
      examples.empty() ? "" : absl::StrCat(" (", absl::StrJoin(examples, "; "), ")"));
}

TradeDiff CompareWithSim(const std::vector<db::Activity>& stored, const std::string& wallet,
                         const SimTrades& expected) {
  TradeDiff diff;
  diff.expected = static_cast<int64_t>(expected.size());
  std::set<TradeKey> seen;
  for (const db::Activity& a : stored) {
    if (a.wallet != wallet) continue;
    ++diff.stored;
    const TradeKey key = KeyOf(a);
    if (!seen.insert(key).second) {
      ++diff.duplicated;
      Note(diff, absl::StrCat("stored twice: ", a.tx_hash));
      continue;
    }
    auto it = expected.find(key);
    if (it == expected.end()) {
      ++diff.unexpected;
      Note(diff, absl::StrCat("never served: ", a.tx_hash));
      continue;
    }
    if (a.amount_usd != it->second.amount_usd || a.traded_time != it->second.traded) {
      ++diff.wrong;
      Note(diff, absl::StrCat(a.tx_hash, ": stored ", a.amount_usd, " USD at ",
                              absl::FormatTime(a.traded_time), ", served ", it->second.amount_usd,
                              " USD at ", absl::FormatTime(it->second.traded)));
    }
  }
  for (const auto& [key, trade] : expected) {
    if (seen.count(key) == 0) {
      ++diff.missing;
      Note(diff, absl::StrCat("missing: ", std::get<0>(key)));
    }
  }
  return diff;
}

}  // namespace whalefeed::testing
