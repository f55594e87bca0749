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

// ---- Feed reads (WatchWhaleActivity) ------------------------------------------------------------
// Data freshness as the feed's heartbeats report it (design §5.5).
struct FeedFreshness {
  // The newest whales.last_polled_time of any wallet; InfinitePast when no wallet was polled yet.
  absl::Time last_whale_poll_time = absl::InfinitePast();
  // ingested_time - traded_time of the newest LIVE activity (highest sequence); unset when the feed
  // holds no LIVE activity.
  std::optional<absl::Duration> detection_lag;
};
// ---- End of feed reads
// ---------------------------------------------------------------------------

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

// ---- Sync control: election bookkeeping, RunSyncJob requests, limiter publishing, freshness ----

// The leader's upstream rate limiter, as the leader publishes it into the leader row.
struct LimiterSnapshot {
  double rate_per_second = 0;
  int64_t requests_total = 0;
  int64_t throttled_total = 0;
};

struct PublishedLimiter {
  LimiterSnapshot limiter;
  absl::Time published_time = absl::InfinitePast();  // InfinitePast: never published
};

// A RunSyncJob request (sync_requests) that the leader has taken.
struct SyncRequest {
  int64_t request_id = 0;
  SyncJob job = SyncJob::kUnspecified;
  absl::Time requested_time = absl::InfinitePast();
};

struct SyncRequestResult {
  bool accepted = false;  // false: that job is running or a request for it is pending already
  absl::Time requested_time = absl::InfinitePast();  // set when accepted
};

// How fresh the whale data is: the last successful wallet poll, and the detection lag of the most
// recently ingested LIVE activity (ingested_time - traded_time).
// ---- end of Sync control ----

// ---- Sync jobs: rows the stats and cleanup jobs write and read back. ----

// One market outcome's whale buy / sell volume over the last 24 hours (market_whale_flow).
struct MarketWhaleFlow {
  int64_t market_id = 0;
  Outcome outcome = Outcome::kUnspecified;
  std::string buy_volume_usd = "0";
  std::string sell_volume_usd = "0";
  absl::Time computed_time = absl::InfinitePast();  // written as InfinitePast: the write's `now`
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

// ---------------------------------------------------------------------------------------------
// Read API for the query services (MarketService, WhaleService): filtered, ordered keyset pages
// and the stats rows they show. Filters are db::Filter (db/filter.h) parsed against the matching
// schema; a null filter matches everything.

class Filter;

// The largest page any list query returns.
inline constexpr int kMaxQueryLimit = 1000;

// Sort orders of the lists (design §6.2). Ties are always broken by the list's unique key
// (market_id, wallet, sequence) in the same direction as the key, so walks are stable.
enum class MarketOrderKey {
  kVolume,
  kVolume24h,
  kVolume7d,
  kWhaleVolume24h,
  kCreatedTime,
  kCutoffTime,
  kMarketId
};
struct MarketOrder {
  MarketOrderKey key = MarketOrderKey::kVolume24h;
  bool descending = true;
};
enum class WhaleOrderKey { kVolumeUsd, kTradeCount, kRealizedProfitUsd, kLastTradeTime };
struct WhaleOrder {
  WhaleOrderKey key = WhaleOrderKey::kVolumeUsd;
  bool descending = true;
};
enum class ActivityOrderKey { kSequence, kTradedTime, kAmountUsd };
struct ActivityOrder {
  ActivityOrderKey key = ActivityOrderKey::kSequence;
  bool descending = true;
};

// `order_by` text to an order: "" is the list's default; otherwise a key name optionally followed
// by " desc" (keywords in any case, extra spaces allowed). INVALID_ARGUMENT naming order_by, the
// value and the accepted ones otherwise. ListWhaleActivity accepts only `sequence desc`,
// `sequence`, `traded_time desc`, `traded_time` and `amount_usd desc`.
absl::StatusOr<MarketOrder> ParseMarketOrder(absl::string_view order_by);
absl::StatusOr<WhaleOrder> ParseWhaleOrder(absl::string_view order_by);
absl::StatusOr<ActivityOrder> ParseActivityOrder(absl::string_view order_by);
// The canonical text of an order, e.g. "volume_24h desc"; parsing it gives the same order.
std::string OrderText(const MarketOrder& order);
std::string OrderText(const WhaleOrder& order);
std::string OrderText(const ActivityOrder& order);

// Where a keyset walk stands: strictly after the row whose order-key value is `value` and whose
// unique key is `tiebreak`. Both as text: decimals in canonical form, integers in decimal, times
// as Unix microseconds in decimal (an unset time sorts as kUnsetTimeSortMicros, before every set
// time); the tiebreak is the market_id, the wallet or the sequence. Rows are compared with the
// order's direction on (value, tiebreak).
struct Keyset {
  std::string value;
  std::string tiebreak;
  friend bool operator==(const Keyset& a, const Keyset& b) {
    return a.value == b.value && a.tiebreak == b.tiebreak;
  }
};
// 1000-01-01T00:00:00Z, the smallest DATETIME: where unset times sort.
inline constexpr int64_t kUnsetTimeSortMicros = -30610224000000000;

// A market as the screener shows it: its whale volume over 24h (market_whale_flow, buy + sell of
// every outcome; for a categorical parent the sum over its children) and, for a categorical
// parent, its children in market_id order.
struct MarketEntry {
  Market market;
  std::string whale_volume_24h = "0";
  std::vector<MarketEntry> children;
};

struct MarketQuery {
  const Filter* filter = nullptr;  // a market filter (ParseMarketFilter); null matches all
  MarketOrder order;
  std::optional<Keyset> after;  // null: from the start
  int limit = 50;               // 1..kMaxQueryLimit
};
struct MarketPage {
  std::vector<MarketEntry> markets;  // top-level markets only, children inside their parent
  bool more = false;                 // rows follow the last one returned
  Keyset last;                       // of the last market returned (when there is one)
  int64_t total_size = 0;            // top-level markets matching the filter, all pages
};

struct WhaleQuery {
  const Filter* filter = nullptr;  // a whale filter (ParseWhaleFilter); null matches all
  StatsWindow window = StatsWindow::k24h;
  WhaleOrder order;
  std::optional<Keyset> after;
  int limit = 50;
};
// A whale with its figures in one window; zero figures (rank 0, times unset) when it has no stats
// row for the window.
struct WhaleEntry {
  Whale whale;
  WhaleStats stats;
};
struct WhalePage {
  std::vector<WhaleEntry> whales;
  bool more = false;
  Keyset last;
};

struct ActivityQuery {
  const Filter* filter = nullptr;  // an activity filter (ParseActivityFilter); null matches all
  bool include_backfill = false;   // BACKFILL rows are left out unless set
  ActivityOrder order;
  std::optional<Keyset> after;
  // Only rows with sequence <= high_water: the walk's mark, GetLatestSequence() when it began.
  // Sequence order is commit order, so these are exactly the rows committed by then.
  uint64_t high_water = 0;
  int limit = 50;
};
struct ActivityPage {
  std::vector<Activity> activities;
  std::vector<std::string> wallet_labels;  // parallel to activities: the whale's label now
  bool more = false;
  Keyset last;
};

// MarketWhaleFlow (the stats rows the read API returns) is defined with the sync jobs' rows.
// End of the read API's types.
// ---------------------------------------------------------------------------------------------

// The change counters of Store::GetDataVersions.
struct DataVersions {
  uint64_t markets = 0;
  uint64_t whales = 0;
  friend bool operator==(const DataVersions& a, const DataVersions& b) {
    return a.markets == b.markets && a.whales == b.whales;
  }
  friend bool operator!=(const DataVersions& a, const DataVersions& b) { return !(a == b); }
};

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

  // ---- Feed reads (WatchWhaleActivity) ----------------------------------------------------------
  // The feed position a stream that starts at `ingested_from` starts after: one before the lowest
  // sequence of the activities ingested at or after that time, so that it is the first one streamed
  // (later sequences follow in order, whatever their ingested_time). When no activity was ingested
  // at or after it, the highest committed sequence (the stream then starts with what comes next).
  // Both are read in one statement, so a commit in between cannot fall into a gap.
  virtual absl::StatusOr<uint64_t> GetFeedPositionAt(absl::Time ingested_from) = 0;
  // Time of the last whale poll and the detection lag of the newest LIVE activity.
  virtual absl::StatusOr<FeedFreshness> GetFeedFreshness() = 0;
  // ---- End of feed reads ------------------------------------------------------------------------

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

  // -------------------------------------------------------------------------------------------
  // Read API for the query services. Lists return at most query.limit rows (1..kMaxQueryLimit,
  // else INVALID_ARGUMENT naming limit) in the query's order after query.after, and say whether
  // more follow.

  // Top-level markets (binary markets and categorical parents) matching the filter, each parent
  // with its children (read in one extra query), and the number matching.
  virtual absl::StatusOr<MarketPage> ListMarketEntries(const MarketQuery& query) = 0;
  // One market with its whale volume: a top-level one with its children, or a child by its own
  // id (without children). NOT_FOUND when unknown.
  virtual absl::StatusOr<MarketEntry> GetMarketEntry(int64_t market_id) = 0;
  // The leaderboard of one window: every known whale matching the filter (tracked or not), a
  // whale without a stats row counting as zero.
  virtual absl::StatusOr<WhalePage> ListWhaleEntries(const WhaleQuery& query) = 0;
  // A wallet's figures in every window (24H, 7D, 30D, ALL, in that order), zero figures for a
  // window without a stats row. Does not check that the wallet is known.
  virtual absl::StatusOr<std::vector<WhaleStats>> GetWhaleStats(absl::string_view wallet) = 0;
  // A wallet's newest activity (traded_time descending, ties by sequence descending), BACKFILL
  // included; limit 1..100.
  virtual absl::StatusOr<std::vector<Activity>> ListRecentActivity(absl::string_view wallet,
                                                                   int limit) = 0;
  // Stored activity matching the filter, with sequence <= query.high_water.
  virtual absl::StatusOr<ActivityPage> ListActivity(const ActivityQuery& query) = 0;

  // Stats rows (leader-only): inserts or replaces the rows of (wallet, window) and of (market,
  // outcome); rows not given are kept. A computed_time of InfinitePast stores `now`.
  virtual absl::Status UpsertWhaleStats(const Fence& fence, absl::Span<const WhaleStats> stats,
                                        absl::Time now) = 0;
  virtual absl::Status UpsertMarketWhaleFlow(const Fence& fence,
                                             absl::Span<const MarketWhaleFlow> flows,
                                             absl::Time now) = 0;
  // End of the read API.
  // -------------------------------------------------------------------------------------------
  // ---- Sync control ----
  // Closes every run still RUNNING as FAILED with `reason` (leader-only): the runs a dead leader
  // left. Returns how many were closed.
  virtual absl::StatusOr<int64_t> FailRunningSyncRuns(const Fence& fence, absl::Time now,
                                                      absl::string_view reason) = 0;
  // Queues a request to run `job` now (any replica: not fenced). Not accepted (nothing queued) when
  // the job's latest run is RUNNING or a request for it is pending. INVALID_ARGUMENT naming `job`
  // for kUnspecified or a number outside SyncJob. Requests are serialised, so two concurrent calls
  // for one job queue one request.
  virtual absl::StatusOr<SyncRequestResult> RequestSyncRun(SyncJob job, absl::Time now) = 0;
  // Takes the pending requests for any of `jobs` (leader-only): marks them taken at `now` and
  // returns them, oldest first. Requests for other jobs stay pending. The leader asks every second
  // or so: when nothing is pending it answers empty from a plain read, without locking the leader
  // row (so without checking the fence either); when something is, a deposed leader is refused.
  virtual absl::StatusOr<std::vector<SyncRequest>> TakeSyncRequests(const Fence& fence,
                                                                    absl::Span<const SyncJob> jobs,
                                                                    absl::Time now) = 0;
  // Stores the leader's limiter state in the leader row, published at `now` (leader-only).
  virtual absl::Status PublishLimiter(const Fence& fence, const LimiterSnapshot& limiter,
                                      absl::Time now) = 0;
  virtual absl::StatusOr<PublishedLimiter> GetPublishedLimiter() = 0;
  // ---- end of Sync control ----
  // ---- Sync jobs: the polling schedule, cheap dedupe, stats and retention. ----

  // Tracked wallets whose poll is due at `now` (next_poll_time unset or not after `now`), the
  // longest overdue first (never-polled ones first, then by next_poll_time, then by wallet), at
  // most `limit` (positive).
  virtual absl::StatusOr<std::vector<Whale>> ListDueWhales(absl::Time now, int limit) = 0;
  // ---- Sync jobs: early polls (a poller with spare upstream budget polls before due) ----
  // Tracked wallets that are not due but may be polled early: polled before (last_polled_time set
  // and not after `polled_before`), next poll after `now`, and on their regular schedule (next
  // poll after the last one and at most `max_interval` after it: a wallet put back further after
  // an error waits its time). The furthest through their interval first, i.e. by
  // (now - last_polled_time) / (next_poll_time - last_polled_time) descending, then the longest
  // since polled, then by wallet; at most `limit` (positive). Never returns a due wallet.
  virtual absl::StatusOr<std::vector<Whale>> ListEarlyPollWhales(absl::Time now,
                                                                 absl::Time polled_before,
                                                                 absl::Duration max_interval,
                                                                 int limit) = 0;
  // ---- end of early polls ----
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

  // ---- Data versions: what lets a reader cache answers and know when they went stale ----
  // The versions now. Each counter rises in the very transaction of every write that can change
  // an answer of its reads, so a reader that saw version V and sees V again knows no such write
  // committed in between:
  //   markets: ListMarketEntries, GetMarketEntry (UpsertMarkets, UpsertMarketWhaleFlow,
  //            RecomputeMarketWhaleFlow);
  //   whales:  ListWhaleEntries, GetWhale, GetWhaleStats, ListRecentActivity (TrackWhale,
  //            UntrackWhale, IngestActivities, UpsertWhaleStats, AddToAllTimeStats,
  //            RecomputeWindowStats, DeleteExpiredActivity).
  // UNAVAILABLE when the database is.
  virtual absl::StatusOr<DataVersions> GetDataVersions() = 0;
  // ---- end of Data versions ----
};

}  // namespace whalefeed::db

#endif  // WHALEFEED_DB_STORE_H_
