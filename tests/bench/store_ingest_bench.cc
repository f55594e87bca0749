// How fast MySqlStore stores what a wallet poll brings, on a real MariaDB:
// - BM_IngestNewPage: a page of 20 new trades through IngestActivities (one transaction: the
//   leader-row lock that orders the feed, one multi-row insert, the wallet's checkpoint);
// - BM_IngestSeenPage: the same page polled again (every trade a duplicate), the common case
//   of a quiet wallet;
// - BM_BaselineAutocommitRows: the same 20 rows inserted one statement at a time in autocommit
//   mode (the store's own row insert), the naive way, into a scratch table made LIKE
//   whale_activity: feed rows are only ever written through IngestActivities, whose leader-row
//   lock keeps sequence order equal to commit order.
// Run through deploy/bench, which starts a private MariaDB and sets WHALEFEED_TEST_MYSQL_DSN.
#include <benchmark/benchmark.h>
#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "db/mysql_rows.h"
#include "db/mysql_store.h"
#include "tests/bench/bench_main.h"
#include "tests/testing/test_database.h"

namespace whalefeed::bench {
namespace {

constexpr int kPage = 20;
const std::string kWallet = "0x" + std::string(40, 'b');

std::unique_ptr<testing::TestDatabase> database;
std::unique_ptr<db::MySqlStore> store;
db::Fence fence;
int64_t next_trade = 0;

std::vector<db::Activity> NewPage() {
  std::vector<db::Activity> page;
  for (int i = 0; i < kPage; ++i) {
    db::Activity a;
    a.tx_hash = absl::StrFormat("0x%064x", next_trade++);
    a.wallet = kWallet;
    a.market_id = 16565;
    a.root_market_id = 788;
    a.market_title = "Team A";
    a.root_market_title = "Who wins the final?";
    a.side = db::Side::kBuy;
    a.outcome = db::Outcome::kYes;
    a.outcome_label = "YES";
    a.price = "0.62";
    a.shares = "16129.03";
    a.amount_usd = "10000.00";
    a.fee_usd = "20.00";
    a.traded_time = absl::FromUnixSeconds(1767225600 + next_trade);
    a.origin = db::Origin::kLive;
    page.push_back(std::move(a));
  }
  return page;
}

db::PollState Poll() {
  const absl::Time now = absl::Now();
  return {now, now + absl::Minutes(1), next_trade};
}

void BM_IngestNewPage(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<db::IngestResult> r =
        store->IngestActivities(fence, kWallet, NewPage(), Poll(), absl::Now());
    if (!r.ok() || r->inserted_sequences.size() != kPage) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_IngestNewPage)->UseRealTime();

void BM_IngestSeenPage(benchmark::State& state) {
  const std::vector<db::Activity> page = NewPage();
  if (!store->IngestActivities(fence, kWallet, page, Poll(), absl::Now()).ok()) {
    state.SkipWithError("first ingest failed");
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<db::IngestResult> r =
        store->IngestActivities(fence, kWallet, page, Poll(), absl::Now());
    if (!r.ok() || r->duplicates != kPage) {
      state.SkipWithError("re-polled page was not all duplicates");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_IngestSeenPage)->UseRealTime();

void BM_BaselineAutocommitRows(benchmark::State& state) {
  auto connection = database->Connect();
  if (!connection.ok()) {
    state.SkipWithError(std::string(connection.status().message()).c_str());
    return;
  }
  (*connection)->Execute("CREATE TABLE IF NOT EXISTS baseline_activity LIKE whale_activity");
  sql::PreparedStatement& insert =
      (*connection)->Prepare(db::ActivityInsertSql(1, "baseline_activity"));
  for (auto _ : state) {
    for (db::Activity& a : NewPage()) {
      a.activity_id = db::MakeActivityId(a);
      db::BindActivity(insert, 0, a, absl::Now());
      insert.executeUpdate();
    }
  }
  state.SetItemsProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_BaselineAutocommitRows)->UseRealTime();

}  // namespace
}  // namespace whalefeed::bench

int main(int argc, char** argv) {
  auto created = whalefeed::testing::TestDatabase::Create();
  if (!created.ok()) {
    std::fprintf(stderr, "store_ingest_bench: %s\n",
                 std::string(created.status().message()).c_str());
    return 1;
  }
  whalefeed::bench::database = *std::move(created);
  whalefeed::db::MySqlStoreOptions options;
  options.dsn = whalefeed::bench::database->dsn();
  auto store = whalefeed::db::MySqlStore::Create(options);
  if (!store.ok() || !(*store)->PrepareDatabase().ok() ||
      !(*store)
           ->TrackWhale(whalefeed::bench::kWallet, "bench", whalefeed::db::WhaleSource::kApi,
                        absl::Now())
           .ok()) {
    std::fprintf(stderr, "store_ingest_bench: cannot prepare the database\n");
    return 1;
  }
  auto fence = (*store)->AdvanceLeaderEpoch("store_ingest_bench", absl::Now());
  if (!fence.ok()) {
    std::fprintf(stderr, "store_ingest_bench: %s\n", std::string(fence.status().message()).c_str());
    return 1;
  }
  whalefeed::bench::fence = *fence;
  whalefeed::bench::store = *std::move(store);
  const int code = whalefeed::bench::RunBenchmarksWithRatios(argc, argv);
  whalefeed::bench::store.reset();
  whalefeed::bench::database.reset();
  return code;
}
