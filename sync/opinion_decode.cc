#include "sync/opinion_decode.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"
#include "sync/exact_decimal.h"

namespace whalefeed::sync {
namespace {

using rapidjson::Value;

constexpr int64_t kMillisecondsThreshold = 100'000'000'000;  // 1e11 s is the year 5138

absl::Status DataLoss(absl::string_view what) { return absl::DataLossError(what); }

// What a JSON value is, for messages.
const char* TypeName(const Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "a boolean";
  if (v.IsObject()) return "an object";
  if (v.IsArray()) return "an array";
  return "a string or number";
}

// A quoted, shortened copy of a value for messages.
std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", text.substr(0, 80), text.size() > 80 ? "...\"" : "\"");
}

absl::string_view Text(const Value& v) {
  return absl::string_view(v.GetString(), v.GetStringLength());
}

bool ParseInt(absl::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!(std::isdigit(static_cast<unsigned char>(c)) || (i == 0 && c == '-' && text.size() > 1))) {
      return false;
    }
  }
  return absl::SimpleAtoi(text, out);
}

// Reads the fields of one JSON object; remembers the first unusable one. A missing or null field
// leaves the output as it is (the default).
class Fields {
 public:
  Fields(const Value& object, std::string where) : object_(object), where_(std::move(where)) {}

  void set_where(std::string where) { where_ = std::move(where); }
  const std::string& where() const { return where_; }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void Fail(absl::string_view field, absl::string_view why) {
    if (error_.empty()) error_ = absl::StrCat(where_, ": ", field, ": ", why);
  }

  // The field's value, or nullptr when missing or null.
  const Value* Get(const char* key) const {
    auto it = object_.FindMember(key);
    if (it == object_.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
  }
  bool Has(const char* key) const { return Get(key) != nullptr; }

  bool String(const char* key, std::string* out) {
    const Value* v = Get(key);
    if (v == nullptr) return false;
    if (!v->IsString()) {
      Fail(key, absl::StrCat("expected a string, got ", TypeName(*v)));
      return false;
    }
    *out = std::string(Text(*v));
    return true;
  }

  bool Int(const char* key, int64_t* out) {
    const Value* v = Get(key);
    if (v == nullptr) return false;
    if (!v->IsString()) {
      Fail(key, absl::StrCat("expected an integer, got ", TypeName(*v)));
      return false;
    }
    if (!ParseInt(Text(*v), out)) {
      Fail(key, absl::StrCat(Quote(Text(*v)), " is not an integer"));
      return false;
    }
    return true;
  }

  // A decimal; "" counts as missing.
  bool Decimal(const char* key, std::string* out) {
    const Value* v = Get(key);
    if (v == nullptr) return false;
    if (!v->IsString()) {
      Fail(key, absl::StrCat("expected a decimal, got ", TypeName(*v)));
      return false;
    }
    if (v->GetStringLength() == 0) return false;
    absl::StatusOr<std::string> d = ParseExactDecimal(Text(*v), key);
    if (!d.ok()) {
      Fail(key, absl::StrCat(Quote(Text(*v)), " is not a decimal number"));
      return false;
    }
    *out = *std::move(d);
    return true;
  }

  // A decimal that must not be negative.
  bool NonNegativeDecimal(const char* key, std::string* out) {
    std::string d;
    if (!Decimal(key, &d)) return false;
    if (DecimalSign(d) < 0) {
      Fail(key, absl::StrCat(d, " is negative"));
      return false;
    }
    *out = std::move(d);
    return true;
  }

  // Unix seconds (or, above 1e11, milliseconds); 0 leaves the time unset.
  bool Time(const char* key, absl::Time* out) {
    int64_t t = 0;
    if (!Int(key, &t)) return false;
    if (t < 0) {
      Fail(key, absl::StrCat(t, " is before 1970"));
      return false;
    }
    if (t == 0) return false;
    *out = t > kMillisecondsThreshold ? absl::FromUnixMillis(t) : absl::FromUnixSeconds(t);
    return true;
  }

  bool StringArray(const char* key, std::vector<std::string>* out) {
    const Value* v = Get(key);
    if (v == nullptr) return false;
    if (!v->IsArray()) {
      Fail(key, absl::StrCat("expected an array of strings, got ", TypeName(*v)));
      return false;
    }
    std::vector<std::string> items;
    for (const Value& item : v->GetArray()) {
      if (!item.IsString()) {
        Fail(key,
             absl::StrCat("expected an array of strings, got an element that is ", TypeName(item)));
        return false;
      }
      items.emplace_back(Text(item));
    }
    *out = std::move(items);
    return true;
  }

 private:
  const Value& object_;
  std::string where_;
  std::string error_;
};

// Market statuses by the upstream's numbers (1..6) and names.
bool StatusFromNumber(int64_t n, db::MarketStatus* out) {
  if (n < 1 || n > 6) return false;
  *out = static_cast<db::MarketStatus>(n);  // the numbering matches (store.h)
  return true;
}

bool StatusFromName(absl::string_view name, db::MarketStatus* out) {
  static constexpr std::pair<const char*, db::MarketStatus> kNames[] = {
      {"created", db::MarketStatus::kCreated},     {"activated", db::MarketStatus::kActivated},
      {"resolving", db::MarketStatus::kResolving}, {"resolved", db::MarketStatus::kResolved},
      {"failed", db::MarketStatus::kFailed},       {"deleted", db::MarketStatus::kDeleted}};
  for (const auto& [n, status] : kNames) {
    if (absl::EqualsIgnoreCase(name, n)) {
      *out = status;
      return true;
    }
  }
  return false;
}

// Decodes one market object (and, for a parent, its children) into `out`. `parent_id` is 0 at top
// level. Returns false when the market itself was skipped.
bool DecodeMarket(const Value& v, int64_t parent_id, int position, MarketsPage* page) {
  const std::string record = parent_id == 0
                                 ? absl::StrCat("market record ", position)
                                 : absl::StrCat("market ", parent_id, " child record ", position);
  if (!v.IsObject()) {
    page->issues.Add(absl::StrCat(record, ": expected an object, got ", TypeName(v)));
    return false;
  }
  Fields f(v, record);
  db::Market m;
  m.parent_market_id = parent_id;
  f.Int("marketId", &m.market_id);
  if (f.ok() && m.market_id <= 0) f.Fail("marketId", "missing or not positive");
  if (f.ok()) {
    f.set_where(parent_id == 0 ? absl::StrCat("market ", m.market_id)
                               : absl::StrCat("market ", parent_id, " child ", m.market_id));
  }
  f.String("marketTitle", &m.title);

  int64_t status = 0;
  std::string status_name;
  if (f.Int("status", &status)) {
    if (!StatusFromNumber(status, &m.status))
      f.Fail("status", absl::StrCat(status, " is not 1..6"));
  } else if (f.ok() && f.String("statusEnum", &status_name)) {
    if (!StatusFromName(status_name, &m.status)) {
      f.Fail("statusEnum", absl::StrCat(Quote(status_name), " is not a known status"));
    }
  }

  const Value* children = f.Get("childMarkets");
  if (children != nullptr && !children->IsArray()) {
    f.Fail("childMarkets", absl::StrCat("expected an array, got ", TypeName(*children)));
  }
  if (parent_id != 0) {
    m.market_type = db::MarketType::kBinary;  // a child is one binary outcome of its parent
  } else {
    int64_t type = -1;
    if (f.Int("marketType", &type)) {
      if (type == 0) {
        m.market_type = db::MarketType::kBinary;
      } else if (type == 1) {
        m.market_type = db::MarketType::kCategorical;
      } else {
        f.Fail("marketType", absl::StrCat(type, " is not 0 (binary) or 1 (categorical)"));
      }
    } else {
      m.market_type = (children != nullptr && children->IsArray() && !children->Empty())
                          ? db::MarketType::kCategorical
                          : db::MarketType::kBinary;
    }
  }

  f.String("yesLabel", &m.yes_label);
  f.String("noLabel", &m.no_label);
  f.String("rules", &m.rules);
  f.String("yesTokenId", &m.yes_token_id);
  f.String("noTokenId", &m.no_token_id);
  f.String("conditionId", &m.condition_id);
  f.String("resultTokenId", &m.result_token_id);
  f.NonNegativeDecimal("volume", &m.volume);
  f.NonNegativeDecimal("volume24h", &m.volume_24h);
  f.NonNegativeDecimal("volume7d", &m.volume_7d);
  f.String("slug", &m.slug);
  f.StringArray("labels", &m.labels);
  f.Time("createdAt", &m.created_time);
  f.Time("cutoffAt", &m.cutoff_time);
  f.Time("resolvedAt", &m.resolved_time);

  // A skipped parent takes its children with it (they would be orphans).
  auto skip = [&](std::string reason) {
    page->issues.Add(std::move(reason));
    if (children != nullptr && children->IsArray() && !children->Empty()) {
      page->issues.Add(
          absl::StrCat(f.where(), ": its ", children->Size(), " child markets are skipped with it"),
          children->Size());
    }
    return false;
  };
  if (!f.ok()) return skip(f.error());
  absl::StatusOr<db::Market> normalized = db::NormalizeMarket(m);
  if (!normalized.ok()) return skip(std::string(normalized.status().message()));
  const int64_t id = normalized->market_id;
  const bool categorical = normalized->market_type == db::MarketType::kCategorical;
  page->markets.push_back(*std::move(normalized));
  if (parent_id == 0 && categorical) {
    if (children == nullptr || children->Empty()) {
      page->categorical_without_children.push_back(id);
    } else {
      int i = 0;
      for (const Value& child : children->GetArray()) DecodeMarket(child, id, i++, page);
    }
  }
  return true;
}

// `result.list` and `result.total` of a list result; DATA_LOSS when unusable.
absl::Status ListOf(const Value* result, const Value** list, int64_t* total) {
  if (result == nullptr || !result->IsObject()) {
    return DataLoss(absl::StrCat("result is ", result == nullptr ? "missing" : TypeName(*result),
                                 ", not an object with a list"));
  }
  *list = nullptr;
  auto l = result->FindMember("list");
  if (l != result->MemberEnd() && !l->value.IsNull()) {
    if (!l->value.IsArray()) {
      return DataLoss(absl::StrCat("result.list is ", TypeName(l->value), ", not an array"));
    }
    *list = &l->value;
  }
  const int64_t size = *list == nullptr ? 0 : (*list)->Size();
  auto t = result->FindMember("total");
  if (t == result->MemberEnd() || t->value.IsNull()) {
    *total = size;  // lenient: what this page shows is a lower bound
    return absl::OkStatus();
  }
  if (!t->value.IsString() || !ParseInt(Text(t->value), total) || *total < 0) {
    return DataLoss(absl::StrCat("result.total is not a non-negative integer (",
                                 t->value.IsString() ? Quote(Text(t->value)) : TypeName(t->value),
                                 ")"));
  }
  return absl::OkStatus();
}

bool SideFromName(absl::string_view name, db::Side* out) {
  static constexpr std::pair<const char*, db::Side> kNames[] = {{"buy", db::Side::kBuy},
                                                                {"sell", db::Side::kSell},
                                                                {"merge", db::Side::kMerge},
                                                                {"split", db::Side::kSplit}};
  name = absl::StripAsciiWhitespace(name);
  for (const auto& [n, side] : kNames) {
    if (absl::EqualsIgnoreCase(name, n)) {
      *out = side;
      return true;
    }
  }
  return false;
}

bool OutcomeFromName(absl::string_view name, db::Outcome* out) {
  name = absl::StripAsciiWhitespace(name);
  if (absl::EqualsIgnoreCase(name, "yes")) {
    *out = db::Outcome::kYes;
    return true;
  }
  if (absl::EqualsIgnoreCase(name, "no")) {
    *out = db::Outcome::kNo;
    return true;
  }
  return false;
}

// Decodes one trade; nullopt (and an issue) when it is skipped.
std::optional<db::Activity> DecodeTrade(const Value& v, const std::string& wallet, int position,
                                        DecodeIssues* issues) {
  const std::string record = absl::StrCat("trade record ", position);
  if (!v.IsObject()) {
    issues->Add(absl::StrCat(record, ": expected an object, got ", TypeName(v)));
    return std::nullopt;
  }
  Fields f(v, record);
  db::Activity a;
  a.wallet = wallet;
  if (!f.String("txHash", &a.tx_hash) && f.ok()) f.Fail("txHash", "missing");
  if (f.ok() && a.tx_hash.empty()) f.Fail("txHash", "empty");
  if (f.ok()) f.set_where(absl::StrCat("trade ", a.tx_hash.substr(0, 80)));

  f.Int("marketId", &a.market_id);
  if (f.ok() && a.market_id <= 0) f.Fail("marketId", "missing or not positive");
  f.Int("rootMarketId", &a.root_market_id);
  if (f.ok() && a.root_market_id < 0) f.Fail("rootMarketId", "negative");
  if (a.root_market_id == 0) a.root_market_id = a.market_id;  // binary: root is itself
  f.String("marketTitle", &a.market_title);
  f.String("rootMarketTitle", &a.root_market_title);

  std::string side;
  if (f.String("side", &side)) {
    if (!SideFromName(side, &a.side)) {
      f.Fail("side", absl::StrCat(Quote(side), " is not Buy, Sell, Merge or Split"));
    }
  } else if (f.ok()) {
    f.Fail("side", "missing");
  }

  // The outcome: outcomeSide (1 Yes, 2 No), else outcomeSideEnum, else the outcome label.
  std::string label;
  std::string side_enum;
  f.String("outcome", &label);
  f.String("outcomeSideEnum", &side_enum);
  int64_t outcome_side = 0;
  if (f.Int("outcomeSide", &outcome_side)) {
    if (outcome_side == 1) {
      a.outcome = db::Outcome::kYes;
    } else if (outcome_side == 2) {
      a.outcome = db::Outcome::kNo;
    } else {
      f.Fail("outcomeSide", absl::StrCat(outcome_side, " is not 1 (Yes) or 2 (No)"));
    }
  } else if (f.ok() && !OutcomeFromName(side_enum, &a.outcome) &&
             !OutcomeFromName(label, &a.outcome)) {
    f.Fail("outcomeSide", "missing, and neither outcomeSideEnum nor outcome says Yes or No");
  }
  a.outcome_label = !label.empty() ? label : side_enum;

  if (!f.Decimal("price", &a.price) && f.ok()) f.Fail("price", "missing");
  if (f.ok() && (DecimalSign(a.price) < 0 || CompareDecimals(a.price, "1") > 0)) {
    f.Fail("price", absl::StrCat(a.price, " is not within 0..1"));
  }
  if (!f.NonNegativeDecimal("shares", &a.shares) && f.ok()) f.Fail("shares", "missing");
  std::string amount;
  if (!f.NonNegativeDecimal("amount", &amount) && f.ok()) f.Fail("amount", "missing");
  f.NonNegativeDecimal("fee", &a.fee_usd);
  f.Decimal("profit", &a.profit_usd);
  std::string usd_price = "1";
  if (f.Decimal("quoteTokenUsdPrice", &usd_price) && DecimalSign(usd_price) <= 0) {
    f.Fail("quoteTokenUsdPrice", absl::StrCat(usd_price, " is not positive"));
  }
  if (f.ok()) a.amount_usd = MultiplyDecimals(amount, usd_price);

  int64_t status = 0;
  if (f.Int("status", &status) && status != 2) {
    f.Fail("status", absl::StrCat(status, " is not 2 (Filled)"));
  }
  if (!f.Time("createdAt", &a.traded_time) && f.ok()) {
    f.Fail("createdAt", "missing or zero");
  }

  if (!f.ok()) {
    issues->Add(f.error());
    return std::nullopt;
  }
  absl::StatusOr<db::Activity> normalized = db::NormalizeActivity(a, wallet);
  if (!normalized.ok()) {
    issues->Add(absl::StrCat(f.where(), ": ", normalized.status().message()));
    return std::nullopt;
  }
  return *std::move(normalized);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Envelope>> Envelope::Parse(absl::string_view body) {
  std::unique_ptr<Envelope> e(new Envelope());
  // Numbers stay text (never a double); strings are not UTF-8-validated here, so one record's bad
  // bytes skip that record (db::CheckText) instead of failing the page.
  e->doc_.Parse<rapidjson::kParseNumbersAsStringsFlag>(body.data(), body.size());
  if (e->doc_.HasParseError()) {
    return DataLoss(
        absl::StrCat("body is not JSON (", rapidjson::GetParseError_En(e->doc_.GetParseError()),
                     " at offset ", e->doc_.GetErrorOffset(), " of ", body.size(), " bytes)"));
  }
  if (!e->doc_.IsObject()) {
    return DataLoss(absl::StrCat("body is ", TypeName(e->doc_), ", not a JSON object"));
  }
  const Value& doc = e->doc_;
  const char* code_key = doc.HasMember("errno") ? "errno" : (doc.HasMember("code") ? "code" : "");
  if (*code_key == '\0') {
    if (!doc.HasMember("result")) {
      return DataLoss("body has no envelope (neither errno nor code, and no result)");
    }
  } else {
    const Value& code = doc[code_key];
    if (!code.IsString() || !ParseInt(Text(code), &e->error_code_)) {
      return DataLoss(absl::StrCat("envelope ", code_key, " is not an integer"));
    }
  }
  for (const char* key : {"errmsg", "msg"}) {
    auto it = doc.FindMember(key);
    if (it != doc.MemberEnd() && it->value.IsString()) {
      e->message_ = std::string(Text(it->value).substr(0, 300));
      break;
    }
  }
  return e;
}

const rapidjson::Value* Envelope::result() const {
  auto it = doc_.FindMember("result");
  if (it == doc_.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

absl::Status UpstreamErrorStatus(absl::string_view what, int http_status, int64_t error_code,
                                 absl::string_view message) {
  const bool http_error = http_status != 0 && (http_status < 200 || http_status > 299);
  if (!http_error && error_code == 0) return absl::OkStatus();
  std::string detail;
  if (http_status != 0) absl::StrAppend(&detail, "HTTP ", http_status);
  if (error_code != 0) {
    absl::StrAppend(&detail, detail.empty() ? "" : ", ", "errno ", error_code);
  }
  if (!message.empty()) absl::StrAppend(&detail, ": ", Quote(message));
  const std::string base = absl::StrCat(what, ": ", detail);
  if (http_status == 401 || error_code == kErrnoInvalidKey || error_code == kErrnoNoLoginWallet) {
    return absl::UnauthenticatedError(absl::StrCat(
        base, "; the upstream refused the API key (not retried: check OPINION_TRADE_API_KEY)"));
  }
  if (error_code == kErrnoRegionBlocked) {
    return absl::PermissionDeniedError(absl::StrCat(
        base,
        "; the upstream refuses requests from this region (not retried: errno 10403 is a "
        "geo block by caller IP)"));
  }
  if (http_status == 403) {
    // Without errno 10403 (say a proxy's HTML page): still a refusal that retrying cannot change.
    return absl::PermissionDeniedError(
        absl::StrCat(base, "; the upstream forbids this request (not retried)"));
  }
  if (http_status == 429 || error_code == kErrnoRateLimited) {
    return absl::ResourceExhaustedError(absl::StrCat(base, "; rate limited by the upstream"));
  }
  if ((http_status >= 500 && http_status <= 599) || error_code == kErrnoInternal) {
    return absl::UnavailableError(absl::StrCat(base, "; upstream server error"));
  }
  if (http_status == 404 || error_code == kErrnoNotFound) {
    return absl::NotFoundError(absl::StrCat(base, "; not found upstream"));
  }
  if ((http_status >= 400 && http_status <= 499) || error_code == kErrnoBadParam) {
    return absl::InvalidArgumentError(
        absl::StrCat(base, "; the upstream calls the request malformed"));
  }
  return absl::UnknownError(absl::StrCat(base, "; unexpected upstream error"));
}

absl::StatusOr<MarketsPage> DecodeMarketList(const rapidjson::Value* result) {
  const Value* list = nullptr;
  MarketsPage page;
  absl::Status s = ListOf(result, &list, &page.total);
  if (!s.ok()) return s;
  if (list == nullptr) return page;
  int i = 0;
  for (const Value& v : list->GetArray()) DecodeMarket(v, 0, i++, &page);
  return page;
}

absl::StatusOr<MarketsPage> DecodeMarketDetail(const rapidjson::Value* result) {
  if (result == nullptr || !result->IsObject()) {
    return DataLoss(absl::StrCat("result is ", result == nullptr ? "missing" : TypeName(*result),
                                 ", not an object with data"));
  }
  auto data = result->FindMember("data");
  if (data == result->MemberEnd() || !data->value.IsObject()) {
    return DataLoss("result.data is missing or not an object");
  }
  MarketsPage page;
  page.total = 1;
  DecodeMarket(data->value, 0, 0, &page);
  return page;
}

absl::StatusOr<TradesPage> DecodeTradeList(const rapidjson::Value* result,
                                           absl::string_view wallet) {
  absl::StatusOr<std::string> owner = db::NormalizeWallet(wallet);
  if (!owner.ok()) return owner.status();
  const Value* list = nullptr;
  TradesPage page;
  absl::Status s = ListOf(result, &list, &page.total);
  if (!s.ok()) return s;
  if (list == nullptr) return page;
  int i = 0;
  for (const Value& v : list->GetArray()) {
    std::optional<db::Activity> trade = DecodeTrade(v, *owner, i++, &page.issues);
    if (trade.has_value()) page.trades.push_back(*std::move(trade));
  }
  return page;
}

absl::StatusOr<std::vector<QuoteToken>> DecodeQuoteTokenList(const rapidjson::Value* result,
                                                             int64_t* total, DecodeIssues* issues) {
  const Value* list = nullptr;
  absl::Status s = ListOf(result, &list, total);
  if (!s.ok()) return s;
  std::vector<QuoteToken> tokens;
  if (list == nullptr) return tokens;
  int i = 0;
  for (const Value& v : list->GetArray()) {
    const std::string record = absl::StrCat("quote token record ", i++);
    if (!v.IsObject()) {
      issues->Add(absl::StrCat(record, ": expected an object, got ", TypeName(v)));
      continue;
    }
    Fields f(v, record);
    QuoteToken t;
    f.Int("id", &t.id);
    f.String("quoteTokenName", &t.name);
    f.String("symbol", &t.symbol);
    if (!f.String("quoteTokenAddress", &t.address) && f.ok())
      f.Fail("quoteTokenAddress", "missing");
    if (f.ok() && t.address.empty()) f.Fail("quoteTokenAddress", "empty");
    f.String("ctfExchangeAddress", &t.ctf_exchange_address);
    int64_t decimals = 0;
    if (f.Int("decimal", &decimals)) {
      if (decimals < 0 || decimals > 36) {
        f.Fail("decimal", absl::StrCat(decimals, " is not within 0..36"));
      }
      t.decimals = static_cast<int>(decimals);
    }
    f.String("chainId", &t.chain_id);
    for (const char* key : {"usdPrice", "quoteTokenUsdPrice", "price"}) {
      if (f.Decimal(key, &t.usd_price)) {
        t.usd_price_known = true;
        if (DecimalSign(t.usd_price) <= 0)
          f.Fail(key, absl::StrCat(t.usd_price, " is not positive"));
        break;
      }
    }
    if (!f.ok()) {
      issues->Add(f.error());
      continue;
    }
    tokens.push_back(std::move(t));
  }
  return tokens;
}

namespace {

absl::StatusOr<std::unique_ptr<Envelope>> ParseOk(absl::string_view body) {
  absl::StatusOr<std::unique_ptr<Envelope>> e = Envelope::Parse(body);
  if (!e.ok()) return e.status();
  absl::Status s = UpstreamErrorStatus("upstream", 0, (*e)->error_code(), (*e)->message());
  if (!s.ok()) return s;
  return e;
}

}  // namespace

absl::StatusOr<MarketsPage> DecodeMarketListBody(absl::string_view body) {
  absl::StatusOr<std::unique_ptr<Envelope>> e = ParseOk(body);
  if (!e.ok()) return e.status();
  return DecodeMarketList((*e)->result());
}

absl::StatusOr<MarketsPage> DecodeMarketDetailBody(absl::string_view body) {
  absl::StatusOr<std::unique_ptr<Envelope>> e = ParseOk(body);
  if (!e.ok()) return e.status();
  return DecodeMarketDetail((*e)->result());
}

absl::StatusOr<TradesPage> DecodeTradeListBody(absl::string_view body, absl::string_view wallet) {
  absl::StatusOr<std::unique_ptr<Envelope>> e = ParseOk(body);
  if (!e.ok()) return e.status();
  return DecodeTradeList((*e)->result(), wallet);
}

}  // namespace whalefeed::sync
