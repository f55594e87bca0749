#include "db/store.h"

#include <openssl/sha.h>

#include <cctype>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace whalefeed::db {

bool Market::SameContent(const Market& o) const {
  return market_id == o.market_id && parent_market_id == o.parent_market_id && title == o.title &&
         status == o.status && market_type == o.market_type && yes_label == o.yes_label &&
         no_label == o.no_label && yes_token_id == o.yes_token_id && no_token_id == o.no_token_id &&
         condition_id == o.condition_id && result_token_id == o.result_token_id &&
         volume == o.volume && volume_24h == o.volume_24h && volume_7d == o.volume_7d &&
         labels == o.labels && slug == o.slug && rules == o.rules &&
         created_time == o.created_time && cutoff_time == o.cutoff_time &&
         resolved_time == o.resolved_time;
}

absl::StatusOr<std::string> NormalizeWallet(absl::string_view wallet, absl::string_view field) {
  std::string out = absl::AsciiStrToLower(absl::StripAsciiWhitespace(wallet));
  bool ok = out.size() == 42 && out[0] == '0' && out[1] == 'x';
  for (size_t i = 2; ok && i < out.size(); ++i)
    ok = std::isxdigit(static_cast<unsigned char>(out[i]));
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", wallet.substr(0, 80),
                     "\" is not a wallet address (0x followed by 40 hex digits)"));
  }
  return out;
}

absl::StatusOr<std::string> NormalizeDecimal(absl::string_view value, absl::string_view field) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", value.substr(0, 80), "\" is not a decimal number"));
  };
  absl::string_view v = value;
  bool negative = false;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    negative = v[0] == '-';
    v.remove_prefix(1);
  }
  const size_t dot = v.find('.');
  absl::string_view int_part = v.substr(0, dot);
  absl::string_view frac_part =
      dot == absl::string_view::npos ? absl::string_view() : v.substr(dot + 1);
  if (int_part.empty() && frac_part.empty()) return bad();
  for (char c : int_part) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return bad();
  }
  for (char c : frac_part) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return bad();
  }
  while (int_part.size() > 1 && int_part[0] == '0') int_part.remove_prefix(1);
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.remove_suffix(1);
  if (int_part.empty()) int_part = "0";
  if (int_part.size() > 20 || frac_part.size() > 18) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", value.substr(0, 80),
                     "\" is out of range (at most 20 integer and 18 fractional digits)"));
  }
  const bool zero = int_part == "0" && frac_part.empty();
  std::string out = (negative && !zero) ? "-" : "";
  absl::StrAppend(&out, int_part);
  if (!frac_part.empty()) absl::StrAppend(&out, ".", frac_part);
  return out;
}

absl::StatusOr<Market> NormalizeMarket(const Market& in) {
  Market m = in;
  for (auto [field, value] : {std::pair<const char*, std::string*>{"volume", &m.volume},
                              {"volume_24h", &m.volume_24h},
                              {"volume_7d", &m.volume_7d}}) {
    auto normalized = NormalizeDecimal(*value, absl::StrCat("market ", in.market_id, " ", field));
    if (!normalized.ok()) return normalized.status();
    *value = *std::move(normalized);
  }
  return m;
}

absl::StatusOr<Activity> NormalizeActivity(const Activity& in, absl::string_view wallet) {
  Activity a = in;
  auto owner = NormalizeWallet(in.wallet, "activity wallet");
  if (!owner.ok()) return owner.status();
  if (*owner != wallet) {
    return absl::InvalidArgumentError(
        absl::StrCat("activity ", in.tx_hash, " belongs to ", *owner, ", not ", wallet));
  }
  a.wallet = *std::move(owner);
  for (auto [field, value] : {std::pair<const char*, std::string*>{"price", &a.price},
                              {"shares", &a.shares},
                              {"amount_usd", &a.amount_usd},
                              {"fee_usd", &a.fee_usd},
                              {"profit_usd", &a.profit_usd}}) {
    auto normalized = NormalizeDecimal(*value, field);
    if (!normalized.ok()) return normalized.status();
    *value = *std::move(normalized);
  }
  a.activity_id = MakeActivityId(a);
  return a;
}

std::string MakeActivityId(const Activity& a) {
  const std::string key =
      absl::StrCat(a.tx_hash, "|", a.wallet, "|", a.market_id, "|", static_cast<int>(a.outcome),
                   "|", static_cast<int>(a.side), "|", a.shares, "|", a.price);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace whalefeed::db
