#include "db/store.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

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

absl::Status CheckFence(const Fence& fence, int64_t leader_epoch) {
  if (fence.epoch > 0 && fence.epoch == leader_epoch) return absl::OkStatus();
  if (fence.epoch <= 0) {
    return absl::FailedPreconditionError(
        "not the sync leader: a leader-only write needs the epoch won by AdvanceLeaderEpoch");
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "fenced: this writer led in epoch ", fence.epoch, ", but the leader row is now at epoch ",
      leader_epoch, " (another replica took over); nothing was written"));
}

namespace {

// The length of a valid UTF-8 character starting with `lead`, 0 if `lead` cannot start one.
size_t Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// The number of characters of `text`, or nullopt when it is not valid UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF included).
std::optional<size_t> Utf8Chars(absl::string_view text) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++chars) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = Utf8Length(lead);
    if (length == 0 || i + length > text.size()) return std::nullopt;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return std::nullopt;
    }
    if (length > 1) {
      const auto second = static_cast<unsigned char>(text[i + 1]);
      if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
          (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) {
        return std::nullopt;
      }
    }
    i += length;
  }
  return chars;
}

}  // namespace

absl::Status CheckText(absl::string_view value, size_t max_chars, absl::string_view field) {
  const std::optional<size_t> chars = Utf8Chars(value);
  if (!chars.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not valid UTF-8"));
  }
  if (*chars > max_chars) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", *chars, " characters, longer than the ", max_chars,
                     " it may have: \"", TruncateUtf8(value, 40), "...\""));
  }
  return absl::OkStatus();
}

absl::string_view TruncateUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Back up over continuation bytes to the start of the character that does not fit.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

namespace {

absl::Status CheckTokenId(absl::string_view value, absl::string_view field) {
  if (value.size() > kMaxTokenIdDigits || !std::all_of(value.begin(), value.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", value.substr(0, 80),
                                                   "\" is not a token id (at most ",
                                                   kMaxTokenIdDigits, " decimal digits)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Market> NormalizeMarket(const Market& in) {
  const std::string at = absl::StrCat("market ", in.market_id, " ");
  for (auto [field, value, max] :
       {std::tuple<const char*, const std::string*, size_t>{"title", &in.title, kMaxTitleChars},
        {"yes_label", &in.yes_label, kMaxLabelChars},
        {"no_label", &in.no_label, kMaxLabelChars},
        {"condition_id", &in.condition_id, kMaxConditionIdChars},
        {"slug", &in.slug, kMaxSlugChars}}) {
    RETURN_IF_ERROR(CheckText(*value, max, absl::StrCat(at, field)));
  }
  RETURN_IF_ERROR(CheckText(in.rules, kMaxRulesBytes, absl::StrCat(at, "rules")));
  if (in.rules.size() > kMaxRulesBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(at, "rules: longer than ", kMaxRulesBytes, " bytes"));
  }
  for (auto [field, value] :
       {std::pair<const char*, const std::string*>{"yes_token_id", &in.yes_token_id},
        {"no_token_id", &in.no_token_id},
        {"result_token_id", &in.result_token_id}}) {
    RETURN_IF_ERROR(CheckTokenId(*value, absl::StrCat(at, field)));
  }
  for (const std::string& label : in.labels) {
    RETURN_IF_ERROR(CheckText(label, kMaxLabelChars, absl::StrCat(at, "labels")));
  }
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
  RETURN_IF_ERROR(CheckText(in.tx_hash, kMaxTxHashChars, "tx_hash"));
  RETURN_IF_ERROR(CheckText(in.market_title, kMaxTitleChars, "market_title"));
  RETURN_IF_ERROR(CheckText(in.root_market_title, kMaxTitleChars, "root_market_title"));
  RETURN_IF_ERROR(CheckText(in.outcome_label, kMaxLabelChars, "outcome_label"));
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
