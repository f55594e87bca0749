// Versioned, forward-only schema migrations, applied at startup.
//
// ApplyMigrations takes a named lock (GET_LOCK('whalefeed.migrate')) so that replicas starting
// together apply each migration once; every statement is idempotent (IF NOT EXISTS, INSERT IGNORE),
// so a migration that was cut short by a crash is completed by the next start. Applied versions are
// recorded in schema_migrations.
#ifndef WHALEFEED_DB_MIGRATIONS_H_
#define WHALEFEED_DB_MIGRATIONS_H_

#include <string>
#include <vector>

namespace whalefeed::db {

struct Migration {
  int version;
  std::string name;
  std::vector<std::string> statements;
};

// Every migration, in version order. Never edit or renumber one that has shipped: add a new one.
const std::vector<Migration>& AllMigrations();

// The version the code expects (the last migration).
int LatestSchemaVersion();

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_MIGRATIONS_H_
