// Exact fixed-point arithmetic and formatting for the simulator's money fields.
//
// The Opinion API sends prices, sizes and amounts as decimal strings ("0.444", "22.52"). The
// simulator keeps them as scaled integers (milli for prices, centi for shares and money) so that
// amount == price * shares holds exactly and no binary floating-point artefact ever reaches a
// client.
#ifndef WHALEFEED_SIM_DECIMAL_H_
#define WHALEFEED_SIM_DECIMAL_H_

#include <cstdint>
#include <string>

namespace whalefeed::sim {

// value / 10^decimals with exactly `decimals` digits after the point: FormatFixed(12345, 2) ==
// "123.45", FormatFixed(-5, 2) == "-0.05", FormatFixed(7, 0) == "7". Requires 0 <= decimals <= 18.
std::string FormatFixed(int64_t scaled, int decimals);

// Like FormatFixed, then drops trailing zeros while more than `min_decimals` digits remain:
// FormatTrimmed(620, 3, 2) == "0.62", FormatTrimmed(444, 3, 2) == "0.444", FormatTrimmed(500, 3, 1)
// == "0.5".
std::string FormatTrimmed(int64_t scaled, int decimals, int min_decimals);

// A centi amount (2 decimals) as a 1e18-scaled integer string, the wire format of a trade's
// usdAmount: FormatWeiFromCenti(1000) == "10000000000000000000" (10.00 USD). Requires centi >= 0.
std::string FormatWeiFromCenti(int64_t centi);

// round(a * b / d), halves away from zero, computed exactly in 128 bits. Requires d != 0 and a
// result that fits in int64.
int64_t MulDivRound(int64_t a, int64_t b, int64_t d);

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_DECIMAL_H_
