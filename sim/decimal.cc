#include "sim/decimal.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace whalefeed::sim {

std::string FormatFixed(int64_t scaled, int decimals) {
  const bool negative = scaled < 0;
  // Work in unsigned so that INT64_MIN does not overflow.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(scaled) : static_cast<uint64_t>(scaled);
  std::string digits = absl::StrCat(magnitude);
  if (decimals > 0) {
    if (digits.size() <= static_cast<size_t>(decimals)) {
      digits.insert(0, static_cast<size_t>(decimals) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(decimals), 1, '.');
  }
  if (negative && magnitude != 0) digits.insert(0, 1, '-');
  return digits;
}

std::string FormatTrimmed(int64_t scaled, int decimals, int min_decimals) {
  std::string out = FormatFixed(scaled, decimals);
  if (decimals <= 0) return out;
  int kept = decimals;
  while (kept > min_decimals && out.back() == '0') {
    out.pop_back();
    --kept;
  }
  if (kept == 0) out.pop_back();  // the '.'
  return out;
}

std::string FormatWeiFromCenti(int64_t centi) {
  if (centi <= 0) return "0";
  return absl::StrCat(centi, "0000000000000000");  // 10^16: centi (1e-2) to wei (1e-18)
}

int64_t MulDivRound(int64_t a, int64_t b, int64_t d) {
  __int128 num = static_cast<__int128>(a) * b;
  const bool negative = (num < 0) != (d < 0);
  unsigned __int128 n = num < 0 ? static_cast<unsigned __int128>(-num) : num;
  const unsigned __int128 den =
      d < 0 ? static_cast<unsigned __int128>(-static_cast<__int128>(d)) : d;
  const unsigned __int128 q = (n + den / 2) / den;
  const __int128 result = negative ? -static_cast<__int128>(q) : static_cast<__int128>(q);
  return static_cast<int64_t>(result);
}

}  // namespace whalefeed::sim
