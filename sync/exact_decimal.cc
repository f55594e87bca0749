#include "sync/exact_decimal.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace whalefeed::sync {
namespace {

// An unsigned decimal as its digits and the number of them after the point.
struct Digits {
  bool negative = false;
  std::string digits;  // no sign, no point; may have leading zeros
  int scale = 0;       // digits after the point
};

// Canonical text of `d`.
std::string Render(Digits d) {
  std::string& s = d.digits;
  if (static_cast<int>(s.size()) <= d.scale) s.insert(0, d.scale - s.size() + 1, '0');
  std::string int_part = s.substr(0, s.size() - d.scale);
  std::string frac_part = s.substr(s.size() - d.scale);
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.pop_back();
  const size_t first = int_part.find_first_not_of('0');
  int_part = first == std::string::npos ? "0" : int_part.substr(first);
  const bool zero = int_part == "0" && frac_part.empty();
  std::string out = (d.negative && !zero) ? "-" : "";
  absl::StrAppend(&out, int_part);
  if (!frac_part.empty()) absl::StrAppend(&out, ".", frac_part);
  return out;
}

Digits Split(absl::string_view canonical) {
  Digits d;
  if (!canonical.empty() && canonical[0] == '-') {
    d.negative = true;
    canonical.remove_prefix(1);
  }
  const size_t dot = canonical.find('.');
  if (dot == absl::string_view::npos) {
    d.digits = std::string(canonical);
  } else {
    d.digits = absl::StrCat(canonical.substr(0, dot), canonical.substr(dot + 1));
    d.scale = static_cast<int>(canonical.size() - dot - 1);
  }
  return d;
}

}  // namespace

absl::StatusOr<std::string> ParseExactDecimal(absl::string_view text, absl::string_view field) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", text.substr(0, 80), "\" is not a decimal number"));
  };
  if (text.empty() || text.size() > 200) return bad();
  absl::string_view v = text;
  Digits d;
  if (v[0] == '-' || v[0] == '+') {
    d.negative = v[0] == '-';
    v.remove_prefix(1);
  }
  int64_t exponent = 0;
  const size_t e = v.find_first_of("eE");
  if (e != absl::string_view::npos) {
    absl::string_view exp_text = v.substr(e + 1);
    if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
    if (exp_text.empty() || !absl::SimpleAtoi(exp_text, &exponent) || exponent > 400 ||
        exponent < -400) {
      return bad();
    }
    v = v.substr(0, e);
  }
  const size_t dot = v.find('.');
  absl::string_view int_part = v.substr(0, dot);
  absl::string_view frac_part =
      dot == absl::string_view::npos ? absl::string_view() : v.substr(dot + 1);
  if (int_part.empty() && frac_part.empty()) return bad();
  for (absl::string_view part : {int_part, frac_part}) {
    for (char c : part) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return bad();
    }
  }
  d.digits = absl::StrCat(int_part, frac_part);
  int64_t scale = static_cast<int64_t>(frac_part.size()) - exponent;
  if (scale < 0) {
    d.digits.append(static_cast<size_t>(-scale), '0');
    scale = 0;
  }
  d.scale = static_cast<int>(scale);
  return Render(d);
}

std::string MultiplyDecimals(absl::string_view a, absl::string_view b) {
  const Digits x = Split(a);
  const Digits y = Split(b);
  // Schoolbook multiplication, least significant digit first.
  std::vector<int> acc(x.digits.size() + y.digits.size(), 0);
  for (size_t i = 0; i < x.digits.size(); ++i) {
    const int xi = x.digits[x.digits.size() - 1 - i] - '0';
    if (xi == 0) continue;
    for (size_t j = 0; j < y.digits.size(); ++j) {
      acc[i + j] += xi * (y.digits[y.digits.size() - 1 - j] - '0');
    }
  }
  for (size_t k = 0; k + 1 < acc.size(); ++k) {
    acc[k + 1] += acc[k] / 10;
    acc[k] %= 10;
  }
  int scale = x.scale + y.scale;
  // Round half to even to kMaxFractionDigits.
  if (scale > kMaxFractionDigits) {
    const size_t drop = static_cast<size_t>(scale - kMaxFractionDigits);
    const int first_dropped = acc[drop - 1];
    bool rest_nonzero = false;
    for (size_t k = 0; k + 1 < drop; ++k) rest_nonzero |= acc[k] != 0;
    const int kept_last = drop < acc.size() ? acc[drop] : 0;
    const bool round_up =
        first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || kept_last % 2 == 1));
    acc.erase(acc.begin(), acc.begin() + static_cast<std::ptrdiff_t>(drop));
    acc.push_back(0);
    if (round_up) {
      for (size_t k = 0; k < acc.size(); ++k) {
        if (++acc[k] < 10) break;
        acc[k] = 0;
      }
    }
    scale = kMaxFractionDigits;
  }
  Digits product;
  product.negative = x.negative != y.negative;
  product.scale = scale;
  for (auto it = acc.rbegin(); it != acc.rend(); ++it) product.digits.push_back('0' + *it);
  if (product.digits.empty()) product.digits = "0";
  return Render(product);
}

int DecimalSign(absl::string_view canonical) {
  if (canonical.empty() || canonical == "0") return 0;
  return canonical[0] == '-' ? -1 : 1;
}

int CompareDecimals(absl::string_view a, absl::string_view b) {
  const int sa = DecimalSign(a);
  const int sb = DecimalSign(b);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  Digits x = Split(a);
  Digits y = Split(b);
  // Align scales, then compare magnitudes as digit strings of equal length.
  const int scale = std::max(x.scale, y.scale);
  x.digits.append(static_cast<size_t>(scale - x.scale), '0');
  y.digits.append(static_cast<size_t>(scale - y.scale), '0');
  const size_t len = std::max(x.digits.size(), y.digits.size());
  x.digits.insert(0, len - x.digits.size(), '0');
  y.digits.insert(0, len - y.digits.size(), '0');
  const int magnitude = x.digits < y.digits ? -1 : (x.digits > y.digits ? 1 : 0);
  return sa > 0 ? magnitude : -magnitude;
}

}  // namespace whalefeed::sync
