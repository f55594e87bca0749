// Between Store values and MySQL rows: binding parameters, reading columns back (a stored value
// that does not parse is an error naming its column, never a silent default), the column lists and
// the whale_activity insert. Internal to db/ (and the store benchmark).
#ifndef WHALEFEED_DB_MYSQL_ROWS_H_
#define WHALEFEED_DB_MYSQL_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/store.h"

namespace sql {
class PreparedStatement;
class ResultSet;
}  // namespace sql

namespace whalefeed::db {

// Binds a time as DATETIME(6) in UTC; InfinitePast() binds NULL.
void SetTime(sql::PreparedStatement& ps, int index, absl::Time t);
// A DATETIME(6) column; NULL reads as InfinitePast(). INTERNAL naming the column when the stored
// text does not parse.
absl::StatusOr<absl::Time> GetTime(sql::ResultSet& rs, const char* column);
// A DECIMAL column in canonical form (see store.h). INTERNAL naming the column when it does not
// parse.
absl::StatusOr<std::string> GetDecimal(sql::ResultSet& rs, const char* column);

// An enum column, stored as its number (as in the whalefeed.v1 API); `last` is the enum's highest
// value. INTERNAL naming the column for a number outside it.
absl::StatusOr<int> GetEnumNumber(sql::ResultSet& rs, const char* column, int last);
template <typename Enum>
absl::StatusOr<Enum> GetEnum(sql::ResultSet& rs, const char* column, Enum last) {
  absl::StatusOr<int> number = GetEnumNumber(rs, column, static_cast<int>(last));
  if (!number.ok()) return number.status();
  return static_cast<Enum>(*number);
}

// IN lists are padded to a power of two by repeating their last id, so that a query has a handful
// of shapes and each connection prepares each shape once.
size_t InListSize(size_t n);
// "?,?,...": the placeholders of an IN list of n ids (padded).
std::string InList(size_t n);
// The ids to bind to InList(ids.size()). `ids` must not be empty.
std::vector<int64_t> PaddedInList(std::vector<int64_t> ids);

extern const char kMarketColumns[];
extern const char kWhaleColumns[];
extern const char kActivityColumns[];

// A row of the columns above. INTERNAL naming the column when a stored value is not one this code
// writes (an unparsable time or decimal, an enum number out of range).
absl::StatusOr<Market> MarketFromRow(sql::ResultSet& rs);
absl::StatusOr<Whale> WhaleFromRow(sql::ResultSet& rs);
absl::StatusOr<Activity> ActivityFromRow(sql::ResultSet& rs);

// The columns of a whale_stats row aliased `s` (each named s_<column>), and the row they read:
// zero figures of `wallet` and `window` when the row has none (a LEFT JOIN miss), else the stored
// window.
extern const char kWhaleStatsColumns[];
absl::StatusOr<WhaleStats> StatsFromRow(sql::ResultSet& rs, absl::string_view wallet,
                                        StatsWindow window);

// The INSERT of `rows` activity rows into `table` (whale_activity, or a table made LIKE it), with
// kActivityInsertParams parameters per row: the columns of Activity less sequence, ingested_time
// being the store's `now`. A row whose natural key is stored already changes nothing.
inline constexpr int kActivityInsertParams = 18;
std::string ActivityInsertSql(size_t rows, absl::string_view table = "whale_activity");
// Binds `activity` as the row whose parameters start after `offset`.
void BindActivity(sql::PreparedStatement& ps, int offset, const Activity& activity, absl::Time now);

class MySqlConnection;

// Locks the leader row until the end of the transaction and returns its epoch. A missing row is
// FAILED_PRECONDITION: locking a row that does not exist locks nothing under READ COMMITTED (so
// commits could interleave), and re-creating it would restart the epochs.
absl::StatusOr<int64_t> LockLeaderRow(MySqlConnection& c);
// Every leader-only write starts here, in its own transaction: a deposed leader is refused, and
// writers of activity serialise on the lock, so sequence order is commit order.
absl::Status LockLeaderRowAndCheck(MySqlConnection& c, const Fence& fence);

// The rows of data_versions (Store::GetDataVersions).
enum class DataDomain { kMarkets, kWhales };
// Raises `domain`'s version in the transaction on `c`: every write of the domain's data calls it,
// so the change and the new version commit together. Writers take the version row before any row
// of the data itself (after the leader row when they hold it), always in that order.
absl::Status BumpDataVersion(MySqlConnection& c, DataDomain domain);

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_MYSQL_ROWS_H_
