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

// A 256-bit unsigned integer given as four 64-bit limbs, most significant first, in decimal
// without leading zeros ("0" for zero).
std::string Uint256ToDecimal(const uint64_t (&limbs)[4]);

// A 128-bit value in decimal, and scaled like FormatFixed / FormatTrimmed (0 <= decimals <= 30).
std::string Int128ToString(__int128 value);
std::string FormatFixed128(__int128 scaled, int decimals);
std::string FormatTrimmed128(__int128 scaled, int decimals, int min_decimals);

// round(a * b / d), halves away from zero, computed exactly in 128 bits. Requires d != 0 and a
// result that fits in int64.
int64_t MulDivRound(int64_t a, int64_t b, int64_t d);
// The same in 128 bits (the product a * b must fit in 128 bits).
__int128 MulDivRound128(__int128 a, __int128 b, __int128 d);

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_DECIMAL_H_
