// MySqlStore: the reads only the whale feed needs (WatchWhaleActivity's start_time and its
// heartbeats' data freshness). Kept apart from mysql_store.cc so the feed's SQL is in one place.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <memory>

#include "common/status_macros.h"
#include "db/mysql_rows.h"
#include "db/mysql_store.h"

namespace whalefeed::db {

absl::StatusOr<uint64_t> MySqlStore::GetFeedPositionAt(absl::Time ingested_from) {
  uint64_t position = 0;
  RETURN_IF_ERROR(pool_.Run("finding the feed position of a time", [&](MySqlConnection& c) {
    // One statement, so one consistent snapshot: the head it reads is the head of the same state in
    // which no row was ingested at or after the time.
    sql::PreparedStatement& ps = c.Prepare(
        "SELECT (SELECT MIN(sequence) FROM whale_activity WHERE ingested_time >= ?), "
        "(SELECT COALESCE(MAX(sequence), 0) FROM whale_activity)");
    SetTime(ps, 1, ingested_from);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (!rs->next()) return absl::InternalError("finding the feed position of a time: no row");
    position = rs->isNull(1) ? rs->getUInt64(2) : rs->getUInt64(1) - 1;
    return absl::OkStatus();
  }));
  return position;
}

absl::StatusOr<FeedFreshness> MySqlStore::GetFeedFreshness() {
  FeedFreshness freshness;
  RETURN_IF_ERROR(
      pool_.Run("reading the feed's freshness", [&](MySqlConnection& c) -> absl::Status {
        {
          std::unique_ptr<sql::ResultSet> rs(
              c.Prepare("SELECT MAX(last_polled_time) AS last_polled_time FROM whales")
                  .executeQuery());
          if (rs->next()) {
            ASSIGN_OR_RETURN(freshness.last_whale_poll_time, GetTime(*rs, "last_polled_time"));
          }
        }
        // Walks the primary key down from the newest row to the first LIVE one (nearly always the
        // newest): no scan of the table.
        sql::PreparedStatement& ps = c.Prepare(
            "SELECT ingested_time, traded_time FROM whale_activity WHERE origin = ? "
            "ORDER BY sequence DESC LIMIT 1");
        ps.setInt(1, static_cast<int>(Origin::kLive));
        std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
        if (rs->next()) {
          ASSIGN_OR_RETURN(const absl::Time ingested, GetTime(*rs, "ingested_time"));
          ASSIGN_OR_RETURN(const absl::Time traded, GetTime(*rs, "traded_time"));
          freshness.detection_lag = ingested - traded;
        }
        return absl::OkStatus();
      }));
  return freshness;
}

}  // namespace whalefeed::db
