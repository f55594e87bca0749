// The read API's shared parts (db/query_support.h) and the order parsers of store.h.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "db/filter.h"
#include "db/query_support.h"
#include "db/store.h"

namespace whalefeed::db {
namespace {

template <typename Key>
struct OrderName {
  const char* name;
  Key key;
  bool descending;
};

constexpr OrderName<MarketOrderKey> kMarketKeys[] = {
    {"volume", MarketOrderKey::kVolume, false},
    {"volume_24h", MarketOrderKey::kVolume24h, false},
    {"volume_7d", MarketOrderKey::kVolume7d, false},
    {"whale_volume_24h", MarketOrderKey::kWhaleVolume24h, false},
    {"created_time", MarketOrderKey::kCreatedTime, false},
    {"cutoff_time", MarketOrderKey::kCutoffTime, false},
    {"market_id", MarketOrderKey::kMarketId, false},
};
constexpr OrderName<WhaleOrderKey> kWhaleKeys[] = {
    {"volume_usd", WhaleOrderKey::kVolumeUsd, false},
    {"trade_count", WhaleOrderKey::kTradeCount, false},
    {"realized_profit_usd", WhaleOrderKey::kRealizedProfitUsd, false},
    {"last_trade_time", WhaleOrderKey::kLastTradeTime, false},
};
// ListWhaleActivity accepts exactly these combinations (design §6.2).
constexpr OrderName<ActivityOrderKey> kActivityOrders[] = {
    {"sequence", ActivityOrderKey::kSequence, true},
    {"sequence", ActivityOrderKey::kSequence, false},
    {"traded_time", ActivityOrderKey::kTradedTime, true},
    {"traded_time", ActivityOrderKey::kTradedTime, false},
    {"amount_usd", ActivityOrderKey::kAmountUsd, true},
};

// Splits "key" / "key desc" / "key asc" (any case, any spacing). False when it is none of them.
bool SplitOrder(absl::string_view text, std::string* key, bool* descending) {
  std::vector<std::string> words =
      absl::StrSplit(absl::AsciiStrToLower(text), absl::ByAnyChar(" \t\n\r"), absl::SkipEmpty());
  if (words.empty() || words.size() > 2) return false;
  *key = words[0];
  *descending = false;
  if (words.size() == 2) {
    if (words[1] == "desc") {
      *descending = true;
    } else if (words[1] != "asc") {
      return false;
    }
  }
  return true;
}

template <typename Key, size_t N>
absl::StatusOr<std::pair<Key, bool>> ParseOrder(absl::string_view text,
                                                const OrderName<Key> (&names)[N],
                                                bool exact_combinations) {
  std::string key;
  bool descending = false;
  std::vector<std::string> accepted;
  for (const auto& n : names) {
    accepted.push_back(exact_combinations
                           ? absl::StrCat("\"", n.name, n.descending ? " desc" : "", "\"")
                           : absl::StrCat("\"", n.name, "\""));
  }
  if (SplitOrder(text, &key, &descending)) {
    for (const auto& n : names) {
      if (key == n.name && (!exact_combinations || n.descending == descending)) {
        return std::make_pair(n.key, descending);
      }
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("order_by: \"", text.substr(0, 80), "\" is not a sort order; use one of ",
                   absl::StrJoin(accepted, ", "),
                   exact_combinations ? "" : ", each optionally followed by \" desc\""));
}

template <typename Key, size_t N>
const char* KeyName(Key key, const OrderName<Key> (&names)[N]) {
  for (const auto& n : names) {
    if (n.key == key) return n.name;
  }
  return "?";
}

}  // namespace

absl::StatusOr<MarketOrder> ParseMarketOrder(absl::string_view order_by) {
  if (absl::StripAsciiWhitespace(order_by).empty()) return MarketOrder{};
  ASSIGN_OR_RETURN(auto parsed, ParseOrder(order_by, kMarketKeys, false));
  return MarketOrder{parsed.first, parsed.second};
}

absl::StatusOr<WhaleOrder> ParseWhaleOrder(absl::string_view order_by) {
  if (absl::StripAsciiWhitespace(order_by).empty()) return WhaleOrder{};
  ASSIGN_OR_RETURN(auto parsed, ParseOrder(order_by, kWhaleKeys, false));
  return WhaleOrder{parsed.first, parsed.second};
}

absl::StatusOr<ActivityOrder> ParseActivityOrder(absl::string_view order_by) {
  if (absl::StripAsciiWhitespace(order_by).empty()) return ActivityOrder{};
  ASSIGN_OR_RETURN(auto parsed, ParseOrder(order_by, kActivityOrders, true));
  return ActivityOrder{parsed.first, parsed.second};
}

std::string OrderText(const MarketOrder& order) {
  return absl::StrCat(KeyName(order.key, kMarketKeys), order.descending ? " desc" : "");
}
std::string OrderText(const WhaleOrder& order) {
  return absl::StrCat(KeyName(order.key, kWhaleKeys), order.descending ? " desc" : "");
}
std::string OrderText(const ActivityOrder& order) {
  return absl::StrCat(KeyName(order.key, kActivityOrders), order.descending ? " desc" : "");
}

SortValueType ValueType(MarketOrderKey key) {
  switch (key) {
    case MarketOrderKey::kCreatedTime:
    case MarketOrderKey::kCutoffTime:
      return SortValueType::kTime;
    case MarketOrderKey::kMarketId:
      return SortValueType::kInt;
    default:
      return SortValueType::kDecimal;
  }
}

SortValueType ValueType(WhaleOrderKey key) {
  switch (key) {
    case WhaleOrderKey::kTradeCount:
      return SortValueType::kInt;
    case WhaleOrderKey::kLastTradeTime:
      return SortValueType::kTime;
    default:
      return SortValueType::kDecimal;
  }
}

SortValueType ValueType(ActivityOrderKey key) {
  switch (key) {
    case ActivityOrderKey::kSequence:
      return SortValueType::kInt;
    case ActivityOrderKey::kTradedTime:
      return SortValueType::kTime;
    default:
      return SortValueType::kDecimal;
  }
}

SortNumber DecimalSortNumber(absl::string_view decimal) {
  ScaledDecimal value = 0;
  if (!ParseScaledDecimal(decimal, &value)) return 0;
  return value;
}

SortNumber TimeSortNumber(absl::Time t) {
  if (t == absl::InfinitePast()) return kUnsetTimeSortMicros;
  return std::max<int64_t>(absl::ToUnixMicros(t), kUnsetTimeSortMicros);
}

SortNumber MarketSortValue(MarketOrderKey key, const Market& m, absl::int128 whale_volume) {
  switch (key) {
    case MarketOrderKey::kVolume:
      return DecimalSortNumber(m.volume);
    case MarketOrderKey::kVolume24h:
      return DecimalSortNumber(m.volume_24h);
    case MarketOrderKey::kVolume7d:
      return DecimalSortNumber(m.volume_7d);
    case MarketOrderKey::kWhaleVolume24h:
      return whale_volume;
    case MarketOrderKey::kCreatedTime:
      return TimeSortNumber(m.created_time);
    case MarketOrderKey::kCutoffTime:
      return TimeSortNumber(m.cutoff_time);
    case MarketOrderKey::kMarketId:
      return m.market_id;
  }
  return 0;
}

SortNumber WhaleSortValue(WhaleOrderKey key, const WhaleStats& s) {
  switch (key) {
    case WhaleOrderKey::kVolumeUsd:
      return DecimalSortNumber(s.volume_usd);
    case WhaleOrderKey::kTradeCount:
      return s.trade_count;
    case WhaleOrderKey::kRealizedProfitUsd:
      return DecimalSortNumber(s.realized_profit_usd);
    case WhaleOrderKey::kLastTradeTime:
      return TimeSortNumber(s.last_trade_time);
  }
  return 0;
}

SortNumber ActivitySortValue(ActivityOrderKey key, const Activity& a) {
  switch (key) {
    case ActivityOrderKey::kSequence:
      return SortNumber(a.sequence);
    case ActivityOrderKey::kTradedTime:
      return TimeSortNumber(a.traded_time);
    case ActivityOrderKey::kAmountUsd:
      return DecimalSortNumber(a.amount_usd);
  }
  return 0;
}

absl::Time SortMicrosToTime(int64_t micros) { return absl::FromUnixMicros(micros); }

std::string FormatScaledDecimal(absl::int128 value) {
  const bool negative = value < 0;
  absl::uint128 magnitude =
      negative ? absl::uint128(-(value + 1)) + 1 : absl::uint128(value);  // no overflow at min
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  if (digits.size() <= 18) digits.insert(0, 19 - digits.size(), '0');
  std::string int_part = digits.substr(0, digits.size() - 18);
  std::string frac_part = digits.substr(digits.size() - 18);
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.pop_back();
  std::string out = negative ? "-" : "";
  absl::StrAppend(&out, int_part);
  if (!frac_part.empty()) absl::StrAppend(&out, ".", frac_part);
  return out;
}

std::string SortValueText(SortValueType type, SortNumber value) {
  if (type == SortValueType::kDecimal) return FormatScaledDecimal(value);
  // Integers and microseconds fit in 64 bits (sequences are stored as BIGINT UNSIGNED, but below
  // 2^63 in practice; uint64 text is kept exact either way).
  if (value >= 0) return absl::StrCat(static_cast<uint64_t>(value));
  return absl::StrCat(static_cast<int64_t>(value));
}

absl::StatusOr<SortNumber> ParseSortValue(SortValueType type, absl::string_view text,
                                          absl::string_view field) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": the position \"", text.substr(0, 80), "\" is not valid"));
  };
  switch (type) {
    case SortValueType::kDecimal: {
      ScaledDecimal value = 0;
      if (!ParseScaledDecimal(text, &value)) return bad();
      return value;
    }
    case SortValueType::kInt:
    case SortValueType::kTime: {
      if (!text.empty() && text[0] == '-') {
        int64_t v = 0;
        if (!absl::SimpleAtoi(text, &v)) return bad();
        if (type == SortValueType::kTime && v < kUnsetTimeSortMicros) return bad();
        return SortNumber(v);
      }
      uint64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) return bad();
      if (type == SortValueType::kTime && v > static_cast<uint64_t>(INT64_MAX)) return bad();
      return SortNumber(v);
    }
  }
  return bad();
}

absl::Status CheckLimit(int limit, int max) {
  if (limit < 1 || limit > max) {
    return absl::InvalidArgumentError(absl::StrCat("limit: ", limit, " is outside 1..", max));
  }
  return absl::OkStatus();
}

absl::StatusOr<WhaleStats> NormalizeWhaleStats(const WhaleStats& in, absl::Time now) {
  WhaleStats s = in;
  ASSIGN_OR_RETURN(s.wallet, NormalizeWallet(in.wallet));
  if (static_cast<int>(s.window) < static_cast<int>(StatsWindow::k24h) ||
      static_cast<int>(s.window) > static_cast<int>(StatsWindow::kAll)) {
    return absl::InvalidArgumentError(
        absl::StrCat("window: ", static_cast<int>(s.window), " is not a stats window"));
  }
  ASSIGN_OR_RETURN(s.volume_usd, NormalizeDecimal(in.volume_usd, "volume_usd"));
  ASSIGN_OR_RETURN(s.buy_volume_usd, NormalizeDecimal(in.buy_volume_usd, "buy_volume_usd"));
  ASSIGN_OR_RETURN(s.sell_volume_usd, NormalizeDecimal(in.sell_volume_usd, "sell_volume_usd"));
  ASSIGN_OR_RETURN(s.realized_profit_usd,
                   NormalizeDecimal(in.realized_profit_usd, "realized_profit_usd"));
  ASSIGN_OR_RETURN(s.largest_trade_usd,
                   NormalizeDecimal(in.largest_trade_usd, "largest_trade_usd"));
  ASSIGN_OR_RETURN(s.average_trade_usd,
                   NormalizeDecimal(in.average_trade_usd, "average_trade_usd"));
  if (s.trade_count < 0) return absl::InvalidArgumentError("trade_count: negative");
  if (s.markets_traded < 0) return absl::InvalidArgumentError("markets_traded: negative");
  if (s.rank < 0) return absl::InvalidArgumentError("rank: negative");
  if (s.computed_time == absl::InfinitePast()) s.computed_time = now;
  return s;
}

absl::StatusOr<MarketWhaleFlow> NormalizeMarketWhaleFlow(const MarketWhaleFlow& in,
                                                         absl::Time now) {
  MarketWhaleFlow f = in;
  if (f.market_id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("market_id: ", f.market_id, " is not positive"));
  }
  if (f.outcome != Outcome::kYes && f.outcome != Outcome::kNo) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome: ", static_cast<int>(f.outcome), " is not YES or NO"));
  }
  ASSIGN_OR_RETURN(f.buy_volume_usd, NormalizeDecimal(in.buy_volume_usd, "buy_volume_usd"));
  ASSIGN_OR_RETURN(f.sell_volume_usd, NormalizeDecimal(in.sell_volume_usd, "sell_volume_usd"));
  if (f.computed_time == absl::InfinitePast()) f.computed_time = now;
  return f;
}

WhaleStats ZeroWhaleStats(absl::string_view wallet, StatsWindow window) {
  WhaleStats s;
  s.wallet = std::string(wallet);
  s.window = window;
  return s;
}

}  // namespace whalefeed::db
