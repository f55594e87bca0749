// The filter language of every List and of WatchWhaleActivity (design §6.4): an AIP-160 subset,
// parsed once into a typed tree that is then evaluated in memory (the feed, the in-memory store)
// or compiled to parameterised SQL (the MySQL store).
//
// Grammar:
//   filter      := <empty> | expr
//   expr        := term { AND term } | term { OR term }   (one connective per group)
//   term        := NOT term | "-" term | "(" expr ")" | restriction
//   restriction := field op value
//   op          := "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
// AND, OR and NOT are keywords in any letter case. Mixing AND and OR in one group without
// parentheses is refused ("add parentheses"): AIP-160 binds OR tighter than AND, most people
// expect the opposite, and a refusal beats a silent surprise.
//
// Values, checked against the field's type:
// - string: double-quoted, with \" and \\ escapes ("0xab...", "Crypto");
// - integer: bare decimal digits, optionally negative (market_id = 16565); out of range refused;
// - decimal: bare, exact (amount_usd >= 10000.50); never a double: 10000 = 10000.00; at most 20
//   integer and 18 fractional digits, as stored;
// - enum: bare or quoted, any case, with or without the API prefix (side = BUY, side = "sell",
//   side = SIDE_BUY);
// - time: quoted RFC 3339 with an offset ("2026-01-01T00:00:00Z"), at most microsecond precision
//   (what the database stores);
// - bool: true / false (any case).
//
// Operators per field type: integers, decimals and times take = != < <= > >=; strings, enums and
// booleans take = and != (and ":" where the field says so). String "=" is exact (case-sensitive,
// trailing spaces significant); ":" is a case-insensitive substring match (letters folded as
// MySQL's LOWER() folds them in ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; accents are
// not removed: "é" does not match "e"). A restriction on a time
// that is unset (InfinitePast, NULL in SQL) is false whatever its operator (so NOT of it is true).
//
// Field sets (schemas):
// - Activity (ListWhaleActivity, WatchWhaleActivity): sequence (uint64), wallet (string, = and !=;
//   normalised like NormalizeWallet, a malformed address is refused), market_id, root_market_id
//   (int64), side (Side: BUY SELL MERGE SPLIT), outcome (Outcome: YES NO), amount_usd (decimal),
//   traded_time, ingested_time (time), origin (Origin: LIVE BACKFILL).
// - Market (ListMarkets): market_id (int64), status (MarketStatus: CREATED ACTIVATED RESOLVING
//   RESOLVED FAILED DELETED), market_type (MarketType: BINARY CATEGORICAL), label (string,
//   repeated: `label = "x"` / `label:"x"` hold when any of the market's labels matches; != is
//   refused, write NOT label = "x"), title (string, = != :), volume, volume_24h, volume_7d,
//   whale_volume_24h (decimal), created_time, cutoff_time (time).
// - Whale (ListWhales): tracked (bool), label (string, = != :), volume_usd (decimal), trade_count
//   (int64).
//
// Errors: anything the grammar or the schema refuses is INVALID_ARGUMENT with a message that starts
// "filter: " and names the offending field or token and its position (1-based byte offset), e.g.
//   filter: unknown field "foo" at position 1; activity fields are sequence, wallet, ...
//   filter: AND and OR mixed without parentheses at position 30: add parentheses ...
// Bounds against abuse: at most kMaxFilterBytes bytes, kMaxFilterRestrictions restrictions and
// kMaxFilterDepth levels of parentheses / NOT. An empty or whitespace-only filter matches
// everything.
//
// A parsed Filter is immutable and thread-safe to share; evaluating it never allocates.
//
// Use:
//   ASSIGN_OR_RETURN(db::Filter filter, db::ParseActivityFilter(request.filter()));
//   // in memory (the feed):
//   if (db::MatchesActivity(filter, activity)) ...
//   // in SQL (db/mysql_filter.h binds the parameters):
//   ASSIGN_OR_RETURN(db::SqlFilter where, db::ToSql(filter, fields));  // fields: see SqlFieldMap
//   sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
//       "SELECT ... FROM whale_activity wa WHERE ", where.sql, " AND wa.sequence <= ? ..."));
//   const int next = BindSqlParams(ps, 1, where.params);
//   ps.setUInt64(next, high_water);
//   // page tokens bind to filter.Canonical() (server/page_token.h).
#ifndef WHALEFEED_DB_FILTER_H_
#define WHALEFEED_DB_FILTER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/store.h"

namespace whalefeed::db {

inline constexpr size_t kMaxFilterBytes = 2048;
inline constexpr int kMaxFilterRestrictions = 64;
inline constexpr int kMaxFilterDepth = 16;

// Which field set a filter was parsed against.
enum class FilterSchema { kActivity, kMarket, kWhale };

// Every field of every schema. Fields of the same name and meaning share an id (market_id).
enum class FilterField : uint8_t {
  // Activity
  kSequence,
  kWallet,
  kMarketId,  // activity and market
  kRootMarketId,
  kSide,
  kOutcome,
  kAmountUsd,
  kTradedTime,
  kIngestedTime,
  kOrigin,
  // Market
  kStatus,
  kMarketType,
  kMarketLabel,
  kTitle,
  kVolume,
  kVolume24h,
  kVolume7d,
  kWhaleVolume24h,
  kCreatedTime,
  kCutoffTime,
  // Whale
  kTracked,
  kWhaleLabel,
  kVolumeUsd,
  kTradeCount,
};

enum class FilterOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kHas };

// The type of a field's values.
enum class FilterValueType : uint8_t { kInt64, kUint64, kDecimal, kString, kEnum, kTime, kBool };

// An exact decimal as an integer count of 1e-18 (the stored scale, DECIMAL(38,18)).
using ScaledDecimal = absl::int128;
// Parses a plain decimal ([+-]digits[.digits], at most 20 integer and 18 fractional significant
// digits) without allocating; false when `text` is not one.
bool ParseScaledDecimal(absl::string_view text, ScaledDecimal* out);

// One parsed `field op value`. Only the member of the field's value type is meaningful.
struct FilterRestriction {
  FilterField field = FilterField::kSequence;
  FilterOp op = FilterOp::kEq;
  FilterValueType type = FilterValueType::kInt64;
  int64_t int_value = 0;        // kInt64, kEnum (the db:: enum's number), kBool (0 / 1)
  uint64_t uint_value = 0;      // kUint64
  ScaledDecimal decimal_value;  // kDecimal
  absl::Time time_value;        // kTime
  std::string string_value;     // kString (wallets normalised); kDecimal: canonical text
  std::string folded_value;     // kString with op kHas: string_value case-folded
};

// A node of the parsed tree: a restriction, or NOT / AND / OR of its children.
struct FilterNode {
  enum class Kind : uint8_t { kRestriction, kNot, kAnd, kOr };
  Kind kind = Kind::kRestriction;
  FilterRestriction restriction;  // kRestriction
  std::vector<FilterNode> children;
};

// A parsed filter. Default-constructed (or parsed from "") it matches everything.
class Filter {
 public:
  Filter() = default;
  explicit Filter(FilterSchema schema) : schema_(schema) {}

  FilterSchema schema() const { return schema_; }
  // True when the filter is empty: it matches everything.
  bool empty() const { return !root_.has_value(); }
  // The tree; only when !empty().
  const FilterNode& root() const { return *root_; }

  // A deterministic normalised text of the filter: the same text for filters that differ only in
  // whitespace, keyword case, enum spelling, decimal form ("10.50" / "10.5"), time zone offsets,
  // wallet case, redundant parentheses, "-" versus NOT. Parsing it gives the same filter. "" for an
  // empty filter. Page tokens bind to it.
  std::string Canonical() const;

 private:
  friend class FilterParser;
  FilterSchema schema_ = FilterSchema::kActivity;
  std::optional<FilterNode> root_;
};

absl::StatusOr<Filter> ParseActivityFilter(absl::string_view text);
absl::StatusOr<Filter> ParseMarketFilter(absl::string_view text);
absl::StatusOr<Filter> ParseWhaleFilter(absl::string_view text);
absl::StatusOr<Filter> ParseFilter(FilterSchema schema, absl::string_view text);

// In-memory predicates. Each expects a filter of its schema (another schema's filter matches
// nothing). A stored value that is not what the store writes (an unparsable decimal) matches no
// restriction on it. None allocates.
bool MatchesActivity(const Filter& filter, const Activity& activity);
// `whale_volume_24h`: the market's whale volume over 24h (a decimal string; "" counts as 0).
bool MatchesMarket(const Filter& filter, const Market& market, absl::string_view whale_volume_24h);

// What a whale filter reads besides the Whale: its figures in the listed window.
struct WhaleFilterStats {
  absl::string_view volume_usd = "0";  // decimal; "" counts as 0
  int64_t trade_count = 0;
};
bool MatchesWhale(const Filter& filter, const Whale& whale, const WhaleFilterStats& stats);

// ---------------------------------------------------------------------------------------------
// SQL compilation.

// One `?` parameter of a compiled filter, in order. Bind with BindSqlParams (db/mysql_filter.h).
struct SqlParam {
  enum class Type : uint8_t { kInt64, kUint64, kDecimal, kString, kTime };
  Type type = Type::kInt64;
  int64_t int_value = 0;     // kInt64 (also enums and booleans, as their numbers)
  uint64_t uint_value = 0;   // kUint64
  std::string string_value;  // kString; kDecimal as canonical text (bound as a string)
  absl::Time time_value;     // kTime (bound as DATETIME(6) text in UTC, like SetTime)

  friend bool operator==(const SqlParam& a, const SqlParam& b);
};

// How a field reads in the caller's SQL.
struct SqlField {
  // The SQL expression of the field's value, e.g. "wa.amount_usd". It must never be NULL, except
  // for time fields (a NULL time matches no restriction, as in memory).
  std::string expression;
  // Repeated fields only (market `label`): a boolean SQL expression containing "$cond" exactly
  // once, true when some element satisfies the condition, which is written over `expression`
  // (the element), e.g.
  //   expression = "ml.label",
  //   any = "EXISTS (SELECT 1 FROM market_labels ml WHERE ml.market_id = m.market_id AND $cond)".
  std::string any;
};
// Field name (as in the filter text) -> its SQL.
using SqlFieldMap = absl::flat_hash_map<std::string, SqlField>;

// A compiled filter: a boolean SQL expression with `?` placeholders and their values in order.
// "TRUE" with no parameters for an empty filter. Values are never pasted into the SQL.
struct SqlFilter {
  std::string sql;
  std::vector<SqlParam> params;
};

// Compiles `filter` with the caller's field expressions. The SQL agrees with the in-memory
// predicate row for row (strings compared byte-exactly for =, substring matches on LOWER() for
// ":", decimals compared as DECIMAL(38,18), times as DATETIME(6)). INTERNAL when a field the
// filter uses is missing from `fields` (a programming error of the caller).
absl::StatusOr<SqlFilter> ToSql(const Filter& filter, const SqlFieldMap& fields);

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_FILTER_H_
