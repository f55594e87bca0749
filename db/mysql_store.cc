#include "db/mysql_store.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "db/migrations.h"
#include "db/mysql_rows.h"

namespace whalefeed::db {
namespace {

constexpr size_t kMarketBatch = 200;
constexpr size_t kIngestBatch = 256;  // rows per INSERT (kActivityInsertParams parameters each)

absl::StatusOr<std::vector<Market>> LoadMarkets(MySqlConnection& c, const std::string& where,
                                                const std::vector<int64_t>& args) {
  sql::PreparedStatement& ps =
      c.Prepare(absl::StrCat("SELECT ", kMarketColumns, " FROM markets WHERE ", where));
  for (size_t i = 0; i < args.size(); ++i) ps.setInt64(i + 1, args[i]);
  std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
  std::vector<Market> markets;
  absl::flat_hash_map<int64_t, size_t> index;
  while (rs->next()) {
    ASSIGN_OR_RETURN(Market m, MarketFromRow(*rs));
    index[m.market_id] = markets.size();
    markets.push_back(std::move(m));
  }
  if (markets.empty()) return markets;
  std::vector<int64_t> ids;
  for (const Market& m : markets) ids.push_back(m.market_id);
  sql::PreparedStatement& labels =
      c.Prepare(absl::StrCat("SELECT market_id, label FROM market_labels WHERE market_id IN (",
                             InList(ids.size()), ") ORDER BY market_id, position"));
  ids = PaddedInList(std::move(ids));
  for (size_t i = 0; i < ids.size(); ++i) labels.setInt64(i + 1, ids[i]);
  std::unique_ptr<sql::ResultSet> lrs(labels.executeQuery());
  while (lrs->next()) {
    markets[index[lrs->getInt64("market_id")]].labels.push_back(lrs->getString("label"));
  }
  return markets;
}

absl::StatusOr<Whale> LoadWhale(MySqlConnection& c, const std::string& wallet, bool for_update) {
  sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
      "SELECT ", kWhaleColumns, " FROM whales WHERE wallet = ?", for_update ? " FOR UPDATE" : ""));
  ps.setString(1, wallet);
  std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
  if (!rs->next()) return absl::NotFoundError(absl::StrCat("wallet ", wallet, " is not known"));
  return WhaleFromRow(*rs);
}

// Times as DATETIME(6) keeps them: to the microsecond, rounded down.
absl::Time ToStoredPrecision(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return t;
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

}  // namespace

MySqlStore::MySqlStore(MySqlStoreOptions options)
    : options_(std::move(options)), pool_(options_.dsn, options_.pool) {}

absl::StatusOr<std::unique_ptr<MySqlStore>> MySqlStore::Create(MySqlStoreOptions options) {
  EnsureMySqlThreadInit();  // makes the connector's driver now, before other threads use it
  if (options.pool.max_connections < 1) {
    return absl::InvalidArgumentError("the pool needs at least 1 connection");
  }
  return std::unique_ptr<MySqlStore>(new MySqlStore(std::move(options)));
}

absl::StatusOr<std::unique_ptr<MySqlConnection>> MySqlStore::OpenDedicatedConnection(
    const MySqlSessionOptions& session) {
  return pool_.OpenDedicated(session);
}

absl::Status MySqlStore::PrepareDatabase() {
  // A connection of its own: waiting for another replica's migrations may take longer than the
  // pool's read timeout.
  MySqlSessionOptions session = options_.pool.session;
  session.read_timeout = options_.migration_lock_wait + absl::Seconds(30);
  {
    ASSIGN_OR_RETURN(auto server, pool_.OpenDedicated(session, /*with_database=*/false));
    try {
      // The name was checked by the DSN parser (letters, digits, _ and $ only), so quoting is
      // enough here.
      server->Execute(absl::StrCat("CREATE DATABASE IF NOT EXISTS `", options_.dsn.database,
                                   "` CHARACTER SET utf8mb4"));
    } catch (const sql::SQLException& e) {
      // Without the privilege the database must exist already; connecting to it below says so if
      // not.
      if (e.getErrorCode() != 1044 && e.getErrorCode() != 1227) {
        return StatusFromSqlException(e, "creating the database");
      }
    }
  }
  ASSIGN_OR_RETURN(auto c, pool_.OpenDedicated(session));
  return ApplyMigrations(*c, AllMigrations(), options_.migration_lock_wait);
}

absl::Status MySqlStore::Ping() {
  return pool_.Run("ping", [](MySqlConnection& c) {
    std::unique_ptr<sql::ResultSet> rs(c.Prepare("SELECT 1").executeQuery());
    return absl::OkStatus();
  });
}

absl::StatusOr<Fence> MySqlStore::AdvanceLeaderEpoch(absl::string_view replica_id, absl::Time now) {
  RETURN_IF_ERROR(CheckText(replica_id, kMaxReplicaIdChars, "replica_id"));
  Fence fence;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("advancing the leader epoch", [&](MySqlConnection& c) -> absl::Status {
        ASSIGN_OR_RETURN(const int64_t epoch, LockLeaderRow(c));
        fence.epoch = epoch + 1;
        sql::PreparedStatement& update = c.Prepare(
            "UPDATE leader SET epoch = ?, replica_id = ?, acquired_time = ? WHERE id = 1");
        update.setInt64(1, fence.epoch);
        update.setString(2, std::string(replica_id));
        SetTime(update, 3, now);
        update.executeUpdate();
        return absl::OkStatus();
      }));
  return fence;
}

absl::StatusOr<LeaderState> MySqlStore::GetLeader() {
  LeaderState leader;
  RETURN_IF_ERROR(pool_.Run("reading the leader row", [&](MySqlConnection& c) -> absl::Status {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT epoch, replica_id, acquired_time FROM leader WHERE id = 1")
            .executeQuery());
    if (!rs->next()) return absl::FailedPreconditionError("the leader row is missing");
    leader.epoch = rs->getInt64("epoch");
    leader.replica_id = rs->getString("replica_id");
    ASSIGN_OR_RETURN(leader.acquired_time, GetTime(*rs, "acquired_time"));
    return absl::OkStatus();
  }));
  return leader;
}

absl::StatusOr<FeedMeta> MySqlStore::GetFeedMeta() {
  FeedMeta meta;
  RETURN_IF_ERROR(pool_.Run("reading feed_meta", [&](MySqlConnection& c) -> absl::Status {
    sql::PreparedStatement& ps =
        c.Prepare("SELECT feed_id, retention_floor, token_key FROM feed_meta WHERE id = 1");
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (!rs->next())
      return absl::FailedPreconditionError("feed_meta is empty: migrations not applied");
    meta.feed_id = rs->getString("feed_id");
    meta.retention_floor = rs->getUInt64("retention_floor");
    meta.token_key = rs->getString("token_key");
    return absl::OkStatus();
  }));
  return meta;
}

absl::StatusOr<int> MySqlStore::GetSchemaVersion() {
  int version = 0;
  RETURN_IF_ERROR(pool_.Run("reading schema_migrations", [&](MySqlConnection& c) {
    sql::PreparedStatement& ps =
        c.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (rs->next()) version = rs->getInt(1);
    return absl::OkStatus();
  }));
  return version;
}

absl::StatusOr<UpsertMarketsResult> MySqlStore::UpsertMarkets(const Fence& fence,
                                                              absl::Span<const Market> markets,
                                                              absl::Time now) {
  std::vector<Market> checked;
  checked.reserve(markets.size());
  for (const Market& m : markets) {
    ASSIGN_OR_RETURN(Market normalized, NormalizeMarket(m));
    checked.push_back(std::move(normalized));
  }
  UpsertMarketsResult total;
  for (size_t begin = 0; begin < checked.size(); begin += kMarketBatch) {
    const size_t end = std::min(checked.size(), begin + kMarketBatch);
    UpsertMarketsResult batch;
    RETURN_IF_ERROR(
        pool_.RunInTransaction("upserting markets", [&](MySqlConnection& c) -> absl::Status {
          batch = {};
          RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
          RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kMarkets));
          std::vector<int64_t> ids;
          for (size_t i = begin; i < end; ++i) ids.push_back(checked[i].market_id);
          ASSIGN_OR_RETURN(
              std::vector<Market> existing,
              LoadMarkets(c, absl::StrCat("market_id IN (", InList(ids.size()), ") FOR UPDATE"),
                          PaddedInList(ids)));
          absl::flat_hash_map<int64_t, const Market*> by_id;
          for (const Market& m : existing) by_id[m.market_id] = &m;
          std::vector<int64_t> unchanged;
          for (size_t i = begin; i < end; ++i) {
            const Market& m = checked[i];
            auto it = by_id.find(m.market_id);
            if (it != by_id.end() && it->second->SameContent(m)) {
              unchanged.push_back(m.market_id);
              continue;
            }
            (it == by_id.end() ? batch.inserted : batch.updated)++;
            sql::PreparedStatement& ps = c.Prepare(absl::StrCat(
                "INSERT INTO markets (", kMarketColumns,
                ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE "
                "parent_market_id = VALUES(parent_market_id), title = VALUES(title), "
                "status = VALUES(status), market_type = VALUES(market_type), "
                "yes_label = VALUES(yes_label), no_label = VALUES(no_label), "
                "yes_token_id = VALUES(yes_token_id), no_token_id = VALUES(no_token_id), "
                "condition_id = VALUES(condition_id), result_token_id = VALUES(result_token_id), "
                "volume = VALUES(volume), volume_24h = VALUES(volume_24h), volume_7d = "
                "VALUES(volume_7d), "
                "slug = VALUES(slug), rules = VALUES(rules), created_time = VALUES(created_time), "
                "cutoff_time = VALUES(cutoff_time), resolved_time = VALUES(resolved_time), "
                "synced_at = VALUES(synced_at), updated_at = VALUES(updated_at)"));
            ps.setInt64(1, m.market_id);
            ps.setInt64(2, m.parent_market_id);
            ps.setString(3, m.title);
            ps.setInt(4, static_cast<int>(m.status));
            ps.setInt(5, static_cast<int>(m.market_type));
            ps.setString(6, m.yes_label);
            ps.setString(7, m.no_label);
            ps.setString(8, m.yes_token_id);
            ps.setString(9, m.no_token_id);
            ps.setString(10, m.condition_id);
            ps.setString(11, m.result_token_id);
            ps.setString(12, m.volume);
            ps.setString(13, m.volume_24h);
            ps.setString(14, m.volume_7d);
            ps.setString(15, m.slug);
            ps.setString(16, m.rules);
            SetTime(ps, 17, m.created_time);
            SetTime(ps, 18, m.cutoff_time);
            SetTime(ps, 19, m.resolved_time);
            SetTime(ps, 20, now);
            SetTime(ps, 21, now);
            ps.executeUpdate();
            sql::PreparedStatement& clear =
                c.Prepare("DELETE FROM market_labels WHERE market_id = ?");
            clear.setInt64(1, m.market_id);
            clear.executeUpdate();
            for (size_t p = 0; p < m.labels.size(); ++p) {
              sql::PreparedStatement& label = c.Prepare(
                  "INSERT INTO market_labels (market_id, position, label) VALUES (?, ?, ?)");
              label.setInt64(1, m.market_id);
              label.setInt(2, static_cast<int>(p));
              label.setString(3, m.labels[p]);
              label.executeUpdate();
            }
          }
          if (!unchanged.empty()) {
            sql::PreparedStatement& touch =
                c.Prepare(absl::StrCat("UPDATE markets SET synced_at = ? WHERE market_id IN (",
                                       InList(unchanged.size()), ")"));
            SetTime(touch, 1, now);
            const std::vector<int64_t> padded = PaddedInList(unchanged);
            for (size_t i = 0; i < padded.size(); ++i) touch.setInt64(i + 2, padded[i]);
            touch.executeUpdate();
          }
          batch.unchanged = static_cast<int64_t>(unchanged.size());
          return absl::OkStatus();
        }));
    total.inserted += batch.inserted;
    total.updated += batch.updated;
    total.unchanged += batch.unchanged;
  }
  return total;
}

absl::StatusOr<Market> MySqlStore::GetMarket(int64_t market_id) {
  std::vector<Market> found;
  RETURN_IF_ERROR(pool_.Run("reading a market", [&](MySqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(found, LoadMarkets(c, "market_id = ?", {market_id}));
    return absl::OkStatus();
  }));
  if (found.empty())
    return absl::NotFoundError(absl::StrCat("market ", market_id, " is not known"));
  return std::move(found.front());
}

absl::StatusOr<std::vector<Market>> MySqlStore::GetChildMarkets(int64_t parent_market_id) {
  std::vector<Market> found;
  RETURN_IF_ERROR(pool_.Run("reading child markets", [&](MySqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(found,
                     LoadMarkets(c, "parent_market_id = ? ORDER BY market_id", {parent_market_id}));
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<Whale> MySqlStore::TrackWhale(absl::string_view wallet, absl::string_view label,
                                             WhaleSource source, absl::Time now) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  RETURN_IF_ERROR(CheckText(label, kMaxLabelChars, "label"));
  Whale result;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("tracking a whale", [&](MySqlConnection& c) -> absl::Status {
        RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kWhales));
        absl::StatusOr<Whale> existing = LoadWhale(c, normalized, /*for_update=*/true);
        if (existing.ok()) {
          sql::PreparedStatement& ps = c.Prepare(
              "UPDATE whales SET label = ?, source = ?, tracked = TRUE, tracked_since = ? WHERE "
              "wallet = ?");
          ps.setString(1, label.empty() ? existing->label : std::string(label));
          ps.setInt(2, static_cast<int>(source));
          SetTime(ps, 3, existing->tracked ? existing->tracked_since : now);
          ps.setString(4, normalized);
          ps.executeUpdate();
        } else if (absl::IsNotFound(existing.status())) {
          sql::PreparedStatement& ps = c.Prepare(
              "INSERT INTO whales (wallet, label, source, tracked, tracked_since) VALUES (?, ?, ?, "
              "TRUE, ?)");
          ps.setString(1, normalized);
          ps.setString(2, std::string(label));
          ps.setInt(3, static_cast<int>(source));
          SetTime(ps, 4, now);
          ps.executeUpdate();
        } else {
          return existing.status();
        }
        ASSIGN_OR_RETURN(result, LoadWhale(c, normalized, /*for_update=*/false));
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Whale> MySqlStore::UntrackWhale(absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  Whale result;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("untracking a whale", [&](MySqlConnection& c) -> absl::Status {
        RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kWhales));
        RETURN_IF_ERROR(LoadWhale(c, normalized, /*for_update=*/true).status());
        sql::PreparedStatement& ps =
            c.Prepare("UPDATE whales SET tracked = FALSE WHERE wallet = ?");
        ps.setString(1, normalized);
        ps.executeUpdate();
        ASSIGN_OR_RETURN(result, LoadWhale(c, normalized, /*for_update=*/false));
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Whale> MySqlStore::GetWhale(absl::string_view wallet) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  Whale result;
  RETURN_IF_ERROR(pool_.Run("reading a whale", [&](MySqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(result, LoadWhale(c, normalized, /*for_update=*/false));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<std::vector<Whale>> MySqlStore::ListWhales(bool tracked_only) {
  std::vector<Whale> whales;
  RETURN_IF_ERROR(pool_.Run("listing whales", [&](MySqlConnection& c) -> absl::Status {
    sql::PreparedStatement& ps =
        c.Prepare(absl::StrCat("SELECT ", kWhaleColumns, " FROM whales",
                               tracked_only ? " WHERE tracked" : "", " ORDER BY wallet"));
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      ASSIGN_OR_RETURN(Whale w, WhaleFromRow(*rs));
      whales.push_back(std::move(w));
    }
    return absl::OkStatus();
  }));
  return whales;
}

absl::StatusOr<IngestResult> MySqlStore::IngestActivities(const Fence& fence,
                                                          absl::string_view wallet,
                                                          absl::Span<const Activity> trades,
                                                          const PollState& poll, absl::Time now) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeWallet(wallet));
  std::vector<Activity> checked;
  checked.reserve(trades.size());
  for (const Activity& in : trades) {
    ASSIGN_OR_RETURN(Activity a, NormalizeActivity(in, normalized));
    checked.push_back(std::move(a));
  }
  IngestResult result;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("ingesting activity", [&](MySqlConnection& c) -> absl::Status {
        result = {};
        // Serialises activity commits on the leader row, so that sequence order is commit order and
        // the rows after `before` below are exactly this transaction's.
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        RETURN_IF_ERROR(BumpDataVersion(c, DataDomain::kWhales));
        ASSIGN_OR_RETURN(Whale whale, LoadWhale(c, normalized, /*for_update=*/true));
        uint64_t before = 0;
        {
          std::unique_ptr<sql::ResultSet> max(
              c.Prepare("SELECT COALESCE(MAX(sequence), 0) FROM whale_activity").executeQuery());
          if (max->next()) before = max->getUInt64(1);
        }
        // Multi-row inserts, padded to a power of two by repeating the last row (a duplicate of a
        // row of the same statement changes nothing), so a few statement shapes serve every page.
        for (size_t begin = 0; begin < checked.size(); begin += kIngestBatch) {
          const size_t count = std::min(kIngestBatch, checked.size() - begin);
          const size_t rows = InListSize(count);
          sql::PreparedStatement& insert = c.Prepare(ActivityInsertSql(rows));
          for (size_t r = 0; r < rows; ++r) {
            BindActivity(insert, static_cast<int>(r * kActivityInsertParams),
                         checked[begin + std::min(r, count - 1)], now);
          }
          insert.executeUpdate();
        }
        sql::PreparedStatement& inserted = c.Prepare(
            "SELECT sequence, tx_hash, traded_time FROM whale_activity WHERE sequence > ? "
            "ORDER BY sequence");
        inserted.setUInt64(1, before);
        std::unique_ptr<sql::ResultSet> rs(inserted.executeQuery());
        // The checkpoint is the newest stored trade: latest traded time, then highest sequence.
        while (rs->next()) {
          result.inserted_sequences.push_back(rs->getUInt64("sequence"));
          ASSIGN_OR_RETURN(const absl::Time traded, GetTime(*rs, "traded_time"));
          if (traded >= whale.checkpoint_traded_time) {
            whale.checkpoint_traded_time = traded;
            whale.checkpoint_tx_hash = rs->getString("tx_hash");
          }
        }
        result.duplicates = static_cast<int64_t>(checked.size() - result.inserted_sequences.size());
        sql::PreparedStatement& update = c.Prepare(
            "UPDATE whales SET last_polled_time = ?, next_poll_time = ?, trades_seen = ?, "
            "checkpoint_tx_hash = ?, checkpoint_traded_time = ? WHERE wallet = ?");
        SetTime(update, 1, poll.polled_time);
        SetTime(update, 2, poll.next_poll_time);
        update.setInt64(3, poll.trades_seen);
        update.setString(4, whale.checkpoint_tx_hash);
        SetTime(update, 5, whale.checkpoint_traded_time);
        update.setString(6, normalized);
        update.executeUpdate();
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<std::vector<Activity>> MySqlStore::ReadActivitiesAfter(uint64_t after_sequence,
                                                                      int limit) {
  if (limit <= 0) return absl::InvalidArgumentError("limit must be positive");
  std::vector<Activity> activities;
  RETURN_IF_ERROR(pool_.Run("reading activity", [&](MySqlConnection& c) -> absl::Status {
    sql::PreparedStatement& ps = c.Prepare(
        absl::StrCat("SELECT ", kActivityColumns,
                     " FROM whale_activity WHERE sequence > ? ORDER BY sequence LIMIT ?"));
    ps.setUInt64(1, after_sequence);
    ps.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      ASSIGN_OR_RETURN(Activity a, ActivityFromRow(*rs));
      activities.push_back(std::move(a));
    }
    return absl::OkStatus();
  }));
  return activities;
}

absl::StatusOr<uint64_t> MySqlStore::GetLatestSequence() {
  uint64_t latest = 0;
  RETURN_IF_ERROR(pool_.Run("reading the latest sequence", [&](MySqlConnection& c) {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT COALESCE(MAX(sequence), 0) FROM whale_activity").executeQuery());
    if (rs->next()) latest = rs->getUInt64(1);
    return absl::OkStatus();
  }));
  return latest;
}

absl::StatusOr<DataVersions> MySqlStore::GetDataVersions() {
  DataVersions versions;
  RETURN_IF_ERROR(pool_.Run("reading data versions", [&](MySqlConnection& c) -> absl::Status {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT domain, version FROM data_versions").executeQuery());
    int seen = 0;
    while (rs->next()) {
      const std::string domain = rs->getString(1);
      if (domain == "markets") {
        versions.markets = rs->getUInt64(2);
        ++seen;
      } else if (domain == "whales") {
        versions.whales = rs->getUInt64(2);
        ++seen;
      }
    }
    if (seen != 2) {
      return absl::FailedPreconditionError(
          "data_versions lacks a domain: the schema was not set up by this whaled");
    }
    return absl::OkStatus();
  }));
  return versions;
}

absl::StatusOr<int64_t> MySqlStore::StartSyncRun(const Fence& fence, SyncJob job,
                                                 absl::string_view replica_id, absl::Time now) {
  RETURN_IF_ERROR(CheckText(replica_id, kMaxReplicaIdChars, "replica_id"));
  int64_t run_id = 0;
  RETURN_IF_ERROR(
      pool_.RunInTransaction("starting a sync run", [&](MySqlConnection& c) -> absl::Status {
        RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
        sql::PreparedStatement& ps = c.Prepare(
            "INSERT INTO sync_logs (job, status, started_time, error, replica_id) "
            "VALUES (?, ?, ?, '', ?)");
        ps.setInt(1, static_cast<int>(job));
        ps.setInt(2, static_cast<int>(RunStatus::kRunning));
        SetTime(ps, 3, now);
        ps.setString(4, std::string(replica_id));
        ps.executeUpdate();
        std::unique_ptr<sql::ResultSet> id(c.Prepare("SELECT LAST_INSERT_ID()").executeQuery());
        if (!id->next()) return absl::InternalError("starting a sync run: no id was assigned");
        run_id = id->getInt64(1);
        return absl::OkStatus();
      }));
  return run_id;
}

absl::Status MySqlStore::FinishSyncRun(const Fence& fence, int64_t run_id, RunStatus status,
                                       int64_t item_count, absl::string_view error,
                                       absl::Time now) {
  const std::string text(TruncateUtf8(error, kMaxSyncErrorBytes));
  return pool_.RunInTransaction("finishing a sync run", [&](MySqlConnection& c) -> absl::Status {
    RETURN_IF_ERROR(LockLeaderRowAndCheck(c, fence));
    sql::PreparedStatement& read = c.Prepare(
        "SELECT status, item_count, error, ended_time FROM sync_logs WHERE id = ? FOR UPDATE");
    read.setInt64(1, run_id);
    std::unique_ptr<sql::ResultSet> rs(read.executeQuery());
    if (!rs->next()) return absl::NotFoundError(absl::StrCat("sync run ", run_id, " is not known"));
    ASSIGN_OR_RETURN(const RunStatus stored_status, GetEnum(*rs, "status", RunStatus::kFailed));
    if (stored_status != RunStatus::kRunning) {
      ASSIGN_OR_RETURN(const absl::Time ended, GetTime(*rs, "ended_time"));
      if (stored_status == status && rs->getInt64("item_count") == item_count &&
          rs->getString("error") == text && ended == ToStoredPrecision(now)) {
        return absl::OkStatus();  // a retry of the call that ended it
      }
      return absl::FailedPreconditionError(
          absl::StrCat("sync run ", run_id, " has ended already, with other values"));
    }
    sql::PreparedStatement& ps = c.Prepare(
        "UPDATE sync_logs SET status = ?, item_count = ?, error = ?, ended_time = ? WHERE id = ?");
    ps.setInt(1, static_cast<int>(status));
    ps.setInt64(2, item_count);
    ps.setString(3, text);
    SetTime(ps, 4, now);
    ps.setInt64(5, run_id);
    ps.executeUpdate();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<SyncJobSummary>> MySqlStore::GetSyncJobSummaries() {
  std::vector<SyncJobSummary> jobs;
  RETURN_IF_ERROR(pool_.Run("reading sync runs", [&](MySqlConnection& c) -> absl::Status {
    sql::PreparedStatement& ps = c.Prepare(
        "SELECT s.id, s.job, s.status, s.started_time, s.ended_time, s.item_count, s.error, "
        "s.replica_id, (SELECT MAX(d.ended_time) FROM sync_logs d WHERE d.job = s.job AND "
        "d.status = ?) AS last_completed_time FROM sync_logs s "
        "WHERE s.id IN (SELECT MAX(id) FROM sync_logs GROUP BY job) ORDER BY s.job");
    ps.setInt(1, static_cast<int>(RunStatus::kCompleted));
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    while (rs->next()) {
      SyncJobSummary job;
      SyncRun& run = job.latest;
      run.run_id = rs->getInt64("id");
      ASSIGN_OR_RETURN(run.job, GetEnum(*rs, "job", SyncJob::kCleanup));
      ASSIGN_OR_RETURN(run.status, GetEnum(*rs, "status", RunStatus::kFailed));
      ASSIGN_OR_RETURN(run.started_time, GetTime(*rs, "started_time"));
      ASSIGN_OR_RETURN(run.ended_time, GetTime(*rs, "ended_time"));
      run.item_count = rs->getInt64("item_count");
      run.error = rs->getString("error");
      run.replica_id = rs->getString("replica_id");
      ASSIGN_OR_RETURN(job.last_completed_time, GetTime(*rs, "last_completed_time"));
      jobs.push_back(std::move(job));
    }
    return absl::OkStatus();
  }));
  return jobs;
}

}  // namespace whalefeed::db
