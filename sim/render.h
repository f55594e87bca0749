// JSON rendering of the simulator's objects exactly as the Opinion OpenAPI sends them:
// ids and timestamps as JSON numbers, money and sizes as decimal strings, token ids as long
// decimal strings. Also renders the deliberate type and field faults (sim/faults.h).
#ifndef WHALEFEED_SIM_RENDER_H_
#define WHALEFEED_SIM_RENDER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "sim/trade_book.h"
#include "sim/world.h"

namespace whalefeed::sim {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// The envelope spelling: the wire's {"errno","errmsg"} or the docs' {"code","msg"}.
enum class EnvelopeStyle { kErrno, kCode };
// Trade side spelling: "Buy"/"Sell"/"Merge"/"Split" (as live) or "BUY"/"SELL"/... (as documented).
enum class SideCasing { kTitle, kUpper };

struct RenderOptions {
  SideCasing side_casing = SideCasing::kTitle;
  uint64_t seed = 0;  // for transaction hashes
  bool wrong_types = false;
  bool missing_fields = false;
};

// Writes a key (a string_view, copied).
void WriteKey(JsonWriter& w, absl::string_view key);
void WriteString(JsonWriter& w, absl::string_view value);

// {"errno":error,"errmsg":message,"result":...}; `result` writes the value, or is empty for null.
std::string RenderEnvelope(EnvelopeStyle style, int error, absl::string_view message,
                           const std::function<void(JsonWriter&)>& result);

std::string SideName(TradeSide side, SideCasing casing);

// Money with 2 decimals, or up to 18 when there is a sub-cent part: "10.00",
// "16.129032258064516129".
std::string MoneyDust(int64_t centi, int64_t dust);
// A trade's quoteTokenUsdPrice ("1", "0.9998"), its usdAmount (amount * quoteTokenUsdPrice * 1e18,
// rounded to an integer) and the exact amount * quoteTokenUsdPrice ("9.998", up to 24 decimals).
std::string UsdPrice(const Trade& trade);
std::string UsdAmountWei(const Trade& trade);
std::string AmountUsd(const Trade& trade);

// A market as shown at Unix time `now` (status, resolution and volumes change over time): a binary
// market, a categorical parent (with childMarkets) or a child (without the fields children lack).
// `index` is the record's position in the response (for missing_fields).
void WriteMarket(JsonWriter& w, const World& world, const Market& market, int64_t now,
                 const RenderOptions& options, int index);
// A trade as E11 sends it; `extra` (if set) adds fields at the end of the object.
void WriteTrade(JsonWriter& w, const World& world, const Trade& trade, const RenderOptions& options,
                int index, const std::function<void(JsonWriter&)>& extra = nullptr);
// A position as E10 sends it, valued at Unix time `now`.
void WritePosition(JsonWriter& w, const World& world, const Position& position, int64_t now,
                   const RenderOptions& options, int index);

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_RENDER_H_
