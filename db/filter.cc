#include "db/filter.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace whalefeed::db {
namespace {

// ---------------------------------------------------------------------------------------------
// Field tables.

constexpr uint8_t OpBit(FilterOp op) { return static_cast<uint8_t>(1u << static_cast<int>(op)); }
constexpr uint8_t kEquality = OpBit(FilterOp::kEq) | OpBit(FilterOp::kNe);
constexpr uint8_t kOrdered = kEquality | OpBit(FilterOp::kLt) | OpBit(FilterOp::kLe) |
                             OpBit(FilterOp::kGt) | OpBit(FilterOp::kGe);
constexpr uint8_t kHas = OpBit(FilterOp::kHas);

struct EnumValue {
  const char* name;  // without the prefix, upper-case
  int number;
};

struct EnumSpec {
  const char* prefix;  // "SIDE_"
  std::vector<EnumValue> values;
};

const EnumSpec& SideEnum() {
  static const auto* const spec = new EnumSpec{"SIDE_",
                                               {{"BUY", static_cast<int>(Side::kBuy)},
                                                {"SELL", static_cast<int>(Side::kSell)},
                                                {"MERGE", static_cast<int>(Side::kMerge)},
                                                {"SPLIT", static_cast<int>(Side::kSplit)}}};
  return *spec;
}
const EnumSpec& OutcomeEnum() {
  static const auto* const spec = new EnumSpec{
      "OUTCOME_",
      {{"YES", static_cast<int>(Outcome::kYes)}, {"NO", static_cast<int>(Outcome::kNo)}}};
  return *spec;
}
const EnumSpec& OriginEnum() {
  static const auto* const spec = new EnumSpec{"ORIGIN_",
                                               {{"LIVE", static_cast<int>(Origin::kLive)},
                                                {"BACKFILL", static_cast<int>(Origin::kBackfill)}}};
  return *spec;
}
const EnumSpec& MarketStatusEnum() {
  static const auto* const spec =
      new EnumSpec{"MARKET_STATUS_",
                   {{"CREATED", static_cast<int>(MarketStatus::kCreated)},
                    {"ACTIVATED", static_cast<int>(MarketStatus::kActivated)},
                    {"RESOLVING", static_cast<int>(MarketStatus::kResolving)},
                    {"RESOLVED", static_cast<int>(MarketStatus::kResolved)},
                    {"FAILED", static_cast<int>(MarketStatus::kFailed)},
                    {"DELETED", static_cast<int>(MarketStatus::kDeleted)}}};
  return *spec;
}
const EnumSpec& MarketTypeEnum() {
  static const auto* const spec =
      new EnumSpec{"MARKET_TYPE_",
                   {{"BINARY", static_cast<int>(MarketType::kBinary)},
                    {"CATEGORICAL", static_cast<int>(MarketType::kCategorical)}}};
  return *spec;
}

struct FieldSpec {
  const char* name;
  FilterField field;
  FilterValueType type;
  uint8_t ops;
  const EnumSpec* enum_spec = nullptr;
  bool repeated = false;
};

const std::vector<FieldSpec>& Fields(FilterSchema schema) {
  static const auto* const activity = new std::vector<FieldSpec>{
      {"sequence", FilterField::kSequence, FilterValueType::kUint64, kOrdered},
      {"wallet", FilterField::kWallet, FilterValueType::kString, kEquality},
      {"market_id", FilterField::kMarketId, FilterValueType::kInt64, kOrdered},
      {"root_market_id", FilterField::kRootMarketId, FilterValueType::kInt64, kOrdered},
      {"side", FilterField::kSide, FilterValueType::kEnum, kEquality, &SideEnum()},
      {"outcome", FilterField::kOutcome, FilterValueType::kEnum, kEquality, &OutcomeEnum()},
      {"amount_usd", FilterField::kAmountUsd, FilterValueType::kDecimal, kOrdered},
      {"traded_time", FilterField::kTradedTime, FilterValueType::kTime, kOrdered},
      {"ingested_time", FilterField::kIngestedTime, FilterValueType::kTime, kOrdered},
      {"origin", FilterField::kOrigin, FilterValueType::kEnum, kEquality, &OriginEnum()},
  };
  static const auto* const market = new std::vector<FieldSpec>{
      {"market_id", FilterField::kMarketId, FilterValueType::kInt64, kOrdered},
      {"status", FilterField::kStatus, FilterValueType::kEnum, kEquality, &MarketStatusEnum()},
      {"market_type", FilterField::kMarketType, FilterValueType::kEnum, kEquality,
       &MarketTypeEnum()},
      {"label", FilterField::kMarketLabel, FilterValueType::kString, OpBit(FilterOp::kEq) | kHas,
       nullptr, /*repeated=*/true},
      {"title", FilterField::kTitle, FilterValueType::kString, kEquality | kHas},
      {"volume", FilterField::kVolume, FilterValueType::kDecimal, kOrdered},
      {"volume_24h", FilterField::kVolume24h, FilterValueType::kDecimal, kOrdered},
      {"volume_7d", FilterField::kVolume7d, FilterValueType::kDecimal, kOrdered},
      {"whale_volume_24h", FilterField::kWhaleVolume24h, FilterValueType::kDecimal, kOrdered},
      {"created_time", FilterField::kCreatedTime, FilterValueType::kTime, kOrdered},
      {"cutoff_time", FilterField::kCutoffTime, FilterValueType::kTime, kOrdered},
  };
  static const auto* const whale = new std::vector<FieldSpec>{
      {"tracked", FilterField::kTracked, FilterValueType::kBool, kEquality},
      {"label", FilterField::kWhaleLabel, FilterValueType::kString, kEquality | kHas},
      {"volume_usd", FilterField::kVolumeUsd, FilterValueType::kDecimal, kOrdered},
      {"trade_count", FilterField::kTradeCount, FilterValueType::kInt64, kOrdered},
  };
  switch (schema) {
    case FilterSchema::kActivity:
      return *activity;
    case FilterSchema::kMarket:
      return *market;
    case FilterSchema::kWhale:
      return *whale;
  }
  return *activity;
}

const FieldSpec* FindField(FilterSchema schema, absl::string_view name) {
  for (const FieldSpec& spec : Fields(schema)) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

const FieldSpec& SpecOf(FilterSchema schema, FilterField field) {
  for (const FieldSpec& spec : Fields(schema)) {
    if (spec.field == field) return spec;
  }
  return Fields(schema).front();  // unreachable for a parsed filter
}

const char* OpText(FilterOp op) {
  switch (op) {
    case FilterOp::kEq:
      return "=";
    case FilterOp::kNe:
      return "!=";
    case FilterOp::kLt:
      return "<";
    case FilterOp::kLe:
      return "<=";
    case FilterOp::kGt:
      return ">";
    case FilterOp::kGe:
      return ">=";
    case FilterOp::kHas:
      return ":";
  }
  return "?";
}

const char* SchemaName(FilterSchema schema) {
  switch (schema) {
    case FilterSchema::kActivity:
      return "activity";
    case FilterSchema::kMarket:
      return "market";
    case FilterSchema::kWhale:
      return "whale";
  }
  return "?";
}

const char* TypeName(FilterValueType type) {
  switch (type) {
    case FilterValueType::kInt64:
    case FilterValueType::kUint64:
      return "an integer";
    case FilterValueType::kDecimal:
      return "a decimal number";
    case FilterValueType::kString:
      return "a double-quoted string";
    case FilterValueType::kEnum:
      return "an enum value";
    case FilterValueType::kTime:
      return "a double-quoted RFC 3339 time";
    case FilterValueType::kBool:
      return "true or false";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Case folding for ":" (case-insensitive substring). It lower-cases what MySQL's LOWER()
// lower-cases in the scripts that matter here (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic),
// so that the in-memory predicate and the SQL agree; other characters compare as they are.

char32_t FoldCodePoint(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 0x20 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c >= 0x100 && c <= 0x137) return c | 1;
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

// Decodes the UTF-8 character at `*i` of `s` and advances `*i`; a byte that does not start a valid
// character is returned as itself (stored text is valid UTF-8, so this is only a safeguard).
char32_t NextCodePoint(absl::string_view s, size_t* i) {
  const unsigned char b0 = static_cast<unsigned char>(s[*i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return b0;
  }
  char32_t c = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int k = 1; k < len; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return b0;
    }
    c = (c << 6) | (b & 0x3F);
  }
  *i += len;
  return c;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string Fold(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) AppendUtf8(FoldCodePoint(NextCodePoint(s, &i)), &out);
  return out;
}

// Whether `folded_needle` (already folded) occurs in `haystack` folded, without allocating.
bool ContainsFolded(absl::string_view haystack, absl::string_view folded_needle) {
  if (folded_needle.empty()) return true;
  for (size_t start = 0; start < haystack.size();) {
    size_t h = start;
    size_t n = 0;
    bool match = true;
    while (n < folded_needle.size()) {
      if (h >= haystack.size()) return false;  // the rest of the haystack is too short
      const char32_t hc = FoldCodePoint(NextCodePoint(haystack, &h));
      const char32_t nc = NextCodePoint(folded_needle, &n);
      if (hc != nc) {
        match = false;
        break;
      }
    }
    if (match) return true;
    NextCodePoint(haystack, &start);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Lexer.

enum class TokenKind { kWord, kNumber, kString, kOp, kLParen, kRParen, kMinus, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  absl::string_view text;  // as written (a string with its quotes)
  size_t pos = 0;          // 0-based byte offset
  std::string value;       // kString: unescaped
  FilterOp op = FilterOp::kEq;
};

absl::Status Error(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("filter: ", message));
}

std::string At(size_t pos) { return absl::StrCat(" at position ", pos + 1); }

// `text` quoted for a message, shortened.
std::string Quoted(absl::string_view text) {
  constexpr size_t kMax = 40;
  if (text.size() > kMax) return absl::StrCat("\"", TruncateUtf8(text, kMax), "...\"");
  return absl::StrCat("\"", text, "\"");
}

bool IsWordStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }
bool IsNumberChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.'; }

absl::StatusOr<std::vector<Token>> Lex(absl::string_view in) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (true) {
    while (i < in.size() && absl::ascii_isspace(in[i])) ++i;
    Token t;
    t.pos = i;
    if (i == in.size()) {
      tokens.push_back(std::move(t));
      return tokens;
    }
    const char c = in[i];
    const bool after_op = !tokens.empty() && tokens.back().kind == TokenKind::kOp;
    if (IsWordStart(c)) {
      size_t j = i + 1;
      while (j < in.size() && IsWordChar(in[j])) ++j;
      t.kind = TokenKind::kWord;
      t.text = in.substr(i, j - i);
      i = j;
    } else if (absl::ascii_isdigit(c) || c == '.' ||
               (after_op && c == '-' && i + 1 < in.size() &&
                (absl::ascii_isdigit(in[i + 1]) || in[i + 1] == '.'))) {
      size_t j = i + 1;
      while (j < in.size() && IsNumberChar(in[j])) ++j;
      t.kind = TokenKind::kNumber;
      t.text = in.substr(i, j - i);
      i = j;
    } else if (c == '"') {
      size_t j = i + 1;
      bool closed = false;
      while (j < in.size()) {
        if (in[j] == '"') {
          closed = true;
          break;
        }
        if (in[j] == '\\') {
          if (j + 1 >= in.size()) break;
          if (in[j + 1] != '"' && in[j + 1] != '\\') {
            return Error(absl::StrCat("unknown escape \"\\", in.substr(j + 1, 1), "\"", At(j),
                                      " (only \\\" and \\\\ are allowed in strings)"));
          }
          t.value.push_back(in[j + 1]);
          j += 2;
          continue;
        }
        t.value.push_back(in[j]);
        ++j;
      }
      if (!closed) return Error(absl::StrCat("unterminated string", At(i)));
      t.kind = TokenKind::kString;
      t.text = in.substr(i, j + 1 - i);
      i = j + 1;
    } else if (c == '(' || c == ')') {
      t.kind = c == '(' ? TokenKind::kLParen : TokenKind::kRParen;
      t.text = in.substr(i, 1);
      ++i;
    } else if (c == '-') {
      t.kind = TokenKind::kMinus;
      t.text = in.substr(i, 1);
      ++i;
    } else if (c == '=' || c == ':' || c == '<' || c == '>' || c == '!') {
      const bool eq_next = i + 1 < in.size() && in[i + 1] == '=';
      t.kind = TokenKind::kOp;
      switch (c) {
        case '=':
          t.op = FilterOp::kEq;
          break;
        case ':':
          t.op = FilterOp::kHas;
          break;
        case '<':
          t.op = eq_next ? FilterOp::kLe : FilterOp::kLt;
          break;
        case '>':
          t.op = eq_next ? FilterOp::kGe : FilterOp::kGt;
          break;
        default:
          if (!eq_next)
            return Error(absl::StrCat("unexpected \"!\"", At(i), " (did you mean !=?)"));
          t.op = FilterOp::kNe;
      }
      const size_t len = (c == '<' || c == '>' || c == '!') && eq_next ? 2 : 1;
      t.text = in.substr(i, len);
      i += len;
    } else {
      return Error(absl::StrCat("unexpected character ", Quoted(in.substr(i, 1)), At(i)));
    }
    tokens.push_back(std::move(t));
  }
}

bool IsKeyword(const Token& t, absl::string_view keyword) {
  return t.kind == TokenKind::kWord && absl::EqualsIgnoreCase(t.text, keyword);
}

std::string Describe(const Token& t) {
  if (t.kind == TokenKind::kEnd) return "the end of the filter";
  if (t.kind == TokenKind::kString) {  // already quoted
    return t.text.size() > 42 ? absl::StrCat(TruncateUtf8(t.text, 41), "...\"")
                              : std::string(t.text);
  }
  return Quoted(t.text);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parser.

class FilterParser {
 public:
  FilterParser(FilterSchema schema, std::vector<Token> tokens)
      : schema_(schema), tokens_(std::move(tokens)) {}

  absl::StatusOr<Filter> Parse() {
    Filter filter(schema_);
    if (Peek().kind == TokenKind::kEnd) return filter;
    absl::StatusOr<FilterNode> root = ParseExpr(0);
    if (!root.ok()) return root.status();
    if (Peek().kind != TokenKind::kEnd) {
      const Token& t = Peek();
      if (t.kind == TokenKind::kRParen) {
        return Error(absl::StrCat("unmatched \")\"", At(t.pos)));
      }
      return Error(absl::StrCat("unexpected ", Describe(t), At(t.pos),
                                ": join restrictions with AND or OR"));
    }
    filter.root_ = *std::move(root);
    return filter;
  }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  const Token& Take() { return tokens_[next_ < tokens_.size() - 1 ? next_++ : next_]; }

  absl::StatusOr<FilterNode> ParseExpr(int depth) {
    absl::StatusOr<FilterNode> first = ParseTerm(depth);
    if (!first.ok()) return first.status();
    if (!IsKeyword(Peek(), "AND") && !IsKeyword(Peek(), "OR")) return first;
    FilterNode group;
    const bool is_and = IsKeyword(Peek(), "AND");
    group.kind = is_and ? FilterNode::Kind::kAnd : FilterNode::Kind::kOr;
    Append(&group, *std::move(first));
    while (IsKeyword(Peek(), "AND") || IsKeyword(Peek(), "OR")) {
      const Token& connective = Take();
      if (IsKeyword(connective, "AND") != is_and) {
        return Error(
            absl::StrCat("AND and OR mixed without parentheses", At(connective.pos),
                         ": add parentheses to say which binds first, e.g. (a AND b) OR c"));
      }
      absl::StatusOr<FilterNode> next = ParseTerm(depth);
      if (!next.ok()) return next.status();
      Append(&group, *std::move(next));
    }
    return group;
  }

  // Adds `child` to an AND / OR group; a child group of the same kind is merged into it (the same
  // meaning, one canonical form).
  static void Append(FilterNode* group, FilterNode child) {
    if (child.kind == group->kind) {
      for (FilterNode& grandchild : child.children)
        group->children.push_back(std::move(grandchild));
    } else {
      group->children.push_back(std::move(child));
    }
  }

  absl::StatusOr<FilterNode> ParseTerm(int depth) {
    const Token& t = Peek();
    if (depth > kMaxFilterDepth) {
      return Error(absl::StrCat("nested more than ", kMaxFilterDepth, " levels deep", At(t.pos)));
    }
    if (IsKeyword(t, "NOT") || t.kind == TokenKind::kMinus) {
      Take();
      absl::StatusOr<FilterNode> child = ParseTerm(depth + 1);
      if (!child.ok()) return child.status();
      FilterNode node;
      node.kind = FilterNode::Kind::kNot;
      node.children.push_back(*std::move(child));
      return node;
    }
    if (t.kind == TokenKind::kLParen) {
      const size_t open = t.pos;
      Take();
      if (Peek().kind == TokenKind::kRParen) {
        return Error(absl::StrCat("empty parentheses", At(open)));
      }
      absl::StatusOr<FilterNode> inner = ParseExpr(depth + 1);
      if (!inner.ok()) return inner.status();
      if (Peek().kind != TokenKind::kRParen) {
        return Error(absl::StrCat("expected \")\" to close the \"(\"", At(open), ", got ",
                                  Describe(Peek()), At(Peek().pos)));
      }
      Take();
      return inner;
    }
    if (t.kind == TokenKind::kWord && !IsKeyword(t, "AND") && !IsKeyword(t, "OR")) {
      return ParseRestriction();
    }
    return Error(absl::StrCat("expected a restriction (field operator value), got ", Describe(t),
                              At(t.pos)));
  }

  absl::StatusOr<FilterNode> ParseRestriction() {
    const Token& name = Take();
    const FieldSpec* spec = FindField(schema_, name.text);
    if (spec == nullptr) {
      std::vector<absl::string_view> names;
      for (const FieldSpec& f : Fields(schema_)) names.push_back(f.name);
      return Error(absl::StrCat("unknown field ", Quoted(name.text), At(name.pos), "; ",
                                SchemaName(schema_), " fields are ", absl::StrJoin(names, ", ")));
    }
    if (++restrictions_ > kMaxFilterRestrictions) {
      return Error(
          absl::StrCat("more than ", kMaxFilterRestrictions, " restrictions", At(name.pos)));
    }
    const Token& op = Take();
    if (op.kind != TokenKind::kOp) {
      return Error(absl::StrCat("expected an operator (= != < <= > >= :) after field ", spec->name,
                                At(name.pos), ", got ", Describe(op), At(op.pos)));
    }
    if ((spec->ops & OpBit(op.op)) == 0) {
      std::vector<absl::string_view> allowed;
      for (FilterOp o : {FilterOp::kEq, FilterOp::kNe, FilterOp::kLt, FilterOp::kLe, FilterOp::kGt,
                         FilterOp::kGe, FilterOp::kHas}) {
        if (spec->ops & OpBit(o)) allowed.push_back(OpText(o));
      }
      std::string hint;
      if (spec->repeated && op.op == FilterOp::kNe) {
        hint = absl::StrCat("; write NOT ", spec->name, " = ... for \"no element equals\"");
      }
      return Error(absl::StrCat("operator ", OpText(op.op), " is not allowed for field ",
                                spec->name, At(op.pos), " (allowed: ", absl::StrJoin(allowed, " "),
                                ")", hint));
    }
    const Token& value = Take();
    FilterNode node;
    node.kind = FilterNode::Kind::kRestriction;
    FilterRestriction& r = node.restriction;
    r.field = spec->field;
    r.op = op.op;
    r.type = spec->type;
    absl::Status status = ParseValue(*spec, value, &r);
    if (!status.ok()) return status;
    return node;
  }

  // The value of restriction `r` from token `t`, checked against the field's type.
  static absl::Status ParseValue(const FieldSpec& spec, const Token& t, FilterRestriction* r) {
    const std::string where = absl::StrCat(spec.name, At(t.pos));
    auto wrong_type = [&] {
      return Error(absl::StrCat(where, ": expected ", TypeName(spec.type), ", got ", Describe(t)));
    };
    if (t.kind != TokenKind::kWord && t.kind != TokenKind::kNumber &&
        t.kind != TokenKind::kString) {
      return Error(
          absl::StrCat("expected a value for field ", spec.name, ", got ", Describe(t), At(t.pos)));
    }
    switch (spec.type) {
      case FilterValueType::kInt64: {
        if (t.kind != TokenKind::kNumber) return wrong_type();
        return ParseInteger(spec, t, /*is_unsigned=*/false, r);
      }
      case FilterValueType::kUint64: {
        if (t.kind != TokenKind::kNumber) return wrong_type();
        return ParseInteger(spec, t, /*is_unsigned=*/true, r);
      }
      case FilterValueType::kDecimal: {
        if (t.kind != TokenKind::kNumber) return wrong_type();
        absl::StatusOr<std::string> canonical = NormalizeDecimal(t.text, spec.name);
        if (!canonical.ok() || !ParseScaledDecimal(*canonical, &r->decimal_value)) {
          const bool syntax =
              !canonical.ok() && !absl::StrContains(canonical.status().message(), "out of range");
          return Error(absl::StrCat(where, ": ", Quoted(t.text),
                                    syntax ? " is not a decimal number"
                                           : " is out of range (at most 20 integer and 18 "
                                             "fractional digits)"));
        }
        r->string_value = *std::move(canonical);
        return absl::OkStatus();
      }
      case FilterValueType::kString: {
        if (t.kind != TokenKind::kString) return wrong_type();
        if (absl::Status s = CheckText(t.value, kMaxFilterBytes, spec.name); !s.ok()) {
          return Error(absl::StrCat(where, ": the string is not valid UTF-8"));
        }
        if (spec.field == FilterField::kWallet) {
          absl::StatusOr<std::string> wallet = NormalizeWallet(t.value, spec.name);
          if (!wallet.ok()) {
            return Error(absl::StrCat(where, ": ", Quoted(t.value),
                                      " is not a wallet address (0x and 40 hex digits)"));
          }
          r->string_value = *std::move(wallet);
        } else {
          r->string_value = t.value;
        }
        if (r->op == FilterOp::kHas) r->folded_value = Fold(r->string_value);
        return absl::OkStatus();
      }
      case FilterValueType::kEnum: {
        if (t.kind == TokenKind::kNumber) return wrong_type();
        absl::string_view text = t.kind == TokenKind::kString ? t.value : t.text;
        std::string upper = absl::AsciiStrToUpper(text);
        absl::string_view name = upper;
        absl::ConsumePrefix(&name, spec.enum_spec->prefix);
        std::vector<absl::string_view> names;
        for (const EnumValue& v : spec.enum_spec->values) {
          if (name == v.name) {
            r->int_value = v.number;
            return absl::OkStatus();
          }
          names.push_back(v.name);
        }
        return Error(absl::StrCat(where, ": ", Quoted(text), " is not a value of ", spec.name,
                                  " (values: ", absl::StrJoin(names, ", "), ")"));
      }
      case FilterValueType::kTime: {
        if (t.kind != TokenKind::kString) return wrong_type();
        absl::Time time;
        std::string error;
        if (!absl::ParseTime(absl::RFC3339_full, t.value, &time, &error)) {
          return Error(absl::StrCat(where, ": ", Quoted(t.value),
                                    " is not an RFC 3339 time such as \"2026-01-31T12:00:00Z\""));
        }
        if (time < absl::FromCivil(absl::CivilSecond(1000, 1, 1), absl::UTCTimeZone()) ||
            time >= absl::FromCivil(absl::CivilSecond(10000, 1, 1), absl::UTCTimeZone())) {
          return Error(absl::StrCat(where, ": ", Quoted(t.value),
                                    " is out of range (years 1000 to 9999 in UTC)"));
        }
        if (absl::ToUnixNanos(time) % 1000 != 0) {
          return Error(absl::StrCat(where, ": ", Quoted(t.value),
                                    " is more precise than a microsecond (times are stored to "
                                    "the microsecond)"));
        }
        r->time_value = time;
        return absl::OkStatus();
      }
      case FilterValueType::kBool: {
        if (t.kind != TokenKind::kWord) return wrong_type();
        if (absl::EqualsIgnoreCase(t.text, "true")) {
          r->int_value = 1;
        } else if (absl::EqualsIgnoreCase(t.text, "false")) {
          r->int_value = 0;
        } else {
          return wrong_type();
        }
        return absl::OkStatus();
      }
    }
    return wrong_type();
  }

  static absl::Status ParseInteger(const FieldSpec& spec, const Token& t, bool is_unsigned,
                                   FilterRestriction* r) {
    const std::string where = absl::StrCat(spec.name, At(t.pos));
    absl::string_view digits = t.text;
    const bool negative = absl::ConsumePrefix(&digits, "-");
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isdigit(c); })) {
      return Error(absl::StrCat(where, ": expected an integer, got ", Quoted(t.text)));
    }
    if (is_unsigned) {
      if (negative) return Error(absl::StrCat(where, ": ", Quoted(t.text), " is negative"));
      if (!absl::SimpleAtoi(digits, &r->uint_value)) {
        return Error(absl::StrCat(where, ": ", Quoted(t.text),
                                  " is out of range for an unsigned 64-bit integer"));
      }
      return absl::OkStatus();
    }
    if (!absl::SimpleAtoi(t.text, &r->int_value)) {
      return Error(
          absl::StrCat(where, ": ", Quoted(t.text), " is out of range for a 64-bit integer"));
    }
    return absl::OkStatus();
  }

  FilterSchema schema_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  int restrictions_ = 0;
};

absl::StatusOr<Filter> ParseFilter(FilterSchema schema, absl::string_view text) {
  if (text.size() > kMaxFilterBytes) {
    return Error(absl::StrCat("the filter is ", text.size(), " bytes long; at most ",
                              kMaxFilterBytes, " are allowed"));
  }
  absl::StatusOr<std::vector<Token>> tokens = Lex(text);
  if (!tokens.ok()) return tokens.status();
  return FilterParser(schema, *std::move(tokens)).Parse();
}

absl::StatusOr<Filter> ParseActivityFilter(absl::string_view text) {
  return ParseFilter(FilterSchema::kActivity, text);
}
absl::StatusOr<Filter> ParseMarketFilter(absl::string_view text) {
  return ParseFilter(FilterSchema::kMarket, text);
}
absl::StatusOr<Filter> ParseWhaleFilter(absl::string_view text) {
  return ParseFilter(FilterSchema::kWhale, text);
}

// ---------------------------------------------------------------------------------------------
// Decimals.

bool ParseScaledDecimal(absl::string_view text, ScaledDecimal* out) {
  constexpr int kScale = 18;
  constexpr int kMaxIntegerDigits = 20;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  const size_t dot = text.find('.');
  absl::string_view int_part = text.substr(0, dot);
  absl::string_view frac_part =
      dot == absl::string_view::npos ? absl::string_view() : text.substr(dot + 1);
  if (int_part.empty() && frac_part.empty()) return false;
  for (char c : int_part) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  for (char c : frac_part) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  while (!int_part.empty() && int_part[0] == '0') int_part.remove_prefix(1);
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.remove_suffix(1);
  if (int_part.size() > kMaxIntegerDigits || frac_part.size() > kScale) return false;
  absl::int128 value = 0;
  for (char c : int_part) value = value * 10 + (c - '0');
  for (char c : frac_part) value = value * 10 + (c - '0');
  for (size_t k = frac_part.size(); k < kScale; ++k) value *= 10;
  *out = negative ? -value : value;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Canonical text.

namespace {

std::string QuoteString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void AppendCanonical(FilterSchema schema, const FilterNode& node, std::string* out) {
  switch (node.kind) {
    case FilterNode::Kind::kRestriction: {
      const FilterRestriction& r = node.restriction;
      const FieldSpec& spec = SpecOf(schema, r.field);
      absl::StrAppend(out, spec.name, " ", OpText(r.op), " ");
      switch (r.type) {
        case FilterValueType::kInt64:
          absl::StrAppend(out, r.int_value);
          break;
        case FilterValueType::kUint64:
          absl::StrAppend(out, r.uint_value);
          break;
        case FilterValueType::kDecimal:
          absl::StrAppend(out, r.string_value);
          break;
        case FilterValueType::kString:
          absl::StrAppend(out, QuoteString(r.string_value));
          break;
        case FilterValueType::kEnum:
          for (const EnumValue& v : spec.enum_spec->values) {
            if (v.number == r.int_value) absl::StrAppend(out, spec.enum_spec->prefix, v.name);
          }
          break;
        case FilterValueType::kTime:
          absl::StrAppend(
              out, "\"",
              absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", r.time_value, absl::UTCTimeZone()), "\"");
          break;
        case FilterValueType::kBool:
          absl::StrAppend(out, r.int_value ? "true" : "false");
          break;
      }
      return;
    }
    case FilterNode::Kind::kNot: {
      const FilterNode& child = node.children.front();
      const bool group =
          child.kind == FilterNode::Kind::kAnd || child.kind == FilterNode::Kind::kOr;
      absl::StrAppend(out, "NOT ", group ? "(" : "");
      AppendCanonical(schema, child, out);
      if (group) absl::StrAppend(out, ")");
      return;
    }
    case FilterNode::Kind::kAnd:
    case FilterNode::Kind::kOr: {
      const char* connective = node.kind == FilterNode::Kind::kAnd ? " AND " : " OR ";
      for (size_t i = 0; i < node.children.size(); ++i) {
        const FilterNode& child = node.children[i];
        const bool group =
            child.kind == FilterNode::Kind::kAnd || child.kind == FilterNode::Kind::kOr;
        if (i > 0) absl::StrAppend(out, connective);
        if (group) absl::StrAppend(out, "(");
        AppendCanonical(schema, child, out);
        if (group) absl::StrAppend(out, ")");
      }
      return;
    }
  }
}

}  // namespace

std::string Filter::Canonical() const {
  std::string out;
  if (root_.has_value()) AppendCanonical(schema_, *root_, &out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// In-memory evaluation.

namespace {

template <typename T>
bool Compare(FilterOp op, const T& a, const T& b) {
  switch (op) {
    case FilterOp::kEq:
      return a == b;
    case FilterOp::kNe:
      return a != b;
    case FilterOp::kLt:
      return a < b;
    case FilterOp::kLe:
      return a <= b;
    case FilterOp::kGt:
      return a > b;
    case FilterOp::kGe:
      return a >= b;
    case FilterOp::kHas:
      return false;
  }
  return false;
}

bool CompareInt(const FilterRestriction& r, int64_t v) { return Compare(r.op, v, r.int_value); }

bool CompareDecimal(const FilterRestriction& r, absl::string_view text) {
  ScaledDecimal v;
  if (text.empty()) {
    v = 0;
  } else if (!ParseScaledDecimal(text, &v)) {
    return false;
  }
  return Compare(r.op, v, r.decimal_value);
}

bool CompareTime(const FilterRestriction& r, absl::Time t) {
  if (t == absl::InfinitePast()) return false;  // unset: like NULL in SQL
  return Compare(r.op, t, r.time_value);
}

bool CompareString(const FilterRestriction& r, absl::string_view s) {
  if (r.op == FilterOp::kHas) return ContainsFolded(s, r.folded_value);
  return Compare<absl::string_view>(r.op, s, r.string_value);
}

// What one restriction reads from the row being matched.
struct Row {
  const Activity* activity = nullptr;
  const Market* market = nullptr;
  absl::string_view whale_volume_24h;
  const Whale* whale = nullptr;
  const WhaleFilterStats* stats = nullptr;
};

bool Evaluate(const FilterRestriction& r, const Row& row) {
  switch (r.field) {
    case FilterField::kSequence:
      return Compare(r.op, row.activity->sequence, r.uint_value);
    case FilterField::kWallet:
      return CompareString(r, row.activity->wallet);
    case FilterField::kMarketId:
      return CompareInt(r, row.activity ? row.activity->market_id : row.market->market_id);
    case FilterField::kRootMarketId:
      return CompareInt(r, row.activity->root_market_id);
    case FilterField::kSide:
      return CompareInt(r, static_cast<int64_t>(row.activity->side));
    case FilterField::kOutcome:
      return CompareInt(r, static_cast<int64_t>(row.activity->outcome));
    case FilterField::kAmountUsd:
      return CompareDecimal(r, row.activity->amount_usd);
    case FilterField::kTradedTime:
      return CompareTime(r, row.activity->traded_time);
    case FilterField::kIngestedTime:
      return CompareTime(r, row.activity->ingested_time);
    case FilterField::kOrigin:
      return CompareInt(r, static_cast<int64_t>(row.activity->origin));
    case FilterField::kStatus:
      return CompareInt(r, static_cast<int64_t>(row.market->status));
    case FilterField::kMarketType:
      return CompareInt(r, static_cast<int64_t>(row.market->market_type));
    case FilterField::kMarketLabel:
      for (const std::string& label : row.market->labels) {
        if (CompareString(r, label)) return true;
      }
      return false;
    case FilterField::kTitle:
      return CompareString(r, row.market->title);
    case FilterField::kVolume:
      return CompareDecimal(r, row.market->volume);
    case FilterField::kVolume24h:
      return CompareDecimal(r, row.market->volume_24h);
    case FilterField::kVolume7d:
      return CompareDecimal(r, row.market->volume_7d);
    case FilterField::kWhaleVolume24h:
      return CompareDecimal(r, row.whale_volume_24h);
    case FilterField::kCreatedTime:
      return CompareTime(r, row.market->created_time);
    case FilterField::kCutoffTime:
      return CompareTime(r, row.market->cutoff_time);
    case FilterField::kTracked:
      return CompareInt(r, row.whale->tracked ? 1 : 0);
    case FilterField::kWhaleLabel:
      return CompareString(r, row.whale->label);
    case FilterField::kVolumeUsd:
      return CompareDecimal(r, row.stats->volume_usd);
    case FilterField::kTradeCount:
      return CompareInt(r, row.stats->trade_count);
  }
  return false;
}

bool Evaluate(const FilterNode& node, const Row& row) {
  switch (node.kind) {
    case FilterNode::Kind::kRestriction:
      return Evaluate(node.restriction, row);
    case FilterNode::Kind::kNot:
      return !Evaluate(node.children.front(), row);
    case FilterNode::Kind::kAnd:
      for (const FilterNode& child : node.children) {
        if (!Evaluate(child, row)) return false;
      }
      return true;
    case FilterNode::Kind::kOr:
      for (const FilterNode& child : node.children) {
        if (Evaluate(child, row)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace

bool MatchesActivity(const Filter& filter, const Activity& activity) {
  if (filter.schema() != FilterSchema::kActivity) return false;
  if (filter.empty()) return true;
  Row row;
  row.activity = &activity;
  return Evaluate(filter.root(), row);
}

bool MatchesMarket(const Filter& filter, const Market& market, absl::string_view whale_volume_24h) {
  if (filter.schema() != FilterSchema::kMarket) return false;
  if (filter.empty()) return true;
  Row row;
  row.market = &market;
  row.whale_volume_24h = whale_volume_24h;
  return Evaluate(filter.root(), row);
}

bool MatchesWhale(const Filter& filter, const Whale& whale, const WhaleFilterStats& stats) {
  if (filter.schema() != FilterSchema::kWhale) return false;
  if (filter.empty()) return true;
  Row row;
  row.whale = &whale;
  row.stats = &stats;
  return Evaluate(filter.root(), row);
}

// ---------------------------------------------------------------------------------------------
// SQL.

bool operator==(const SqlParam& a, const SqlParam& b) {
  return a.type == b.type && a.int_value == b.int_value && a.uint_value == b.uint_value &&
         a.string_value == b.string_value && a.time_value == b.time_value;
}

namespace {

const char* SqlOp(FilterOp op) {
  switch (op) {
    case FilterOp::kEq:
      return "=";
    case FilterOp::kNe:
      return "<>";
    case FilterOp::kLt:
      return "<";
    case FilterOp::kLe:
      return "<=";
    case FilterOp::kGt:
      return ">";
    case FilterOp::kGe:
      return ">=";
    case FilterOp::kHas:
      return "LIKE";
  }
  return "=";
}

SqlParam StringParam(std::string s) {
  SqlParam p;
  p.type = SqlParam::Type::kString;
  p.string_value = std::move(s);
  return p;
}

// `s` as a LIKE pattern matching itself, with '!' as the escape character (not '\', whose meaning
// in SQL text depends on the sql_mode).
std::string LikeEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '!') out.push_back('!');
    out.push_back(c);
  }
  return out;
}

int Occurrences(absl::string_view text, absl::string_view part) {
  int n = 0;
  for (size_t at = text.find(part); at != absl::string_view::npos; at = text.find(part, at + 1)) {
    ++n;
  }
  return n;
}

class SqlCompiler {
 public:
  SqlCompiler(FilterSchema schema, const SqlFieldMap& fields) : schema_(schema), fields_(fields) {}

  absl::Status Compile(const FilterNode& node, SqlFilter* out) {
    switch (node.kind) {
      case FilterNode::Kind::kRestriction:
        return Restriction(node.restriction, out);
      case FilterNode::Kind::kNot: {
        absl::StrAppend(&out->sql, "NOT (");
        if (absl::Status s = Compile(node.children.front(), out); !s.ok()) return s;
        absl::StrAppend(&out->sql, ")");
        return absl::OkStatus();
      }
      case FilterNode::Kind::kAnd:
      case FilterNode::Kind::kOr: {
        const char* connective = node.kind == FilterNode::Kind::kAnd ? " AND " : " OR ";
        absl::StrAppend(&out->sql, "(");
        for (size_t i = 0; i < node.children.size(); ++i) {
          if (i > 0) absl::StrAppend(&out->sql, connective);
          if (absl::Status s = Compile(node.children[i], out); !s.ok()) return s;
        }
        absl::StrAppend(&out->sql, ")");
        return absl::OkStatus();
      }
    }
    return absl::InternalError("filter: unknown node");
  }

 private:
  absl::Status Restriction(const FilterRestriction& r, SqlFilter* out) {
    const FieldSpec& spec = SpecOf(schema_, r.field);
    auto it = fields_.find(spec.name);
    if (it == fields_.end() || it->second.expression.empty()) {
      return absl::InternalError(
          absl::StrCat("filter: no SQL expression given for field ", spec.name));
    }
    const SqlField& field = it->second;
    if (spec.repeated && Occurrences(field.any, "$cond") != 1) {
      return absl::InternalError(absl::StrCat("filter: repeated field ", spec.name,
                                              " needs an `any` template with $cond exactly once"));
    }
    SqlFilter cond;
    Condition(r, field.expression, &cond);
    if (spec.repeated) {
      absl::StrAppend(&out->sql, absl::StrReplaceAll(field.any, {{"$cond", cond.sql}}));
    } else {
      absl::StrAppend(&out->sql, cond.sql);
    }
    for (SqlParam& p : cond.params) out->params.push_back(std::move(p));
    return absl::OkStatus();
  }

  // The condition of `r` on the SQL expression `e`: never NULL (so NOT is two-valued, as in
  // memory).
  static void Condition(const FilterRestriction& r, const std::string& e, SqlFilter* out) {
    SqlParam p;
    switch (r.type) {
      case FilterValueType::kInt64:
      case FilterValueType::kEnum:
      case FilterValueType::kBool:
        p.type = SqlParam::Type::kInt64;
        p.int_value = r.int_value;
        out->sql = absl::StrCat("(", e, " ", SqlOp(r.op), " ?)");
        out->params.push_back(std::move(p));
        return;
      case FilterValueType::kUint64:
        p.type = SqlParam::Type::kUint64;
        p.uint_value = r.uint_value;
        out->sql = absl::StrCat("(", e, " ", SqlOp(r.op), " ?)");
        out->params.push_back(std::move(p));
        return;
      case FilterValueType::kDecimal:
        // A string parameter against a DECIMAL would compare as doubles: cast it.
        p.type = SqlParam::Type::kDecimal;
        p.string_value = r.string_value;
        out->sql = absl::StrCat("(", e, " ", SqlOp(r.op), " CAST(? AS DECIMAL(38,18)))");
        out->params.push_back(std::move(p));
        return;
      case FilterValueType::kTime:
        p.type = SqlParam::Type::kTime;
        p.time_value = r.time_value;
        out->sql = absl::StrCat("(", e, " IS NOT NULL AND ", e, " ", SqlOp(r.op),
                                " CAST(? AS DATETIME(6)))");
        out->params.push_back(std::move(p));
        return;
      case FilterValueType::kString:
        if (r.op == FilterOp::kHas) {
          // Bytes of the lower-cased texts: no collation folds accents or pads spaces, and the
          // LIKE wildcards of the value are escaped.
          out->sql = absl::StrCat("(CAST(LOWER(", e,
                                  ") AS BINARY) LIKE CAST(LOWER(?) AS BINARY) ESCAPE '!')");
          out->params.push_back(StringParam(absl::StrCat("%", LikeEscape(r.string_value), "%")));
          return;
        }
        // The collated comparison can use an index; the binary one makes it exact (the default
        // collation ignores case and trailing spaces).
        out->sql = absl::StrCat("(", e, " = ? AND CAST(", e, " AS BINARY) = CAST(? AS BINARY))");
        if (r.op == FilterOp::kNe) out->sql = absl::StrCat("(NOT ", out->sql, ")");
        out->params.push_back(StringParam(r.string_value));
        out->params.push_back(StringParam(r.string_value));
        return;
    }
  }

  FilterSchema schema_;
  const SqlFieldMap& fields_;
};

}  // namespace

absl::StatusOr<SqlFilter> ToSql(const Filter& filter, const SqlFieldMap& fields) {
  SqlFilter out;
  if (filter.empty()) {
    out.sql = "TRUE";
    return out;
  }
  SqlCompiler compiler(filter.schema(), fields);
  if (absl::Status s = compiler.Compile(filter.root(), &out); !s.ok()) return s;
  return out;
}

}  // namespace whalefeed::db
