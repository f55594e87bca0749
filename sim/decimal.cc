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

std::string Uint256ToDecimal(const uint64_t (&limbs)[4]) {
  uint64_t n[4] = {limbs[0], limbs[1], limbs[2], limbs[3]};
  constexpr uint64_t kChunk = 10000000000000000000ULL;  // 10^19 < 2^64
  std::string chunks[5];  // 2^256 < 10^78 needs at most 5 chunks of 19 digits
  int count = 0;
  while ((n[0] | n[1] | n[2] | n[3]) != 0 && count < 5) {
    unsigned __int128 rem = 0;
    for (uint64_t& limb : n) {
      const unsigned __int128 cur = (rem << 64) | limb;
      limb = static_cast<uint64_t>(cur / kChunk);
      rem = cur % kChunk;
    }
    chunks[count++] = absl::StrCat(static_cast<uint64_t>(rem));
  }
  if (count == 0) return "0";
  std::string out = chunks[count - 1];
  for (int i = count - 2; i >= 0; --i) {
    out.append(19 - chunks[i].size(), '0');
    out += chunks[i];
  }
  return out;
}

std::string Int128ToString(__int128 value) {
  const bool negative = value < 0;
  unsigned __int128 magnitude =
      negative ? 0 - static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) digits.push_back('-');
  return std::string(digits.rbegin(), digits.rend());
}

std::string FormatFixed128(__int128 scaled, int decimals) {
  const bool negative = scaled < 0;
  std::string digits = Int128ToString(negative ? -scaled : scaled);
  if (decimals > 0) {
    if (digits.size() <= static_cast<size_t>(decimals)) {
      digits.insert(0, static_cast<size_t>(decimals) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(decimals), 1, '.');
  }
  if (negative) digits.insert(0, 1, '-');
  return digits;
}

std::string FormatTrimmed128(__int128 scaled, int decimals, int min_decimals) {
  std::string out = FormatFixed128(scaled, decimals);
  if (decimals <= 0) return out;
  int kept = decimals;
  while (kept > min_decimals && out.back() == '0') {
    out.pop_back();
    --kept;
  }
  if (kept == 0) out.pop_back();
  return out;
}

__int128 MulDivRound128(__int128 a, __int128 b, __int128 d) {
  const __int128 num = a * b;
  const bool negative = (num < 0) != (d < 0);
  const unsigned __int128 n =
      num < 0 ? 0 - static_cast<unsigned __int128>(num) : static_cast<unsigned __int128>(num);
  const unsigned __int128 den =
      d < 0 ? 0 - static_cast<unsigned __int128>(d) : static_cast<unsigned __int128>(d);
  const unsigned __int128 q = (n + den / 2) / den;
  return negative ? -static_cast<__int128>(q) : static_cast<__int128>(q);
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
