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
// - Text fits its column: a value longer than the limits below (counted in characters, as MySQL
//   counts VARCHAR) or not valid UTF-8 is INVALID_ARGUMENT naming the field, never truncated.
// - Errors: NOT_FOUND for unknown ids, INVALID_ARGUMENT for malformed input, UNAVAILABLE when the
//   database cannot be reached (retryable; after a lost COMMIT the write may or may not be stored),
//   ABORTED for a lost race (deadlock, lock wait timeout: retry the transaction),
//   FAILED_PRECONDITION for a leader-only write whose fence is not the current leader epoch.
// - Leader-only writes (markets, activity and checkpoints, sync runs; later stats and cleanup)
//   take the writer's Fence and check it inside their own transaction, with the leader row locked:
//   a deposed leader can never write, and activity commits are serialised, so sequence order is
//   commit order.
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

// Column limits, in characters. Token ids are decimal digits only.
inline constexpr size_t kMaxTitleChars = 1024;   // market titles, activity market titles
inline constexpr size_t kMaxLabelChars = 255;    // yes/no/outcome labels, market labels,
                                                 // whale labels
inline constexpr size_t kMaxTokenIdDigits = 78;  // uint256 in decimal
inline constexpr size_t kMaxConditionIdChars = 66;
inline constexpr size_t kMaxSlugChars = 512;
inline constexpr size_t kMaxTxHashChars = 66;
inline constexpr size_t kMaxReplicaIdChars = 128;
inline constexpr size_t kMaxRulesBytes = 16 * 1024 * 1024 - 1;  // MEDIUMTEXT
// A sync run's error text is cut (at a character boundary) to this many bytes, not refused.
inline constexpr size_t kMaxSyncErrorBytes = 60000;

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
enum class StatsWindow { kUnspecified = 0, k24h, k7d, k30d, kAll };

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

// One wallet's figures over one window (whale_stats). Only BUY and SELL count as trades; all-time
// figures are running totals that retention never reduces.
struct WhaleStats {
  std::string wallet;
  StatsWindow window = StatsWindow::kUnspecified;
  std::string volume_usd = "0";
  std::string buy_volume_usd = "0";
  std::string sell_volume_usd = "0";
  std::string realized_profit_usd = "0";
  std::string largest_trade_usd = "0";
  std::string average_trade_usd = "0";
  int64_t trade_count = 0;
  int64_t markets_traded = 0;
  absl::Time first_trade_time = absl::InfinitePast();
  absl::Time last_trade_time = absl::InfinitePast();
  int32_t rank = 0;  // by volume within the window; 0 = unranked
  absl::Time computed_time = absl::InfinitePast();
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

// What a leader-only write carries: the leader epoch its writer won (AdvanceLeaderEpoch). The
// write fails with FAILED_PRECONDITION unless the leader row still holds exactly this epoch.
struct Fence {
  int64_t epoch = 0;  // 0 never matches: no write without leadership
};

// The leader row: who won the election last, and when.
struct LeaderState {
  int64_t epoch = 0;  // 0: nobody has led yet
  std::string replica_id;
  absl::Time acquired_time = absl::InfinitePast();
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

// ---- Sync jobs: rows the stats and cleanup jobs write and read back. ----

// One market outcome's whale buy / sell volume over the last 24 hours (market_whale_flow).
struct MarketWhaleFlow {
  int64_t market_id = 0;
  Outcome outcome = Outcome::kUnspecified;
  std::string buy_volume_usd = "0";
  std::string sell_volume_usd = "0";
  absl::Time computed_time = absl::InfinitePast();
};

// What one batch of retention cleanup did.
struct CleanupBatch {
  int64_t deleted = 0;
  // The feed's retention floor after the batch (oldest retained sequence; only ever goes up).
  uint64_t retention_floor = 0;
  // True when the batch stopped at `limit` rows: more expired rows may remain.
  bool more = false;
};

// Lower-cases and checks a wallet address: "0x" + 40 hex digits. INVALID_ARGUMENT naming `field`
// otherwise.
absl::StatusOr<std::string> NormalizeWallet(absl::string_view wallet,
                                            absl::string_view field = "wallet");

// Canonical form of a plain decimal string (see the file comment); INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::string> NormalizeDecimal(absl::string_view value, absl::string_view field);

// FAILED_PRECONDITION unless `fence` holds the epoch the leader row holds now (`leader_epoch`,
// read inside the writing transaction).
absl::Status CheckFence(const Fence& fence, int64_t leader_epoch);

// INVALID_ARGUMENT naming `field` unless `value` is valid UTF-8 of at most `max_chars` characters.
absl::Status CheckText(absl::string_view value, size_t max_chars, absl::string_view field);
// `text` cut to at most `max_bytes` bytes without splitting a UTF-8 character.
absl::string_view TruncateUtf8(absl::string_view text, size_t max_bytes);

// What both stores do to input before storing it: check every text field against its column and
// normalise the decimal fields of a market, and the same for one of `wallet`'s trades (also its
// wallet; sets its activity_id). INVALID_ARGUMENT names the field, and the trade of another wallet.
// The sync decoder uses them too, to skip a record that cannot be stored.
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

  // Leadership. The replica that has just won the election lock calls AdvanceLeaderEpoch: the
  // epoch goes up by one (fencing every earlier leader's writes) and names the replica. The Fence
  // returned is what its leader-only writes carry.
  virtual absl::StatusOr<Fence> AdvanceLeaderEpoch(absl::string_view replica_id,
                                                   absl::Time now) = 0;
  virtual absl::StatusOr<LeaderState> GetLeader() = 0;

  virtual absl::StatusOr<FeedMeta> GetFeedMeta() = 0;
  // The highest applied schema migration.
  virtual absl::StatusOr<int> GetSchemaVersion() = 0;

  // Markets (leader-only). Upserts write only rows whose content changed and touch synced_time of
  // every given row.
  virtual absl::StatusOr<UpsertMarketsResult> UpsertMarkets(const Fence& fence,
                                                            absl::Span<const Market> markets,
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

  // Stores one poll of `wallet` (leader-only): the new trades (any order; they get sequences in the
  // order given) and the wallet's poll state, in one transaction. Trades already stored (same
  // natural key) are skipped, so re-polling a page never duplicates. The wallet's checkpoint
  // becomes its newest stored trade. The sequences returned are committed when this returns OK.
  virtual absl::StatusOr<IngestResult> IngestActivities(const Fence& fence,
                                                        absl::string_view wallet,
                                                        absl::Span<const Activity> trades,
                                                        const PollState& poll, absl::Time now) = 0;
  // Up to `limit` activities with sequence > after_sequence, ascending.
  virtual absl::StatusOr<std::vector<Activity>> ReadActivitiesAfter(uint64_t after_sequence,
                                                                    int limit) = 0;
  // The highest committed sequence (0 when the feed is empty).
  virtual absl::StatusOr<uint64_t> GetLatestSequence() = 0;

  // Job runs (sync_logs; leader-only). FinishSyncRun ends a RUNNING run; repeating it with the same
  // values is OK (a retry after a lost answer), other values for an ended run are
  // FAILED_PRECONDITION, an unknown run NOT_FOUND. `error` is cut to kMaxSyncErrorBytes.
  virtual absl::StatusOr<int64_t> StartSyncRun(const Fence& fence, SyncJob job,
                                               absl::string_view replica_id, absl::Time now) = 0;
  virtual absl::Status FinishSyncRun(const Fence& fence, int64_t run_id, RunStatus status,
                                     int64_t item_count, absl::string_view error,
                                     absl::Time now) = 0;
  // Each job that has run at all, ordered by job.
  virtual absl::StatusOr<std::vector<SyncJobSummary>> GetSyncJobSummaries() = 0;

  // ---- Sync jobs: the polling schedule, cheap dedupe, stats and retention. ----

  // Tracked wallets whose poll is due at `now` (next_poll_time unset or not after `now`), the
  // longest overdue first (never-polled ones first, then by next_poll_time, then by wallet), at
  // most `limit` (positive).
  virtual absl::StatusOr<std::vector<Whale>> ListDueWhales(absl::Time now, int limit) = 0;
  // The subset of `activity_ids` already stored (any order). Lets a poll skip trades it has seen
  // without a write.
  virtual absl::StatusOr<std::vector<std::string>> FindStoredActivityIds(
      absl::Span<const std::string> activity_ids) = 0;
  // Folds the wallet's activities not counted yet (above its counted-through sequence) into its
  // all-time whale_stats row (leader-only): only BUY and SELL count; volume, buy / sell volume,
  // profit, trade count, largest and average trade, first / last trade and markets traded are
  // running totals that retention cleanup never reduces. Idempotent: folding again counts nothing
  // twice. Returns how many trades were counted. Keeps the row's rank.
  virtual absl::StatusOr<int64_t> AddToAllTimeStats(const Fence& fence, absl::string_view wallet,
                                                    absl::Time now) = 0;
  // Recomputes the 24h / 7d / 30d rows of every wallet from whale_activity by traded time (trades
  // traded after now - window), and ranks every window, all-time included, by volume (1 = largest;
  // equal volumes share a rank), in one transaction (leader-only). A wallet without trades in a
  // window has no row for it. Returns the rows written.
  virtual absl::StatusOr<int64_t> RecomputeWindowStats(const Fence& fence, absl::Time now) = 0;
  // Recomputes market_whale_flow (per market and outcome, whale BUY / SELL volume of trades traded
  // after now - 24h) in one transaction (leader-only). Returns the rows written.
  virtual absl::StatusOr<int64_t> RecomputeMarketWhaleFlow(const Fence& fence, absl::Time now) = 0;
  // The wallet's whale_stats rows, ordered by window (none when it has no stats).
  virtual absl::StatusOr<std::vector<WhaleStats>> ReadWhaleStatsOfWallet(
      absl::string_view wallet) = 0;
  // Every market_whale_flow row, ordered by market and outcome.
  virtual absl::StatusOr<std::vector<MarketWhaleFlow>> ReadMarketWhaleFlow() = 0;
  // Deletes, oldest sequence first, at most `limit` (positive) activities ingested before
  // `ingested_before`, in one short transaction (leader-only), stopping at the first row that is
  // not expired, so what is deleted is always a prefix of the feed. Raises feed_meta's retention
  // floor to the lowest sequence still retained (past the last deleted one when none is), never
  // lowering it.
  virtual absl::StatusOr<CleanupBatch> DeleteExpiredActivity(const Fence& fence,
                                                             absl::Time ingested_before,
                                                             int limit) = 0;
  // Deletes at most `limit` (positive) ended sync runs that ended before `before` and requested
  // runs taken before it (leader-only). Returns how many rows went.
  virtual absl::StatusOr<int64_t> PruneSyncHistory(const Fence& fence, absl::Time before,
                                                   int limit) = 0;
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_STORE_H_
