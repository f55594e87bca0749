// What a subscriber's filter costs the feed, which evaluates it for every event (design §8: the
// fan-out budget is about 15 us per stream per message, so matching must be a small part of it):
// - BM_BaselineHandWritten: the design's example filter written by hand in C++ (the fastest
//   this check can be), the baseline of the ratios;
// - BM_MatchesActivityExample: the same filter parsed and evaluated by MatchesActivity;
// - BM_MatchesActivityEmpty: no filter;
// - BM_MatchesActivityWide: 12 restrictions under OR that all miss, so every one is evaluated;
// - BM_FanOut1000Subscribers: one event against 1,000 subscribers' varied filters (items are
//   subscribers);
// - BM_ParseActivityFilter: parsing the example, paid once per call or stream.
// No database needed.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/filter.h"
#include "tests/bench/bench_main.h"

namespace whalefeed::bench {
namespace {

const std::string kWallet = "0x" + std::string(40, 'a');
const std::string kExample = absl::StrCat(
    "wallet = \"", kWallet, "\" AND amount_usd >= 10000 AND (side = BUY OR side = SELL)");

db::Activity Event() {
  db::Activity a;
  a.sequence = 123456789;
  a.wallet = kWallet;
  a.market_id = 16565;
  a.root_market_id = 788;
  a.side = db::Side::kSell;
  a.outcome = db::Outcome::kYes;
  a.amount_usd = "12345.678901";
  a.traded_time = absl::FromUnixSeconds(1767225600);
  a.ingested_time = absl::FromUnixSeconds(1767225610);
  a.origin = db::Origin::kLive;
  return a;
}

db::Filter Parse(const std::string& text) {
  absl::StatusOr<db::Filter> filter = db::ParseActivityFilter(text);
  if (!filter.ok()) {
    std::fprintf(stderr, "filter_bench: %s\n", std::string(filter.status().message()).c_str());
    std::abort();
  }
  return *std::move(filter);
}

void BM_BaselineHandWritten(benchmark::State& state) {
  const db::Activity event = Event();
  db::ScaledDecimal threshold;
  db::ParseScaledDecimal("10000", &threshold);
  for (auto _ : state) {
    benchmark::DoNotOptimize(&event);
    db::ScaledDecimal amount;
    const bool match = event.wallet == kWallet &&
                       db::ParseScaledDecimal(event.amount_usd, &amount) && amount >= threshold &&
                       (event.side == db::Side::kBuy || event.side == db::Side::kSell);
    benchmark::DoNotOptimize(match);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BaselineHandWritten);

void BM_MatchesActivityExample(benchmark::State& state) {
  const db::Activity event = Event();
  const db::Filter filter = Parse(kExample);
  for (auto _ : state) {
    benchmark::DoNotOptimize(&event);
    benchmark::DoNotOptimize(db::MatchesActivity(filter, event));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MatchesActivityExample);

void BM_MatchesActivityEmpty(benchmark::State& state) {
  const db::Activity event = Event();
  const db::Filter filter = Parse("");
  for (auto _ : state) {
    benchmark::DoNotOptimize(&event);
    benchmark::DoNotOptimize(db::MatchesActivity(filter, event));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MatchesActivityEmpty);

void BM_MatchesActivityWide(benchmark::State& state) {
  const db::Activity event = Event();
  const db::Filter filter = Parse(absl::StrCat(
      "wallet = \"0x", std::string(40, 'b'), "\" OR amount_usd > 99999999 OR market_id = 1 OR ",
      "root_market_id = 2 OR side = MERGE OR outcome = NO OR origin = BACKFILL OR sequence < 5 OR ",
      "traded_time < \"2020-01-01T00:00:00Z\" OR ingested_time > \"2030-01-01T00:00:00Z\" OR ",
      "amount_usd = 0.5 OR NOT market_id = 16565"));
  for (auto _ : state) {
    benchmark::DoNotOptimize(&event);
    benchmark::DoNotOptimize(db::MatchesActivity(filter, event));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MatchesActivityWide);

void BM_FanOut1000Subscribers(benchmark::State& state) {
  const db::Activity event = Event();
  std::vector<db::Filter> filters;
  for (int i = 0; i < 1000; ++i) {
    switch (i % 4) {
      case 0:
        filters.push_back(Parse(kExample));
        break;
      case 1:
        filters.push_back(Parse(absl::StrCat("amount_usd >= ", i * 10)));
        break;
      case 2:
        filters.push_back(Parse(absl::StrCat("market_id = ", i, " OR root_market_id = 788")));
        break;
      default:
        filters.push_back(Parse(""));
    }
  }
  int64_t matched = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(&event);
    for (const db::Filter& f : filters) matched += db::MatchesActivity(f, event);
  }
  benchmark::DoNotOptimize(matched);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(filters.size()));
}
BENCHMARK(BM_FanOut1000Subscribers);

void BM_ParseActivityFilter(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(db::ParseActivityFilter(kExample));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseActivityFilter);

}  // namespace
}  // namespace whalefeed::bench

int main(int argc, char** argv) { return whalefeed::bench::RunBenchmarksWithRatios(argc, argv); }
