// What the feed's tests share: a client of WatchWhaleActivity that reads on a thread of its own
// (and can stop reading, as a slow consumer does), trades to ingest, and the history checker that
// compares what clients received with what was committed.
#ifndef WHALEFEED_TESTS_SERVER_FEED_TEST_UTIL_H_
#define WHALEFEED_TESTS_SERVER_FEED_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "db/store.h"
#include "server/resume_token.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"

namespace whalefeed::testing {

using v1::WatchWhaleActivityRequest;
using v1::WatchWhaleActivityResponse;

inline std::string FeedWallet(int n) { return absl::StrFormat("0x%040x", n); }

// A trade of `wallet` whose natural key is unique for `n`.
inline db::Activity FeedTrade(const std::string& wallet, int64_t n, absl::Time traded,
                              db::Origin origin = db::Origin::kLive) {
  db::Activity a;
  a.tx_hash = absl::StrFormat("0x%064x", n);
  a.wallet = wallet;
  a.market_id = 16565 + n % 7;
  a.root_market_id = 788;
  a.market_title = absl::StrCat("Option ", n % 7);
  a.root_market_title = "Who wins the final?";
  a.side = n % 3 == 0 ? db::Side::kSell : db::Side::kBuy;
  a.outcome = db::Outcome::kYes;
  a.outcome_label = "YES";
  a.price = "0.62";
  a.shares = absl::StrCat(1000 + n);
  a.amount_usd = absl::StrCat(620 + n);
  a.traded_time = traded;
  a.origin = origin;
  return a;
}

// A WatchWhaleActivity call whose messages a thread reads into a queue. While paused, the thread
// stops reading (the server then sees a slow consumer: flow control holds its writes).
class WatchClient {
 public:
  WatchClient(const std::shared_ptr<grpc::Channel>& channel,
              const WatchWhaleActivityRequest& request)
      : stub_(v1::FeedService::NewStub(channel)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
    reader_ = stub_->WatchWhaleActivity(&context_, request);
    thread_ = std::thread([this] { Run(); });
  }
  ~WatchClient() {
    context_.TryCancel();
    Resume();
    thread_.join();
  }

  // The next message, or nullopt when the stream ended or `timeout` passed.
  std::optional<WatchWhaleActivityResponse> Next(absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !messages_.empty() || done_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (messages_.empty()) return std::nullopt;
    WatchWhaleActivityResponse message = std::move(messages_.front());
    messages_.pop_front();
    return message;
  }

  // Waits for the end of the stream (messages still queued are dropped) and returns its status,
  // with the server's trailing metadata as trailers (GetTrailer).
  absl::Status Finish(absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
      return absl::DeadlineExceededError("the stream did not end");
    }
    return status_;
  }
  bool done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  void Cancel() { context_.TryCancel(); }
  void Pause() {
    absl::MutexLock lock(&mu_);
    paused_ = true;
  }
  void Resume() {
    absl::MutexLock lock(&mu_);
    paused_ = false;
  }

 private:
  void Run() {
    WatchWhaleActivityResponse message;
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        auto running = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !paused_; };
        mu_.Await(absl::Condition(&running));
      }
      if (!reader_->Read(&message)) break;
      absl::MutexLock lock(&mu_);
      messages_.push_back(std::move(message));
    }
    const grpc::Status status = reader_->Finish();
    absl::MutexLock lock(&mu_);
    status_ = FromGrpcStatus(status, &context_);
    done_ = true;
  }

  std::unique_ptr<v1::FeedService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<WatchWhaleActivityResponse>> reader_;
  absl::Mutex mu_;
  std::deque<WatchWhaleActivityResponse> messages_ ABSL_GUARDED_BY(mu_);
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Checks one stream's messages against the contract as they arrive: a message is a heartbeat or a
// batch of activities, activities ascend strictly (no duplicate), each message's token is the
// position of its last activity (or the heartbeat's latest_sequence), positions never go back.
// With `committed` (sequence -> activity_id of every committed row), it also checks that every
// committed row after the start position up to the last position received was delivered, unless
// `matches` says it does not match.
class StreamChecker {
 public:
  explicit StreamChecker(std::string feed_id) : feed_id_(std::move(feed_id)) {}

  // Checks and records one message; returns the activities' sequences.
  std::vector<uint64_t> Add(const WatchWhaleActivityResponse& message) {
    std::vector<uint64_t> sequences;
    absl::StatusOr<uint64_t> token = server::DecodeResumeToken(message.resume_token(), feed_id_);
    EXPECT_TRUE(token.ok()) << token.status();
    if (!token.ok()) return sequences;
    if (message.has_heartbeat()) {
      EXPECT_EQ(message.activities_size(), 0);
      EXPECT_EQ(message.heartbeat().latest_sequence(), *token);
      EXPECT_GE(message.heartbeat().head_sequence(), message.heartbeat().latest_sequence());
      ++heartbeats_;
    } else {
      EXPECT_GT(message.activities_size(), 0) << "a message with neither activities nor heartbeat";
      for (const v1::WhaleActivity& a : message.activities()) {
        sequences.push_back(a.sequence());
        EXPECT_GT(a.sequence(), position_) << "activity out of order or repeated";
        EXPECT_TRUE(received_.emplace(a.sequence(), a.activity_id()).second)
            << "sequence " << a.sequence() << " received twice";
        position_ = std::max(position_, a.sequence());
      }
      if (!sequences.empty()) {
        EXPECT_EQ(*token, sequences.back());
      }
      max_batch_ = std::max(max_batch_, message.activities_size());
    }
    EXPECT_GE(*token, position_) << "the position went back";
    position_ = std::max(position_, *token);
    return sequences;
  }

  // Every committed row in (from, position()] that matches was received, with its activity id.
  template <typename Matches>
  void ExpectComplete(const std::map<uint64_t, db::Activity>& committed, uint64_t from,
                      Matches matches) const {
    int missing = 0;
    for (auto it = committed.upper_bound(from); it != committed.end() && it->first <= position_;
         ++it) {
      if (!matches(it->second)) {
        EXPECT_EQ(received_.count(it->first), 0u) << "sequence " << it->first << " does not match";
        continue;
      }
      auto got = received_.find(it->first);
      if (got == received_.end()) {
        if (++missing <= 5) ADD_FAILURE() << "committed sequence " << it->first << " never arrived";
        continue;
      }
      EXPECT_EQ(got->second, it->second.activity_id);
    }
    EXPECT_EQ(missing, 0);
    for (const auto& [sequence, id] : received_) {
      EXPECT_EQ(committed.count(sequence), 1u) << "sequence " << sequence << " was never committed";
    }
  }

  uint64_t position() const { return position_; }
  size_t received() const { return received_.size(); }
  int heartbeats() const { return heartbeats_; }
  int max_batch() const { return max_batch_; }

 private:
  const std::string feed_id_;
  uint64_t position_ = 0;
  std::map<uint64_t, std::string> received_;
  int heartbeats_ = 0;
  int max_batch_ = 0;
};

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_SERVER_FEED_TEST_UTIL_H_
