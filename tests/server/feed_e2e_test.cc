// The feed through the real whaled binary and a MariaDB of the test's own: a client resumes with
// its last token after whaled is killed with SIGKILL and started again, and an open stream survives
// a restart of the database (heartbeats go on while it is down, then every row committed after it
// came back arrives). The test writes activity itself, as the leader would (a fence won through
// AdvanceLeaderEpoch), and checks every message with the history checker.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/mysql_store.h"
#include "tests/server/feed_test_util.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"

namespace whalefeed {
namespace {

using ::whalefeed::testing::FeedTrade;
using ::whalefeed::testing::FeedWallet;
using ::whalefeed::testing::PrivateMariaDb;
using ::whalefeed::testing::StatusIs;
using ::whalefeed::testing::StreamChecker;
using ::whalefeed::testing::Subprocess;
using ::whalefeed::testing::WatchClient;

constexpr char kWhaled[] = WHALED_PATH;
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

// Starts whaled on a free port; returns the port it printed. The test is the writer (it holds the
// leader epoch), so whaled only serves: --sync_enabled=false keeps it out of the election.
absl::StatusOr<int> StartWhaled(const std::string& dsn_url, std::unique_ptr<Subprocess>* process) {
  auto started = Subprocess::Start({kWhaled, "--listen=127.0.0.1:0", "--mysql_dsn=" + dsn_url,
                                    "--health_probe_interval=200ms", "--shutdown_timeout=2s",
                                    "--feed_tail_interval=50ms", "--db_pool_wait_timeout=1s",
                                    "--sync_enabled=false"});
  if (!started.ok()) return started.status();
  *process = *std::move(started);
  absl::StatusOr<std::string> line = (*process)->WaitForLine("listening on", absl::Seconds(30));
  if (!line.ok()) return line.status();
  const size_t colon = line->find(':', line->find("listening on"));
  const size_t end = line->find(',', colon);
  int port = 0;
  if (!absl::SimpleAtoi(line->substr(colon + 1, end - colon - 1), &port)) {
    return absl::InternalError("no port in: " + *line);
  }
  // Ready to serve the feed once the hub has read the database.
  absl::StatusOr<std::string> ready = (*process)->WaitForLine("feed hub: ready", absl::Seconds(30));
  if (!ready.ok()) return ready.status();
  return port;
}

std::shared_ptr<grpc::Channel> Channel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

// The database, whaled, and the test's own writer on the same database, holding a leader fence.
class FeedEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/1);
    ASSERT_OK_AND_ASSIGN(mariadb_, PrivateMariaDb::Create());
    dsn_ = mariadb_->Dsn("whalefeed_feed_e2e");
    ASSERT_OK_AND_ASSIGN(port_, StartWhaled(testing::DsnToUrl(dsn_), &whaled_));
    db::MySqlStoreOptions options;
    options.dsn = dsn_;
    options.pool.acquire_timeout = absl::Seconds(1);
    ASSERT_OK_AND_ASSIGN(store_, db::MySqlStore::Create(options));
    ASSERT_OK(store_->PrepareDatabase());
    ASSERT_OK_AND_ASSIGN(fence_, store_->AdvanceLeaderEpoch("test-writer", kT0));
    ASSERT_OK(store_->TrackWhale(FeedWallet(1), "w1", db::WhaleSource::kFile, kT0).status());
    ASSERT_OK_AND_ASSIGN(db::FeedMeta meta, store_->GetFeedMeta());
    feed_id_ = meta.feed_id;
  }
  void TearDown() override {
    if (whaled_ != nullptr) {
      whaled_->Signal(SIGKILL);
      (void)whaled_->Wait(absl::Seconds(10));
    }
  }

  // One poll of `n` trades; the store reconnects by itself after a database restart.
  absl::Status Ingest(int n) {
    std::vector<db::Activity> trades;
    for (int i = 0; i < n; ++i) trades.push_back(FeedTrade(FeedWallet(1), next_trade_++, kT0));
    const absl::Time now = absl::Now();
    return store_->IngestActivities(fence_, FeedWallet(1), trades, {now, now, n}, now).status();
  }
  std::map<uint64_t, db::Activity> Committed() {
    std::map<uint64_t, db::Activity> all;
    absl::StatusOr<std::vector<db::Activity>> rows = store_->ReadActivitiesAfter(0, 100000);
    EXPECT_OK(rows.status());
    if (rows.ok()) {
      for (db::Activity& a : *rows) all[a.sequence] = std::move(a);
    }
    return all;
  }

  std::unique_ptr<PrivateMariaDb> mariadb_;
  db::MySqlDsn dsn_;
  std::unique_ptr<Subprocess> whaled_;
  int port_ = 0;
  std::unique_ptr<db::MySqlStore> store_;
  db::Fence fence_;
  std::string feed_id_;
  int64_t next_trade_ = 1;
};

bool Any(const db::Activity&) { return true; }

// Reads `client` into `checker` until its position reaches `target`; the last token.
void ReadTo(WatchClient& client, StreamChecker& checker, uint64_t target, std::string* token) {
  while (checker.position() < target) {
    std::optional<v1::WatchWhaleActivityResponse> m = client.Next(absl::Seconds(20));
    ASSERT_TRUE(m.has_value()) << client.Finish(absl::Seconds(1));
    checker.Add(*m);
    *token = m->resume_token();
  }
}

TEST_F(FeedEndToEndTest, ClientResumesWithItsTokenAfterWhaledIsKilledAndRestarted) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Ingest(20));
  StreamChecker checker(feed_id_);
  std::string token;
  {
    v1::WatchWhaleActivityRequest request;
    request.set_start(v1::START_POSITION_EARLIEST);
    WatchClient client(Channel(port_), request);
    ReadTo(client, checker, Committed().rbegin()->first, &token);
    whaled_->Signal(SIGKILL);
    ASSERT_OK(whaled_->Wait(absl::Seconds(10)).status());
    // The stream ends (the connection is gone): the client keeps its last token.
    EXPECT_THAT(client.Finish(absl::Seconds(20)), StatusIs(absl::StatusCode::kUnavailable));
  }
  // Rows committed while no whaled runs.
  for (int i = 0; i < 5; ++i) ASSERT_OK(Ingest(20));
  ASSERT_OK_AND_ASSIGN(port_, StartWhaled(testing::DsnToUrl(dsn_), &whaled_));
  v1::WatchWhaleActivityRequest request;
  request.set_resume_token(token);
  WatchClient resumed(Channel(port_), request);
  for (int i = 0; i < 5; ++i) ASSERT_OK(Ingest(20));
  const auto committed = Committed();
  ReadTo(resumed, checker, committed.rbegin()->first, &token);
  EXPECT_EQ(checker.received(), committed.size());
  checker.ExpectComplete(committed, 0, Any);
}

TEST_F(FeedEndToEndTest, OpenStreamSurvivesADatabaseRestartWithoutLoss) {
  for (int i = 0; i < 3; ++i) ASSERT_OK(Ingest(10));
  v1::WatchWhaleActivityRequest request;
  request.set_start(v1::START_POSITION_EARLIEST);
  request.mutable_heartbeat_interval()->set_seconds(1);
  WatchClient client(Channel(port_), request);
  StreamChecker checker(feed_id_);
  std::string token;
  ReadTo(client, checker, Committed().rbegin()->first, &token);

  ASSERT_OK(mariadb_->Stop());
  // Heartbeats go on while the database is down: the client sees the server alive and its data
  // not moving (same head, old last poll time), which is "stuck", not "quiet".
  int heartbeats = 0;
  const absl::Time begin = absl::Now();
  while (heartbeats < 2) {
    std::optional<v1::WatchWhaleActivityResponse> m = client.Next(absl::Seconds(10));
    ASSERT_TRUE(m.has_value()) << client.Finish(absl::Seconds(1));
    checker.Add(*m);
    if (m->has_heartbeat()) ++heartbeats;
  }
  std::printf("2 heartbeats while the database was down, in %s\n",
              absl::FormatDuration(absl::Now() - begin).c_str());
  ASSERT_OK(mariadb_->Start());
  // The writer's pool reconnects; the first attempts may still fail while the server starts.
  absl::Status ingested;
  for (int attempt = 0; attempt < 50; ++attempt) {
    ingested = Ingest(10);
    if (ingested.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));  // retry pacing, as any client of a restarted database
  }
  ASSERT_OK(ingested);
  for (int i = 0; i < 3; ++i) ASSERT_OK(Ingest(10));
  const auto committed = Committed();
  ReadTo(client, checker, committed.rbegin()->first, &token);
  EXPECT_EQ(checker.received(), committed.size());
  checker.ExpectComplete(committed, 0, Any);
}

}  // namespace
}  // namespace whalefeed
