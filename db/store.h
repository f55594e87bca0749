// The storage seam. `Store` is what every other part reads and writes through; `MySqlStore` is the
// real one and `InMemoryStore` the fake for fast unit tests. Both pass the same contract suite
// (tests/db/store_contract.h).
//
// Conventions shared by every implementation:
// - Money, prices and shares are exact decimal strings. Stores accept any plain decimal ("10",
//   "-0.50", "1234.5678") and return the canonical form (no exponent, no superfluous leading or
//   trailing zeros: "10", "-0.5", "1234.5678"); anything else is INVALID_ARGUMENT naming the field.
// - Times are absl::Time with microsecond precision; absl::InfinitePast() means "none".
// - Wallets are stored normalised: "0x" + 40 lower-case hex digits (see NormalizeWallet).
// - Errors: NOT_FOUND for unknown ids, INVALID_ARGUMENT for malformed input, UNAVAILABLE when the
//   database cannot be reached (retryable), ABORTED for a lost race (deadlock, lock wait timeout:
//   retry the transaction).
//
// All methods are thread-safe.
#ifndef WHALEFEED_DB_STORE_H_
#define WHALEFEED_DB_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace whalefeed::db {

// The numbering of these enums matches the whalefeed.v1 API enums.
enum class MarketStatus {
  kUnspecified = 0,
  kCreated,
  kActivated,
  kResolving,
  kResolved,
  kFailed,
  kDeleted
};
enum class MarketType { kUnspecified = 0, kBinary, kCategorical };
enum class WhaleSource { kUnspecified = 0, kFile, kApi };
enum class Side { kUnspecified = 0, kBuy, kSell, kMerge, kSplit };
enum class Outcome { kUnspecified = 0, kYes, kNo };
enum class Origin { kUnspecified = 0, kLive, kBackfill };
enum class SyncJob { kUnspecified = 0, kMarkets, kWhaleTrades, kStats, kCleanup };
enum class RunStatus { kUnspecified = 0, kRunning, kCompleted, kFailed };

struct Market {
  int64_t market_id = 0;
  int64_t parent_market_id = 0;  // 0 at top level
  std::string title;
  MarketStatus status = MarketStatus::kUnspecified;
  MarketType market_type = MarketType::kUnspecified;
  std::string yes_label;
  std::string no_label;
  std::string yes_token_id;  // decimal uint256, up to 78 digits; "" on categorical parents
  std::string no_token_id;
  std::string condition_id;
  std::string result_token_id;
  std::string volume = "0";
  std::string volume_24h = "0";
  std::string volume_7d = "0";
  std::vector<std::string> labels;
  std::string slug;
  std::string rules;
  absl::Time created_time = absl::InfinitePast();
  absl::Time cutoff_time = absl::InfinitePast();
  absl::Time resolved_time = absl::InfinitePast();
  // Set by the store: the last sync that saw the market / the last one that changed it.
  absl::Time synced_time = absl::InfinitePast();
  absl::Time updated_time = absl::InfinitePast();

  // True when every upstream-owned field (everything but synced_time / updated_time) is equal.
  bool SameContent(const Market& other) const;
};

struct UpsertMarketsResult {
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;  // only synced_time touched
};

struct Whale {
  std::string wallet;
  std::string label;
  WhaleSource source = WhaleSource::kUnspecified;
  bool tracked = false;
  absl::Time tracked_since = absl::InfinitePast();
  absl::Time last_polled_time = absl::InfinitePast();
  absl::Time next_poll_time = absl::InfinitePast();
  std::string checkpoint_tx_hash;  // newest stored trade of this wallet, "" before the first
  absl::Time checkpoint_traded_time = absl::InfinitePast();
  int64_t trades_seen = 0;
};

// One upstream trade of a tracked wallet.
struct Activity {
  uint64_t sequence = 0;    // set by the store: feed position, strictly increasing in commit order
  std::string activity_id;  // set by the store: stable id derived from the natural key
  std::string tx_hash;
  std::string wallet;
  int64_t market_id = 0;
  int64_t root_market_id = 0;
  std::string market_title;
  std::string root_market_title;
  Side side = Side::kUnspecified;
  Outcome outcome = Outcome::kUnspecified;
  std::string outcome_label;
  std::string price = "0";
  std::string shares = "0";
  std::string amount_usd = "0";
  std::string fee_usd = "0";
  std::string profit_usd = "0";
  absl::Time traded_time = absl::InfinitePast();
  absl::Time ingested_time = absl::InfinitePast();  // set by the store from `now`
  Origin origin = Origin::kUnspecified;
};

// Where a wallet's polling stands after a poll; written in the same transaction as the poll's
// trades.
struct PollState {
  absl::Time polled_time = absl::InfinitePast();
  absl::Time next_poll_time = absl::InfinitePast();
  int64_t trades_seen = 0;
};

struct IngestResult {
  std::vector<uint64_t>
      inserted_sequences;  // ascending; duplicates of stored trades are not inserted
  int64_t duplicates = 0;
};

struct FeedMeta {
  std::string feed_id;           // random, made by the first migration; resume tokens carry it
  uint64_t retention_floor = 0;  // oldest retained sequence (0: nothing deleted yet)
  std::string token_key;         // key for page-token HMACs, shared by every replica
};

struct SyncRun {
  int64_t run_id = 0;
  SyncJob job = SyncJob::kUnspecified;
  RunStatus status = RunStatus::kUnspecified;
  absl::Time started_time = absl::InfinitePast();
  absl::Time ended_time = absl::InfinitePast();
  int64_t item_count = 0;
  std::string error;
  std::string replica_id;
};

// Where a job stands: its newest run, and when its last successful run ended.
struct SyncJobSummary {
  SyncRun latest;
  absl::Time last_completed_time = absl::InfinitePast();  // InfinitePast: never completed
};

// Lower-cases and checks a wallet address: "0x" + 40 hex digits. INVALID_ARGUMENT naming `field`
// otherwise.
absl::StatusOr<std::string> NormalizeWallet(absl::string_view wallet,
                                            absl::string_view field = "wallet");

// Canonical form of a plain decimal string (see the file comment); INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::string> NormalizeDecimal(absl::string_view value, absl::string_view field);

// What both stores do to input before storing it: normalise the decimal fields of a market, and the
// wallet and decimal fields of one of `wallet`'s trades (setting its activity_id). INVALID_ARGUMENT
// names the field, and the trade of another wallet.
absl::StatusOr<Market> NormalizeMarket(const Market& market);
absl::StatusOr<Activity> NormalizeActivity(const Activity& activity, absl::string_view wallet);

// The stable activity id: 32 hex digits of SHA-256 over the natural key (tx hash, wallet, market,
// outcome, side, shares, price), so the same upstream trade has the same id in every database and
// on every replica.
std::string MakeActivityId(const Activity& activity);

class Store {
 public:
  virtual ~Store() = default;

  // OK when the database answers now. Cheap; used by the health prober.
  virtual absl::Status Ping() = 0;

  virtual absl::StatusOr<FeedMeta> GetFeedMeta() = 0;
  // The highest applied schema migration.
  virtual absl::StatusOr<int> GetSchemaVersion() = 0;

  // Markets. Upserts write only rows whose content changed and touch synced_time of every given
  // row.
  virtual absl::StatusOr<UpsertMarketsResult> UpsertMarkets(absl::Span<const Market> markets,
                                                            absl::Time now) = 0;
  virtual absl::StatusOr<Market> GetMarket(int64_t market_id) = 0;
  // Children of a categorical parent, by market_id.
  virtual absl::StatusOr<std::vector<Market>> GetChildMarkets(int64_t parent_market_id) = 0;

  // Whales. Tracking an unknown wallet adds it (tracked_since = now); tracking a known one sets its
  // label and tracked flag (tracked_since is kept if it was tracked, reset to now if it was
  // untracked). An empty label keeps the current one.
  virtual absl::StatusOr<Whale> TrackWhale(absl::string_view wallet, absl::string_view label,
                                           WhaleSource source, absl::Time now) = 0;
  // Stops polling a wallet; its history is kept. NOT_FOUND when unknown.
  virtual absl::StatusOr<Whale> UntrackWhale(absl::string_view wallet) = 0;
  virtual absl::StatusOr<Whale> GetWhale(absl::string_view wallet) = 0;
  // Every known whale (tracked_only: only tracked ones), ordered by wallet.
  virtual absl::StatusOr<std::vector<Whale>> ListWhales(bool tracked_only) = 0;

  // Stores one poll of `wallet`: the new trades (any order; they get sequences in the order given)
  // and the wallet's poll state, in one transaction. Trades already stored (same natural key) are
  // skipped, so re-polling a page never duplicates. The wallet's checkpoint becomes its newest
  // stored trade.
  virtual absl::StatusOr<IngestResult> IngestActivities(absl::string_view wallet,
                                                        absl::Span<const Activity> trades,
                                                        const PollState& poll, absl::Time now) = 0;
  // Up to `limit` activities with sequence > after_sequence, ascending.
  virtual absl::StatusOr<std::vector<Activity>> ReadActivitiesAfter(uint64_t after_sequence,
                                                                    int limit) = 0;
  // The highest committed sequence (0 when the feed is empty).
  virtual absl::StatusOr<uint64_t> GetLatestSequence() = 0;

  // Job runs (sync_logs).
  virtual absl::StatusOr<int64_t> StartSyncRun(SyncJob job, absl::string_view replica_id,
                                               absl::Time now) = 0;
  virtual absl::Status FinishSyncRun(int64_t run_id, RunStatus status, int64_t item_count,
                                     absl::string_view error, absl::Time now) = 0;
  // Each job that has run at all, ordered by job.
  virtual absl::StatusOr<std::vector<SyncJobSummary>> GetSyncJobSummaries() = 0;
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_STORE_H_
