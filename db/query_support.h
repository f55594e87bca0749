// What both stores share to answer the read API of store.h: order names, sort values as keyset
// text and back, checked stats rows. Internal to db/.
#ifndef WHALEFEED_DB_QUERY_SUPPORT_H_
#define WHALEFEED_DB_QUERY_SUPPORT_H_

#include <cstdint>
#include <string>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/store.h"

namespace whalefeed::db {

// The type of an order key's values, which decides how a Keyset's value text reads.
enum class SortValueType { kDecimal, kInt, kTime };

SortValueType ValueType(MarketOrderKey key);
SortValueType ValueType(WhaleOrderKey key);
SortValueType ValueType(ActivityOrderKey key);

// A sort value as one comparable number: decimals scaled by 1e18, integers as they are, times in
// Unix microseconds (unset: kUnsetTimeSortMicros).
using SortNumber = absl::int128;
SortNumber DecimalSortNumber(absl::string_view decimal);  // unparsable text sorts as 0
SortNumber TimeSortNumber(absl::Time t);
// Keyset value text of a sort value, and back. ParseSortValue is INVALID_ARGUMENT naming
// `field` when `text` is not a value of `type`.
std::string SortValueText(SortValueType type, SortNumber value);
absl::StatusOr<SortNumber> ParseSortValue(SortValueType type, absl::string_view text,
                                          absl::string_view field);
// Microseconds of a keyset time value as a time (kUnsetTimeSortMicros: the smallest DATETIME).
absl::Time SortMicrosToTime(int64_t micros);

// The value of a row's order key (the Keyset value, as a number).
SortNumber MarketSortValue(MarketOrderKey key, const Market& market, SortNumber whale_volume_24h);
SortNumber WhaleSortValue(WhaleOrderKey key, const WhaleStats& stats);
SortNumber ActivitySortValue(ActivityOrderKey key, const Activity& activity);

// The canonical decimal text of a count of 1e-18.
std::string FormatScaledDecimal(absl::int128 value);

// Checks a limit of the read API (1..max). INVALID_ARGUMENT naming limit otherwise.
absl::Status CheckLimit(int limit, int max);

// What both stores do to stats rows before storing them: wallet normalised, window and outcome
// known, decimals canonical, computed_time set (`now` when InfinitePast). INVALID_ARGUMENT naming
// the field.
absl::StatusOr<WhaleStats> NormalizeWhaleStats(const WhaleStats& stats, absl::Time now);
absl::StatusOr<MarketWhaleFlow> NormalizeMarketWhaleFlow(const MarketWhaleFlow& flow,
                                                         absl::Time now);

// Zero figures of `wallet` in `window`, for a whale without a stats row.
WhaleStats ZeroWhaleStats(absl::string_view wallet, StatsWindow window);

// Every window, in the order GetWhaleStats returns them.
inline constexpr StatsWindow kAllStatsWindows[] = {StatsWindow::k24h, StatsWindow::k7d,
                                                   StatsWindow::k30d, StatsWindow::kAll};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_QUERY_SUPPORT_H_
