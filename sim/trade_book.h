// The simulator's trades: every wallet trades as a Poisson process (its rate comes from its
// activity rank, see World), starting `history_days` before the simulated start and going on
// forever.
//
// Trades are generated lazily, per wallet and in time order, only as far as somebody has asked.
// Each wallet has its own seeded generator, so the trades of a wallet depend only on the seed and
// the wallet, never on which queries came first: the same seed and the same simulated time always
// give the same trades. Trades are never generated past the time asked for, so a trade cannot leak
// out before its time.
#ifndef WHALEFEED_SIM_TRADE_BOOK_H_
#define WHALEFEED_SIM_TRADE_BOOK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "sim/rng.h"
#include "sim/world.h"

namespace whalefeed::sim {

enum class TradeSide : uint8_t { kBuy, kSell, kMerge, kSplit };

// One filled trade. Money is kept in scaled integers (see sim/decimal.h): amount == price * shares
// rounded to cents. Merge and Split rows use price 1.000, shares == amount and outcome_side 1.
struct Trade {
  int64_t created_at = 0;  // Unix seconds
  int64_t visible_at = 0;  // when the API starts to show it: created_at + an optional indexing lag
  int32_t wallet = 0;      // index into World::wallets()
  int32_t market = 0;      // index into World::markets(): a binary market or a categorical child
  uint32_t seq = 0;        // per-wallet sequence; newest first means (created_at, seq) descending
  TradeSide side = TradeSide::kBuy;
  uint8_t outcome_side = 1;  // 1 Yes, 2 No
  int32_t price_milli = 0;
  int64_t shares_centi = 0;
  int64_t amount_centi = 0;
  int64_t fee_centi = 0;
  int64_t profit_centi = 0;  // realised P/L (sells and merges), else 0
};

// The trade's transaction hash: 0x + 64 lower-case hex digits, a pure function of (seed, wallet,
// seq).
std::string TxHash(uint64_t seed, const Trade& trade);

struct TradeBookConfig {
  int history_days = 30;
  // Each trade becomes visible 0..index_lag_max_s seconds (uniform) after its createdAt. 0 = at
  // once.
  int index_lag_max_s = 0;
};

struct TradePage {
  int64_t total = 0;  // every visible trade that matches the filter
  std::vector<Trade> trades;
};

// Net holding of one outcome token, derived from visible trades with average-cost accounting.
struct Position {
  int market = 0;
  int outcome_side = 1;
  int64_t shares_centi = 0;
  int64_t cost_centi = 0;
};

// Thread-safe: each wallet's stream sits behind its own mutex.
class TradeBook {
 public:
  // `world` must outlive the book.
  TradeBook(const World* world, TradeBookConfig config);
  TradeBook(const TradeBook&) = delete;
  TradeBook& operator=(const TradeBook&) = delete;

  // The wallet's trades visible at `now` (Unix seconds), newest first, skipping `offset` and
  // keeping at most `limit`. `market_id` 0 means every market; otherwise a trade matches when its
  // marketId or its rootMarketId equals it.
  TradePage WalletTrades(int wallet, int64_t now, int64_t market_id, int64_t offset, int64_t limit);

  // Net positions (shares > 0) from the wallet's trades visible at `now`, largest first.
  std::vector<Position> WalletPositions(int wallet, int64_t now, int64_t market_id);

  // Trades visible at `now` with visible_at >= since, of one wallet or (wallet < 0) of all wallets,
  // ordered by (visible_at, created_at, wallet, seq).
  std::vector<Trade> VisibleTrades(int wallet, int64_t now, int64_t since);

  // Unix seconds of the first possible trade.
  int64_t history_start() const { return history_start_; }

 private:
  struct Holding {
    int64_t shares_centi = 0;
    int64_t cost_centi = 0;
  };
  struct Stream {
    explicit Stream(uint64_t seed) : rng(seed) {}
    absl::Mutex mu;
    Rng rng ABSL_GUARDED_BY(mu);
    double next_time ABSL_GUARDED_BY(mu) = 0;  // Unix seconds of the next event
    uint32_t next_seq ABSL_GUARDED_BY(mu) = 0;
    std::map<std::pair<int, int>, Holding> holdings ABSL_GUARDED_BY(mu);  // (market, outcome)
    std::vector<Trade> trades ABSL_GUARDED_BY(mu);  // ascending (created_at, seq)
  };

  // Generates the wallet's events with createdAt <= now.
  void ExtendLocked(int wallet, Stream& s, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  void GenerateEventLocked(int wallet, Stream& s, int64_t t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  void EmitLocked(int wallet, Stream& s, Trade trade) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  int PickMarketLocked(int wallet, Stream& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  bool Matches(const Trade& trade, int64_t market_id) const;

  const World* const world_;
  const TradeBookConfig config_;
  const int64_t history_start_;
  std::vector<std::unique_ptr<Stream>> streams_;  // one per wallet; the vector itself never changes
};

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_TRADE_BOOK_H_
