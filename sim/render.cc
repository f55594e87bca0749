#include "sim/render.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "sim/decimal.h"

namespace whalefeed::sim {
namespace {

constexpr int64_t kDay = 86400;

// Writes one JSON object's fields, skipping the ones a missing_fields fault removes.
class Record {
 public:
  Record(JsonWriter& w, bool drop, absl::Span<const absl::string_view> dropped)
      : w_(w), drop_(drop), dropped_(dropped) {}

  // Writes the key and returns true, unless the field is dropped.
  bool Key(absl::string_view key) {
    if (drop_ && std::find(dropped_.begin(), dropped_.end(), key) != dropped_.end()) return false;
    WriteKey(w_, key);
    return true;
  }
  void String(absl::string_view key, absl::string_view value) {
    if (Key(key)) WriteString(w_, value);
  }
  void Int(absl::string_view key, int64_t value) {
    if (Key(key)) w_.Int64(value);
  }
  // An id or a timestamp: a JSON number, or (wrong_types) the same digits as a string.
  void Number(absl::string_view key, int64_t value, bool as_string) {
    if (!Key(key)) return;
    if (as_string) {
      WriteString(w_, absl::StrCat(value));
    } else {
      w_.Int64(value);
    }
  }
  // A decimal: a JSON string, or (wrong_types) the same digits as a JSON number.
  void Decimal(absl::string_view key, const std::string& text, bool as_number) {
    if (!Key(key)) return;
    if (as_number) {
      w_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
    } else {
      WriteString(w_, text);
    }
  }

 private:
  JsonWriter& w_;
  const bool drop_;
  const absl::Span<const absl::string_view> dropped_;
};

constexpr absl::string_view kMarketDropped[] = {"yesTokenId", "noTokenId", "createdAt", "volume"};
constexpr absl::string_view kTradeDropped[] = {"txHash", "createdAt", "price"};
constexpr absl::string_view kPositionDropped[] = {"tokenId", "sharesOwned"};

std::string Money(int64_t centi) { return FormatFixed(centi, 2); }
std::string Price(int64_t milli) { return FormatTrimmed(milli, 3, 2); }

}  // namespace

void WriteKey(JsonWriter& w, absl::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()), true);
}

void WriteString(JsonWriter& w, absl::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()), true);
}

std::string RenderEnvelope(EnvelopeStyle style, int error, absl::string_view message,
                           const std::function<void(JsonWriter&)>& result) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  WriteKey(w, style == EnvelopeStyle::kErrno ? "errno" : "code");
  w.Int(error);
  WriteKey(w, style == EnvelopeStyle::kErrno ? "errmsg" : "msg");
  WriteString(w, message);
  WriteKey(w, "result");
  if (result) {
    result(w);
  } else {
    w.Null();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string SideName(TradeSide side, SideCasing casing) {
  std::string name;
  switch (side) {
    case TradeSide::kBuy:
      name = "Buy";
      break;
    case TradeSide::kSell:
      name = "Sell";
      break;
    case TradeSide::kMerge:
      name = "Merge";
      break;
    case TradeSide::kSplit:
      name = "Split";
      break;
  }
  if (casing == SideCasing::kUpper) absl::AsciiStrToUpper(&name);
  return name;
}

std::string MoneyDust(int64_t centi, int64_t dust) {
  return dust == 0 ? Money(centi) : FormatTrimmed128(Atto(centi, dust), 18, 2);
}

std::string UsdPrice(const Trade& t) { return FormatTrimmed(t.usd_price_micro, 6, 0); }

std::string UsdAmountWei(const Trade& t) {
  const __int128 wei =
      MulDivRound128(Atto(t.amount_centi, t.amount_dust), t.usd_price_micro, 1000000);
  return wei <= 0 ? "0" : Int128ToString(wei);
}

std::string AmountUsd(const Trade& t) {
  return FormatTrimmed128(Atto(t.amount_centi, t.amount_dust) * t.usd_price_micro, 24, 2);
}

void WriteMarket(JsonWriter& w, const World& world, const Market& m, int64_t now,
                 const RenderOptions& options, int index) {
  Record r(w, options.missing_fields && index % 2 == 0, kMarketDropped);
  const bool wrong = options.wrong_types;
  const bool child = m.kind == MarketKind::kChild;
  const MarketState state = world.StateAt(m, now);
  w.StartObject();
  r.Number("marketId", m.id, wrong);
  r.String("marketTitle", m.title);
  r.Int("status", state.status);
  r.String("statusEnum", MarketStatusName(state.status));
  if (!child) r.Int("marketType", m.kind == MarketKind::kCategorical ? 1 : 0);
  r.String("yesLabel", m.yes_label);
  r.String("noLabel", m.no_label);
  r.String("rules", m.rules);
  r.String("yesTokenId", m.yes_token_id);
  r.String("noTokenId", m.no_token_id);
  r.String("conditionId", m.condition_id);
  r.String("resultTokenId", state.result_token_id);
  r.Decimal("volume", Money(state.volume_centi), wrong);
  if (!child) {
    r.Decimal("volume24h", Money(state.volume24h_centi), false);
    r.Decimal("volume7d", Money(state.volume7d_centi), false);
  }
  r.String("quoteToken", world.quote_token(m).address);
  r.String("chainId", kChainId);
  r.String("questionId", m.question_id);
  if (!child && r.Key("incentiveFactor")) {
    w.StartObject();
    w.EndObject();
  }
  r.Number("createdAt", m.created_at, wrong);
  r.Int("cutoffAt", m.cutoff_at);
  r.Int("resolvedAt", state.resolved_at);
  r.String("slug", m.slug);
  if (r.Key("labels")) {
    w.StartArray();
    for (const std::string& label : m.labels) WriteString(w, label);
    w.EndArray();
  }
  if (r.Key("labelIds")) {
    w.StartArray();
    for (int id : m.label_ids) w.Int(id);
    w.EndArray();
  }
  r.String("thumbnailUrl", m.thumbnail_url);
  r.String("coverUrl", m.cover_url);
  if (r.Key("isResolvableByAI")) w.Bool(m.resolvable_by_ai);
  if (r.Key("rebate")) {
    w.StartObject();
    WriteKey(w, "maker");
    w.Double(0.5);
    w.EndObject();
  }
  if (m.kind == MarketKind::kCategorical && r.Key("childMarkets")) {
    w.StartArray();
    for (size_t j = 0; j < m.children.size(); ++j) {
      WriteMarket(w, world, world.markets()[m.children[j]], now, options, static_cast<int>(j));
    }
    w.EndArray();
  }
  w.EndObject();
}

void WriteTrade(JsonWriter& w, const World& world, const Trade& t, const RenderOptions& options,
                int index, const std::function<void(JsonWriter&)>& extra) {
  Record r(w, options.missing_fields && index % 2 == 0, kTradeDropped);
  const bool wrong = options.wrong_types;
  const Market& m = world.markets()[t.market];
  const Market& root = world.Root(m);
  const bool yes = t.outcome_side == 1;
  w.StartObject();
  r.String("txHash", TxHash(options.seed, t));
  r.Number("marketId", m.id, wrong);
  r.String("marketTitle", m.title);
  r.Int("rootMarketId", root.id);
  r.String("rootMarketTitle", root.title);
  r.String("side", SideName(t.side, options.side_casing));
  r.String("outcome", absl::AsciiStrToUpper(yes ? m.yes_label : m.no_label));
  r.Int("outcomeSide", t.outcome_side);
  r.String("outcomeSideEnum", yes ? "Yes" : "No");
  r.Decimal("price", Price(t.price_milli), wrong);
  r.Decimal("shares", MoneyDust(t.shares_centi, t.shares_dust), false);
  r.Decimal("amount", MoneyDust(t.amount_centi, t.amount_dust), wrong);
  r.Decimal("fee", MoneyDust(t.fee_centi, t.fee_dust), false);
  r.Decimal("profit", t.profit_centi == 0 ? "0" : Money(t.profit_centi), false);
  r.String("quoteToken", world.quote_token(m).address);
  r.String("quoteTokenUsdPrice", UsdPrice(t));
  r.String("usdAmount", UsdAmountWei(t));
  r.Int("status", 2);
  r.String("statusEnum", t.finished ? "Finished" : "Filled");
  r.String("chainId", kChainId);
  r.Number("createdAt", t.created_at, wrong);
  if (extra) extra(w);
  w.EndObject();
}

void WritePosition(JsonWriter& w, const World& world, const Position& p, int64_t now,
                   const RenderOptions& options, int index) {
  Record r(w, options.missing_fields && index % 2 == 0, kPositionDropped);
  const bool wrong = options.wrong_types;
  const Market& m = world.markets()[p.market];
  const Market& root = world.Root(m);
  const bool yes = p.outcome_side == 1;
  const int64_t price_now = world.PriceMilli(m, p.outcome_side, now);
  const int64_t price_day_ago = world.PriceMilli(m, p.outcome_side, now - kDay);
  const int64_t value = MulDivRound(p.shares_centi, price_now, 1000);
  const int64_t value_day_ago = MulDivRound(p.shares_centi, price_day_ago, 1000);
  const int64_t pnl = value - p.cost_centi;
  const int64_t daily = value - value_day_ago;
  // Percentages are ratios with two decimals ("0.12" = 12%), as in the docs' examples.
  const int64_t pnl_ratio = p.cost_centi > 0 ? MulDivRound(pnl, 100, p.cost_centi) : 0;
  const int64_t daily_ratio = value_day_ago > 0 ? MulDivRound(daily, 100, value_day_ago) : 0;
  const int64_t avg_price =
      p.shares_centi > 0 ? MulDivRound(p.cost_centi, 1000, p.shares_centi) : 0;
  w.StartObject();
  r.Number("marketId", m.id, wrong);
  r.Int("rootMarketId", root.id);
  r.String("marketTitle", m.title);
  r.String("rootMarketTitle", root.title);
  const int status = world.StateAt(m, now).status;
  r.Int("marketStatus", status);
  r.String("marketStatusEnum", MarketStatusName(status));
  r.Int("marketCutoffAt", m.cutoff_at);
  r.String("outcome", absl::AsciiStrToUpper(yes ? m.yes_label : m.no_label));
  r.Int("outcomeSide", p.outcome_side);
  r.String("outcomeSideEnum", yes ? "Yes" : "No");
  r.Decimal("sharesOwned", Money(p.shares_centi), wrong);
  r.Decimal("sharesFrozen", "0", false);
  r.Decimal("unrealizedPnl", Money(pnl), false);
  r.Decimal("unrealizedPnlPercent", FormatFixed(pnl_ratio, 2), false);
  r.Decimal("dailyPnlChange", Money(daily), false);
  r.Decimal("dailyPnlChangePercent", FormatFixed(daily_ratio, 2), false);
  r.String("conditionId", m.condition_id);
  r.String("tokenId", yes ? m.yes_token_id : m.no_token_id);
  r.Decimal("currentValueInQuoteToken", Money(value), false);
  r.Decimal("avgEntryPrice", Price(avg_price), false);
  r.Int("claimStatus", 0);
  r.String("claimStatusEnum", "CanNotClaim");
  r.String("quoteToken", world.quote_token(m).address);
  w.EndObject();
}

}  // namespace whalefeed::sim
