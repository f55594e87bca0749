// Versioned, forward-only schema migrations, applied at startup.
//
// ApplyMigrations takes a named lock (GET_LOCK('whalefeed.migrate')) so that replicas starting
// together apply each migration once, and records each applied version in schema_migrations. A
// migration cut short by a crash is completed by the next start, so every step is idempotent on
// MySQL 8 and MariaDB alike: plain SQL steps use what both accept (CREATE TABLE IF NOT EXISTS,
// INSERT IGNORE); changes that have no portable IF NOT EXISTS form (ADD COLUMN, ADD INDEX) are
// AddColumn / AddIndex steps, applied only when information_schema says they are missing.
#ifndef WHALEFEED_DB_MIGRATIONS_H_
#define WHALEFEED_DB_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace whalefeed::db {

class MySqlConnection;

struct MigrationStep {
  std::string sql;     // the statement
  std::string table;   // with `column` or `index`: the step is skipped when that already exists
  std::string column;  // in `table` (information_schema.COLUMNS)
  std::string index;   // of `table` (information_schema.STATISTICS)
};

// A statement that is idempotent by itself.
MigrationStep Sql(std::string sql);
// ALTER TABLE `table` ADD COLUMN `column` `definition`, unless the column exists.
MigrationStep AddColumn(std::string table, std::string column, std::string definition);
// ALTER TABLE `table` ADD [UNIQUE] INDEX `index` (`columns`), unless the index exists.
MigrationStep AddIndex(std::string table, std::string index, std::string columns,
                       bool unique = false);

struct Migration {
  int version;
  std::string name;
  std::vector<MigrationStep> steps;
};

// Every migration, in version order. Never edit or renumber one that has shipped: add a new one.
const std::vector<Migration>& AllMigrations();

// The version the code expects (the last migration).
int LatestSchemaVersion();

// Applies, in order, every migration of `migrations` newer than the database's schema version, on
// `connection` (its read timeout must outlast `lock_wait`), under the migration lock.
// DEADLINE_EXCEEDED when the lock is not had within `lock_wait`; FAILED_PRECONDITION when the
// database is newer than `migrations` (an older whaled must not run on it).
absl::Status ApplyMigrations(MySqlConnection& connection, absl::Span<const Migration> migrations,
                             absl::Duration lock_wait);

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_MIGRATIONS_H_
