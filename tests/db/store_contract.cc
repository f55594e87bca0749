#include "tests/db/store_contract.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "db/filter.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::db {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::StatusIs;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

std::string Wallet(int n) { return absl::StrFormat("0x%040x", n); }

Market BinaryMarket(int64_t id) {
  Market m;
  m.market_id = id;
  m.title = absl::StrCat("Will market ", id, " resolve YES?");
  m.status = MarketStatus::kActivated;
  m.market_type = MarketType::kBinary;
  m.yes_label = "Yes";
  m.no_label = "No";
  m.yes_token_id = "58492017366110283794601133549018277364500192837465019283746501928374650192837";
  m.no_token_id = "1203948576102938475610293847561029384756102938475610293847561029384756102938";
  m.condition_id = "9f1c2e3d4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
  m.volume = "250000.50";
  m.volume_24h = "18000.5";
  m.volume_7d = "90000";
  m.labels = {"Crypto", "BNB"};
  m.slug = absl::StrCat("market-", id);
  m.rules = "Resolves YES if ...";
  m.created_time = kT0 - absl::Hours(24 * 30);
  m.cutoff_time = kT0 + absl::Hours(24 * 30);
  return m;
}

Activity Trade(const std::string& wallet, int n, absl::Time traded) {
  Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", n);
  a.wallet = wallet;
  a.market_id = 16565;
  a.root_market_id = 788;
  a.market_title = "Team A";
  a.root_market_title = "Who wins the final?";
  a.side = Side::kBuy;
  a.outcome = Outcome::kYes;
  a.outcome_label = "YES";
  a.price = "0.62";
  a.shares = "16129.03";
  a.amount_usd = "10000.00";
  a.fee_usd = "20.00";
  a.profit_usd = "0";
  a.traded_time = traded;
  a.origin = Origin::kLive;
  return a;
}

PollState Poll(absl::Time at, int64_t seen) { return {at, at + absl::Minutes(1), seen}; }

TEST_P(StoreContractTest, PingAndFeedMeta) {
  EXPECT_OK(store().Ping());
  ASSERT_OK_AND_ASSIGN(FeedMeta meta, store().GetFeedMeta());
  EXPECT_EQ(meta.feed_id.size(), 32u);
  EXPECT_EQ(meta.retention_floor, 0u);
  EXPECT_FALSE(meta.token_key.empty());
  ASSERT_OK_AND_ASSIGN(int version, store().GetSchemaVersion());
  EXPECT_GE(version, 1);
}

TEST_P(StoreContractTest, MarketRoundTripKeepsEveryField) {
  Market m = BinaryMarket(901);
  ASSERT_OK_AND_ASSIGN(UpsertMarketsResult r, store().UpsertMarkets(fence(), {m}, kT0));
  EXPECT_EQ(r.inserted, 1);
  ASSERT_OK_AND_ASSIGN(Market got, store().GetMarket(901));
  ASSERT_OK_AND_ASSIGN(Market canonical, NormalizeMarket(m));
  EXPECT_TRUE(got.SameContent(canonical));  // every upstream field, decimals in canonical form
  EXPECT_EQ(got.title, m.title);
  EXPECT_EQ(got.yes_token_id, m.yes_token_id);  // 77 digits, never a number
  EXPECT_EQ(got.volume, "250000.5");            // canonical decimal
  EXPECT_EQ(got.volume_24h, "18000.5");
  EXPECT_EQ(got.volume_7d, "90000");
  EXPECT_THAT(got.labels, ElementsAre("Crypto", "BNB"));
  EXPECT_EQ(got.created_time, m.created_time);
  EXPECT_EQ(got.cutoff_time, m.cutoff_time);
  EXPECT_EQ(got.resolved_time, absl::InfinitePast());
  EXPECT_EQ(got.synced_time, kT0);
  EXPECT_EQ(got.updated_time, kT0);
}

TEST_P(StoreContractTest, UpsertWritesOnlyChangesButTouchesSyncedTime) {
  Market a = BinaryMarket(1), b = BinaryMarket(2);
  ASSERT_OK(store().UpsertMarkets(fence(), {a, b}, kT0).status());
  b.status = MarketStatus::kResolved;
  b.resolved_time = kT0 + absl::Hours(1);
  b.labels = {"Sports"};
  const absl::Time t1 = kT0 + absl::Minutes(5);
  ASSERT_OK_AND_ASSIGN(UpsertMarketsResult r, store().UpsertMarkets(fence(), {a, b}, t1));
  EXPECT_EQ(r.inserted, 0);
  EXPECT_EQ(r.updated, 1);
  EXPECT_EQ(r.unchanged, 1);
  ASSERT_OK_AND_ASSIGN(Market got_a, store().GetMarket(1));
  EXPECT_EQ(got_a.synced_time, t1);
  EXPECT_EQ(got_a.updated_time, kT0);
  ASSERT_OK_AND_ASSIGN(Market got_b, store().GetMarket(2));
  EXPECT_EQ(got_b.updated_time, t1);
  EXPECT_EQ(got_b.status, MarketStatus::kResolved);
  EXPECT_EQ(got_b.resolved_time, kT0 + absl::Hours(1));
  EXPECT_THAT(got_b.labels, ElementsAre("Sports"));
}

TEST_P(StoreContractTest, UpsertsManyMarketsInBatches) {
  std::vector<Market> markets;
  for (int id = 1; id <= 450; ++id) markets.push_back(BinaryMarket(id));
  ASSERT_OK_AND_ASSIGN(UpsertMarketsResult first, store().UpsertMarkets(fence(), markets, kT0));
  EXPECT_EQ(first.inserted, 450);
  for (int id : {7, 250, 449}) markets[id - 1].volume_24h = "1";
  markets.push_back(BinaryMarket(451));
  ASSERT_OK_AND_ASSIGN(UpsertMarketsResult second,
                       store().UpsertMarkets(fence(), markets, kT0 + absl::Minutes(5)));
  EXPECT_EQ(second.inserted, 1);
  EXPECT_EQ(second.updated, 3);
  EXPECT_EQ(second.unchanged, 447);
  ASSERT_OK_AND_ASSIGN(Market m, store().GetMarket(449));
  EXPECT_EQ(m.volume_24h, "1");
  EXPECT_EQ(m.synced_time, kT0 + absl::Minutes(5));
  ASSERT_OK_AND_ASSIGN(Market untouched, store().GetMarket(448));
  EXPECT_EQ(untouched.updated_time, kT0);
  EXPECT_EQ(untouched.synced_time, kT0 + absl::Minutes(5));
  EXPECT_THAT(untouched.labels, ElementsAre("Crypto", "BNB"));
}

TEST_P(StoreContractTest, CategoricalChildren) {
  Market parent = BinaryMarket(788);
  parent.market_type = MarketType::kCategorical;
  parent.yes_token_id = parent.no_token_id = parent.condition_id = "";
  Market child1 = BinaryMarket(16566), child2 = BinaryMarket(16565);
  child1.parent_market_id = child2.parent_market_id = 788;
  ASSERT_OK(store().UpsertMarkets(fence(), {parent, child1, child2}, kT0).status());
  ASSERT_OK_AND_ASSIGN(std::vector<Market> children, store().GetChildMarkets(788));
  ASSERT_THAT(children, SizeIs(2));
  EXPECT_EQ(children[0].market_id, 16565);
  EXPECT_EQ(children[1].market_id, 16566);
  ASSERT_OK_AND_ASSIGN(std::vector<Market> none, store().GetChildMarkets(16565));
  EXPECT_THAT(none, IsEmpty());
}

TEST_P(StoreContractTest, BadInputIsRejectedNamingTheField) {
  Market m = BinaryMarket(5);
  m.volume_24h = "12,5";
  EXPECT_THAT(store().UpsertMarkets(fence(), {m}, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("volume_24h")));
  EXPECT_THAT(store().GetMarket(5), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().TrackWhale("0x123", "", WhaleSource::kApi, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wallet")));
  ASSERT_OK(store().TrackWhale(Wallet(1), "", WhaleSource::kApi, kT0).status());
  Activity bad = Trade(Wallet(1), 1, kT0);
  bad.amount_usd = "1e5";
  EXPECT_THAT(store().IngestActivities(fence(), Wallet(1), {bad}, Poll(kT0, 1), kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount_usd")));
  EXPECT_THAT(store().ReadActivitiesAfter(0, 10), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreContractTest, TrackUntrackAndLabels) {
  const std::string upper = "0xABCDEF" + std::string(34, 'A');
  ASSERT_OK_AND_ASSIGN(Whale w, store().TrackWhale(upper, "big fish", WhaleSource::kFile, kT0));
  EXPECT_EQ(w.wallet, "0xabcdef" + std::string(34, 'a'));
  EXPECT_TRUE(w.tracked);
  EXPECT_EQ(w.label, "big fish");
  EXPECT_EQ(w.source, WhaleSource::kFile);
  EXPECT_EQ(w.tracked_since, kT0);
  EXPECT_EQ(w.trades_seen, 0);

  // Tracking again updates the label and keeps tracked_since; an empty label keeps the current one.
  ASSERT_OK_AND_ASSIGN(
      w, store().TrackWhale(w.wallet, "whale", WhaleSource::kApi, kT0 + absl::Hours(1)));
  EXPECT_EQ(w.label, "whale");
  EXPECT_EQ(w.tracked_since, kT0);
  ASSERT_OK_AND_ASSIGN(w,
                       store().TrackWhale(w.wallet, "", WhaleSource::kApi, kT0 + absl::Hours(1)));
  EXPECT_EQ(w.label, "whale");

  ASSERT_OK_AND_ASSIGN(w, store().UntrackWhale(upper));
  EXPECT_FALSE(w.tracked);
  ASSERT_OK_AND_ASSIGN(std::vector<Whale> tracked, store().ListWhales(/*tracked_only=*/true));
  EXPECT_THAT(tracked, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<Whale> all, store().ListWhales(/*tracked_only=*/false));
  EXPECT_THAT(all, SizeIs(1));
  // Re-tracking an untracked wallet starts a new tracked period.
  ASSERT_OK_AND_ASSIGN(w,
                       store().TrackWhale(w.wallet, "", WhaleSource::kApi, kT0 + absl::Hours(2)));
  EXPECT_EQ(w.tracked_since, kT0 + absl::Hours(2));

  EXPECT_THAT(store().UntrackWhale(Wallet(77)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().GetWhale(Wallet(77)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, IngestAssignsIncreasingSequencesAndNeverDuplicates) {
  const std::string w1 = Wallet(1), w2 = Wallet(2);
  ASSERT_OK(store().TrackWhale(w1, "", WhaleSource::kApi, kT0).status());
  ASSERT_OK(store().TrackWhale(w2, "", WhaleSource::kApi, kT0).status());
  const absl::Time now = kT0 + absl::Minutes(1);
  std::vector<Activity> page = {Trade(w1, 1, kT0 + absl::Seconds(3)),
                                Trade(w1, 2, kT0 + absl::Seconds(2))};
  ASSERT_OK_AND_ASSIGN(IngestResult first,
                       store().IngestActivities(fence(), w1, page, Poll(now, 2), now));
  ASSERT_THAT(first.inserted_sequences, SizeIs(2));
  EXPECT_LT(first.inserted_sequences[0], first.inserted_sequences[1]);
  EXPECT_EQ(first.duplicates, 0);

  // The same page again, plus one new trade: only the new one is stored.
  page.push_back(Trade(w1, 3, kT0 + absl::Seconds(4)));
  ASSERT_OK_AND_ASSIGN(IngestResult second,
                       store().IngestActivities(fence(), w1, page, Poll(now, 3), now));
  ASSERT_THAT(second.inserted_sequences, SizeIs(1));
  EXPECT_EQ(second.duplicates, 2);
  EXPECT_GT(second.inserted_sequences[0], first.inserted_sequences[1]);

  // A trade of another wallet in the same transaction (the same tx hash) is a different activity.
  ASSERT_OK_AND_ASSIGN(
      IngestResult other,
      store().IngestActivities(fence(), w2, {Trade(w2, 1, kT0)}, Poll(now, 1), now));
  ASSERT_THAT(other.inserted_sequences, SizeIs(1));

  ASSERT_OK_AND_ASSIGN(std::vector<Activity> all, store().ReadActivitiesAfter(0, 100));
  // Reads return exactly the sequences the ingests reported, in the order they were committed.
  std::vector<uint64_t> read;
  for (const Activity& a : all) read.push_back(a.sequence);
  EXPECT_THAT(read, ElementsAre(first.inserted_sequences[0], first.inserted_sequences[1],
                                second.inserted_sequences[0], other.inserted_sequences[0]));
  ASSERT_OK_AND_ASSIGN(uint64_t latest, store().GetLatestSequence());
  EXPECT_EQ(latest, all.back().sequence);

  const Activity& a = all[0];
  EXPECT_EQ(a.wallet, w1);
  EXPECT_EQ(a.tx_hash, page[0].tx_hash);
  EXPECT_EQ(a.price, "0.62");
  EXPECT_EQ(a.shares, "16129.03");
  EXPECT_EQ(a.amount_usd, "10000");
  EXPECT_EQ(a.fee_usd, "20");
  EXPECT_EQ(a.traded_time, kT0 + absl::Seconds(3));
  EXPECT_EQ(a.ingested_time, now);
  EXPECT_EQ(a.side, Side::kBuy);
  EXPECT_EQ(a.outcome, Outcome::kYes);
  EXPECT_EQ(a.origin, Origin::kLive);
  EXPECT_EQ(a.market_title, "Team A");
  EXPECT_EQ(a.root_market_id, 788);
  EXPECT_EQ(a.activity_id, MakeActivityId(a));
  EXPECT_EQ(a.activity_id.size(), 32u);
  EXPECT_NE(all[3].activity_id, a.activity_id);

  ASSERT_OK_AND_ASSIGN(std::vector<Activity> tail, store().ReadActivitiesAfter(all[1].sequence, 1));
  ASSERT_THAT(tail, SizeIs(1));
  EXPECT_EQ(tail[0].sequence, all[2].sequence);
}

TEST_P(StoreContractTest, IngestHandlesRepeatsWithinABatchAndLargeBatches) {
  const std::string w = Wallet(3);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  std::vector<Activity> page = {Trade(w, 1, kT0), Trade(w, 2, kT0), Trade(w, 1, kT0)};
  ASSERT_OK_AND_ASSIGN(IngestResult repeated,
                       store().IngestActivities(fence(), w, page, Poll(kT0, 3), kT0));
  EXPECT_THAT(repeated.inserted_sequences, SizeIs(2));
  EXPECT_EQ(repeated.duplicates, 1);

  std::vector<Activity> large;
  for (int n = 100; n < 400; ++n) large.push_back(Trade(w, n, kT0 + absl::Seconds(n)));
  ASSERT_OK_AND_ASSIGN(IngestResult result,
                       store().IngestActivities(fence(), w, large, Poll(kT0, 300), kT0));
  ASSERT_THAT(result.inserted_sequences, SizeIs(300));
  EXPECT_EQ(result.duplicates, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<Activity> stored,
                       store().ReadActivitiesAfter(repeated.inserted_sequences.back(), 1000));
  ASSERT_THAT(stored, SizeIs(300));
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].tx_hash, large[i].tx_hash) << "sequences follow the order given";
    EXPECT_EQ(stored[i].sequence, result.inserted_sequences[i]);
  }
  ASSERT_OK_AND_ASSIGN(Whale got, store().GetWhale(w));
  EXPECT_EQ(got.checkpoint_tx_hash, large.back().tx_hash);
}

TEST_P(StoreContractTest, IngestUpdatesPollStateAndCheckpoint) {
  const std::string w = Wallet(9);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  const absl::Time now = kT0 + absl::Minutes(2);
  ASSERT_OK(store()
                .IngestActivities(
                    fence(), w,
                    {Trade(w, 10, kT0 + absl::Seconds(5)), Trade(w, 11, kT0 + absl::Seconds(9))},
                    Poll(now, 2), now)
                .status());
  ASSERT_OK_AND_ASSIGN(Whale got, store().GetWhale(w));
  EXPECT_EQ(got.last_polled_time, now);
  EXPECT_EQ(got.next_poll_time, now + absl::Minutes(1));
  EXPECT_EQ(got.trades_seen, 2);
  EXPECT_EQ(got.checkpoint_tx_hash, Trade(w, 11, kT0).tx_hash);
  EXPECT_EQ(got.checkpoint_traded_time, kT0 + absl::Seconds(9));

  // A poll with nothing new still records the poll.
  const absl::Time later = now + absl::Minutes(1);
  ASSERT_OK(store().IngestActivities(fence(), w, {}, Poll(later, 2), later).status());
  ASSERT_OK_AND_ASSIGN(got, store().GetWhale(w));
  EXPECT_EQ(got.last_polled_time, later);
  EXPECT_EQ(got.checkpoint_tx_hash, Trade(w, 11, kT0).tx_hash);

  EXPECT_THAT(store().IngestActivities(fence(), Wallet(10), {}, Poll(later, 0), later),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      store().IngestActivities(fence(), w, {Trade(Wallet(10), 1, kT0)}, Poll(later, 0), later),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

// The feed's reader tails `sequence > last`. That loses nothing only if sequence order is commit
// order: a row committed after the reader passed its sequence would never be seen.
TEST_P(StoreContractTest, ATailingReaderSeesEveryCommittedActivityInOrder) {
  constexpr int kWriters = 4, kPollsEach = 40;
  for (int i = 0; i < kWriters; ++i) {
    ASSERT_OK(store().TrackWhale(Wallet(100 + i), "", WhaleSource::kApi, kT0).status());
  }
  std::atomic<bool> writers_done{false};
  std::vector<uint64_t> seen;
  absl::Status reader_status;
  std::thread reader([&] {
    uint64_t last = 0;
    while (true) {
      const bool final_pass = writers_done.load();
      absl::StatusOr<std::vector<Activity>> batch = store().ReadActivitiesAfter(last, 1000);
      if (!batch.ok()) {
        reader_status = batch.status();
        return;
      }
      for (const Activity& a : *batch) {
        seen.push_back(a.sequence);
        last = a.sequence;
      }
      if (final_pass && batch->empty()) return;
    }
  });
  std::vector<std::thread> writers;
  std::vector<absl::Status> results(kWriters);
  std::vector<std::vector<uint64_t>> committed(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      const std::string w = Wallet(100 + i);
      for (int n = 0; n < kPollsEach && results[i].ok(); ++n) {
        const std::vector<Activity> page = {Trade(w, 2 * n, kT0 + absl::Seconds(n)),
                                            Trade(w, 2 * n + 1, kT0 + absl::Seconds(n))};
        absl::StatusOr<IngestResult> r =
            store().IngestActivities(fence(), w, page, Poll(kT0, 2 * n + 2), kT0);
        results[i] = r.status();
        if (r.ok()) {
          committed[i].insert(committed[i].end(), r->inserted_sequences.begin(),
                              r->inserted_sequences.end());
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  writers_done = true;
  reader.join();
  for (const absl::Status& s : results) ASSERT_OK(s);
  ASSERT_OK(reader_status);
  std::vector<uint64_t> all;
  for (const auto& c : committed) all.insert(all.end(), c.begin(), c.end());
  std::sort(all.begin(), all.end());
  ASSERT_THAT(all, SizeIs(kWriters * kPollsEach * 2));
  // Everything committed reached the reader, once, in sequence order.
  EXPECT_EQ(seen, all);
}

TEST_P(StoreContractTest, ADeposedLeaderCannotWrite) {
  const Fence deposed = fence();
  const std::string w = Wallet(5);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  ASSERT_OK_AND_ASSIGN(int64_t open_run,
                       store().StartSyncRun(deposed, SyncJob::kMarkets, "replica-a", kT0));
  ASSERT_OK_AND_ASSIGN(Fence current,
                       store().AdvanceLeaderEpoch("replica-b", kT0 + absl::Minutes(1)));
  EXPECT_EQ(current.epoch, deposed.epoch + 1);
  ASSERT_OK_AND_ASSIGN(LeaderState leader, store().GetLeader());
  EXPECT_EQ(leader.epoch, current.epoch);
  EXPECT_EQ(leader.replica_id, "replica-b");
  EXPECT_EQ(leader.acquired_time, kT0 + absl::Minutes(1));

  for (const Fence& stale : {deposed, Fence{0}, Fence{current.epoch + 1}}) {
    SCOPED_TRACE(stale.epoch);
    EXPECT_THAT(store().UpsertMarkets(stale, {BinaryMarket(1)}, kT0),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(store().IngestActivities(stale, w, {Trade(w, 1, kT0)}, Poll(kT0, 1), kT0),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(store().StartSyncRun(stale, SyncJob::kStats, "replica-a", kT0),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(store().FinishSyncRun(stale, open_run, RunStatus::kCompleted, 1, "", kT0),
                StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  EXPECT_THAT(store().UpsertMarkets(deposed, {BinaryMarket(1)}, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("epoch")));
  // Nothing of it was written.
  EXPECT_THAT(store().GetMarket(1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().ReadActivitiesAfter(0, 10), IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(Whale whale, store().GetWhale(w));
  EXPECT_EQ(whale.last_polled_time, absl::InfinitePast());
  ASSERT_OK_AND_ASSIGN(std::vector<SyncJobSummary> jobs, store().GetSyncJobSummaries());
  ASSERT_THAT(jobs, SizeIs(1));
  EXPECT_EQ(jobs[0].latest.status, RunStatus::kRunning);

  // The new leader writes, and may close the run its predecessor left open.
  EXPECT_OK(store().UpsertMarkets(current, {BinaryMarket(1)}, kT0).status());
  EXPECT_OK(store().IngestActivities(current, w, {Trade(w, 1, kT0)}, Poll(kT0, 1), kT0).status());
  EXPECT_OK(store().FinishSyncRun(current, open_run, RunStatus::kFailed, 0, "leader lost", kT0));
}

// Column limits count characters, as MySQL's VARCHAR does: two-byte characters fit up to the limit.
TEST_P(StoreContractTest, TextFitsItsColumnOrIsRejectedNamingTheField) {
  auto repeat = [](absl::string_view s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, s);
    return out;
  };
  Market fits = BinaryMarket(7);
  fits.title = repeat("\xc3\xa9", kMaxTitleChars);  // é
  fits.labels = {repeat("\xc3\xbc", kMaxLabelChars)};
  fits.yes_token_id = std::string(kMaxTokenIdDigits, '9');
  fits.slug = repeat("s", kMaxSlugChars);
  ASSERT_OK(store().UpsertMarkets(fence(), {fits}, kT0).status());
  ASSERT_OK_AND_ASSIGN(Market got, store().GetMarket(7));
  EXPECT_EQ(got.title, fits.title);
  EXPECT_EQ(got.labels, fits.labels);

  struct Case {
    const char* field;
    std::function<void(Market&)> spoil;
  };
  const std::vector<Case> market_cases = {
      {"title", [&](Market& m) { m.title = repeat("\xc3\xa9", kMaxTitleChars + 1); }},
      {"title", [](Market& m) { m.title = "bad \xff byte"; }},
      {"yes_label", [&](Market& m) { m.yes_label = repeat("y", kMaxLabelChars + 1); }},
      {"labels",
       [&](Market& m) {
         m.labels = {"ok", repeat("l", kMaxLabelChars + 1)};
       }},
      {"slug", [&](Market& m) { m.slug = repeat("s", kMaxSlugChars + 1); }},
      {"condition_id", [&](Market& m) { m.condition_id = repeat("c", kMaxConditionIdChars + 1); }},
      {"yes_token_id",
       [&](Market& m) { m.yes_token_id = std::string(kMaxTokenIdDigits + 1, '1'); }},
      {"no_token_id", [](Market& m) { m.no_token_id = "12x"; }},
  };
  for (const Case& c : market_cases) {
    Market m = BinaryMarket(8);
    c.spoil(m);
    EXPECT_THAT(store().UpsertMarkets(fence(), {BinaryMarket(9), m}, kT0),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)));
  }
  EXPECT_THAT(store().GetMarket(8), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().GetMarket(9), StatusIs(absl::StatusCode::kNotFound));

  const std::string w = Wallet(6);
  ASSERT_OK(
      store().TrackWhale(w, repeat("\xc3\xa9", kMaxLabelChars), WhaleSource::kApi, kT0).status());
  EXPECT_THAT(
      store().TrackWhale(Wallet(66), repeat("x", kMaxLabelChars + 1), WhaleSource::kApi, kT0),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label")));
  EXPECT_THAT(store().GetWhale(Wallet(66)), StatusIs(absl::StatusCode::kNotFound));

  const std::vector<std::pair<const char*, std::function<void(Activity&)>>> activity_cases = {
      {"tx_hash", [&](Activity& a) { a.tx_hash = repeat("f", kMaxTxHashChars + 1); }},
      {"market_title", [&](Activity& a) { a.market_title = repeat("t", kMaxTitleChars + 1); }},
      {"root_market_title",
       [&](Activity& a) { a.root_market_title = repeat("t", kMaxTitleChars + 1); }},
      {"outcome_label", [&](Activity& a) { a.outcome_label = repeat("o", kMaxLabelChars + 1); }},
  };
  for (const auto& [field, spoil] : activity_cases) {
    Activity a = Trade(w, 1, kT0);
    spoil(a);
    EXPECT_THAT(store().IngestActivities(fence(), w, {Trade(w, 2, kT0), a}, Poll(kT0, 2), kT0),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)));
  }
  EXPECT_THAT(store().ReadActivitiesAfter(0, 10), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(
      store().StartSyncRun(fence(), SyncJob::kMarkets, repeat("r", kMaxReplicaIdChars + 1), kT0),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("replica_id")));
}

TEST_P(StoreContractTest, SyncRuns) {
  ASSERT_OK_AND_ASSIGN(std::vector<SyncJobSummary> none, store().GetSyncJobSummaries());
  EXPECT_THAT(none, IsEmpty());
  ASSERT_OK_AND_ASSIGN(int64_t first,
                       store().StartSyncRun(fence(), SyncJob::kMarkets, "replica-a", kT0));
  ASSERT_OK(store().FinishSyncRun(fence(), first, RunStatus::kCompleted, 300, "",
                                  kT0 + absl::Seconds(4)));
  ASSERT_OK_AND_ASSIGN(int64_t second, store().StartSyncRun(fence(), SyncJob::kMarkets, "replica-b",
                                                            kT0 + absl::Minutes(5)));
  ASSERT_OK_AND_ASSIGN(int64_t trades,
                       store().StartSyncRun(fence(), SyncJob::kWhaleTrades, "replica-a", kT0));
  ASSERT_OK(store().FinishSyncRun(fence(), trades, RunStatus::kFailed, 0, "upstream: 401",
                                  kT0 + absl::Seconds(1)));
  EXPECT_GT(second, first);

  ASSERT_OK_AND_ASSIGN(std::vector<SyncJobSummary> jobs, store().GetSyncJobSummaries());
  ASSERT_THAT(jobs, SizeIs(2));
  const SyncRun& markets = jobs[0].latest;
  EXPECT_EQ(markets.job, SyncJob::kMarkets);
  EXPECT_EQ(markets.run_id, second);
  EXPECT_EQ(markets.status, RunStatus::kRunning);
  EXPECT_EQ(markets.replica_id, "replica-b");
  EXPECT_EQ(markets.ended_time, absl::InfinitePast());
  EXPECT_EQ(jobs[0].last_completed_time, kT0 + absl::Seconds(4));  // the run before
  const SyncRun& trades_run = jobs[1].latest;
  EXPECT_EQ(trades_run.job, SyncJob::kWhaleTrades);
  EXPECT_EQ(trades_run.status, RunStatus::kFailed);
  EXPECT_EQ(trades_run.error, "upstream: 401");
  EXPECT_EQ(trades_run.ended_time, kT0 + absl::Seconds(1));
  EXPECT_EQ(jobs[1].last_completed_time, absl::InfinitePast());  // never completed
  EXPECT_THAT(store().FinishSyncRun(fence(), 12345, RunStatus::kCompleted, 0, "", kT0),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, FinishingARunAgainWithTheSameValuesIsOk) {
  ASSERT_OK_AND_ASSIGN(int64_t run, store().StartSyncRun(fence(), SyncJob::kStats, "r", kT0));
  const absl::Time ended = kT0 + absl::Seconds(4) + absl::Microseconds(7);
  // An error longer than the column is cut at a character boundary, the same way every time.
  std::string error;
  for (size_t i = 0; i < kMaxSyncErrorBytes; ++i) absl::StrAppend(&error, "\xc3\xa9");
  ASSERT_OK(store().FinishSyncRun(fence(), run, RunStatus::kFailed, 5, error, ended));
  EXPECT_OK(store().FinishSyncRun(fence(), run, RunStatus::kFailed, 5, error, ended));
  EXPECT_THAT(store().FinishSyncRun(fence(), run, RunStatus::kFailed, 6, error, ended),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store().FinishSyncRun(fence(), run, RunStatus::kCompleted, 5, error, ended),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(std::vector<SyncJobSummary> jobs, store().GetSyncJobSummaries());
  ASSERT_THAT(jobs, SizeIs(1));
  EXPECT_EQ(jobs[0].latest.status, RunStatus::kFailed);
  EXPECT_EQ(jobs[0].latest.item_count, 5);
  EXPECT_EQ(jobs[0].latest.ended_time, ended);
  EXPECT_EQ(jobs[0].latest.error.size(), kMaxSyncErrorBytes);  // 30000 whole characters
  EXPECT_EQ(jobs[0].latest.error, error.substr(0, kMaxSyncErrorBytes));
}

// ---------------------------------------------------------------------------------------------
// Read API for the query services.

// Markets for the screener tests: three binaries (ids 10, 20, 30) and a categorical parent (40)
// with children 41 and 42; whale flow on 20 (both outcomes), 41 and 42.
void SeedScreener(Store& store, const Fence& fence) {
  std::vector<Market> markets;
  for (int id : {10, 20, 30}) markets.push_back(BinaryMarket(id));
  markets[0].volume_24h = "500";
  markets[1].volume_24h = "1500.25";
  markets[2].volume_24h = "500";  // ties with 10: broken by market_id
  markets[2].status = MarketStatus::kResolved;
  markets[2].cutoff_time = absl::InfinitePast();  // unset: sorts before every set time
  markets[1].created_time = kT0 - absl::Hours(1);
  Market parent = BinaryMarket(40);
  parent.market_type = MarketType::kCategorical;
  parent.yes_label = parent.no_label = parent.yes_token_id = parent.no_token_id = "";
  parent.condition_id = "";
  parent.volume_24h = "900";
  parent.labels = {"Sports"};
  markets.push_back(parent);
  for (int id : {42, 41}) {
    Market child = BinaryMarket(id);
    child.parent_market_id = 40;
    child.volume_24h = "0";
    child.labels = {};
    markets.push_back(child);
  }
  ASSERT_OK(store.UpsertMarkets(fence, markets, kT0).status());
  std::vector<MarketWhaleFlow> flows;
  auto flow = [&](int64_t id, Outcome outcome, const char* buy, const char* sell) {
    MarketWhaleFlow f;
    f.market_id = id;
    f.outcome = outcome;
    f.buy_volume_usd = buy;
    f.sell_volume_usd = sell;
    flows.push_back(f);
  };
  flow(20, Outcome::kYes, "100.5", "20");
  flow(20, Outcome::kNo, "0", "30");
  flow(41, Outcome::kYes, "1000", "0");
  flow(42, Outcome::kNo, "5", "5");
  ASSERT_OK(store.UpsertMarketWhaleFlow(fence, flows, kT0));
}

std::vector<int64_t> MarketIds(const MarketPage& page) {
  std::vector<int64_t> ids;
  for (const MarketEntry& e : page.markets) ids.push_back(e.market.market_id);
  return ids;
}

// Walks a market list in pages of `limit`: every id once, in order.
std::vector<int64_t> WalkMarkets(Store& store, MarketQuery query, int limit) {
  std::vector<int64_t> ids;
  query.limit = limit;
  for (int pages = 0; pages < 100; ++pages) {
    absl::StatusOr<MarketPage> page = store.ListMarketEntries(query);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    for (int64_t id : MarketIds(*page)) ids.push_back(id);
    if (!page->more) break;
    query.after = page->last;
  }
  return ids;
}

TEST_P(StoreContractTest, MarketEntriesInOrderWithChildrenAndWhaleVolume) {
  ASSERT_NO_FATAL_FAILURE(SeedScreener(store(), fence()));
  ASSERT_OK_AND_ASSIGN(MarketPage page, store().ListMarketEntries(MarketQuery{}));
  EXPECT_EQ(page.total_size, 4);
  EXPECT_FALSE(page.more);
  // volume_24h desc, ties by market_id desc; children only inside their parent.
  EXPECT_THAT(MarketIds(page), ElementsAre(20, 40, 30, 10));
  EXPECT_EQ(page.markets[0].whale_volume_24h, "150.5");
  EXPECT_EQ(page.markets[1].whale_volume_24h, "1010");  // the sum over its children
  EXPECT_EQ(page.markets[2].whale_volume_24h, "0");
  ASSERT_THAT(page.markets[1].children, SizeIs(2));
  EXPECT_EQ(page.markets[1].children[0].market.market_id, 41);
  EXPECT_EQ(page.markets[1].children[0].whale_volume_24h, "1000");
  EXPECT_EQ(page.markets[1].children[1].market.market_id, 42);
  EXPECT_EQ(page.markets[1].children[1].whale_volume_24h, "10");
  EXPECT_THAT(page.markets[1].market.labels, ElementsAre("Sports"));
  EXPECT_THAT(page.markets[0].market.labels, ElementsAre("Crypto", "BNB"));
  EXPECT_THAT(page.markets[0].children, IsEmpty());

  MarketQuery by_whale;
  by_whale.order = {MarketOrderKey::kWhaleVolume24h, true};
  ASSERT_OK_AND_ASSIGN(page, store().ListMarketEntries(by_whale));
  EXPECT_THAT(MarketIds(page), ElementsAre(40, 20, 30, 10));
  MarketQuery by_cutoff;
  by_cutoff.order = {MarketOrderKey::kCutoffTime, false};
  ASSERT_OK_AND_ASSIGN(page, store().ListMarketEntries(by_cutoff));
  EXPECT_THAT(MarketIds(page), ElementsAre(30, 10, 20, 40));  // unset first
  MarketQuery by_created;
  by_created.order = {MarketOrderKey::kCreatedTime, true};
  ASSERT_OK_AND_ASSIGN(page, store().ListMarketEntries(by_created));
  EXPECT_THAT(MarketIds(page), ElementsAre(20, 40, 30, 10));
}

TEST_P(StoreContractTest, MarketEntriesFilterAndCount) {
  ASSERT_NO_FATAL_FAILURE(SeedScreener(store(), fence()));
  auto ids = [&](absl::string_view text) {
    absl::StatusOr<Filter> filter = ParseMarketFilter(text);
    EXPECT_TRUE(filter.ok()) << filter.status();
    MarketQuery query;
    query.filter = &*filter;
    query.order = {MarketOrderKey::kMarketId, false};
    absl::StatusOr<MarketPage> page = store().ListMarketEntries(query);
    EXPECT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total_size, static_cast<int64_t>(page->markets.size()));
    return MarketIds(*page);
  };
  EXPECT_THAT(ids("status = ACTIVATED"), ElementsAre(10, 20, 40));
  EXPECT_THAT(ids("whale_volume_24h >= 150.5"), ElementsAre(20, 40));
  EXPECT_THAT(ids("label = \"Sports\""), ElementsAre(40));
  EXPECT_THAT(ids("NOT label:\"crypto\""), ElementsAre(40));
  EXPECT_THAT(ids("title:\"MARKET 3\" OR market_id = 10"), ElementsAre(10, 30));
  EXPECT_THAT(ids("cutoff_time > \"2020-01-01T00:00:00Z\" AND volume_24h < 1000"),
              ElementsAre(10, 40));
  EXPECT_THAT(ids("market_id = 41"), IsEmpty());  // children are not listed at top level
}

TEST_P(StoreContractTest, MarketWalksVisitEveryMarketOnceInEveryOrder) {
  std::vector<Market> markets;
  for (int id = 1; id <= 23; ++id) {
    Market m = BinaryMarket(id);
    m.volume = absl::StrCat(id % 4, ".5");  // many ties
    m.volume_24h = absl::StrCat(id % 3);
    m.volume_7d = absl::StrCat(100 - id);
    m.created_time = kT0 - absl::Hours(id % 5);
    if (id % 6 == 0) m.cutoff_time = absl::InfinitePast();
    markets.push_back(m);
  }
  ASSERT_OK(store().UpsertMarkets(fence(), markets, kT0).status());
  for (MarketOrderKey key :
       {MarketOrderKey::kVolume, MarketOrderKey::kVolume24h, MarketOrderKey::kVolume7d,
        MarketOrderKey::kWhaleVolume24h, MarketOrderKey::kCreatedTime, MarketOrderKey::kCutoffTime,
        MarketOrderKey::kMarketId}) {
    for (bool descending : {false, true}) {
      MarketQuery query;
      query.order = {key, descending};
      SCOPED_TRACE(OrderText(query.order));
      const std::vector<int64_t> all = WalkMarkets(store(), query, 1000);
      ASSERT_THAT(all, SizeIs(23));
      EXPECT_EQ(WalkMarkets(store(), query, 4), all);
      EXPECT_EQ(WalkMarkets(store(), query, 1), all);
    }
  }
}

TEST_P(StoreContractTest, MarketEntryOfAParentHasItsChildrenAndAChildStandsAlone) {
  ASSERT_NO_FATAL_FAILURE(SeedScreener(store(), fence()));
  ASSERT_OK_AND_ASSIGN(MarketEntry parent, store().GetMarketEntry(40));
  EXPECT_EQ(parent.whale_volume_24h, "1010");
  ASSERT_THAT(parent.children, SizeIs(2));
  EXPECT_EQ(parent.children[0].market.market_id, 41);
  EXPECT_THAT(parent.children[0].market.labels, IsEmpty());
  ASSERT_OK_AND_ASSIGN(MarketEntry child, store().GetMarketEntry(42));
  EXPECT_EQ(child.market.parent_market_id, 40);
  EXPECT_EQ(child.whale_volume_24h, "10");
  EXPECT_THAT(child.children, IsEmpty());
  ASSERT_OK_AND_ASSIGN(MarketEntry binary, store().GetMarketEntry(20));
  EXPECT_EQ(binary.whale_volume_24h, "150.5");
  EXPECT_THAT(binary.market.labels, ElementsAre("Crypto", "BNB"));
  EXPECT_THAT(store().GetMarketEntry(99), StatusIs(absl::StatusCode::kNotFound, HasSubstr("99")));
}

WhaleStats Stats(const std::string& wallet, StatsWindow window, const char* volume,
                 int64_t trades) {
  WhaleStats s;
  s.wallet = wallet;
  s.window = window;
  s.volume_usd = volume;
  s.buy_volume_usd = volume;
  s.trade_count = trades;
  s.realized_profit_usd = absl::StrCat("-", trades);
  s.last_trade_time = kT0 - absl::Minutes(trades);
  s.first_trade_time = kT0 - absl::Hours(trades);
  s.rank = static_cast<int32_t>(trades);
  s.computed_time = kT0;
  return s;
}

std::vector<std::string> Wallets(const WhalePage& page) {
  std::vector<std::string> out;
  for (const WhaleEntry& e : page.whales) out.push_back(e.whale.wallet);
  return out;
}

TEST_P(StoreContractTest, LeaderboardCountsWhalesWithoutStatsAsZero) {
  for (int n = 1; n <= 4; ++n) {
    ASSERT_OK(
        store().TrackWhale(Wallet(n), absl::StrCat("Fund ", n), WhaleSource::kFile, kT0).status());
  }
  ASSERT_OK(store().UntrackWhale(Wallet(4)).status());
  ASSERT_OK(store().UpsertWhaleStats(fence(),
                                     {Stats(Wallet(1), StatsWindow::k24h, "100", 3),
                                      Stats(Wallet(2), StatsWindow::k24h, "2500.5", 1),
                                      Stats(Wallet(3), StatsWindow::k7d, "99999", 50),
                                      Stats(Wallet(4), StatsWindow::k24h, "100", 7)},
                                     kT0));
  ASSERT_OK_AND_ASSIGN(WhalePage page, store().ListWhaleEntries(WhaleQuery{}));
  // volume desc, ties by wallet desc; wallet 3 has no 24h row: zero.
  EXPECT_THAT(Wallets(page), ElementsAre(Wallet(2), Wallet(4), Wallet(1), Wallet(3)));
  EXPECT_EQ(page.whales[0].stats.volume_usd, "2500.5");
  EXPECT_EQ(page.whales[0].stats.window, StatsWindow::k24h);
  EXPECT_EQ(page.whales[0].stats.rank, 1);
  EXPECT_EQ(page.whales[0].stats.last_trade_time, kT0 - absl::Minutes(1));
  EXPECT_EQ(page.whales[0].whale.label, "Fund 2");
  EXPECT_EQ(page.whales[3].stats.volume_usd, "0");
  EXPECT_EQ(page.whales[3].stats.trade_count, 0);
  EXPECT_EQ(page.whales[3].stats.window, StatsWindow::k24h);
  EXPECT_EQ(page.whales[3].stats.last_trade_time, absl::InfinitePast());

  WhaleQuery week;
  week.window = StatsWindow::k7d;
  ASSERT_OK_AND_ASSIGN(page, store().ListWhaleEntries(week));
  EXPECT_EQ(Wallets(page).front(), Wallet(3));
  EXPECT_EQ(page.whales[0].stats.volume_usd, "99999");

  ASSERT_OK_AND_ASSIGN(Filter tracked, ParseWhaleFilter("tracked = true AND volume_usd > 0"));
  WhaleQuery filtered;
  filtered.filter = &tracked;
  filtered.order = {WhaleOrderKey::kTradeCount, false};
  ASSERT_OK_AND_ASSIGN(page, store().ListWhaleEntries(filtered));
  EXPECT_THAT(Wallets(page), ElementsAre(Wallet(2), Wallet(1)));
  ASSERT_OK_AND_ASSIGN(Filter label, ParseWhaleFilter("label:\"FUND 3\" OR trade_count >= 7"));
  filtered.filter = &label;
  ASSERT_OK_AND_ASSIGN(page, store().ListWhaleEntries(filtered));
  EXPECT_THAT(Wallets(page), ElementsAre(Wallet(3), Wallet(4)));

  for (WhaleOrderKey key : {WhaleOrderKey::kVolumeUsd, WhaleOrderKey::kTradeCount,
                            WhaleOrderKey::kRealizedProfitUsd, WhaleOrderKey::kLastTradeTime}) {
    for (bool descending : {false, true}) {
      WhaleQuery query;
      query.order = {key, descending};
      SCOPED_TRACE(OrderText(query.order));
      query.limit = 1000;
      ASSERT_OK_AND_ASSIGN(WhalePage all, store().ListWhaleEntries(query));
      std::vector<std::string> walked;
      query.limit = 1;
      for (int i = 0; i < 10; ++i) {
        ASSERT_OK_AND_ASSIGN(WhalePage one, store().ListWhaleEntries(query));
        for (const std::string& w : Wallets(one)) walked.push_back(w);
        if (!one.more) break;
        query.after = one.last;
      }
      EXPECT_EQ(walked, Wallets(all));
    }
  }
}

TEST_P(StoreContractTest, WhaleStatsOfEveryWindowAndFencedWrites) {
  ASSERT_OK(store().UpsertWhaleStats(fence(), {Stats(Wallet(1), StatsWindow::k30d, "5", 1)}, kT0));
  ASSERT_OK(store().UpsertWhaleStats(fence(), {Stats(Wallet(1), StatsWindow::k30d, "6.5", 2)},
                                     kT0 + absl::Hours(1)));
  ASSERT_OK_AND_ASSIGN(std::vector<WhaleStats> stats,
                       store().GetWhaleStats(absl::AsciiStrToUpper(Wallet(1))));
  ASSERT_THAT(stats, SizeIs(4));
  EXPECT_EQ(stats[0].window, StatsWindow::k24h);
  EXPECT_EQ(stats[0].volume_usd, "0");
  EXPECT_EQ(stats[0].computed_time, absl::InfinitePast());
  EXPECT_EQ(stats[2].window, StatsWindow::k30d);
  EXPECT_EQ(stats[2].volume_usd, "6.5");
  EXPECT_EQ(stats[2].realized_profit_usd, "-2");
  EXPECT_EQ(stats[2].trade_count, 2);
  EXPECT_EQ(stats[2].first_trade_time, kT0 - absl::Hours(2));
  EXPECT_EQ(stats[3].window, StatsWindow::kAll);

  WhaleStats bad = Stats(Wallet(1), StatsWindow::k24h, "1e5", 1);
  EXPECT_THAT(store().UpsertWhaleStats(fence(), {bad}, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("volume_usd")));
  bad = Stats("0x12", StatsWindow::k24h, "1", 1);
  EXPECT_THAT(store().UpsertWhaleStats(fence(), {bad}, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wallet")));
  MarketWhaleFlow flow;
  flow.market_id = 5;
  flow.outcome = Outcome::kUnspecified;
  EXPECT_THAT(store().UpsertMarketWhaleFlow(fence(), {flow}, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outcome")));

  ASSERT_OK(store().AdvanceLeaderEpoch("another", kT0).status());
  EXPECT_THAT(store().UpsertWhaleStats(fence(), {Stats(Wallet(1), StatsWindow::k24h, "1", 1)}, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  flow.outcome = Outcome::kYes;
  EXPECT_THAT(store().UpsertMarketWhaleFlow(fence(), {flow}, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(stats, store().GetWhaleStats(Wallet(1)));
  EXPECT_EQ(stats[0].volume_usd, "0");
}

// Ingests `n` trades of `wallet`: amount i % 5, traded every minute backwards, the even ones
// BACKFILL.
void IngestMixed(Store& store, const Fence& fence, const std::string& wallet, int first, int n) {
  std::vector<Activity> trades;
  for (int i = first; i < first + n; ++i) {
    Activity a = Trade(wallet, i, kT0 - absl::Minutes(i % 7));
    a.amount_usd = absl::StrCat(i % 5, ".25");
    a.origin = i % 2 == 0 ? Origin::kBackfill : Origin::kLive;
    trades.push_back(a);
  }
  ASSERT_OK(store.IngestActivities(fence, wallet, trades, Poll(kT0, n), kT0).status());
}

std::vector<uint64_t> Sequences(const std::vector<Activity>& activities) {
  std::vector<uint64_t> out;
  for (const Activity& a : activities) out.push_back(a.sequence);
  return out;
}

TEST_P(StoreContractTest, RecentActivityIsNewestFirstWithBackfill) {
  ASSERT_OK(store().TrackWhale(Wallet(1), "One", WhaleSource::kApi, kT0).status());
  ASSERT_OK(store().TrackWhale(Wallet(2), "", WhaleSource::kApi, kT0).status());
  ASSERT_NO_FATAL_FAILURE(IngestMixed(store(), fence(), Wallet(1), 0, 10));
  ASSERT_NO_FATAL_FAILURE(IngestMixed(store(), fence(), Wallet(2), 100, 3));
  ASSERT_OK_AND_ASSIGN(std::vector<Activity> recent, store().ListRecentActivity(Wallet(1), 4));
  ASSERT_THAT(recent, SizeIs(4));
  // Traded minute offsets i % 7 for i = 0..9: newest are i = 0 and 7 (offset 0), then 1 and 8.
  EXPECT_EQ(recent[0].tx_hash, Trade(Wallet(1), 7, kT0).tx_hash);
  EXPECT_EQ(recent[1].tx_hash, Trade(Wallet(1), 0, kT0).tx_hash);
  EXPECT_EQ(recent[1].origin, Origin::kBackfill);
  EXPECT_EQ(recent[2].tx_hash, Trade(Wallet(1), 8, kT0).tx_hash);
  for (const Activity& a : recent) EXPECT_EQ(a.wallet, Wallet(1));
  ASSERT_OK_AND_ASSIGN(recent, store().ListRecentActivity(Wallet(1), 100));
  EXPECT_THAT(recent, SizeIs(10));
  EXPECT_THAT(store().ListRecentActivity(Wallet(1), 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  EXPECT_THAT(store().ListRecentActivity("0xnope", 5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wallet")));
}

TEST_P(StoreContractTest, ActivityListStopsAtTheHighWaterMark) {
  ASSERT_OK(store().TrackWhale(Wallet(1), "One", WhaleSource::kApi, kT0).status());
  ASSERT_OK(store().TrackWhale(Wallet(2), "", WhaleSource::kApi, kT0).status());
  ASSERT_NO_FATAL_FAILURE(IngestMixed(store(), fence(), Wallet(1), 0, 20));
  ASSERT_NO_FATAL_FAILURE(IngestMixed(store(), fence(), Wallet(2), 100, 9));
  ASSERT_OK_AND_ASSIGN(const uint64_t mark, store().GetLatestSequence());
  ASSERT_NO_FATAL_FAILURE(IngestMixed(store(), fence(), Wallet(1), 200, 5));

  ActivityQuery query;
  query.high_water = mark;
  query.include_backfill = true;
  query.limit = 1000;
  ASSERT_OK_AND_ASSIGN(ActivityPage all, store().ListActivity(query));
  ASSERT_THAT(all.activities, SizeIs(29));
  EXPECT_FALSE(all.more);
  EXPECT_EQ(all.activities.front().sequence, mark);  // sequence desc
  EXPECT_EQ(all.wallet_labels.front(), "");
  EXPECT_EQ(all.wallet_labels.back(), "One");
  query.include_backfill = false;
  ASSERT_OK_AND_ASSIGN(ActivityPage live, store().ListActivity(query));
  for (const Activity& a : live.activities) EXPECT_EQ(a.origin, Origin::kLive);
  EXPECT_THAT(live.activities, SizeIs(14));

  ASSERT_OK_AND_ASSIGN(Filter filter, ParseActivityFilter(absl::StrCat(
                                          "wallet = \"", Wallet(2), "\" AND amount_usd >= 2.25")));
  query.filter = &filter;
  query.include_backfill = true;
  ASSERT_OK_AND_ASSIGN(ActivityPage filtered, store().ListActivity(query));
  for (const Activity& a : filtered.activities) {
    EXPECT_EQ(a.wallet, Wallet(2));
    EXPECT_NE(a.amount_usd, "0.25");
    EXPECT_NE(a.amount_usd, "1.25");
  }
  EXPECT_THAT(filtered.activities, SizeIs(5));  // i = 102, 103, 104, 107, 108

  for (ActivityOrder order : {ActivityOrder{ActivityOrderKey::kSequence, true},
                              ActivityOrder{ActivityOrderKey::kSequence, false},
                              ActivityOrder{ActivityOrderKey::kTradedTime, true},
                              ActivityOrder{ActivityOrderKey::kTradedTime, false},
                              ActivityOrder{ActivityOrderKey::kAmountUsd, true}}) {
    SCOPED_TRACE(OrderText(order));
    ActivityQuery walk;
    walk.high_water = mark;
    walk.include_backfill = true;
    walk.order = order;
    walk.limit = 1000;
    ASSERT_OK_AND_ASSIGN(ActivityPage whole, store().ListActivity(walk));
    ASSERT_THAT(whole.activities, SizeIs(29));
    for (size_t i = 1; i < whole.activities.size(); ++i) {
      const Activity& a = whole.activities[i - 1];
      const Activity& b = whole.activities[i];
      if (order.key == ActivityOrderKey::kTradedTime) {
        EXPECT_TRUE(order.descending ? a.traded_time >= b.traded_time
                                     : a.traded_time <= b.traded_time);
      }
    }
    std::vector<uint64_t> walked;
    walk.limit = 4;
    for (int i = 0; i < 20; ++i) {
      ASSERT_OK_AND_ASSIGN(ActivityPage page, store().ListActivity(walk));
      for (uint64_t s : Sequences(page.activities)) walked.push_back(s);
      if (!page.more) break;
      walk.after = page.last;
    }
    EXPECT_EQ(walked, Sequences(whole.activities));
  }
  query.limit = 0;
  EXPECT_THAT(store().ListActivity(query),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  query.limit = kMaxQueryLimit + 1;
  EXPECT_THAT(store().ListActivity(query), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StoreOrderTest, ParsesEveryDocumentedOrderAndRefusesTheRest) {
  ASSERT_OK_AND_ASSIGN(MarketOrder m, ParseMarketOrder(""));
  EXPECT_EQ(OrderText(m), "volume_24h desc");
  ASSERT_OK_AND_ASSIGN(m, ParseMarketOrder("  Cutoff_Time   DESC "));
  EXPECT_EQ(OrderText(m), "cutoff_time desc");
  ASSERT_OK_AND_ASSIGN(m, ParseMarketOrder("market_id"));
  EXPECT_EQ(OrderText(m), "market_id");
  EXPECT_THAT(ParseMarketOrder("title"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("order_by"), HasSubstr("\"title\""))));
  EXPECT_THAT(ParseMarketOrder("volume desc desc"), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(WhaleOrder w, ParseWhaleOrder(""));
  EXPECT_EQ(OrderText(w), "volume_usd desc");
  ASSERT_OK_AND_ASSIGN(w, ParseWhaleOrder("last_trade_time"));
  EXPECT_EQ(OrderText(w), "last_trade_time");
  EXPECT_THAT(ParseWhaleOrder("wallet"), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(ActivityOrder a, ParseActivityOrder(""));
  EXPECT_EQ(OrderText(a), "sequence desc");
  ASSERT_OK_AND_ASSIGN(a, ParseActivityOrder("amount_usd desc"));
  EXPECT_EQ(OrderText(a), "amount_usd desc");
  EXPECT_THAT(ParseActivityOrder("amount_usd"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("order_by")));
}
// ---- Feed reads (WatchWhaleActivity) ------------------------------------------------------------

TEST_P(StoreContractTest, FeedPositionAtTime) {
  const std::string w = Wallet(7);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  // Empty feed: the head, 0.
  EXPECT_THAT(store().GetFeedPositionAt(kT0), IsOkAndHolds(0u));
  // Three polls ingested at kT0+1m, +2m, +3m.
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 3; ++i) {
    const absl::Time now = kT0 + absl::Minutes(i + 1);
    ASSERT_OK_AND_ASSIGN(
        IngestResult r,
        store().IngestActivities(fence(), w, {Trade(w, 100 + i, kT0)}, Poll(now, i + 1), now));
    ASSERT_THAT(r.inserted_sequences, SizeIs(1));
    seqs.push_back(r.inserted_sequences[0]);
  }
  // Before everything: one before the first row.
  EXPECT_THAT(store().GetFeedPositionAt(kT0), IsOkAndHolds(seqs[0] - 1));
  // Exactly at an ingest time: that row is the first streamed ("at or after").
  EXPECT_THAT(store().GetFeedPositionAt(kT0 + absl::Minutes(2)), IsOkAndHolds(seqs[1] - 1));
  EXPECT_THAT(store().GetFeedPositionAt(kT0 + absl::Minutes(2) + absl::Microseconds(1)),
              IsOkAndHolds(seqs[2] - 1));
  // After everything: the head.
  EXPECT_THAT(store().GetFeedPositionAt(kT0 + absl::Hours(1)), IsOkAndHolds(seqs[2]));
}

TEST_P(StoreContractTest, FeedFreshness) {
  ASSERT_OK_AND_ASSIGN(FeedFreshness empty, store().GetFeedFreshness());
  EXPECT_EQ(empty.last_whale_poll_time, absl::InfinitePast());
  EXPECT_FALSE(empty.detection_lag.has_value());

  const std::string w1 = Wallet(8), w2 = Wallet(9);
  ASSERT_OK(store().TrackWhale(w1, "", WhaleSource::kApi, kT0).status());
  ASSERT_OK(store().TrackWhale(w2, "", WhaleSource::kApi, kT0).status());
  // A LIVE trade detected 40 s late, then a BACKFILL one (not counted), polled later by w2.
  ASSERT_OK(store()
                .IngestActivities(fence(), w1, {Trade(w1, 200, kT0 + absl::Seconds(20))},
                                  Poll(kT0 + absl::Minutes(1), 1), kT0 + absl::Minutes(1))
                .status());
  Activity backfill = Trade(w2, 201, kT0 - absl::Hours(5));
  backfill.origin = Origin::kBackfill;
  ASSERT_OK(store()
                .IngestActivities(fence(), w2, {backfill}, Poll(kT0 + absl::Minutes(2), 1),
                                  kT0 + absl::Minutes(2))
                .status());
  ASSERT_OK_AND_ASSIGN(FeedFreshness f, store().GetFeedFreshness());
  EXPECT_EQ(f.last_whale_poll_time, kT0 + absl::Minutes(2));
  ASSERT_TRUE(f.detection_lag.has_value());
  EXPECT_EQ(*f.detection_lag, absl::Seconds(40));
}

// ---- End of feed reads
// ---------------------------------------------------------------------------
// ---- Sync control ----

TEST_P(StoreContractTest, ANewLeaderClosesRunsLeftRunningAsFailed) {
  ASSERT_OK_AND_ASSIGN(int64_t left, store().StartSyncRun(fence(), SyncJob::kMarkets, "a", kT0));
  ASSERT_OK_AND_ASSIGN(int64_t done, store().StartSyncRun(fence(), SyncJob::kStats, "a", kT0));
  ASSERT_OK(store().FinishSyncRun(fence(), done, RunStatus::kCompleted, 7, "", kT0));
  ASSERT_OK_AND_ASSIGN(Fence next, store().AdvanceLeaderEpoch("b", kT0 + absl::Minutes(1)));
  // The deposed leader cannot close them; the new one closes exactly the open ones.
  EXPECT_THAT(store().FailRunningSyncRuns(fence(), kT0, "x"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store().FailRunningSyncRuns(next, kT0 + absl::Minutes(1), "leader a was lost"),
              IsOkAndHolds(1));
  EXPECT_THAT(store().FailRunningSyncRuns(next, kT0 + absl::Minutes(2), "again"), IsOkAndHolds(0));
  ASSERT_OK_AND_ASSIGN(std::vector<SyncJobSummary> jobs, store().GetSyncJobSummaries());
  ASSERT_THAT(jobs, SizeIs(2));
  EXPECT_EQ(jobs[0].latest.run_id, left);
  EXPECT_EQ(jobs[0].latest.status, RunStatus::kFailed);
  EXPECT_EQ(jobs[0].latest.error, "leader a was lost");
  EXPECT_EQ(jobs[0].latest.ended_time, kT0 + absl::Minutes(1));
  EXPECT_EQ(jobs[1].latest.status, RunStatus::kCompleted);
  EXPECT_EQ(jobs[1].latest.item_count, 7);
}

TEST_P(StoreContractTest, SyncRequestsQueueOncePerJobAndAreTakenByTheLeader) {
  ASSERT_OK_AND_ASSIGN(SyncRequestResult first, store().RequestSyncRun(SyncJob::kMarkets, kT0));
  EXPECT_TRUE(first.accepted);
  EXPECT_EQ(first.requested_time, kT0);
  // Already queued: not accepted, nothing queued.
  ASSERT_OK_AND_ASSIGN(SyncRequestResult again,
                       store().RequestSyncRun(SyncJob::kMarkets, kT0 + absl::Seconds(1)));
  EXPECT_FALSE(again.accepted);
  EXPECT_EQ(again.requested_time, absl::InfinitePast());
  ASSERT_OK_AND_ASSIGN(SyncRequestResult stats,
                       store().RequestSyncRun(SyncJob::kStats, kT0 + absl::Seconds(2)));
  EXPECT_TRUE(stats.accepted);
  EXPECT_THAT(store().RequestSyncRun(SyncJob::kUnspecified, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job")));
  EXPECT_THAT(store().RequestSyncRun(static_cast<SyncJob>(9), kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("9")));

  // Only the leader takes them, and only for the jobs it asks for.
  const SyncJob markets_only[] = {SyncJob::kMarkets};
  ASSERT_OK_AND_ASSIGN(Fence next, store().AdvanceLeaderEpoch("b", kT0));
  EXPECT_THAT(store().TakeSyncRequests(fence(), markets_only, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(std::vector<SyncRequest> taken,
                       store().TakeSyncRequests(next, markets_only, kT0 + absl::Seconds(3)));
  ASSERT_THAT(taken, SizeIs(1));
  EXPECT_EQ(taken[0].job, SyncJob::kMarkets);
  EXPECT_EQ(taken[0].requested_time, kT0);
  EXPECT_THAT(store().TakeSyncRequests(next, markets_only, kT0), IsOkAndHolds(IsEmpty()));
  const SyncJob all[] = {SyncJob::kMarkets, SyncJob::kWhaleTrades, SyncJob::kStats,
                         SyncJob::kCleanup};
  ASSERT_OK_AND_ASSIGN(taken, store().TakeSyncRequests(next, all, kT0 + absl::Seconds(3)));
  ASSERT_THAT(taken, SizeIs(1));
  EXPECT_EQ(taken[0].job, SyncJob::kStats);
  // Nothing pending: an empty answer, from a plain read that checks no fence.
  EXPECT_THAT(store().TakeSyncRequests(fence(), all, kT0), IsOkAndHolds(IsEmpty()));

  // Taken: a new request is accepted again, unless the job is running.
  EXPECT_THAT(store().RequestSyncRun(SyncJob::kMarkets, kT0 + absl::Seconds(4)),
              IsOkAndHolds(::testing::Field(&SyncRequestResult::accepted, true)));
  ASSERT_OK_AND_ASSIGN(int64_t run,
                       store().StartSyncRun(next, SyncJob::kCleanup, "b", kT0 + absl::Seconds(5)));
  EXPECT_THAT(store().RequestSyncRun(SyncJob::kCleanup, kT0 + absl::Seconds(6)),
              IsOkAndHolds(::testing::Field(&SyncRequestResult::accepted, false)));
  ASSERT_OK(store().FinishSyncRun(next, run, RunStatus::kCompleted, 0, "", kT0 + absl::Seconds(7)));
  EXPECT_THAT(store().RequestSyncRun(SyncJob::kCleanup, kT0 + absl::Seconds(8)),
              IsOkAndHolds(::testing::Field(&SyncRequestResult::accepted, true)));
}

TEST_P(StoreContractTest, ConcurrentRequestsForOneJobQueueOne) {
  constexpr int kThreads = 6;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<SyncRequestResult> r = store().RequestSyncRun(SyncJob::kWhaleTrades, kT0);
      if (r.ok() && r->accepted) accepted.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1);
  const SyncJob jobs[] = {SyncJob::kWhaleTrades};
  EXPECT_THAT(store().TakeSyncRequests(fence(), jobs, kT0), IsOkAndHolds(SizeIs(1)));
}

TEST_P(StoreContractTest, TheLeaderPublishesItsLimiterState) {
  ASSERT_OK_AND_ASSIGN(PublishedLimiter none, store().GetPublishedLimiter());
  EXPECT_EQ(none.published_time, absl::InfinitePast());
  ASSERT_OK(store().PublishLimiter(fence(), {11.5, 1234, 7}, kT0 + absl::Seconds(3)));
  ASSERT_OK_AND_ASSIGN(PublishedLimiter published, store().GetPublishedLimiter());
  EXPECT_DOUBLE_EQ(published.limiter.rate_per_second, 11.5);
  EXPECT_EQ(published.limiter.requests_total, 1234);
  EXPECT_EQ(published.limiter.throttled_total, 7);
  EXPECT_EQ(published.published_time, kT0 + absl::Seconds(3));
  ASSERT_OK(store().AdvanceLeaderEpoch("b", kT0).status());
  EXPECT_THAT(store().PublishLimiter(fence(), {1, 1, 1}, kT0 + absl::Seconds(4)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(published, store().GetPublishedLimiter());
  EXPECT_EQ(published.limiter.requests_total, 1234);
}

// ---- end of Sync control ----

// ---- Sync jobs: polling schedule, dedupe lookups, stats and retention ----

absl::Duration Days(int n) { return absl::Hours(24 * n); }

// A trade of `wallet` with the given side, market, outcome and amounts; n makes the tx hash.
Activity Fill(const std::string& wallet, int n, Side side, int64_t market, Outcome outcome,
              const std::string& amount, const std::string& profit, absl::Time traded) {
  Activity a = Trade(wallet, n, traded);
  a.side = side;
  a.market_id = market;
  a.root_market_id = market;
  a.outcome = outcome;
  a.amount_usd = amount;
  a.profit_usd = profit;
  return a;
}

const WhaleStats* FindWindow(const std::vector<WhaleStats>& rows, StatsWindow window) {
  for (const WhaleStats& s : rows) {
    if (s.window == window) return &s;
  }
  return nullptr;
}

TEST_P(StoreContractTest, DueWhalesComeOldestDueFirstAndBounded) {
  const std::string a = Wallet(21), b = Wallet(22), c = Wallet(23), d = Wallet(24);
  for (const std::string& w : {a, b, c, d}) {
    ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kFile, kT0).status());
  }
  // b due at +1 min, c due at +30 s, d due in the future, a never polled.
  ASSERT_OK(
      store().IngestActivities(fence(), b, {}, {kT0, kT0 + absl::Minutes(1), 0}, kT0).status());
  ASSERT_OK(
      store().IngestActivities(fence(), c, {}, {kT0, kT0 + absl::Seconds(30), 0}, kT0).status());
  ASSERT_OK(store().IngestActivities(fence(), d, {}, {kT0, kT0 + absl::Hours(1), 0}, kT0).status());
  const absl::Time now = kT0 + absl::Minutes(1);
  ASSERT_OK_AND_ASSIGN(std::vector<Whale> due, store().ListDueWhales(now, 10));
  std::vector<std::string> wallets;
  for (const Whale& w : due) wallets.push_back(w.wallet);
  EXPECT_THAT(wallets, ElementsAre(a, c, b));  // b is due exactly now: included
  ASSERT_OK_AND_ASSIGN(due, store().ListDueWhales(now, 2));
  EXPECT_THAT(due, SizeIs(2));
  ASSERT_OK(store().UntrackWhale(a).status());
  ASSERT_OK_AND_ASSIGN(due, store().ListDueWhales(now, 10));
  ASSERT_THAT(due, SizeIs(2));
  EXPECT_EQ(due[0].wallet, c);
  EXPECT_THAT(store().ListDueWhales(now, 0), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- Sync jobs: early polls ----
TEST_P(StoreContractTest, EarlyPollWhalesComeFurthestThroughTheirIntervalFirst) {
  const absl::Time now = kT0 + absl::Minutes(5);
  const std::string a = Wallet(901), b = Wallet(902), c = Wallet(903), d = Wallet(904),
                    e = Wallet(905), f = Wallet(906), g = Wallet(907), h = Wallet(908);
  for (const std::string& w : {a, b, c, d, e, f, g, h}) {
    ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0 - absl::Hours(2)).status());
  }
  auto poll = [&](const std::string& w, absl::Time last, absl::Time next) {
    ASSERT_OK(store().IngestActivities(fence(), w, {}, {last, next, 0}, last).status());
  };
  poll(a, kT0, kT0 + absl::Minutes(10));                        // half its 10 min waited
  poll(b, kT0 + absl::Minutes(4), kT0 + absl::Minutes(6));      // half its 2 min: a waited longer
  poll(c, kT0 + absl::Seconds(270), kT0 + absl::Seconds(310));  // 30 of 40 s
  poll(d, kT0 + absl::Seconds(295), kT0 + absl::Seconds(305));  // polled after polled_before
  poll(e, kT0 + absl::Seconds(240), now);                       // due: ListDueWhales' business
  poll(g, kT0 - absl::Hours(1), kT0 + absl::Minutes(10));       // put back beyond max_interval
  poll(h, kT0 + absl::Seconds(100), kT0 + absl::Seconds(310));  // 200 of 210 s, but untracked
  ASSERT_OK(store().UntrackWhale(h).status());
  // f was never polled: it is due.
  const absl::Time polled_before = now - absl::Seconds(10);
  ASSERT_OK_AND_ASSIGN(std::vector<Whale> early,
                       store().ListEarlyPollWhales(now, polled_before, absl::Minutes(10), 10));
  std::vector<std::string> wallets;
  for (const Whale& w : early) wallets.push_back(w.wallet);
  EXPECT_THAT(wallets, ElementsAre(c, a, b));
  ASSERT_THAT(early, SizeIs(3));
  EXPECT_EQ(early[0].last_polled_time, kT0 + absl::Seconds(270));
  EXPECT_EQ(early[0].next_poll_time, kT0 + absl::Seconds(310));
  ASSERT_OK_AND_ASSIGN(early,
                       store().ListEarlyPollWhales(now, polled_before, absl::Minutes(10), 2));
  ASSERT_THAT(early, SizeIs(2));
  EXPECT_EQ(early[1].wallet, a);
  // A wider bound takes the wallet put back after an error too (65 of 70 min waited: first).
  ASSERT_OK_AND_ASSIGN(early,
                       store().ListEarlyPollWhales(now, polled_before, absl::Minutes(70), 1));
  ASSERT_THAT(early, SizeIs(1));
  EXPECT_EQ(early[0].wallet, g);
  EXPECT_THAT(store().ListEarlyPollWhales(now, polled_before, absl::Minutes(10), 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  EXPECT_THAT(store().ListEarlyPollWhales(now, polled_before, absl::ZeroDuration(), 5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_interval")));
}
// ---- end of early polls ----

TEST_P(StoreContractTest, FindStoredActivityIdsReturnsOnlyStoredOnes) {
  const std::string w = Wallet(25);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  std::vector<Activity> stored;
  for (int n = 1; n <= 300; ++n) stored.push_back(Trade(w, n, kT0 + absl::Seconds(n)));
  ASSERT_OK(store().IngestActivities(fence(), w, stored, Poll(kT0, 300), kT0).status());
  std::vector<std::string> ask;
  for (int n = 250; n <= 320; ++n) {
    ASSERT_OK_AND_ASSIGN(Activity a, NormalizeActivity(Trade(w, n, kT0), w));
    ask.push_back(a.activity_id);
  }
  ask.push_back(ask.front());  // asked twice, reported once
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> found, store().FindStoredActivityIds(ask));
  std::sort(found.begin(), found.end());
  std::vector<std::string> expected(ask.begin(), ask.begin() + 51);  // 250..300
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(found, expected);
  ASSERT_OK_AND_ASSIGN(found, store().FindStoredActivityIds({}));
  EXPECT_THAT(found, IsEmpty());
}

TEST_P(StoreContractTest, AllTimeStatsAreRunningTotalsOfBuysAndSells) {
  const std::string w = Wallet(26);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  const absl::Time t = kT0 + absl::Hours(1);
  ASSERT_OK(store()
                .IngestActivities(fence(), w,
                                  {Fill(w, 1, Side::kBuy, 100, Outcome::kYes, "1000.5", "0", t),
                                   Fill(w, 2, Side::kSell, 100, Outcome::kYes, "250.25", "12.75",
                                        t + absl::Seconds(1)),
                                   Fill(w, 3, Side::kMerge, 101, Outcome::kNo, "99999", "5", t)},
                                  Poll(t, 3), t)
                .status());
  EXPECT_THAT(store().AddToAllTimeStats(fence(), w, t), IsOkAndHolds(2));
  // Folding again counts nothing twice.
  EXPECT_THAT(store().AddToAllTimeStats(fence(), w, t), IsOkAndHolds(0));
  ASSERT_OK(store()
                .IngestActivities(
                    fence(), w,
                    {Fill(w, 4, Side::kBuy, 102, Outcome::kNo, "0.000000000000000001", "-3.5",
                          t - absl::Hours(5)),
                     Fill(w, 5, Side::kBuy, 100, Outcome::kNo, "2000", "0", t + absl::Hours(2))},
                    Poll(t, 5), t + absl::Hours(2))
                .status());
  EXPECT_THAT(store().AddToAllTimeStats(fence(), w, t + absl::Hours(2)), IsOkAndHolds(2));
  ASSERT_OK_AND_ASSIGN(std::vector<WhaleStats> rows, store().ReadWhaleStatsOfWallet(w));
  ASSERT_THAT(rows, SizeIs(1));
  const WhaleStats& all = rows[0];
  EXPECT_EQ(all.window, StatsWindow::kAll);
  EXPECT_EQ(all.wallet, w);
  EXPECT_EQ(all.volume_usd, "3250.750000000000000001");
  EXPECT_EQ(all.buy_volume_usd, "3000.500000000000000001");
  EXPECT_EQ(all.sell_volume_usd, "250.25");
  EXPECT_EQ(all.realized_profit_usd, "9.25");
  EXPECT_EQ(all.largest_trade_usd, "2000");
  EXPECT_EQ(all.trade_count, 4);
  // 3250.750000000000000001 / 4 = 812.68750000000000000025: to 22 places ...0003, then 18: ...0
  EXPECT_EQ(all.average_trade_usd, "812.6875");
  EXPECT_EQ(all.markets_traded, 2);  // 100 and 102; the MERGE in 101 does not count
  EXPECT_EQ(all.first_trade_time, t - absl::Hours(5));
  EXPECT_EQ(all.last_trade_time, t + absl::Hours(2));
  EXPECT_EQ(all.computed_time, t + absl::Hours(2));

  // Retention deletes the rows; the all-time figures stay, and nothing is counted again.
  ASSERT_OK_AND_ASSIGN(CleanupBatch batch,
                       store().DeleteExpiredActivity(fence(), t + Days(200), 100));
  EXPECT_EQ(batch.deleted, 5);
  EXPECT_THAT(store().AddToAllTimeStats(fence(), w, t + Days(200)), IsOkAndHolds(0));
  ASSERT_OK_AND_ASSIGN(rows, store().ReadWhaleStatsOfWallet(w));
  ASSERT_THAT(rows, SizeIs(1));
  EXPECT_EQ(rows[0].volume_usd, "3250.750000000000000001");
  EXPECT_EQ(rows[0].trade_count, 4);
  EXPECT_EQ(rows[0].markets_traded, 2);
  // A trade in a market seen before the cleanup does not count that market twice.
  ASSERT_OK(
      store()
          .IngestActivities(fence(), w,
                            {Fill(w, 6, Side::kSell, 102, Outcome::kNo, "1", "0", t + Days(200))},
                            Poll(t, 6), t + Days(200))
          .status());
  EXPECT_THAT(store().AddToAllTimeStats(fence(), w, t + Days(200)), IsOkAndHolds(1));
  ASSERT_OK_AND_ASSIGN(rows, store().ReadWhaleStatsOfWallet(w));
  EXPECT_EQ(rows[0].markets_traded, 2);
  EXPECT_EQ(rows[0].trade_count, 5);
  EXPECT_EQ(rows[0].average_trade_usd, "650.35");  // 3251.750000000000000001 / 5, rounded

  EXPECT_THAT(store().AddToAllTimeStats(Fence{fence().epoch + 1}, w, t),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(StoreContractTest, WindowStatsAndRanksFromTradedTime) {
  const std::string a = Wallet(31), b = Wallet(32), c = Wallet(33);
  for (const std::string& w : {a, b, c}) {
    ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  }
  const absl::Time now = kT0 + Days(40);
  // a: 100 in the last hour, 300 three days ago, 50 twenty days ago, 7 forty days ago (too old).
  ASSERT_OK(store()
                .IngestActivities(
                    fence(), a,
                    {Fill(a, 1, Side::kBuy, 1, Outcome::kYes, "100", "0", now - absl::Hours(1)),
                     Fill(a, 2, Side::kSell, 2, Outcome::kNo, "300", "10", now - Days(3)),
                     Fill(a, 3, Side::kBuy, 1, Outcome::kYes, "50", "0", now - Days(20)),
                     Fill(a, 4, Side::kBuy, 3, Outcome::kYes, "7", "0", now - Days(40)),
                     Fill(a, 5, Side::kSplit, 1, Outcome::kYes, "1000", "0", now)},
                    Poll(now, 5), now)
                .status());
  // b: 400 in the last day (2 trades), so it leads 24h and 7d; c equals a over 30 days.
  ASSERT_OK(store()
                .IngestActivities(
                    fence(), b,
                    {Fill(b, 1, Side::kBuy, 1, Outcome::kNo, "150", "0", now - absl::Hours(2)),
                     Fill(b, 2, Side::kBuy, 4, Outcome::kNo, "250", "0", now - absl::Hours(3))},
                    Poll(now, 2), now)
                .status());
  ASSERT_OK(store()
                .IngestActivities(
                    fence(), c,
                    {Fill(c, 1, Side::kSell, 5, Outcome::kYes, "450", "-20", now - Days(10))},
                    Poll(now, 1), now)
                .status());
  for (const std::string& w : {a, b, c}) {
    ASSERT_OK(store().AddToAllTimeStats(fence(), w, now).status());
  }
  // a: 3 rows (24h, 7d, 30d); b: 3; c: 30d only.
  EXPECT_THAT(store().RecomputeWindowStats(fence(), now), IsOkAndHolds(7));

  ASSERT_OK_AND_ASSIGN(std::vector<WhaleStats> sa, store().ReadWhaleStatsOfWallet(a));
  ASSERT_THAT(sa, SizeIs(4));
  const WhaleStats* a24 = FindWindow(sa, StatsWindow::k24h);
  ASSERT_NE(a24, nullptr);
  EXPECT_EQ(a24->volume_usd, "100");
  EXPECT_EQ(a24->trade_count, 1);
  EXPECT_EQ(a24->rank, 2);
  EXPECT_EQ(a24->computed_time, now);
  const WhaleStats* a7 = FindWindow(sa, StatsWindow::k7d);
  ASSERT_NE(a7, nullptr);
  EXPECT_EQ(a7->volume_usd, "400");
  EXPECT_EQ(a7->buy_volume_usd, "100");
  EXPECT_EQ(a7->sell_volume_usd, "300");
  EXPECT_EQ(a7->realized_profit_usd, "10");
  EXPECT_EQ(a7->largest_trade_usd, "300");
  EXPECT_EQ(a7->average_trade_usd, "200");
  EXPECT_EQ(a7->markets_traded, 2);
  EXPECT_EQ(a7->first_trade_time, now - Days(3));
  EXPECT_EQ(a7->last_trade_time, now - absl::Hours(1));
  EXPECT_EQ(a7->rank, 1);  // a and b both 400: they share rank 1
  const WhaleStats* a30 = FindWindow(sa, StatsWindow::k30d);
  ASSERT_NE(a30, nullptr);
  EXPECT_EQ(a30->volume_usd, "450");
  EXPECT_EQ(a30->trade_count, 3);
  EXPECT_EQ(a30->average_trade_usd, "150");
  EXPECT_EQ(a30->rank, 1);  // a and c both 450
  const WhaleStats* aall = FindWindow(sa, StatsWindow::kAll);
  ASSERT_NE(aall, nullptr);
  EXPECT_EQ(aall->volume_usd, "457");
  EXPECT_EQ(aall->rank, 1);

  ASSERT_OK_AND_ASSIGN(std::vector<WhaleStats> sb, store().ReadWhaleStatsOfWallet(b));
  ASSERT_THAT(sb, SizeIs(4));
  EXPECT_EQ(FindWindow(sb, StatsWindow::k24h)->volume_usd, "400");
  EXPECT_EQ(FindWindow(sb, StatsWindow::k24h)->rank, 1);
  EXPECT_EQ(FindWindow(sb, StatsWindow::k7d)->rank, 1);
  EXPECT_EQ(FindWindow(sb, StatsWindow::k30d)->rank, 3);
  EXPECT_EQ(FindWindow(sb, StatsWindow::kAll)->rank, 3);

  ASSERT_OK_AND_ASSIGN(std::vector<WhaleStats> sc, store().ReadWhaleStatsOfWallet(c));
  ASSERT_THAT(sc, SizeIs(2));
  EXPECT_EQ(FindWindow(sc, StatsWindow::k24h), nullptr);
  EXPECT_EQ(FindWindow(sc, StatsWindow::k30d)->rank, 1);
  EXPECT_EQ(FindWindow(sc, StatsWindow::k30d)->realized_profit_usd, "-20");
  EXPECT_EQ(FindWindow(sc, StatsWindow::kAll)->rank, 2);

  // 22 hours later b's trades have left the 24h window: its 24h row goes, the others are
  // recomputed.
  EXPECT_THAT(store().RecomputeWindowStats(fence(), now + absl::Hours(22)), IsOkAndHolds(6));
  ASSERT_OK_AND_ASSIGN(sb, store().ReadWhaleStatsOfWallet(b));
  EXPECT_EQ(FindWindow(sb, StatsWindow::k24h), nullptr);
  ASSERT_OK_AND_ASSIGN(sa, store().ReadWhaleStatsOfWallet(a));
  EXPECT_EQ(FindWindow(sa, StatsWindow::k24h)->rank, 1);
  EXPECT_THAT(store().RecomputeWindowStats(Fence{fence().epoch + 1}, now),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(StoreContractTest, MarketWhaleFlowPerMarketAndOutcomeOver24Hours) {
  const std::string a = Wallet(41), b = Wallet(42);
  for (const std::string& w : {a, b}) {
    ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  }
  const absl::Time now = kT0 + Days(2);
  ASSERT_OK(store()
                .IngestActivities(
                    fence(), a,
                    {Fill(a, 1, Side::kBuy, 7, Outcome::kYes, "10.5", "0", now - absl::Hours(1)),
                     Fill(a, 2, Side::kSell, 7, Outcome::kYes, "4", "0", now - absl::Hours(2)),
                     Fill(a, 3, Side::kBuy, 7, Outcome::kNo, "1", "0", now - absl::Hours(30)),
                     Fill(a, 4, Side::kMerge, 8, Outcome::kNo, "1", "0", now)},
                    Poll(now, 4), now)
                .status());
  ASSERT_OK(store()
                .IngestActivities(
                    fence(), b,
                    {Fill(b, 1, Side::kBuy, 7, Outcome::kYes, "0.25", "0", now - absl::Hours(3)),
                     Fill(b, 2, Side::kSell, 9, Outcome::kNo, "3", "0", now - absl::Hours(23))},
                    Poll(now, 2), now)
                .status());
  EXPECT_THAT(store().RecomputeMarketWhaleFlow(fence(), now), IsOkAndHolds(2));
  ASSERT_OK_AND_ASSIGN(std::vector<MarketWhaleFlow> flow, store().ReadMarketWhaleFlow());
  ASSERT_THAT(flow, SizeIs(2));
  EXPECT_EQ(flow[0].market_id, 7);
  EXPECT_EQ(flow[0].outcome, Outcome::kYes);
  EXPECT_EQ(flow[0].buy_volume_usd, "10.75");
  EXPECT_EQ(flow[0].sell_volume_usd, "4");
  EXPECT_EQ(flow[0].computed_time, now);
  EXPECT_EQ(flow[1].market_id, 9);
  EXPECT_EQ(flow[1].outcome, Outcome::kNo);
  EXPECT_EQ(flow[1].buy_volume_usd, "0");
  EXPECT_EQ(flow[1].sell_volume_usd, "3");
  // Later everything has left the window: the table empties.
  EXPECT_THAT(store().RecomputeMarketWhaleFlow(fence(), now + Days(1)), IsOkAndHolds(0));
  ASSERT_OK_AND_ASSIGN(flow, store().ReadMarketWhaleFlow());
  EXPECT_THAT(flow, IsEmpty());
}

TEST_P(StoreContractTest, CleanupDeletesAPrefixInBatchesAndRaisesTheFloor) {
  const std::string w = Wallet(51);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  std::vector<uint64_t> sequences;
  // Five ingests a day apart, two trades each.
  for (int day = 0; day < 5; ++day) {
    const absl::Time at = kT0 + Days(day);
    ASSERT_OK_AND_ASSIGN(
        IngestResult r,
        store().IngestActivities(fence(), w, {Trade(w, 2 * day + 1, at), Trade(w, 2 * day + 2, at)},
                                 Poll(at, 2 * day + 2), at));
    sequences.insert(sequences.end(), r.inserted_sequences.begin(), r.inserted_sequences.end());
  }
  // Expired: the first three days (6 rows), deleted 4 at a time.
  const absl::Time before = kT0 + Days(3);
  ASSERT_OK_AND_ASSIGN(CleanupBatch first, store().DeleteExpiredActivity(fence(), before, 4));
  EXPECT_EQ(first.deleted, 4);
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.retention_floor, sequences[4]);
  ASSERT_OK_AND_ASSIGN(FeedMeta meta, store().GetFeedMeta());
  EXPECT_EQ(meta.retention_floor, sequences[4]);
  ASSERT_OK_AND_ASSIGN(CleanupBatch second, store().DeleteExpiredActivity(fence(), before, 4));
  EXPECT_EQ(second.deleted, 2);
  EXPECT_FALSE(second.more);
  EXPECT_EQ(second.retention_floor, sequences[6]);
  ASSERT_OK_AND_ASSIGN(CleanupBatch none, store().DeleteExpiredActivity(fence(), before, 4));
  EXPECT_EQ(none.deleted, 0);
  EXPECT_EQ(none.retention_floor, sequences[6]);
  ASSERT_OK_AND_ASSIGN(std::vector<Activity> left, store().ReadActivitiesAfter(0, 100));
  ASSERT_THAT(left, SizeIs(4));
  EXPECT_EQ(left[0].sequence, sequences[6]);
  // A deleted trade is no longer known to the dedupe lookup.
  ASSERT_OK_AND_ASSIGN(Activity gone, NormalizeActivity(Trade(w, 1, kT0), w));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> found,
                       store().FindStoredActivityIds({gone.activity_id}));
  EXPECT_THAT(found, IsEmpty());

  // Everything expired: the floor moves past the last sequence, never back.
  ASSERT_OK_AND_ASSIGN(CleanupBatch all,
                       store().DeleteExpiredActivity(fence(), kT0 + Days(30), 100));
  EXPECT_EQ(all.deleted, 4);
  EXPECT_EQ(all.retention_floor, sequences.back() + 1);
  ASSERT_OK_AND_ASSIGN(meta, store().GetFeedMeta());
  EXPECT_EQ(meta.retention_floor, sequences.back() + 1);

  EXPECT_THAT(store().DeleteExpiredActivity(Fence{fence().epoch + 1}, before, 4),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store().DeleteExpiredActivity(fence(), before, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoreContractTest, CleanupStopsAtTheFirstRowThatIsNotExpired) {
  const std::string w = Wallet(52);
  ASSERT_OK(store().TrackWhale(w, "", WhaleSource::kApi, kT0).status());
  // Ingested out of time order (a leader with a clock behind): sequence 2 looks older than 1.
  ASSERT_OK_AND_ASSIGN(IngestResult r1, store().IngestActivities(fence(), w, {Trade(w, 1, kT0)},
                                                                 Poll(kT0, 1), kT0 + Days(10)));
  ASSERT_OK_AND_ASSIGN(IngestResult r2,
                       store().IngestActivities(fence(), w, {Trade(w, 2, kT0)}, Poll(kT0, 2), kT0));
  ASSERT_OK_AND_ASSIGN(CleanupBatch batch,
                       store().DeleteExpiredActivity(fence(), kT0 + Days(1), 10));
  EXPECT_EQ(batch.deleted, 0);  // deleting only 2 would leave a hole above the floor
  ASSERT_OK_AND_ASSIGN(std::vector<Activity> left, store().ReadActivitiesAfter(0, 10));
  EXPECT_THAT(left, SizeIs(2));
  EXPECT_EQ(left[0].sequence, r1.inserted_sequences[0]);
  EXPECT_EQ(left[1].sequence, r2.inserted_sequences[0]);
}

TEST_P(StoreContractTest, PruneSyncHistoryDeletesOnlyOldEndedRuns) {
  ASSERT_OK_AND_ASSIGN(int64_t old_run, store().StartSyncRun(fence(), SyncJob::kMarkets, "r", kT0));
  ASSERT_OK(store().FinishSyncRun(fence(), old_run, RunStatus::kCompleted, 1, "", kT0));
  ASSERT_OK_AND_ASSIGN(int64_t running, store().StartSyncRun(fence(), SyncJob::kStats, "r", kT0));
  ASSERT_OK_AND_ASSIGN(int64_t recent,
                       store().StartSyncRun(fence(), SyncJob::kMarkets, "r", kT0 + Days(5)));
  ASSERT_OK(store().FinishSyncRun(fence(), recent, RunStatus::kFailed, 0, "boom", kT0 + Days(5)));
  EXPECT_THAT(store().PruneSyncHistory(fence(), kT0 + Days(1), 100), IsOkAndHolds(1));
  EXPECT_THAT(store().PruneSyncHistory(fence(), kT0 + Days(1), 100), IsOkAndHolds(0));
  ASSERT_OK_AND_ASSIGN(std::vector<SyncJobSummary> jobs, store().GetSyncJobSummaries());
  ASSERT_THAT(jobs, SizeIs(2));
  EXPECT_EQ(jobs[0].latest.run_id, recent);
  EXPECT_EQ(jobs[1].latest.run_id, running);
  EXPECT_THAT(store().PruneSyncHistory(Fence{fence().epoch + 1}, kT0, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// ---- Data versions ----

// Every write of a domain's data raises that domain's version, and only that one; reads and
// refused writes raise nothing. A writer that forgot to raise it would let a cached answer outlive
// the data it was read from.
TEST_P(StoreContractTest, EveryWriteRaisesTheVersionOfItsDomainAndNothingElseDoes) {
  const std::string w = Wallet(61);
  ASSERT_OK_AND_ASSIGN(DataVersions last, store().GetDataVersions());
  // What `write` did to the versions: the domains it raised, by how much each.
  auto raised = [&](const char* what, const std::function<absl::Status()>& write, int markets,
                    int whales) {
    SCOPED_TRACE(what);
    ASSERT_OK(write());
    ASSERT_OK_AND_ASSIGN(const DataVersions now, store().GetDataVersions());
    EXPECT_EQ(now.markets - last.markets, static_cast<uint64_t>(markets));
    EXPECT_EQ(now.whales - last.whales, static_cast<uint64_t>(whales));
    last = now;
  };
  const absl::Time t = kT0 + absl::Hours(1);
  raised(
      "UpsertMarkets",
      [&] { return store().UpsertMarkets(fence(), {BinaryMarket(7)}, t).status(); }, 1, 0);
  raised(
      "UpsertMarketWhaleFlow",
      [&] {
        MarketWhaleFlow flow;
        flow.market_id = 7;
        flow.outcome = Outcome::kYes;
        flow.buy_volume_usd = "10";
        flow.sell_volume_usd = "0";
        return store().UpsertMarketWhaleFlow(fence(), {flow}, t);
      },
      1, 0);
  raised(
      "RecomputeMarketWhaleFlow",
      [&] { return store().RecomputeMarketWhaleFlow(fence(), t).status(); }, 1, 0);
  raised(
      "TrackWhale", [&] { return store().TrackWhale(w, "Fund", WhaleSource::kApi, kT0).status(); },
      0, 1);
  raised(
      "IngestActivities",
      [&] {
        return store().IngestActivities(fence(), w, {Trade(w, 1, t)}, Poll(t, 1), t).status();
      },
      0, 1);
  raised(
      "IngestActivities of nothing new (the poll state still moves)",
      [&] {
        return store().IngestActivities(fence(), w, {}, Poll(t + absl::Minutes(1), 1), t).status();
      },
      0, 1);
  raised(
      "AddToAllTimeStats", [&] { return store().AddToAllTimeStats(fence(), w, t).status(); }, 0, 1);
  raised(
      "RecomputeWindowStats", [&] { return store().RecomputeWindowStats(fence(), t).status(); }, 0,
      1);
  raised(
      "UpsertWhaleStats",
      [&] { return store().UpsertWhaleStats(fence(), {Stats(w, StatsWindow::k30d, "5", 1)}, t); },
      0, 1);
  raised(
      "DeleteExpiredActivity",
      [&] { return store().DeleteExpiredActivity(fence(), t + Days(1), 10).status(); }, 0, 1);
  raised(
      "UntrackWhale", [&] { return store().UntrackWhale(w).status(); }, 0, 1);

  // Reads and writes of other data raise nothing.
  raised(
      "reads and sync bookkeeping",
      [&]() -> absl::Status {
        MarketQuery markets;
        markets.limit = 10;
        RETURN_IF_ERROR(store().ListMarketEntries(markets).status());
        RETURN_IF_ERROR(store().GetMarketEntry(7).status());
        WhaleQuery whales;
        whales.limit = 10;
        RETURN_IF_ERROR(store().ListWhaleEntries(whales).status());
        RETURN_IF_ERROR(store().GetWhaleStats(w).status());
        RETURN_IF_ERROR(store().ListRecentActivity(w, 10).status());
        ASSIGN_OR_RETURN(const int64_t run,
                         store().StartSyncRun(fence(), SyncJob::kMarkets, "contract-test", t));
        RETURN_IF_ERROR(store().FinishSyncRun(fence(), run, RunStatus::kCompleted, 0, "", t));
        return store().RequestSyncRun(SyncJob::kStats, t).status();
      },
      0, 0);

  // A refused write changes nothing, its version included.
  ASSERT_OK(store().AdvanceLeaderEpoch("another", t).status());
  EXPECT_THAT(store().UpsertMarkets(fence(), {BinaryMarket(8)}, t),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store().IngestActivities(fence(), w, {Trade(w, 2, t)}, Poll(t, 2), t),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store().UntrackWhale(Wallet(62)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().GetDataVersions(), IsOkAndHolds(last));
}

}  // namespace
}  // namespace whalefeed::db
