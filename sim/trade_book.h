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

// One filled trade. Money is kept in scaled integers (see sim/decimal.h). Most trades have cent
// amounts: amount == price * shares rounded to cents. "Precise" trades carry 18 decimals, as
// on-chain amounts do: shares, amount and fee are centi + dust * 1e-18 (dust < 1e16), and amount ==
// price * shares rounded to 1e-18. Holdings (positions) are kept in cents. Merge and Split rows use
// price 1.000, shares == amount, fee 0 and outcome_side 1. The fills of one order share one
// transaction (txHash), one createdAt and one visible_at.
struct Trade {
  int64_t created_at = 0;  // Unix seconds
  int64_t visible_at = 0;  // when the API starts to show it: created_at + the indexing lag
  int32_t wallet = 0;      // index into World::wallets()
  int32_t market = 0;      // index into World::markets(): a binary market or a categorical child
  uint32_t seq = 0;        // per-wallet sequence; newest first means (created_at, seq) descending
  uint32_t tx_seq = 0;     // seq of the transaction's first fill (the txHash derives from it)
  uint8_t fill = 0;        // position within the transaction (0 = first fill)
  TradeSide side = TradeSide::kBuy;
  uint8_t outcome_side = 1;  // 1 Yes, 2 No
  bool precise = false;      // 18-decimal amounts (the *_dust fields)
  bool finished = false;     // statusEnum "Finished" instead of "Filled" (status stays 2)
  int32_t price_milli = 0;
  int32_t usd_price_micro = 1000000;  // quoteTokenUsdPrice in 1e-6
  int64_t shares_centi = 0;
  int64_t amount_centi = 0;
  int64_t fee_centi = 0;
  int64_t profit_centi = 0;  // realised P/L (sells and merges), else 0
  int64_t shares_dust = 0;   // 1e-18 units beyond the cents (precise trades), < 1e16
  int64_t amount_dust = 0;
  int64_t fee_dust = 0;
};

inline constexpr int64_t kDustPerCenti = 10'000'000'000'000'000;  // 1e16
// The exact values in 1e-18 units.
inline __int128 Atto(int64_t centi, int64_t dust) {
  return static_cast<__int128>(centi) * kDustPerCenti + dust;
}

// The trade's transaction hash: 0x + 64 lower-case hex digits, a pure function of (seed, wallet,
// tx_seq): every fill of one transaction has the same hash.
std::string TxHash(uint64_t seed, const Trade& trade);

struct TradeBookConfig {
  int history_days = 30;
  // Each transaction becomes visible 0..index_lag_max_s seconds (uniform) after its createdAt, so
  // it can show up below newer trades. 0 = at once.
  int index_lag_max_s = 0;
  // Share of buy/sell orders filled against several makers: 2-4 trades with one txHash.
  double multi_fill_rate = 0.15;
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
  // marketId equals it (exactly that market: not a categorical parent's children).
  TradePage WalletTrades(int wallet, int64_t now, int64_t market_id, int64_t offset, int64_t limit);

  // Net positions (shares > 0) from the wallet's trades visible at `now`, largest first.
  std::vector<Position> WalletPositions(int wallet, int64_t now, int64_t market_id);

  // Trades visible at `now` with visible_at >= since, of one wallet or (wallet < 0) of all wallets,
  // ordered by (visible_at, created_at, wallet, seq). With `pending`, also the trades created by
  // `now` that become visible later (visible_at > now).
  std::vector<Trade> VisibleTrades(int wallet, int64_t now, int64_t since, bool pending = false);

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
  // Appends one fill of the current transaction (`base` holds its shared fields).
  void EmitLocked(int wallet, Stream& s, const Trade& base, Trade trade)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  // A market the wallet can trade at `t`, or -1.
  int PickMarketLocked(int wallet, Stream& s, int64_t t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  bool Matches(const Trade& trade, int64_t market_id) const;

  const World* const world_;
  const TradeBookConfig config_;
  const int64_t history_start_;
  std::vector<std::unique_ptr<Stream>> streams_;  // one per wallet; the vector itself never changes
};

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_TRADE_BOOK_H_
