// The simulator's world: markets (binary, categorical parents and their children), quote tokens
// and wallets, generated deterministically from a seed. Trades live in sim/trade_book.h.
//
// Markets change over simulated time, but only as pure functions of the time asked for (StateAt):
// the whole schedule is drawn at generation, so the same seed and the same simulated time always
// give the same market list. New markets appear (createdAt in the future until then) at
// WorldConfig::new_markets_per_day over the first `new_market_days` simulated days; markets move
// Activated -> Resolving at their cutoffAt -> Resolved at their resolve time (with resultTokenId
// and resolvedAt); volumes grow while a market trades.
#ifndef WHALEFEED_SIM_WORLD_H_
#define WHALEFEED_SIM_WORLD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace whalefeed::sim {

// Market status numbers as the API sends them.
inline constexpr int kStatusCreated = 1;
inline constexpr int kStatusActivated = 2;
inline constexpr int kStatusResolving = 3;
inline constexpr int kStatusResolved = 4;
inline constexpr int kStatusFailed = 5;
inline constexpr int kStatusDeleted = 6;

// "Created", "Activated", ... ("Unknown" outside 1..6).
absl::string_view MarketStatusName(int status);

// The BSC USDT contract, as the API spells it (checksummed).
inline constexpr absl::string_view kQuoteToken = "0x55d398326f99059fF775485246999027B3197955";
inline constexpr absl::string_view kChainId = "56";

// A quote currency (E9). USDT is worth exactly 1 USD; the others drift a little around 1, so a
// trade's quoteTokenUsdPrice (and usdAmount) differs from its amount.
struct QuoteToken {
  int64_t id = 0;
  std::string name;     // quoteTokenName
  std::string symbol;   // symbol
  std::string address;  // quoteTokenAddress, checksummed
  std::string ctf_exchange;
  int decimals = 18;
  int64_t created_at = 0;
  int usd_price_micro = 1000000;  // the USD price is usd_price_micro +- usd_jitter_micro (1e-6)
  int usd_jitter_micro = 0;
};

enum class MarketKind { kBinary, kCategorical, kChild };

struct Market {
  int64_t id = 0;
  int index = 0;  // position in World::markets()
  MarketKind kind = MarketKind::kBinary;
  int parent = -1;            // index of the categorical parent, for kChild
  std::vector<int> children;  // indices of the children, for kCategorical
  std::string title;          // the question; the option name for a child
  int status = kStatusActivated;
  std::string yes_label;  // "" on categorical parents
  std::string no_label;
  std::string rules;
  std::string yes_token_id;  // 76-78 digit decimal strings; "" on categorical parents
  std::string no_token_id;
  std::string condition_id;  // 64 hex digits without 0x; "" on categorical parents
  std::string question_id;
  std::string result_token_id;  // the winning token, shown once resolved (StateAt), else ""
  int quote_token = 0;          // index into World::quote_tokens()
  // Volumes at the simulated start (see StateAt for later times).
  int64_t volume_centi = 0;
  int64_t volume24h_centi = 0;  // not sent for children
  int64_t volume7d_centi = 0;   // not sent for children
  double volume_rate = 0;       // centi per second while the market trades after the start
  int64_t created_at = 0;       // Unix seconds; the market is listed from then on
  int64_t cutoff_at = 0;        // Unix seconds, 0 = no scheduled cutoff; Resolving from then on
  int64_t resolved_at = 0;      // Unix seconds it resolves (or resolved), 0 = not scheduled
  int64_t status_lag_s = 0;     // categorical parents: the shown status lags the children's by this
  bool status_frozen = false;   // the shown status never changes (parent-lag quirk, Created)
  std::string slug;
  std::vector<std::string> labels;
  std::vector<int> label_ids;
  std::string thumbnail_url;
  std::string cover_url;
  bool resolvable_by_ai = false;
  // Reference YES price in milli: base + amplitude * sin(2*pi*(t - start)/period + phase).
  int base_price_milli = 500;
  int amplitude_milli = 0;
  double period_s = 86400;
  double phase = 0;
  // Wallets trade only binary markets and children while they are Activated (see TradeableAt).
  bool tradeable = false;
};

// What the API shows of a market at one simulated time.
struct MarketState {
  bool listed = false;  // createdAt <= t
  int status = kStatusActivated;
  int64_t resolved_at = 0;            // 0 while unresolved
  absl::string_view result_token_id;  // "" while unresolved
  int64_t volume_centi = 0;
  int64_t volume24h_centi = 0;
  int64_t volume7d_centi = 0;
};

struct Wallet {
  std::string address;                 // 0x + 40 lower-case hex digits
  std::string label;                   // "whale-001" for the most active wallet, and so on
  int rank = 0;                        // 1 = most active
  double trades_per_second = 0;        // expected trade events (a multi-fill event counts once)
  int64_t size_scale_centi = 0;        // typical trade size in USDT cents
  std::vector<int> favourite_markets;  // market indices this wallet mostly trades
  uint64_t stream_seed = 0;
};

struct WorldConfig {
  uint64_t seed = 1;
  int markets = 300;  // top-level markets (binary + categorical parents)
  int wallets = 300;
  double categorical_fraction = 0.15;
  double trades_per_minute =
      15;                      // expected trade events per simulated minute, all wallets together
  double activity_skew = 1.2;  // Zipf exponent of wallet activity: weight(rank) = rank^-skew
  int64_t start_unix = 0;      // the simulated start; market times are placed around it
  double new_markets_per_day = 48;  // top-level markets created after the start
  int new_market_days = 30;         // ... during this many simulated days
};

// Immutable after Generate(), hence thread-safe.
class World {
 public:
  static absl::StatusOr<std::unique_ptr<World>> Generate(const WorldConfig& config);

  const WorldConfig& config() const { return config_; }
  // Every market: top-level ones and children.
  const std::vector<Market>& markets() const { return markets_; }
  // Indices of top-level markets (binary and categorical parents), in id order.
  const std::vector<int>& top_level() const { return top_level_; }
  // Indices of markets that trade at some time (binaries and children Activated at the start or
  // created later), in listing order (those listed at the start first); TradeableAt says when.
  const std::vector<int>& tradeable() const { return tradeable_; }
  // How many of tradeable() are listed at Unix time t (a prefix, for t >= the start; at earlier
  // times every market listed at the start counts).
  int ListedTradeableCount(int64_t t) const;
  const std::vector<QuoteToken>& quote_tokens() const { return quote_tokens_; }
  const QuoteToken& quote_token(const Market& market) const {
    return quote_tokens_[market.quote_token];
  }
  // Wallets ordered by activity, most active first (wallets()[i].rank == i + 1).
  const std::vector<Wallet>& wallets() const { return wallets_; }

  // nullptr when no market has this id (listed at some time or not: see StateAt).
  const Market* FindMarket(int64_t id) const;
  // The market index and outcome side (1 yes, 2 no) of an outcome token id, or {-1, 0}.
  std::pair<int, int> FindToken(absl::string_view token_id) const;
  // The market as the API shows it at Unix time t.
  MarketState StateAt(const Market& market, int64_t t) const;
  // Whether wallets can trade the market at Unix time t (listed, Activated, before its cutoff).
  bool TradeableAt(const Market& market, int64_t t) const;
  // Index into wallets(), or -1. Case-insensitive.
  int FindWallet(absl::string_view address) const;
  // The market a child belongs to, or the market itself.
  const Market& Root(const Market& market) const {
    return market.parent >= 0 ? markets_[market.parent] : market;
  }
  // Reference price in milli for the YES (outcome_side 1) or NO (2) token at Unix time t.
  int PriceMilli(const Market& market, int outcome_side, int64_t t) const;

 private:
  explicit World(const WorldConfig& config) : config_(config) {}
  void GenerateMarkets();
  void GenerateWallets();
  void IndexTokens();
  // A binary market's or child's own state (parents: see StateAt).
  MarketState LeafStateAt(const Market& market, int64_t t) const;

  WorldConfig config_;
  std::vector<Market> markets_;
  std::vector<int> top_level_;
  std::vector<int> tradeable_;
  std::vector<Wallet> wallets_;
  std::vector<QuoteToken> quote_tokens_;
  absl::flat_hash_map<int64_t, int> market_by_id_;
  absl::flat_hash_map<std::string, std::pair<int, int>> market_by_token_;
  absl::flat_hash_map<std::string, int> wallet_by_address_;
};

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_WORLD_H_
