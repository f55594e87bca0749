// Exact decimal arithmetic on strings for upstream amounts: no value ever goes through a double.
#ifndef WHALEFEED_SYNC_EXACT_DECIMAL_H_
#define WHALEFEED_SYNC_EXACT_DECIMAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace whalefeed::sync {

// The most fractional digits a stored decimal keeps (db::NormalizeDecimal's limit).
inline constexpr int kMaxFractionDigits = 18;

// A JSON number's or a decimal string's text ("12", "-0.50", "1.5e3", "2E-4") as a plain decimal
// ("12", "-0.5", "1500", "0.0002"): canonical (no leading or trailing zeros, no "-0"). At most
// 200 characters and exponents within ±400. INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> ParseExactDecimal(absl::string_view text, absl::string_view field);

// a × b exactly, rounded half to even to kMaxFractionDigits fractional digits, canonical. Both
// must be plain decimals as ParseExactDecimal returns.
std::string MultiplyDecimals(absl::string_view a, absl::string_view b);

// Sign of a canonical decimal: -1, 0 or 1.
int DecimalSign(absl::string_view canonical);
// Compares canonical decimals: -1, 0 or 1.
int CompareDecimals(absl::string_view a, absl::string_view b);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_EXACT_DECIMAL_H_
