// The feed hub and WatchWhaleActivity in-process on InMemoryStore, through the generated stub on a
// real gRPC server (port 0): start options, token errors, heartbeats and caught_up, BACKFILL,
// batching, a slow consumer within its byte budget, the stream cap and Drain.
#include "server/feed_hub.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "db/in_memory_store.h"
#include "server/feed_service.h"
#include "server/resume_token.h"
#include "tests/server/feed_test_util.h"
#include "tests/testing/status_matchers.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::FeedTrade;
using ::whalefeed::testing::FeedWallet;
using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::StreamChecker;
using ::whalefeed::testing::WatchClient;

const std::string kFeedId = "0123456789abcdef0123456789abcdef";
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

FeedHubOptions FastOptions() {
  FeedHubOptions options;
  options.tail_interval = absl::Milliseconds(20);
  options.heartbeat_tick = absl::Milliseconds(20);
  options.freshness_refresh = absl::Milliseconds(50);
  return options;
}

// A hub on an InMemoryStore behind a real gRPC server.
class FeedFixture {
 public:
  explicit FeedFixture(FeedHubOptions options = FastOptions())
      : store_(kFeedId), hub_(&store_, &clock_, ActivityFilterParser(), options), service_(&hub_) {
    fence_ = *store_.AdvanceLeaderEpoch("test", kT0);
    EXPECT_OK(store_.TrackWhale(FeedWallet(1), "big fish", db::WhaleSource::kFile, kT0).status());
    EXPECT_OK(store_.TrackWhale(FeedWallet(2), "", db::WhaleSource::kApi, kT0).status());
  }
  ~FeedFixture() {
    if (server_ != nullptr) StopServer();
  }

  // Starts the hub (after `before` rows exist, if the test added some) and the server.
  void Start() {
    ASSERT_OK(hub_.Start());
    ASSERT_TRUE(hub_.WaitReady(absl::Seconds(10)));
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }
  // The shutdown sequence of whaled: Drain, server Shutdown, Stop. Returns how long the server's
  // Shutdown took.
  absl::Duration StopServer() {
    hub_.Drain();
    const absl::Time begin = absl::Now();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
    server_->Wait();
    const absl::Duration took = absl::Now() - begin;
    EXPECT_TRUE(hub_.Stop(absl::Now() + absl::Seconds(10)));
    server_.reset();
    return took;
  }

  // Ingests `n` trades of wallet `wallet_n` (one poll), tells the hub, records them; returns their
  // sequences.
  std::vector<uint64_t> Ingest(int n, int wallet_n = 1, db::Origin origin = db::Origin::kLive) {
    std::vector<db::Activity> trades;
    for (int i = 0; i < n; ++i) {
      trades.push_back(FeedTrade(FeedWallet(wallet_n), next_trade_++, kT0, origin));
    }
    const absl::Time now = clock_.Now();
    absl::StatusOr<db::IngestResult> result = store_.IngestActivities(
        fence_, FeedWallet(wallet_n), trades, {now, now + absl::Minutes(1), n}, now);
    EXPECT_OK(result.status());
    if (!result.ok()) return {};
    if (!result->inserted_sequences.empty())
      hub_.NotifyCommitted(result->inserted_sequences.back());
    return result->inserted_sequences;
  }
  // Every committed row, by sequence.
  std::map<uint64_t, db::Activity> Committed() {
    std::map<uint64_t, db::Activity> all;
    absl::StatusOr<std::vector<db::Activity>> rows = store_.ReadActivitiesAfter(0, 1000000);
    EXPECT_OK(rows.status());
    if (!rows.ok()) return all;
    for (const db::Activity& a : *rows) all[a.sequence] = a;
    return all;
  }

  std::unique_ptr<WatchClient> Watch(v1::WatchWhaleActivityRequest request = {}) {
    return std::make_unique<WatchClient>(channel_, request);
  }

  db::InMemoryStore& store() { return store_; }
  FeedHub& hub() { return hub_; }
  FakeClock& clock() { return clock_; }

 private:
  FakeClock clock_{kT0 + absl::Hours(1)};
  db::InMemoryStore store_;
  db::Fence fence_;
  FeedHub hub_;
  FeedService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  int64_t next_trade_ = 1;
};

bool IsLive(const db::Activity& a) { return a.origin == db::Origin::kLive; }

std::string StatsText(const FeedHubStats& stats) {
  std::string text = absl::StrCat("head ", stats.head_sequence, ", ring ", stats.ring_events);
  for (const FeedStreamStats& s : stats.streams) {
    absl::StrAppend(&text, "; stream ", s.id, " at ", s.position, " buffered ", s.buffered_bytes,
                    s.live ? " live" : " reading");
  }
  return text;
}

// Reads messages into `checker` until `done` says so or the stream stalls.
template <typename Done>
bool ReadUntil(WatchClient& client, StreamChecker& checker, Done done,
               absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    std::optional<v1::WatchWhaleActivityResponse> m = client.Next(deadline - absl::Now());
    if (!m.has_value()) return false;
    checker.Add(*m);
  }
  return true;
}

TEST(FeedHubTest, LatestStartsWithACaughtUpHeartbeatThenStreamsWhatComesNext) {
  FeedFixture f;
  f.Ingest(3);  // before the start: never streamed to a LATEST stream
  f.Start();
  auto client = f.Watch();
  std::optional<v1::WatchWhaleActivityResponse> first = client->Next();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_heartbeat());
  EXPECT_EQ(first->heartbeat().latest_sequence(), 3u);
  EXPECT_EQ(first->heartbeat().head_sequence(), 3u);
  EXPECT_TRUE(first->heartbeat().caught_up());
  EXPECT_EQ(first->resume_token(), EncodeResumeToken(kFeedId, 3));

  const std::vector<uint64_t> sequences = f.Ingest(4);
  StreamChecker checker(kFeedId);
  checker.Add(*first);
  ASSERT_TRUE(ReadUntil(*client, checker, [&] { return checker.received() == 4; }));
  checker.ExpectComplete(f.Committed(), 3, IsLive);
  EXPECT_EQ(checker.position(), sequences.back());
}

TEST(FeedHubTest, ActivitiesCarryTheWhaleLabelAndEveryField) {
  FeedFixture f;
  f.Start();
  auto client = f.Watch();
  ASSERT_TRUE(client->Next().has_value());
  f.Ingest(1, /*wallet_n=*/1);
  f.Ingest(1, /*wallet_n=*/2);
  std::vector<v1::WhaleActivity> got;
  while (got.size() < 2) {
    std::optional<v1::WatchWhaleActivityResponse> m = client->Next();
    ASSERT_TRUE(m.has_value());
    for (const auto& a : m->activities()) got.push_back(a);
  }
  EXPECT_EQ(got[0].wallet_label(), "big fish");
  EXPECT_EQ(got[0].wallet(), FeedWallet(1));
  EXPECT_EQ(got[0].price(), "0.62");
  EXPECT_EQ(got[0].origin(), v1::ORIGIN_LIVE);
  EXPECT_FALSE(got[0].activity_id().empty());
  EXPECT_EQ(got[1].wallet_label(), "");
}

TEST(FeedHubTest, EarliestReplaysInOrderThenSaysCaughtUpAtOnce) {
  FeedFixture f;
  f.Ingest(250);
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.set_start(v1::START_POSITION_EARLIEST);
  request.mutable_heartbeat_interval()->set_seconds(60);  // no periodic heartbeat interferes
  auto client = f.Watch(request);
  std::optional<v1::WatchWhaleActivityResponse> first = client->Next();
  ASSERT_TRUE(first.has_value() && first->has_heartbeat());
  EXPECT_EQ(first->heartbeat().latest_sequence(), 0u);
  EXPECT_EQ(first->heartbeat().head_sequence(), 250u);
  EXPECT_FALSE(first->heartbeat().caught_up());
  StreamChecker checker(kFeedId);
  checker.Add(*first);
  ASSERT_TRUE(ReadUntil(*client, checker, [&] { return checker.received() == 250; }));
  // The moment it reached the head it saw: a caught_up heartbeat, before any interval passed.
  std::optional<v1::WatchWhaleActivityResponse> caught_up = client->Next(absl::Seconds(5));
  ASSERT_TRUE(caught_up.has_value());
  ASSERT_TRUE(caught_up->has_heartbeat());
  EXPECT_TRUE(caught_up->heartbeat().caught_up());
  EXPECT_EQ(caught_up->heartbeat().latest_sequence(), 250u);
  checker.Add(*caught_up);
  checker.ExpectComplete(f.Committed(), 0, IsLive);
  // Live from here on.
  f.Ingest(2);
  ASSERT_TRUE(ReadUntil(*client, checker, [&] { return checker.received() == 252; }));
  std::printf("EARLIEST replay: 250 activities, largest message %d activities\n",
              checker.max_batch());
}

TEST(FeedHubTest, ResumeTokenStartsStrictlyAfterItsPosition) {
  FeedFixture f;
  const std::vector<uint64_t> sequences = f.Ingest(10);
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.set_resume_token(EncodeResumeToken(kFeedId, sequences[3]));
  auto client = f.Watch(request);
  StreamChecker checker(kFeedId);
  ASSERT_TRUE(ReadUntil(*client, checker, [&] { return checker.received() == 6; }));
  checker.ExpectComplete(f.Committed(), sequences[3], IsLive);
  // A token from the future (another replica tailed further) is fine too.
  request.set_resume_token(EncodeResumeToken(kFeedId, 1000));
  auto ahead = f.Watch(request);
  std::optional<v1::WatchWhaleActivityResponse> first = ahead->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->heartbeat().latest_sequence(), 1000u);
}

TEST(FeedHubTest, StartTimeStartsAtTheFirstActivityIngestedAtOrAfterIt) {
  FeedFixture f;
  f.Ingest(3);  // ingested at T+1h
  f.clock().Advance(absl::Minutes(10));
  const std::vector<uint64_t> later = f.Ingest(2);  // at T+1h10m
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.mutable_start_time()->set_seconds(
      absl::ToUnixSeconds(kT0 + absl::Hours(1) + absl::Minutes(5)));
  auto client = f.Watch(request);
  std::optional<v1::WatchWhaleActivityResponse> first = client->Next();
  ASSERT_TRUE(first.has_value() && first->has_heartbeat());
  EXPECT_EQ(first->heartbeat().latest_sequence(), later[0] - 1);
  StreamChecker checker(kFeedId);
  checker.Add(*first);
  ASSERT_TRUE(ReadUntil(*client, checker, [&] { return checker.received() == 2; }));
  checker.ExpectComplete(f.Committed(), later[0] - 1, IsLive);
}

TEST(FeedHubTest, BadRequestsAreInvalidArgument) {
  FeedFixture f;
  f.Start();
  struct Case {
    std::string name;
    v1::WatchWhaleActivityRequest request;
    std::string message;
  };
  std::vector<Case> cases(5);
  cases[0] = {"malformed token", {}, "resume_token"};
  cases[0].request.set_resume_token("not-a-token");
  cases[1] = {"token of another database", {}, "another database"};
  cases[1].request.set_resume_token(EncodeResumeToken("ffffffffffffffffffffffffffffffff", 1));
  cases[2] = {"heartbeat below 1s", {}, "heartbeat_interval"};
  cases[2].request.mutable_heartbeat_interval()->set_nanos(500000000);
  cases[3] = {"heartbeat above 60s", {}, "heartbeat_interval"};
  cases[3].request.mutable_heartbeat_interval()->set_seconds(61);
  cases[4] = {"unknown start", {}, "start"};
  cases[4].request.set_start(static_cast<v1::StartPosition>(9));
  for (const Case& c : cases) {
    auto client = f.Watch(c.request);
    EXPECT_THAT(client->Finish(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.name;
  }
}

TEST(FeedHubTest, BackfillIsLeftOutUnlessAskedForAndHeartbeatsStillAdvance) {
  FeedFixture f;
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.mutable_heartbeat_interval()->set_seconds(1);
  auto live_only = f.Watch(request);
  request.set_include_backfill(true);
  auto with_backfill = f.Watch(request);
  ASSERT_TRUE(live_only->Next().has_value());
  ASSERT_TRUE(with_backfill->Next().has_value());
  const std::vector<uint64_t> backfill = f.Ingest(3, 1, db::Origin::kBackfill);

  StreamChecker all(kFeedId);
  ASSERT_TRUE(ReadUntil(*with_backfill, all, [&] { return all.received() == 3; }));
  // Nothing matched for the LIVE-only stream, but its heartbeats' position moves past the rows:
  // each second of the hub's clock brings one.
  StreamChecker live(kFeedId);
  for (int i = 0; i < 20 && live.position() < backfill.back(); ++i) {
    f.clock().Advance(absl::Seconds(1));
    std::optional<v1::WatchWhaleActivityResponse> m = live_only->Next(absl::Seconds(5));
    ASSERT_TRUE(m.has_value());
    ASSERT_TRUE(m->has_heartbeat());
    live.Add(*m);
  }
  EXPECT_EQ(live.position(), backfill.back());
  EXPECT_EQ(live.received(), 0u);
}

TEST(FeedHubTest, FiltersSelectActivitiesAndAFilterThatMatchesNothingStillAdvances) {
  FeedFixture f;
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.mutable_heartbeat_interval()->set_seconds(1);
  request.set_filter(absl::StrCat("wallet = \"", FeedWallet(2), "\" AND side = BUY"));
  auto wallet2 = f.Watch(request);
  request.set_filter("amount_usd > 1000000000");
  auto nothing = f.Watch(request);
  ASSERT_TRUE(wallet2->Next().has_value());
  ASSERT_TRUE(nothing->Next().has_value());
  f.Ingest(10, 1);
  const std::vector<uint64_t> last = f.Ingest(10, 2);

  const auto committed = f.Committed();
  auto matches = [](const db::Activity& a) {
    return a.wallet == FeedWallet(2) && a.side == db::Side::kBuy && IsLive(a);
  };
  size_t expected = 0;
  for (const auto& [sequence, a] : committed) expected += matches(a) ? 1 : 0;
  ASSERT_GT(expected, 0u);
  StreamChecker some(kFeedId);
  ASSERT_TRUE(ReadUntil(*wallet2, some, [&] { return some.received() == expected; }));
  some.ExpectComplete(committed, 0, matches);

  StreamChecker none(kFeedId);
  for (int i = 0; i < 20 && none.position() < last.back(); ++i) {
    f.clock().Advance(absl::Seconds(1));
    std::optional<v1::WatchWhaleActivityResponse> m = nothing->Next(absl::Seconds(5));
    ASSERT_TRUE(m.has_value());
    none.Add(*m);
  }
  EXPECT_EQ(none.position(), last.back());
  EXPECT_EQ(none.received(), 0u);
}

TEST(FeedHubTest, BadFilterIsInvalidArgumentNamingIt) {
  FeedFixture f;
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.set_filter("colour = \"red\"");
  auto client = f.Watch(request);
  EXPECT_THAT(client->Finish(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("colour")));
}

TEST(FeedHubTest, HeartbeatsCarryFreshness) {
  FeedFixture f;
  f.Ingest(1);  // polled and ingested at T+1h, traded at T: 1h detection lag
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.mutable_heartbeat_interval()->set_seconds(1);
  auto client = f.Watch(request);
  std::optional<v1::WatchWhaleActivityResponse> first = client->Next();
  ASSERT_TRUE(first.has_value() && first->has_heartbeat());
  EXPECT_EQ(first->heartbeat().last_whale_poll_time().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Hours(1)));
  EXPECT_EQ(first->heartbeat().detection_lag().seconds(), 3600);
  EXPECT_EQ(first->heartbeat().server_time().seconds(), absl::ToUnixSeconds(f.clock().Now()));
  // None before the interval has passed on the hub's clock; one once it has.
  EXPECT_FALSE(client->Next(absl::Milliseconds(200)).has_value());
  f.clock().Advance(absl::Seconds(1));
  const absl::Time begin = absl::Now();
  std::optional<v1::WatchWhaleActivityResponse> second = client->Next(absl::Seconds(5));
  ASSERT_TRUE(second.has_value() && second->has_heartbeat());
  EXPECT_TRUE(second->heartbeat().caught_up());
  EXPECT_EQ(second->heartbeat().server_time().seconds(), absl::ToUnixSeconds(f.clock().Now()));
  std::printf("periodic heartbeat sent %s after the interval passed (tick 20ms)\n",
              absl::FormatDuration(absl::Now() - begin).c_str());
}

TEST(FeedHubTest, SlowConsumerStaysWithinItsBudgetThenCatchesUpWithoutLoss) {
  FeedHubOptions options = FastOptions();
  options.stream_buffer_bytes = 16 << 10;
  options.ring_events = 64;
  options.read_batch = 100;
  FeedFixture f(options);
  f.Start();
  v1::WatchWhaleActivityRequest request;
  request.mutable_heartbeat_interval()->set_seconds(60);
  auto slow = f.Watch(request);
  auto fast = f.Watch(request);
  std::optional<v1::WatchWhaleActivityResponse> first = slow->Next();
  ASSERT_TRUE(first.has_value());
  StreamChecker slow_checker(kFeedId), fast_checker(kFeedId);
  slow_checker.Add(*first);
  // Both streams are open (at LATEST) before anything is written.
  std::optional<v1::WatchWhaleActivityResponse> fast_first = fast->Next();
  ASSERT_TRUE(fast_first.has_value());
  fast_checker.Add(*fast_first);
  slow->Pause();
  // About 3 MB of activity while the slow client reads nothing: far beyond gRPC's windows, the
  // ring and the stream's budget.
  size_t max_buffered = 0;
  size_t total = 0;
  for (int round = 0; round < 60; ++round) {
    total += f.Ingest(100).size();
    ASSERT_TRUE(ReadUntil(*fast, fast_checker, [&] { return fast_checker.received() == total; }))
        << "fast client at " << fast_checker.position() << ", " << fast_checker.received() << " of "
        << total << "; hub: " << StatsText(f.hub().Stats());
    for (const FeedStreamStats& s : f.hub().Stats().streams) {
      max_buffered = std::max(max_buffered, s.buffered_bytes);
    }
  }
  const FeedHubStats stats = f.hub().Stats();
  std::printf(
      "slow consumer: %zu activities, max buffered %zu bytes (budget %zu), %llu overflows\n", total,
      max_buffered, options.stream_buffer_bytes, static_cast<unsigned long long>(stats.overflows));
  // The budget holds, up to one message (a batch is capped at max_message_bytes, one event more).
  EXPECT_LE(max_buffered, options.stream_buffer_bytes + 4096);
  EXPECT_GE(stats.overflows, 1u);
  slow->Resume();
  ASSERT_TRUE(ReadUntil(
      *slow, slow_checker, [&] { return slow_checker.received() == total; }, absl::Seconds(30)));
  const auto committed = f.Committed();
  slow_checker.ExpectComplete(committed, 0, IsLive);
  fast_checker.ExpectComplete(committed, 0, IsLive);
  EXPECT_GT(slow_checker.max_batch(), 1) << "pending activities are coalesced into one message";
  std::printf("slow consumer caught up; largest message %d activities\n", slow_checker.max_batch());
}

TEST(FeedHubTest, StreamsOverTheCapAreResourceExhausted) {
  FeedHubOptions options = FastOptions();
  options.max_streams = 2;
  FeedFixture f(options);
  f.Start();
  auto a = f.Watch();
  auto b = f.Watch();
  ASSERT_TRUE(a->Next().has_value());
  ASSERT_TRUE(b->Next().has_value());
  auto c = f.Watch();
  EXPECT_THAT(c->Finish(), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("cap")));
  // A slot that frees is usable again.
  a->Cancel();
  EXPECT_THAT(a->Finish(), StatusIs(absl::StatusCode::kCancelled));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (f.hub().Stats().subscribers > 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // polling for the server to see the cancel
  }
  auto d = f.Watch();
  std::optional<v1::WatchWhaleActivityResponse> first = d->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->has_heartbeat());
}

TEST(FeedHubTest, DrainEndsOpenStreamsWithUnavailableAndShutdownIsPrompt) {
  FeedFixture f;
  f.Start();
  std::vector<std::unique_ptr<WatchClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(f.Watch());
    ASSERT_TRUE(clients.back()->Next().has_value());
  }
  // One client that stopped reading with a write stuck behind flow control.
  auto stuck = f.Watch();
  ASSERT_TRUE(stuck->Next().has_value());
  stuck->Pause();
  for (int i = 0; i < 30; ++i) f.Ingest(100);
  const absl::Duration took = f.StopServer();
  std::printf("server Shutdown with 21 open streams took %s\n", absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(5));
  for (auto& client : clients) {
    EXPECT_THAT(client->Finish(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("resume")));
  }
  stuck->Resume();
  EXPECT_FALSE(stuck->Finish().ok());
}

TEST(FeedHubTest, RefusesStreamsWhileTheDatabaseWasNeverRead) {
  FeedFixture f;
  f.store().SetAvailable(false);
  ASSERT_OK(f.hub().Start());
  EXPECT_FALSE(f.hub().WaitReady(absl::Milliseconds(100)));
  f.store().SetAvailable(true);
  EXPECT_TRUE(f.hub().WaitReady(absl::Seconds(10)));
  EXPECT_TRUE(f.hub().Stop(absl::Now() + absl::Seconds(10)));
}

}  // namespace
}  // namespace whalefeed::server
