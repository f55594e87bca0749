// Binding a compiled filter's parameters (db/filter.h) to a Connector/C++ prepared statement.
// Internal to db/ and its tests: the MySQL store's list queries use it.
#ifndef WHALEFEED_DB_MYSQL_FILTER_H_
#define WHALEFEED_DB_MYSQL_FILTER_H_

#include <vector>

#include "db/filter.h"

namespace sql {
class PreparedStatement;
}  // namespace sql

namespace whalefeed::db {

// Binds `params` (SqlFilter::params, in order) to the placeholders first_index, first_index + 1,
// ... of `ps` (Connector/C++ counts placeholders from 1). Integers bind as integers, decimals and
// strings as strings (the SQL casts decimals to DECIMAL(38,18)), times as DATETIME(6) text in UTC,
// as SetTime binds them. Returns the index after the last one bound, for the parameters that
// follow. Throws what the connector throws, like every other binding in db/.
int BindSqlParams(sql::PreparedStatement& ps, int first_index, const std::vector<SqlParam>& params);

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_MYSQL_FILTER_H_
