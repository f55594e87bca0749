#include "sim/trade_book.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "sim/decimal.h"

namespace whalefeed::sim {
namespace {

constexpr int64_t kDay = 86400;
constexpr uint32_t kNoTx = ~uint32_t{0};
constexpr double kSplitShare = 0.025;  // of trade events
constexpr double kMergeShare = 0.025;
constexpr double kSellShare = 0.30;
constexpr double kPrecise = 0.3;          // share of transactions with 18-decimal amounts
constexpr double kFinished = 0.1;         // share of transactions shown with statusEnum "Finished"
constexpr int64_t kMinTicketCenti = 100;  // $1
constexpr int64_t kMaxTicketCenti = 50'000'000;  // $500k
constexpr int64_t kFeePerMille = 2;              // 0.2%

int FillCount(Rng& rng, double multi_fill_rate) {
  return 1 + (rng.Bernoulli(multi_fill_rate) ? static_cast<int>(rng.UniformInt(1, 3)) : 0);
}

// Sets amount and fee from price and shares: in cents, or (precise) with 18 decimals, the shares
// getting a random sub-cent part.
void SetMoney(Rng& rng, Trade& t) {
  if (!t.precise) {
    t.amount_centi = MulDivRound(t.price_milli, t.shares_centi, 1000);
    t.fee_centi = MulDivRound(t.amount_centi, kFeePerMille, 1000);
    return;
  }
  t.shares_dust = rng.UniformInt(1, kDustPerCenti - 1);
  const __int128 amount = MulDivRound128(t.price_milli, Atto(t.shares_centi, t.shares_dust), 1000);
  const __int128 fee = MulDivRound128(amount, kFeePerMille, 1000);
  t.amount_centi = static_cast<int64_t>(amount / kDustPerCenti);
  t.amount_dust = static_cast<int64_t>(amount % kDustPerCenti);
  t.fee_centi = static_cast<int64_t>(fee / kDustPerCenti);
  t.fee_dust = static_cast<int64_t>(fee % kDustPerCenti);
}

// Applies a trade to a position map with average-cost accounting. Used both while generating (so
// that sells and merges only spend what the wallet holds) and when deriving positions.
template <typename Map>
void Apply(Map& holdings, const Trade& t) {
  auto take = [&](int outcome, int64_t shares) -> int64_t {  // returns the cost removed
    auto it = holdings.find(std::make_pair(static_cast<int>(t.market), outcome));
    if (it == holdings.end() || it->second.shares_centi <= 0) return 0;
    auto& h = it->second;
    const int64_t sold = std::min(shares, h.shares_centi);
    const int64_t cost = MulDivRound(h.cost_centi, sold, h.shares_centi);
    h.shares_centi -= sold;
    h.cost_centi -= cost;
    if (h.shares_centi == 0) holdings.erase(it);
    return cost;
  };
  auto add = [&](int outcome, int64_t shares, int64_t cost) {
    auto& h = holdings[std::make_pair(static_cast<int>(t.market), outcome)];
    h.shares_centi += shares;
    h.cost_centi += cost;
  };
  switch (t.side) {
    case TradeSide::kBuy:
      add(t.outcome_side, t.shares_centi, t.amount_centi);
      break;
    case TradeSide::kSell:
      take(t.outcome_side, t.shares_centi);
      break;
    case TradeSide::kSplit:
      add(1, t.shares_centi, t.amount_centi / 2);
      add(2, t.shares_centi, t.amount_centi - t.amount_centi / 2);
      break;
    case TradeSide::kMerge:
      take(1, t.shares_centi);
      take(2, t.shares_centi);
      break;
  }
}

}  // namespace

std::string TxHash(uint64_t seed, const Trade& trade) {
  std::string out = "0x";
  for (uint64_t part = 0; part < 4; ++part) {
    absl::StrAppendFormat(&out, "%016x",
                          MixSeed({seed, 0x7478ULL, static_cast<uint64_t>(trade.wallet),
                                   static_cast<uint64_t>(trade.tx_seq), part}));
  }
  return out;
}

TradeBook::TradeBook(const World* world, TradeBookConfig config)
    : world_(world),
      config_(config),
      history_start_(world->config().start_unix -
                     static_cast<int64_t>(config.history_days) * kDay) {
  for (const Wallet& w : world_->wallets()) {
    auto stream = std::make_unique<Stream>(w.stream_seed);
    absl::MutexLock lock(&stream->mu);
    stream->next_time =
        static_cast<double>(history_start_) +
        (w.trades_per_second > 0 ? stream->rng.Exponential(w.trades_per_second) : 0);
    streams_.push_back(std::move(stream));
  }
}

bool TradeBook::Matches(const Trade& trade, int64_t market_id) const {
  if (market_id == 0) return true;
  return world_->markets()[trade.market].id == market_id;
}

void TradeBook::ExtendLocked(int wallet, Stream& s, int64_t now) {
  const Wallet& w = world_->wallets()[wallet];
  if (w.trades_per_second <= 0 || world_->tradeable().empty()) return;
  while (s.next_time < static_cast<double>(now) + 1) {  // floor(next_time) <= now
    GenerateEventLocked(wallet, s, static_cast<int64_t>(std::floor(s.next_time)));
    s.next_time += s.rng.Exponential(w.trades_per_second);
  }
}

int TradeBook::PickMarketLocked(int wallet, Stream& s, int64_t t) {
  const Wallet& w = world_->wallets()[wallet];
  const auto& markets = world_->markets();
  if (!w.favourite_markets.empty() && s.rng.Bernoulli(0.8)) {
    const int market = w.favourite_markets[s.rng.UniformInt(0, w.favourite_markets.size() - 1)];
    if (world_->TradeableAt(markets[market], t)) return market;
  }
  // Markets close and new ones open: a few random draws find one that trades at `t`.
  const std::vector<int>& all = world_->tradeable();
  const int listed = world_->ListedTradeableCount(t);
  if (listed == 0) return -1;
  for (int attempt = 0; attempt < 32; ++attempt) {
    const int market = all[s.rng.UniformInt(0, listed - 1)];
    if (world_->TradeableAt(markets[market], t)) return market;
  }
  return -1;
}

void TradeBook::EmitLocked(int wallet, Stream& s, const Trade& base, Trade trade) {
  trade.wallet = wallet;
  trade.seq = s.next_seq++;
  trade.tx_seq = base.tx_seq == kNoTx ? trade.seq : base.tx_seq;
  trade.fill = static_cast<uint8_t>(trade.seq - trade.tx_seq);
  Apply(s.holdings, trade);
  s.trades.push_back(trade);
}

void TradeBook::GenerateEventLocked(int wallet, Stream& s, int64_t t) {
  const Wallet& w = world_->wallets()[wallet];
  Rng& rng = s.rng;
  const auto& markets = world_->markets();
  // The helpers take the generator as an argument: the stream's lock is held here, not in a lambda.
  auto ticket = [&w](Rng& r) {
    const double centi = static_cast<double>(w.size_scale_centi) * r.LogNormal(0, 0.9);
    return std::clamp(static_cast<int64_t>(centi), kMinTicketCenti, kMaxTicketCenti);
  };
  auto price = [this, t](Rng& r, int market, int outcome) {
    const int ref = world_->PriceMilli(world_->markets()[market], outcome, t);
    return std::clamp(ref + static_cast<int>(r.UniformInt(-15, 15)), 5, 995);
  };
  // What the fills of this transaction share. The draws happen for every event, so that the lag
  // setting changes visibility only, never the trades.
  Trade base;
  base.created_at = t;
  base.tx_seq = kNoTx;
  base.visible_at = t + static_cast<int64_t>(rng.Uniform() * (config_.index_lag_max_s + 1));
  base.precise = rng.Bernoulli(kPrecise);
  base.finished = rng.Bernoulli(kFinished);
  const double usd_jitter = rng.Uniform(-1, 1);
  // Emits a fill; the first one opens the transaction.
  auto emit = [&](Trade trade) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    const QuoteToken& quote = world_->quote_token(markets[trade.market]);
    trade.usd_price_micro = quote.usd_price_micro +
                            static_cast<int32_t>(std::lround(usd_jitter * quote.usd_jitter_micro));
    EmitLocked(wallet, s, base, trade);
    if (base.tx_seq == kNoTx) base.tx_seq = s.trades.back().seq;
  };

  const double u = rng.Uniform();
  if (u < kSplitShare) {
    const int market = PickMarketLocked(wallet, s, t);
    if (market < 0) return;
    Trade split = base;
    split.side = TradeSide::kSplit;
    split.market = market;
    split.outcome_side = 1;
    split.price_milli = 1000;
    split.shares_centi = ticket(rng);
    split.amount_centi = split.shares_centi;
    if (split.precise) split.shares_dust = split.amount_dust = rng.UniformInt(1, kDustPerCenti - 1);
    emit(split);
    return;
  }
  if (u < kSplitShare + kMergeShare) {
    std::vector<int> mergeable;
    for (const auto& [key, holding] : s.holdings) {
      if (key.second == 1 && s.holdings.count({key.first, 2}) > 0 &&
          world_->TradeableAt(markets[key.first], t)) {
        mergeable.push_back(key.first);
      }
    }
    if (!mergeable.empty()) {
      const int market = mergeable[rng.UniformInt(0, mergeable.size() - 1)];
      const Holding& yes = s.holdings[{market, 1}];
      const Holding& no = s.holdings[{market, 2}];
      const int64_t pairs = std::min(yes.shares_centi, no.shares_centi);
      const int64_t shares = std::max<int64_t>(
          1, rng.Bernoulli(0.5) ? pairs : static_cast<int64_t>(pairs * rng.Uniform(0.3, 1)));
      const int64_t cost = MulDivRound(yes.cost_centi, shares, yes.shares_centi) +
                           MulDivRound(no.cost_centi, shares, no.shares_centi);
      Trade merge = base;
      merge.side = TradeSide::kMerge;
      merge.market = market;
      merge.outcome_side = 1;
      merge.price_milli = 1000;
      merge.shares_centi = shares;
      merge.amount_centi = shares;
      merge.profit_centi = shares - cost;
      merge.precise = false;  // a merge spends whole held cents
      emit(merge);
      return;
    }
    // Nothing to merge: fall through to a buy.
  }
  const int fills = FillCount(rng, config_.multi_fill_rate);
  if (u < kSplitShare + kMergeShare + kSellShare && !s.holdings.empty()) {
    auto it = s.holdings.begin();
    std::advance(it, rng.UniformInt(0, static_cast<int64_t>(s.holdings.size()) - 1));
    const auto [market, outcome] = it->first;
    const int64_t held = it->second.shares_centi;
    const double fraction = rng.Bernoulli(0.3) ? 1.0 : rng.Uniform(0.2, 1.0);
    if (world_->TradeableAt(markets[market], t)) {
      // An order walks the book: each fill at its own price, lower and lower for a sell (so fills
      // of one transaction never look alike).
      const int first_price = price(rng, market, outcome);
      const int step = static_cast<int>(rng.UniformInt(1, 4)) * (first_price - 12 >= 5 ? -1 : 1);
      int64_t to_sell = std::clamp<int64_t>(static_cast<int64_t>(held * fraction), 1, held);
      for (int i = 0; i < fills && to_sell > 0; ++i) {
        const int64_t shares =
            i + 1 == fills ? to_sell : std::max<int64_t>(1, to_sell / (fills - i));
        const Holding& h = s.holdings[{market, outcome}];
        Trade sell = base;
        sell.side = TradeSide::kSell;
        sell.market = market;
        sell.outcome_side = static_cast<uint8_t>(outcome);
        sell.price_milli = first_price + i * step;
        sell.shares_centi = shares;
        SetMoney(rng, sell);
        sell.profit_centi = sell.amount_centi - MulDivRound(h.cost_centi, shares, h.shares_centi);
        to_sell -= shares;
        emit(sell);
      }
      return;
    }
    // The market no longer trades: buy something instead.
  }
  const int market = PickMarketLocked(wallet, s, t);
  if (market < 0) return;
  const int outcome = rng.Bernoulli(0.55) ? 1 : 2;
  const int64_t total = ticket(rng);
  // Buys walk the book upwards.
  const int first_price = price(rng, market, outcome);
  const int step = static_cast<int>(rng.UniformInt(1, 4)) * (first_price + 12 <= 995 ? 1 : -1);
  for (int i = 0; i < fills; ++i) {
    const int64_t part = std::max<int64_t>(kMinTicketCenti, total / fills);
    Trade buy = base;
    buy.side = TradeSide::kBuy;
    buy.market = market;
    buy.outcome_side = static_cast<uint8_t>(outcome);
    buy.price_milli = first_price + i * step;
    buy.shares_centi = std::max<int64_t>(1, part * 1000 / buy.price_milli);
    SetMoney(rng, buy);
    emit(buy);
  }
}

TradePage TradeBook::WalletTrades(int wallet, int64_t now, int64_t market_id, int64_t offset,
                                  int64_t limit) {
  TradePage page;
  Stream& s = *streams_[wallet];
  absl::MutexLock lock(&s.mu);
  ExtendLocked(wallet, s, now);
  for (auto it = s.trades.rbegin(); it != s.trades.rend(); ++it) {
    if (it->visible_at > now || !Matches(*it, market_id)) continue;
    if (page.total >= offset && static_cast<int64_t>(page.trades.size()) < limit) {
      page.trades.push_back(*it);
    }
    ++page.total;
  }
  return page;
}

std::vector<Position> TradeBook::WalletPositions(int wallet, int64_t now, int64_t market_id) {
  std::map<std::pair<int, int>, Holding> holdings;
  {
    Stream& s = *streams_[wallet];
    absl::MutexLock lock(&s.mu);
    ExtendLocked(wallet, s, now);
    for (const Trade& t : s.trades) {
      if (t.visible_at <= now && Matches(t, market_id)) Apply(holdings, t);
    }
  }
  std::vector<Position> out;
  for (const auto& [key, h] : holdings) {
    if (h.shares_centi > 0) out.push_back({key.first, key.second, h.shares_centi, h.cost_centi});
  }
  const auto& markets = world_->markets();
  std::sort(out.begin(), out.end(), [&](const Position& a, const Position& b) {
    return std::make_tuple(-a.shares_centi, markets[a.market].id, a.outcome_side) <
           std::make_tuple(-b.shares_centi, markets[b.market].id, b.outcome_side);
  });
  return out;
}

std::vector<Trade> TradeBook::VisibleTrades(int wallet, int64_t now, int64_t since, bool pending) {
  std::vector<Trade> out;
  const int first = wallet < 0 ? 0 : wallet;
  const int last = wallet < 0 ? static_cast<int>(streams_.size()) - 1 : wallet;
  for (int i = first; i <= last; ++i) {
    Stream& s = *streams_[i];
    absl::MutexLock lock(&s.mu);
    ExtendLocked(i, s, now);
    for (const Trade& t : s.trades) {
      if ((pending || t.visible_at <= now) && t.visible_at >= since) out.push_back(t);
    }
  }
  std::sort(out.begin(), out.end(), [](const Trade& a, const Trade& b) {
    return std::tie(a.visible_at, a.created_at, a.wallet, a.seq) <
           std::tie(b.visible_at, b.created_at, b.wallet, b.seq);
  });
  return out;
}

}  // namespace whalefeed::sim
