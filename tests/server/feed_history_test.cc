// The feed end to end on a real MariaDB: two servers (a leader woken by its commits, a follower
// that only tails) on one database, a writer committing polls of random size, and clients that
// disconnect at random and resume with their last token (on either server), one of which stops
// reading for a while. The history checker compares everything each client received with every
// committed row: order, no duplicate, nothing missing from the start or resume point, positions
// never going back. Also: ListWhaleActivity against the stream over the same range, and a watch
// from a list's resume_token; an expired token, a token of another database, and a shutdown with
// open idle streams through WhaledServer.
#include <cppconn/connection.h>
#include <cppconn/statement.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "db/mysql_store.h"
#include "server/admin_auth.h"
#include "server/feed_hub.h"
#include "server/feed_service.h"
#include "server/health_service.h"
#include "server/resume_token.h"
#include "server/whale_service.h"
#include "server/whaled_server.h"
#include "tests/server/feed_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using ::whalefeed::testing::FeedTrade;
using ::whalefeed::testing::FeedWallet;
using ::whalefeed::testing::IsOkAndHolds;
using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::StreamChecker;
using ::whalefeed::testing::TestDatabase;
using ::whalefeed::testing::WatchClient;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

FeedHubOptions TestHubOptions() {
  FeedHubOptions options;
  options.tail_interval = absl::Milliseconds(50);
  options.heartbeat_tick = absl::Milliseconds(50);
  options.freshness_refresh = absl::Milliseconds(100);
  options.stream_buffer_bytes = 32 << 10;
  options.ring_events = 256;
  options.read_batch = 200;
  return options;
}

// One replica: its own store (pool) on the shared database, a hub and a gRPC server.
class Replica {
 public:
  Replica(const db::MySqlDsn& dsn, FeedHubOptions options) {
    db::MySqlStoreOptions store_options;
    store_options.dsn = dsn;
    store_ = *db::MySqlStore::Create(store_options);
    hub_ = std::make_unique<FeedHub>(store_.get(), &clock_, ActivityFilterParser(), options);
    service_ = std::make_unique<FeedService>(hub_.get());
  }
  ~Replica() { Stop(); }

  void Start() {
    ASSERT_OK(store_->PrepareDatabase());
    ASSERT_OK(hub_->Start());
    ASSERT_TRUE(hub_->WaitReady(absl::Seconds(30)));
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }
  void Stop() {
    if (server_ == nullptr) return;
    hub_->Drain();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    server_->Wait();
    EXPECT_TRUE(hub_->Stop(absl::Now() + absl::Seconds(10)));
    server_.reset();
  }

  db::MySqlStore& store() { return *store_; }
  FeedHub& hub() { return *hub_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }

 private:
  RealClock clock_;
  std::unique_ptr<db::MySqlStore> store_;
  std::unique_ptr<FeedHub> hub_;
  std::unique_ptr<FeedService> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

class FeedHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, TestDatabase::Create());
    leader_ = std::make_unique<Replica>(database_->dsn(), TestHubOptions());
    follower_ = std::make_unique<Replica>(database_->dsn(), TestHubOptions());
    leader_->Start();
    follower_->Start();
    ASSERT_OK_AND_ASSIGN(fence_, leader_->store().AdvanceLeaderEpoch("leader", kT0));
    for (int w = 1; w <= 3; ++w) {
      ASSERT_OK(
          leader_->store()
              .TrackWhale(FeedWallet(w), absl::StrCat("whale ", w), db::WhaleSource::kFile, kT0)
              .status());
    }
    ASSERT_OK_AND_ASSIGN(db::FeedMeta meta, leader_->store().GetFeedMeta());
    feed_id_ = meta.feed_id;
  }
  void TearDown() override {
    if (follower_) follower_->Stop();
    if (leader_) leader_->Stop();
  }

  // One poll of `n` trades of a wallet (some BACKFILL), committed on the leader, which is woken.
  void Ingest(int n, std::mt19937& random) {
    const int wallet = 1 + static_cast<int>(random() % 3);
    std::vector<db::Activity> trades;
    for (int i = 0; i < n; ++i) {
      const db::Origin origin = random() % 5 == 0 ? db::Origin::kBackfill : db::Origin::kLive;
      trades.push_back(FeedTrade(FeedWallet(wallet), next_trade_++, kT0, origin));
    }
    // Every few polls repeat a trade already stored: duplicates are skipped (and may leave
    // sequence numbers unused).
    if (next_trade_ > 10 && random() % 4 == 0) {
      trades.push_back(FeedTrade(FeedWallet(wallet), next_trade_ - 5, kT0));
    }
    const absl::Time now = absl::Now();
    absl::StatusOr<db::IngestResult> result = leader_->store().IngestActivities(
        fence_, FeedWallet(wallet), trades, {now, now + absl::Minutes(1), n}, now);
    ASSERT_OK(result.status());
    if (!result->inserted_sequences.empty()) {
      leader_->hub().NotifyCommitted(result->inserted_sequences.back());
    }
  }

  std::map<uint64_t, db::Activity> Committed() {
    std::map<uint64_t, db::Activity> all;
    uint64_t after = 0;
    while (true) {
      absl::StatusOr<std::vector<db::Activity>> rows =
          leader_->store().ReadActivitiesAfter(after, 1000);
      EXPECT_OK(rows.status());
      if (!rows.ok() || rows->empty()) return all;
      for (db::Activity& a : *rows) {
        after = a.sequence;
        all[a.sequence] = std::move(a);
      }
    }
  }

  // SQL on a connection of the test's own.
  void Execute(const std::string& sql) {
    absl::StatusOr<std::unique_ptr<db::MySqlConnection>> c = database_->Connect();
    ASSERT_OK(c.status());
    std::unique_ptr<sql::Statement> st((*c)->raw().createStatement());
    st->execute(sql);
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<Replica> leader_;
  std::unique_ptr<Replica> follower_;
  db::Fence fence_;
  std::string feed_id_;
  int64_t next_trade_ = 1;
};

bool IsLive(const db::Activity& a) { return a.origin == db::Origin::kLive; }
bool Any(const db::Activity&) { return true; }

// A client that reconnects at random (to either replica) with its last token, checking everything
// it receives across its connections.
struct ResumingClient {
  ResumingClient(const std::string& feed_id, std::vector<std::shared_ptr<grpc::Channel>> channels,
                 bool include_backfill, uint32_t seed)
      : feed_id(feed_id),
        checker(feed_id),
        channels(std::move(channels)),
        include_backfill(include_backfill),
        random(seed) {}

  // Reads until the position reaches `target` (then stops), reconnecting at random.
  void Run(uint64_t start_position, const std::atomic<uint64_t>* target,
           absl::Duration pause_after_first = absl::ZeroDuration()) {
    std::string token = server::EncodeResumeToken(feed_id, start_position);
    bool paused_once = pause_after_first == absl::ZeroDuration();
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (absl::Now() < deadline) {
      v1::WatchWhaleActivityRequest request;
      request.set_resume_token(token);
      request.set_include_backfill(include_backfill);
      request.mutable_heartbeat_interval()->set_seconds(1);
      WatchClient client(channels[random() % channels.size()], request);
      ++connections;
      const int messages_this_time = 1 + static_cast<int>(random() % 40);
      for (int i = 0; i < messages_this_time; ++i) {
        if (!paused_once && checker.received() > 0) {
          // A consumer that stops reading for a while: the server must keep its budget and then
          // catch up without loss.
          paused_once = true;
          client.Pause();
          absl::SleepFor(pause_after_first);  // the pause itself is what is tested
          client.Resume();
        }
        std::optional<v1::WatchWhaleActivityResponse> m = client.Next(absl::Seconds(20));
        if (!m.has_value()) {
          ADD_FAILURE() << "stream stalled or ended: " << client.Finish(absl::Seconds(1));
          return;
        }
        checker.Add(*m);
        token = m->resume_token();
        if (checker.position() >= target->load() && target->load() != 0) return;
      }
      // Drop the connection (the client goes away) and resume with the last token received.
    }
    ADD_FAILURE() << "did not reach the target in time";
  }
  const std::string feed_id;
  StreamChecker checker;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  bool include_backfill;
  std::mt19937 random;
  int connections = 0;
};

TEST_F(FeedHistoryTest, ResumingClientsOnTwoReplicasReceiveEveryCommittedRowInOrder) {
  std::mt19937 random(20261203);
  // Some history before any client connects.
  for (int i = 0; i < 20; ++i) Ingest(1 + static_cast<int>(random() % 30), random);

  std::atomic<uint64_t> target{0};
  const std::vector<std::shared_ptr<grpc::Channel>> both = {leader_->channel(),
                                                            follower_->channel()};
  std::vector<std::unique_ptr<ResumingClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<ResumingClient>(feed_id_, both, i % 2 == 0, 100 + i));
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients.size(); ++i) {
    threads.emplace_back([&, i] {
      // Client 0 stops reading for 2 s once it has received something.
      clients[i]->Run(/*start_position=*/i == 1 ? 100 : 0, &target,
                      i == 0 ? absl::Seconds(2) : absl::ZeroDuration());
    });
  }
  // The writer: about 3,000 rows in polls of random size while the clients come and go.
  size_t max_buffered = 0;
  for (int i = 0; i < 200; ++i) {
    Ingest(1 + static_cast<int>(random() % 30), random);
    if (i % 10 == 0) {
      for (Replica* r : {leader_.get(), follower_.get()}) {
        max_buffered = std::max(max_buffered, r->hub().Stats().buffered_bytes_max);
      }
    }
  }
  ASSERT_OK_AND_ASSIGN(const uint64_t head, leader_->store().GetLatestSequence());
  target = head;
  for (std::thread& t : threads) t.join();

  const std::map<uint64_t, db::Activity> committed = Committed();
  std::printf(
      "committed %zu rows up to sequence %llu; max buffered per stream %zu bytes (budget %zu)\n",
      committed.size(), static_cast<unsigned long long>(head), max_buffered,
      TestHubOptions().stream_buffer_bytes);
  EXPECT_LE(max_buffered, TestHubOptions().stream_buffer_bytes + 4096);
  for (size_t i = 0; i < clients.size(); ++i) {
    const ResumingClient& c = *clients[i];
    std::printf("client %zu: %zu activities over %d connections, largest message %d\n", i,
                c.checker.received(), c.connections, c.checker.max_batch());
    EXPECT_GE(c.checker.position(), head);
    c.checker.ExpectComplete(committed, i == 1 ? 100 : 0, c.include_backfill ? Any : IsLive);
  }
}

TEST_F(FeedHistoryTest, BothReplicasDeliverTheSameEventsInTheSameOrder) {
  std::mt19937 random(7);
  v1::WatchWhaleActivityRequest request;
  request.set_start(v1::START_POSITION_EARLIEST);
  request.set_include_backfill(true);
  WatchClient on_leader(leader_->channel(), request);
  WatchClient on_follower(follower_->channel(), request);
  for (int i = 0; i < 50; ++i) Ingest(1 + static_cast<int>(random() % 20), random);
  ASSERT_OK_AND_ASSIGN(const uint64_t head, leader_->store().GetLatestSequence());
  std::vector<uint64_t> got[2];
  StreamChecker checkers[2] = {StreamChecker(feed_id_), StreamChecker(feed_id_)};
  WatchClient* clients[2] = {&on_leader, &on_follower};
  for (int i = 0; i < 2; ++i) {
    while (checkers[i].position() < head) {
      std::optional<v1::WatchWhaleActivityResponse> m = clients[i]->Next(absl::Seconds(20));
      ASSERT_TRUE(m.has_value()) << "replica " << i;
      for (uint64_t s : checkers[i].Add(*m)) got[i].push_back(s);
    }
  }
  EXPECT_EQ(got[0], got[1]);
  const auto committed = Committed();
  EXPECT_EQ(got[0].size(), committed.size());
  checkers[0].ExpectComplete(committed, 0, Any);
  checkers[1].ExpectComplete(committed, 0, Any);
}

TEST_F(FeedHistoryTest, ListThenWatchFromItsTokenContinuesWithNoGapAndNoOverlap) {
  std::mt19937 random(7);
  for (int i = 0; i < 30; ++i) Ingest(1 + static_cast<int>(random() % 6), random);

  // ListWhaleActivity through its generated stub, on the leader's store.
  RealClock clock;
  AdminAuth admin_auth("");
  DataVersionWatcher versions(&leader_->store(), &clock, absl::ZeroDuration());
  WhaleService whale_service(&leader_->store(), &clock, &versions, &admin_auth);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&whale_service);
  std::unique_ptr<grpc::Server> list_server = builder.BuildAndStart();
  ASSERT_NE(list_server, nullptr);
  auto whales = v1::WhaleService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  // Walk every LIVE activity, oldest first, in pages of 7.
  std::vector<uint64_t> listed;
  std::string resume_token;
  v1::ListWhaleActivityRequest list;
  list.set_page_size(7);
  list.set_order_by("sequence");
  do {
    grpc::ClientContext context;
    v1::ListWhaleActivityResponse page;
    grpc::Status status = whales->ListWhaleActivity(&context, list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::WhaleActivity& a : page.activities()) listed.push_back(a.sequence());
    if (resume_token.empty()) resume_token = page.resume_token();
    EXPECT_EQ(page.resume_token(), resume_token) << "the walk's high-water mark moved";
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  ASSERT_OK_AND_ASSIGN(const uint64_t mark, DecodeResumeToken(resume_token, feed_id_));
  ASSERT_FALSE(listed.empty());
  // Nothing was committed during the walk: its mark is the head, and the last row is at most that.
  EXPECT_THAT(leader_->store().GetLatestSequence(), IsOkAndHolds(mark));
  EXPECT_LE(listed.back(), mark);

  // The stream from EARLIEST over the same range delivers exactly what the list returned.
  {
    v1::WatchWhaleActivityRequest request;
    request.set_start(v1::START_POSITION_EARLIEST);
    request.mutable_heartbeat_interval()->set_seconds(1);
    WatchClient client(leader_->channel(), request);
    StreamChecker checker(feed_id_);
    std::vector<uint64_t> streamed;
    while (checker.position() < mark) {
      std::optional<v1::WatchWhaleActivityResponse> m = client.Next(absl::Seconds(20));
      ASSERT_TRUE(m.has_value()) << "stream stalled at " << checker.position();
      for (uint64_t sequence : checker.Add(*m)) {
        if (sequence <= mark) streamed.push_back(sequence);
      }
    }
    EXPECT_EQ(streamed, listed);
  }

  // Rows committed after the walk; a watch from the list's token gets exactly those that match.
  for (int i = 0; i < 10; ++i) Ingest(1 + static_cast<int>(random() % 6), random);
  const std::map<uint64_t, db::Activity> committed = Committed();
  const uint64_t head = committed.rbegin()->first;
  ASSERT_GT(head, mark);
  v1::WatchWhaleActivityRequest request;
  request.set_resume_token(resume_token);
  request.mutable_heartbeat_interval()->set_seconds(1);
  WatchClient client(follower_->channel(), request);
  StreamChecker checker(feed_id_);
  std::vector<uint64_t> continued;
  while (checker.position() < head) {
    std::optional<v1::WatchWhaleActivityResponse> m = client.Next(absl::Seconds(20));
    ASSERT_TRUE(m.has_value()) << "stream stalled at " << checker.position();
    for (uint64_t sequence : checker.Add(*m)) continued.push_back(sequence);
  }
  std::vector<uint64_t> expected;
  for (auto it = committed.upper_bound(mark); it != committed.end(); ++it) {
    if (IsLive(it->second)) expected.push_back(it->first);
  }
  EXPECT_EQ(continued, expected) << "a gap or an overlap between the list and the watch";
  std::printf("list then watch: %zu listed up to %llu, %zu more streamed from its token\n",
              listed.size(), static_cast<unsigned long long>(mark), continued.size());
  list_server->Shutdown();
}

TEST_F(FeedHistoryTest, ExpiredTokenIsOutOfRangeWithTheOldestValidTokenInTheTrailer) {
  std::mt19937 random(3);
  for (int i = 0; i < 10; ++i) Ingest(5, random);
  const std::map<uint64_t, db::Activity> before = Committed();
  ASSERT_GE(before.size(), 20u);
  const uint64_t floor = std::next(before.begin(), 20)->first;  // the oldest retained
  // What retention does: delete the oldest rows, raise the floor.
  Execute(absl::StrCat("DELETE FROM whale_activity WHERE sequence < ", floor));
  Execute(absl::StrCat("UPDATE feed_meta SET retention_floor = ", floor));
  // The hubs read the floor every freshness_refresh (100 ms here).
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((leader_->hub().Stats().retention_floor != floor ||
          follower_->hub().Stats().retention_floor != floor) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }

  for (Replica* replica : {leader_.get(), follower_.get()}) {
    v1::WatchWhaleActivityRequest request;
    request.set_resume_token(EncodeResumeToken(feed_id_, before.begin()->first));
    request.set_include_backfill(true);
    WatchClient expired(replica->channel(), request);
    absl::Status status = expired.Finish(absl::Seconds(20));
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("retention")));
    std::optional<std::string> oldest = GetTrailer(status, kOldestResumeTokenTrailer);
    ASSERT_TRUE(oldest.has_value()) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(*oldest));
    EXPECT_THAT(DecodeResumeToken(*oldest, feed_id_), testing::IsOkAndHolds(floor - 1));

    // Resuming from the oldest valid token: everything retained, in order.
    request.set_resume_token(*oldest);
    WatchClient resumed(replica->channel(), request);
    StreamChecker checker(feed_id_);
    const std::map<uint64_t, db::Activity> retained = Committed();
    while (checker.position() < retained.rbegin()->first) {
      std::optional<v1::WatchWhaleActivityResponse> m = resumed.Next(absl::Seconds(20));
      ASSERT_TRUE(m.has_value());
      checker.Add(*m);
    }
    EXPECT_EQ(checker.received(), retained.size());
    checker.ExpectComplete(retained, floor - 1, Any);
  }
}

TEST_F(FeedHistoryTest, TokenOfAnotherDatabaseIsInvalidArgument) {
  v1::WatchWhaleActivityRequest request;
  request.set_resume_token(EncodeResumeToken("00000000000000000000000000000bad", 1));
  WatchClient client(leader_->channel(), request);
  EXPECT_THAT(client.Finish(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("another database")));
}

TEST_F(FeedHistoryTest, WhaledServerShutdownWithOpenIdleStreamsIsPrompt) {
  // The composition whaled uses: the hub as a component of WhaledServer.
  db::MySqlStoreOptions store_options;
  store_options.dsn = database_->dsn();
  ASSERT_OK_AND_ASSIGN(auto store, db::MySqlStore::Create(store_options));
  RealClock clock;
  FeedHub hub(store.get(), &clock, ActivityFilterParser(), TestHubOptions());
  FeedService service(&hub);
  HealthService health;
  WhaledServerOptions options;
  options.listen = "127.0.0.1:0";
  options.shutdown_timeout = absl::Seconds(10);
  WhaledParts parts;
  parts.health = &health;
  parts.services = {&service};
  parts.components = {&hub};
  ASSERT_OK_AND_ASSIGN(auto server, WhaledServer::Start(options, parts));
  ASSERT_TRUE(hub.WaitReady(absl::Seconds(30)));
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                                     grpc::InsecureChannelCredentials());
  std::vector<std::unique_ptr<WatchClient>> clients;
  for (int i = 0; i < 50; ++i) {
    v1::WatchWhaleActivityRequest request;
    request.mutable_heartbeat_interval()->set_seconds(60);
    clients.push_back(std::make_unique<WatchClient>(channel, request));
    ASSERT_TRUE(clients.back()->Next().has_value());  // open, then idle
  }
  const absl::Time begin = absl::Now();
  ASSERT_OK(server->Shutdown());
  const absl::Duration took = absl::Now() - begin;
  std::printf("WhaledServer shutdown with 50 open idle streams: %s (shutdown_timeout 10s)\n",
              absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(3));
  for (auto& client : clients) {
    EXPECT_THAT(client->Finish(), StatusIs(absl::StatusCode::kUnavailable));
  }
}

}  // namespace
}  // namespace whalefeed::server
