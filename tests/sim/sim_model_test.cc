// Unit tests of the simulator's parts: exact decimals, fault specs, the sliding-window limiter, the
// generated world and the trade book.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "sim/decimal.h"
#include "sim/faults.h"
#include "sim/rate_limiter.h"
#include "sim/render.h"
#include "sim/trade_book.h"
#include "sim/world.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::sim {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::StatusIs;

constexpr int64_t kStart = 1767225600;  // 2026-01-01

// ---- Decimals ----

TEST(OpinionSimDecimalTest, FormatsExactly) {
  EXPECT_EQ(FormatFixed(12345, 2), "123.45");
  EXPECT_EQ(FormatFixed(5, 2), "0.05");
  EXPECT_EQ(FormatFixed(-5, 2), "-0.05");
  EXPECT_EQ(FormatFixed(0, 2), "0.00");
  EXPECT_EQ(FormatFixed(-120, 2), "-1.20");
  EXPECT_EQ(FormatFixed(7, 0), "7");
  EXPECT_EQ(FormatFixed(INT64_MIN, 2), "-92233720368547758.08");
  EXPECT_EQ(FormatTrimmed(620, 3, 2), "0.62");
  EXPECT_EQ(FormatTrimmed(444, 3, 2), "0.444");
  EXPECT_EQ(FormatTrimmed(1000, 3, 2), "1.00");
  EXPECT_EQ(FormatTrimmed(500, 3, 1), "0.5");
  EXPECT_EQ(FormatTrimmed(2000, 3, 0), "2");
  EXPECT_EQ(FormatWeiFromCenti(1000), "10000000000000000000");
  EXPECT_EQ(FormatWeiFromCenti(1), "10000000000000000");
  EXPECT_EQ(FormatWeiFromCenti(0), "0");
}

TEST(OpinionSimDecimalTest, MulDivRoundsHalfAwayFromZero) {
  EXPECT_EQ(MulDivRound(444, 2252, 1000), 1000);  // 0.444 * 22.52 = 9.99888 -> 10.00
  EXPECT_EQ(MulDivRound(5, 1, 10), 1);
  EXPECT_EQ(MulDivRound(-5, 1, 10), -1);
  EXPECT_EQ(MulDivRound(4, 1, 10), 0);
  EXPECT_EQ(MulDivRound(INT64_MAX, 1000, 1000), INT64_MAX);  // no overflow in between
}

// ---- Fault specs ----

TEST(OpinionSimFaultSpecTest, ParsesTheTextForm) {
  ASSERT_OK_AND_ASSIGN(FaultSpec burst, ParseFaultSpec("rate429:3:retry_after=2", false));
  EXPECT_EQ(burst.kind, FaultKind::kRateLimit);
  EXPECT_EQ(burst.count, 3);
  EXPECT_EQ(burst.retry_after_s, 2);
  ASSERT_OK_AND_ASSIGN(FaultSpec random,
                       ParseFaultSpec("slow:0.25:delay_ms=1500:endpoint=trade", true));
  EXPECT_EQ(random.kind, FaultKind::kSlow);
  EXPECT_EQ(random.count, 0);
  EXPECT_DOUBLE_EQ(random.rate, 0.25);
  EXPECT_EQ(random.delay_ms, 1500);
  EXPECT_EQ(random.scope, FaultScope::kTrade);
  ASSERT_OK_AND_ASSIGN(FaultSpec both,
                       ParseFaultSpec("http5xx:count=2:rate=0.1:status=502", false));
  EXPECT_EQ(both.count, 2);
  EXPECT_DOUBLE_EQ(both.rate, 0.1);
  EXPECT_EQ(both.status, 502);
  EXPECT_EQ(FaultSpecToString(both), "http5xx:count=2:rate=0.1:status=502");

  ASSERT_OK_AND_ASSIGN(
      std::vector<FaultSpec> list,
      ParseFaultSpecs("drop:1, malformed:2,list_null:1:endpoint=positions", false));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[1].kind, FaultKind::kMalformed);
  EXPECT_EQ(list[2].scope, FaultScope::kPositions);
  ASSERT_OK_AND_ASSIGN(std::vector<FaultSpec> none, ParseFaultSpecs("", false));
  EXPECT_TRUE(none.empty());
}

TEST(OpinionSimFaultSpecTest, RejectsBadSpecs) {
  for (const char* bad :
       {"", "explode:1", "slow", "slow:0", "slow:-1", "slow:1:delay_ms=x", "http5xx:1:status=404",
        "drop:1:endpoint=orders", "drop:1:colour=red", "drop:1:2", "rate429:1.5"}) {
    EXPECT_THAT(ParseFaultSpec(bad, false), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(ParseFaultSpec("drop:1.5", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rate")));
}

TEST(OpinionSimFaultSpecTest, ParsesTheJsonForm) {
  rapidjson::Document doc;
  doc.Parse(R"({"kind":"rate429","count":2,"endpoint":"market","retryAfter":5})");
  ASSERT_OK_AND_ASSIGN(FaultSpec spec, FaultSpecFromJson(doc));
  EXPECT_EQ(spec.kind, FaultKind::kRateLimit);
  EXPECT_EQ(spec.count, 2);
  EXPECT_EQ(spec.scope, FaultScope::kMarket);
  EXPECT_EQ(spec.retry_after_s, 5);
  for (const char* bad :
       {R"({"count":1})", R"({"kind":"slow","count":"1"})", R"({"kind":"slow","rate":2})",
        R"({"kind":"slow","count":1,"x":1})", "[]"}) {
    doc.Parse(bad);
    EXPECT_FALSE(FaultSpecFromJson(doc).ok()) << bad;
  }
}

TEST(OpinionSimFaultInjectorTest, CountsPrecedenceAndScope) {
  FaultInjector injector(1);
  injector.Add(*ParseFaultSpec("malformed:1", false));
  injector.Add(*ParseFaultSpec("rate429:1:endpoint=trade", false));
  injector.Add(*ParseFaultSpec("slow:2:delay_ms=10", false));
  injector.Add(*ParseFaultSpec("list_null:1", false));

  // A market detail: malformed (rate429 is for trades), slow; list_null waits for a list.
  FaultDecision first = injector.Decide(FaultScope::kMarket, /*is_list=*/false);
  ASSERT_TRUE(first.terminal.has_value());
  EXPECT_EQ(first.terminal->kind, FaultKind::kMalformed);
  EXPECT_EQ(first.delay, absl::Milliseconds(10));
  EXPECT_FALSE(first.list_null);
  // A trade list: rate429, the second slow, list_null.
  FaultDecision second = injector.Decide(FaultScope::kTrade, /*is_list=*/true);
  ASSERT_TRUE(second.terminal.has_value());
  EXPECT_EQ(second.terminal->kind, FaultKind::kRateLimit);
  EXPECT_EQ(second.delay, absl::Milliseconds(10));
  EXPECT_TRUE(second.list_null);
  // All used up.
  FaultDecision third = injector.Decide(FaultScope::kTrade, /*is_list=*/true);
  EXPECT_FALSE(third.terminal.has_value());
  EXPECT_EQ(third.delay, absl::ZeroDuration());
  EXPECT_TRUE(injector.List().empty());
  EXPECT_EQ(injector.FiredByKind().at("slow"), 2);
}

TEST(OpinionSimFaultInjectorTest, OnlyTheFirstTerminalFaultIsUsedUp) {
  FaultInjector injector(1);
  injector.Add(*ParseFaultSpec("http5xx:1", false));
  injector.Add(*ParseFaultSpec("drop:1", false));
  EXPECT_EQ(injector.Decide(FaultScope::kMarket, false).terminal->kind, FaultKind::kServerError);
  EXPECT_EQ(injector.Decide(FaultScope::kMarket, false).terminal->kind, FaultKind::kDrop);
}

// ---- Rate limiter ----

class FakeMonotonic {
 public:
  MonotonicClock AsClock() {
    return [this] { return now_; };
  }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Duration now_ = absl::Seconds(100);
};

TEST(OpinionSimRateLimiterTest, AllowsLimitPerClosedWindow) {
  FakeMonotonic clock;
  SlidingWindowRateLimiter limiter(3, absl::Seconds(1), clock.AsClock());
  EXPECT_TRUE(limiter.TryAcquire("a"));
  clock.Advance(absl::Milliseconds(400));
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_FALSE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("b"));    // keys are independent
  clock.Advance(absl::Milliseconds(600));  // exactly one window after the first: still counted
  EXPECT_FALSE(limiter.TryAcquire("a"));
  clock.Advance(absl::Nanoseconds(1));
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_FALSE(limiter.TryAcquire("a"));

  const SlidingWindowRateLimiter::Snapshot snapshot = limiter.GetSnapshot();
  const SlidingWindowRateLimiter::Counters& a = snapshot.per_key.at("a");
  EXPECT_EQ(a.accepted, 4);
  EXPECT_EQ(a.rejected, 3);
  EXPECT_EQ(a.worst_window_accepted, 3);
  EXPECT_EQ(a.worst_window_offered, 6);
  EXPECT_EQ(a.last_window_accepted, 3);
  EXPECT_EQ(snapshot.overall.accepted, 5);
  EXPECT_EQ(snapshot.overall.worst_window_accepted, 4);
}

TEST(OpinionSimRateLimiterTest, RejectedRequestsDoNotCount) {
  FakeMonotonic clock;
  SlidingWindowRateLimiter limiter(2, absl::Seconds(1), clock.AsClock());
  EXPECT_TRUE(limiter.TryAcquire("k"));
  EXPECT_TRUE(limiter.TryAcquire("k"));
  for (int i = 0; i < 10; ++i) {
    clock.Advance(absl::Milliseconds(50));
    EXPECT_FALSE(limiter.TryAcquire("k"));
  }
  clock.Advance(absl::Milliseconds(501));  // 1.001 s after the accepted pair
  EXPECT_TRUE(limiter.TryAcquire("k"));
  limiter.ResetStats();
  EXPECT_EQ(limiter.GetSnapshot().per_key.at("k").accepted, 0);
}

TEST(OpinionSimRateLimiterTest, ZeroDisablesTheLimit) {
  FakeMonotonic clock;
  SlidingWindowRateLimiter limiter(0, absl::Seconds(1), clock.AsClock());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.TryAcquire("k"));
  EXPECT_EQ(limiter.GetSnapshot().overall.worst_window_accepted, 100);
}

// ---- World ----

WorldConfig Config(uint64_t seed) {
  WorldConfig config;
  config.seed = seed;
  config.start_unix = kStart;
  return config;
}

TEST(OpinionSimWorldTest, IsDeterministic) {
  ASSERT_OK_AND_ASSIGN(auto a, World::Generate(Config(5)));
  ASSERT_OK_AND_ASSIGN(auto b, World::Generate(Config(5)));
  ASSERT_OK_AND_ASSIGN(auto c, World::Generate(Config(6)));
  ASSERT_EQ(a->markets().size(), b->markets().size());
  for (size_t i = 0; i < a->markets().size(); ++i) {
    EXPECT_EQ(a->markets()[i].id, b->markets()[i].id);
    EXPECT_EQ(a->markets()[i].title, b->markets()[i].title);
    EXPECT_EQ(a->markets()[i].yes_token_id, b->markets()[i].yes_token_id);
  }
  EXPECT_EQ(a->wallets()[0].address, b->wallets()[0].address);
  EXPECT_NE(a->wallets()[0].address, c->wallets()[0].address);
}

TEST(OpinionSimWorldTest, HasTheShapeOfTheRealMarketList) {
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(Config(1)));
  int listed_at_start = 0;
  for (int index : world->top_level())
    listed_at_start += world->markets()[index].created_at <= kStart;
  EXPECT_EQ(listed_at_start, 300);
  EXPECT_EQ(world->wallets().size(), 300u);
  std::map<int, int> statuses;
  std::set<int64_t> ids;
  std::set<std::string> slugs;
  int categorical = 0;
  for (const Market& m : world->markets()) {
    EXPECT_TRUE(ids.insert(m.id).second);
    EXPECT_TRUE(slugs.insert(m.slug).second) << m.slug;
    EXPECT_EQ(world->FindMarket(m.id), &m);
    if (m.kind == MarketKind::kChild || m.created_at > kStart) continue;  // listed at the start
    ++statuses[m.status];
    if (m.kind == MarketKind::kCategorical) {
      ++categorical;
      EXPECT_GE(m.children.size(), 2u);
      EXPECT_LE(m.children.size(), 6u);
      EXPECT_TRUE(m.yes_token_id.empty());
      for (int child : m.children) EXPECT_EQ(world->markets()[child].parent, m.index);
    } else {
      EXPECT_GE(m.yes_token_id.size(), 71u);
      EXPECT_LE(m.yes_token_id.size(), 78u);
      EXPECT_NE(m.yes_token_id[0], '0');
    }
  }
  EXPECT_GT(categorical, 25);  // ~15% of 300
  EXPECT_LT(categorical, 70);
  EXPECT_GT(statuses[kStatusActivated], 150);
  EXPECT_GT(statuses[kStatusResolved], 40);
  EXPECT_FALSE(world->tradeable().empty());
  EXPECT_GT(world->wallets()[0].trades_per_second, world->wallets()[1].trades_per_second);
  EXPECT_EQ(world->FindWallet(world->wallets()[3].address), 3);
  EXPECT_EQ(world->FindWallet("0xnobody"), -1);
}

TEST(OpinionSimWorldTest, MarketStatesFollowTheirSchedule) {
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(Config(4)));
  int resolved_later = 0;
  int lagging_parents = 0;
  for (const Market& m : world->markets()) {
    int previous_status = 0;
    int64_t previous_volume = 0;
    for (int64_t t = kStart; t <= kStart + 40 * 86400; t += 3 * 3600) {
      const MarketState state = world->StateAt(m, t);
      EXPECT_EQ(state.listed, m.created_at <= t);
      // Statuses only move forward: Activated -> Resolving -> Resolved.
      if (previous_status == kStatusResolving) {
        EXPECT_THAT(state.status, ::testing::AnyOf(kStatusResolving, kStatusResolved)) << m.id;
      }
      if (previous_status == kStatusResolved) {
        EXPECT_EQ(state.status, kStatusResolved) << m.id;
      }
      if (!m.status_frozen) {  // the parent-lag quirk shows Created with a resolvedAt
        EXPECT_EQ(state.resolved_at != 0, state.status == kStatusResolved) << m.id;
      }
      if (m.kind != MarketKind::kCategorical) {
        EXPECT_EQ(!state.result_token_id.empty(), state.status == kStatusResolved) << m.id;
        if (state.status == kStatusResolved) {
          EXPECT_TRUE(state.result_token_id == m.yes_token_id ||
                      state.result_token_id == m.no_token_id);
          EXPECT_LE(state.resolved_at, t);
        }
        EXPECT_EQ(world->TradeableAt(m, t), m.tradeable && state.listed &&
                                                state.status == kStatusActivated &&
                                                (m.cutoff_at == 0 || t < m.cutoff_at));
      }
      if (state.listed) {
        EXPECT_GE(state.volume_centi, previous_volume) << m.id;  // volume only grows
        previous_volume = state.volume_centi;
        EXPECT_LE(state.volume24h_centi, state.volume7d_centi + 1) << m.id;
      }
      if (previous_status == kStatusActivated && state.status != kStatusActivated) ++resolved_later;
      previous_status = state.status;
    }
    lagging_parents += m.status_lag_s > 0;
  }
  EXPECT_GT(resolved_later, 50);
  EXPECT_GT(lagging_parents, 0);
  // The markets listed at a time are a prefix of tradeable().
  for (int64_t t : {kStart, kStart + 3600, kStart + 5 * 86400, kStart + 60 * 86400}) {
    const int listed = world->ListedTradeableCount(t);
    for (int i = 0; i < static_cast<int>(world->tradeable().size()); ++i) {
      EXPECT_EQ(i < listed, world->markets()[world->tradeable()[i]].created_at <= t)
          << t << " " << i;
    }
  }
}

TEST(OpinionSimWorldTest, RejectsBadConfig) {
  WorldConfig config = Config(1);
  config.markets = 0;
  EXPECT_THAT(World::Generate(config), StatusIs(absl::StatusCode::kInvalidArgument));
  config = Config(1);
  config.trades_per_minute = 0;
  EXPECT_THAT(World::Generate(config), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- Trade book ----

TEST(OpinionSimTradeBookTest, SameTradesWhateverTheQueryOrder) {
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(Config(3)));
  TradeBook stepwise(world.get(), {});
  TradeBook direct(world.get(), {});
  for (int64_t t = kStart - 86400; t <= kStart + 3600; t += 600)
    stepwise.WalletTrades(0, t, 0, 0, 1);
  const TradePage a = stepwise.WalletTrades(0, kStart + 3600, 0, 0, 50);
  const TradePage b = direct.WalletTrades(0, kStart + 3600, 0, 0, 50);
  ASSERT_EQ(a.total, b.total);
  ASSERT_EQ(a.trades.size(), 50u);
  for (size_t i = 0; i < a.trades.size(); ++i) {
    EXPECT_EQ(TxHash(3, a.trades[i]), TxHash(3, b.trades[i]));
    EXPECT_EQ(a.trades[i].created_at, b.trades[i].created_at);
    EXPECT_EQ(a.trades[i].amount_centi, b.trades[i].amount_centi);
  }
}

TEST(OpinionSimTradeBookTest, AmountsAreExactAndSellsAreCovered) {
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(Config(1)));
  TradeBook book(world.get(), {});
  const std::vector<Trade> trades = book.VisibleTrades(4, kStart, INT64_MIN);
  ASSERT_GT(trades.size(), 100u);
  int merges_and_splits = 0;
  int precise = 0;
  std::map<std::pair<int, int>, int64_t> held;
  for (const Trade& t : trades) {
    EXPECT_GT(t.shares_centi, 0);
    if (t.side == TradeSide::kMerge || t.side == TradeSide::kSplit) {
      EXPECT_TRUE(Atto(t.amount_centi, t.amount_dust) == Atto(t.shares_centi, t.shares_dust));
    } else if (t.precise) {
      ++precise;
      EXPECT_TRUE(Atto(t.amount_centi, t.amount_dust) ==
                  MulDivRound128(t.price_milli, Atto(t.shares_centi, t.shares_dust), 1000));
      EXPECT_TRUE(Atto(t.fee_centi, t.fee_dust) ==
                  MulDivRound128(Atto(t.amount_centi, t.amount_dust), 2, 1000));
    } else {
      EXPECT_EQ(t.amount_centi, MulDivRound(t.price_milli, t.shares_centi, 1000));
      EXPECT_EQ(t.shares_dust + t.amount_dust + t.fee_dust, 0);
    }
    EXPECT_LT(t.shares_dust, kDustPerCenti);
    EXPECT_LT(t.amount_dust, kDustPerCenti);
    EXPECT_GE(t.created_at, book.history_start());
    EXPECT_LE(t.created_at, kStart);
    switch (t.side) {
      case TradeSide::kBuy:
        held[{t.market, t.outcome_side}] += t.shares_centi;
        break;
      case TradeSide::kSell:
        held[{t.market, t.outcome_side}] -= t.shares_centi;
        EXPECT_GE((held[{t.market, t.outcome_side}]), 0);
        break;
      case TradeSide::kSplit:
      case TradeSide::kMerge: {
        ++merges_and_splits;
        EXPECT_EQ(t.price_milli, 1000);
        const int64_t sign = t.side == TradeSide::kSplit ? 1 : -1;
        held[{t.market, 1}] += sign * t.shares_centi;
        held[{t.market, 2}] += sign * t.shares_centi;
        EXPECT_GE((held[{t.market, 1}]), 0);
        EXPECT_GE((held[{t.market, 2}]), 0);
        break;
      }
    }
  }
  EXPECT_GT(precise, static_cast<int>(trades.size()) / 10);  // ~30% carry 18 decimals
  EXPECT_LT(precise, static_cast<int>(trades.size()) / 2);
  EXPECT_GT(merges_and_splits, 0);  // some, but few
  EXPECT_LT(merges_and_splits, static_cast<int>(trades.size()) / 10);
  EXPECT_TRUE(std::is_sorted(trades.begin(), trades.end(), [](const Trade& a, const Trade& b) {
    return a.created_at < b.created_at;
  }));
}

TEST(OpinionSimTradeBookTest, NewTradesArriveEveryFewSecondsOverall) {
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(Config(1)));
  TradeBook book(world.get(), {/*history_days=*/0, /*index_lag_max_s=*/0});
  const std::vector<Trade> hour = book.VisibleTrades(-1, kStart + 3600, kStart);
  // 15 trade events a simulated minute by default (some fill several trades).
  EXPECT_GT(hour.size(), 600u);
  int64_t previous = kStart;
  int64_t longest_gap = 0;
  for (const Trade& t : hour) {
    longest_gap = std::max(longest_gap, t.created_at - previous);
    previous = t.created_at;
  }
  EXPECT_LT(longest_gap, 60);
}

TEST(OpinionSimTradeBookTest, TradesOnlyHitMarketsWhileTheyTrade) {
  WorldConfig config = Config(2);
  config.wallets = 30;
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(config));
  TradeBook book(world.get(), {/*history_days=*/2, /*index_lag_max_s=*/20});
  const std::vector<Trade> trades = book.VisibleTrades(-1, kStart + 10 * 86400, INT64_MIN);
  ASSERT_GT(trades.size(), 10000u);
  int on_new_markets = 0;
  for (const Trade& t : trades) {
    const Market& m = world->markets()[t.market];
    EXPECT_TRUE(world->TradeableAt(m, t.created_at)) << m.id << " at " << t.created_at;
    on_new_markets += m.created_at > kStart;
    EXPECT_GE(t.visible_at, t.created_at);
    EXPECT_LE(t.visible_at, t.created_at + 20);
  }
  EXPECT_GT(on_new_markets, static_cast<int>(trades.size()) / 20);
}

TEST(OpinionSimTradeBookTest, IndexLagDelaysVisibility) {
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(Config(1)));
  TradeBook lagging(world.get(), {/*history_days=*/1, /*index_lag_max_s=*/300});
  TradeBook prompt(world.get(), {/*history_days=*/1, /*index_lag_max_s=*/0});
  const TradePage late = lagging.WalletTrades(0, kStart, 0, 0, 1000);
  const TradePage now = prompt.WalletTrades(0, kStart, 0, 0, 1000);
  EXPECT_LT(late.total, now.total);  // the last minutes' trades are not indexed yet
  for (const Trade& t : late.trades) EXPECT_LE(t.visible_at, kStart);
  // The lag changes when trades show, never which trades there are: once every lag has passed, the
  // same trades are there.
  std::vector<Trade> all_late = lagging.VisibleTrades(0, kStart + 700, INT64_MIN);
  all_late.erase(std::remove_if(all_late.begin(), all_late.end(),
                                [](const Trade& t) { return t.created_at > kStart + 400; }),
                 all_late.end());
  const std::vector<Trade> all_now = prompt.VisibleTrades(0, kStart + 400, INT64_MIN);
  ASSERT_EQ(all_late.size(), all_now.size());
  bool some_late = false;
  std::set<std::string> late_hashes;
  std::set<std::string> now_hashes;
  for (const Trade& t : all_late) {
    some_late |= t.visible_at > t.created_at;
    late_hashes.insert(TxHash(1, t));
  }
  for (const Trade& t : all_now) now_hashes.insert(TxHash(1, t));
  EXPECT_TRUE(some_late);
  EXPECT_EQ(late_hashes, now_hashes);
}

TEST(OpinionSimTradeBookTest, PositionsFollowTrades) {
  ASSERT_OK_AND_ASSIGN(auto world, World::Generate(Config(1)));
  TradeBook book(world.get(), {});
  const std::vector<Position> positions = book.WalletPositions(2, kStart, 0);
  ASSERT_FALSE(positions.empty());
  for (size_t i = 1; i < positions.size(); ++i) {
    EXPECT_GE(positions[i - 1].shares_centi, positions[i].shares_centi);
  }
  const int64_t market_id = world->markets()[positions[0].market].id;
  const std::vector<Position> one = book.WalletPositions(2, kStart, market_id);
  ASSERT_FALSE(one.empty());
  for (const Position& p : one) EXPECT_EQ(world->markets()[p.market].id, market_id);
}

// ---- Rendering ----

TEST(OpinionSimRenderTest, SideCasingAndEnvelope) {
  EXPECT_EQ(SideName(TradeSide::kBuy, SideCasing::kTitle), "Buy");
  EXPECT_EQ(SideName(TradeSide::kMerge, SideCasing::kUpper), "MERGE");
  EXPECT_EQ(RenderEnvelope(EnvelopeStyle::kCode, 7, "no", nullptr),
            R"({"code":7,"msg":"no","result":null})");
}

}  // namespace
}  // namespace whalefeed::sim
