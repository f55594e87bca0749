#include "db/mysql_filter.h"

#include <cppconn/prepared_statement.h>

#include "db/mysql_rows.h"

namespace whalefeed::db {

int BindSqlParams(sql::PreparedStatement& ps, int first_index,
                  const std::vector<SqlParam>& params) {
  int index = first_index;
  for (const SqlParam& p : params) {
    switch (p.type) {
      case SqlParam::Type::kInt64:
        ps.setInt64(index, p.int_value);
        break;
      case SqlParam::Type::kUint64:
        ps.setUInt64(index, p.uint_value);
        break;
      case SqlParam::Type::kDecimal:
      case SqlParam::Type::kString:
        ps.setString(index, p.string_value);
        break;
      case SqlParam::Type::kTime:
        SetTime(ps, index, p.time_value);
        break;
    }
    ++index;
  }
  return index;
}

}  // namespace whalefeed::db
