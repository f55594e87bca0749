// The whale feed's engine (design §5): one FeedHub per replica tails whale_activity, keeps a
// bounded ring of recent events serialised once, and fans them out to every open WatchWhaleActivity
// stream.
//
// Why tailing `sequence > last` in order never misses a committed row: every transaction that
// writes whale_activity first locks the leader row (db/store.h), so activity commits are
// serialised and a transaction's sequences are assigned while it holds that lock. A commit with
// higher sequences therefore starts only after every commit with lower ones has finished: a read
// that sees sequence S also sees every committed row below S. Numbers may skip (a rolled-back
// transaction's AUTO_INCREMENT values are never used), which is why the hub asks for "everything
// above the last sequence it saw", never for "the next number". Retention cleanup deletes from the
// oldest end only and raises feed_meta.retention_floor with (or before) its deletes, so a read that
// started above the floor it checked afterwards saw every retained row.
//
// Per stream (a reactor of the gRPC callback API, defined in the .cc):
// - the first message is a heartbeat carrying the start position's token;
// - it is either live (it takes the events the tail fans out) or catching up (a worker thread reads
//   the database from its position in batches; never a reaction) until it reaches the ring, then
//   it joins the live events without a gap or an overlap (both happen under the hub's lock);
// - at most one write is in flight; pending matching events are coalesced into one message (their
//   serialised `activities` entries concatenated, plus the resume_token of the last one), so the
//   bytes of an event are built once for all streams;
// - a live stream whose pending bytes exceed its budget drops them and catches up from the
//   database from the last position it wrote (never a silent drop); if the database cannot be read
//   it ends with UNAVAILABLE and the client resumes with its token;
// - heartbeats every heartbeat_interval without activity; caught_up per design §5.11.
//
// Thread-safety: every public method is thread-safe. Lock order: FeedHub::mu_, then a stream's
// mutex, then FeedHub::info_mu_; StartWrite and Finish are never called with a lock held.
#ifndef WHALEFEED_SERVER_FEED_HUB_H_
#define WHALEFEED_SERVER_FEED_HUB_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/component.h"
#include "db/store.h"

namespace whalefeed::server {

struct FeedHubOptions {
  // How often every replica reads new rows (the leader is also woken by NotifyCommitted).
  absl::Duration tail_interval = absl::Milliseconds(200);
  // Rows per database read, for the tail and for streams catching up.
  int read_batch = 500;
  // The ring of recent events shared by every stream: at most this many events and bytes.
  size_t ring_events = 8192;
  size_t ring_bytes = 32 << 20;
  // Per stream: bytes of events waiting to be written (and in flight) at most. Beyond it a live
  // stream falls back to reading the database.
  size_t stream_buffer_bytes = 1 << 20;
  // Bytes of activities in one message at most (a batch stops before it would pass this, but holds
  // at least one activity).
  size_t max_message_bytes = 256 << 10;
  // Open streams at most; more are refused with RESOURCE_EXHAUSTED.
  int max_streams = 20000;
  // Worker threads for database reads of streams (start_time, catching up).
  int read_threads = 2;
  // How often heartbeats are checked for (their precision).
  absl::Duration heartbeat_tick = absl::Milliseconds(100);
  // How often whale labels, data freshness and the retention floor are read again.
  absl::Duration labels_refresh = absl::Seconds(30);
  absl::Duration freshness_refresh = absl::Seconds(3);
  // How often the hub's figures are logged at INFO (zero: never).
  absl::Duration stats_log_interval = absl::Seconds(60);
  // After Drain, a stream whose last write has not completed by then (its client stopped reading)
  // is cancelled, so that shutdown never waits on it.
  absl::Duration drain_cancel_after = absl::Seconds(1);
  // How long Stop waits at most (within its deadline) for a thread inside a database call before it
  // reports the hub as still running, so that the components stopped after it get their turn.
  absl::Duration stop_wait = absl::Seconds(1);
};

// Heartbeat intervals (design §5.5).
inline constexpr absl::Duration kDefaultHeartbeatInterval = absl::Seconds(15);
inline constexpr absl::Duration kMinHeartbeatInterval = absl::Seconds(1);
inline constexpr absl::Duration kMaxHeartbeatInterval = absl::Seconds(60);

// Trailing metadata of OUT_OF_RANGE: the oldest valid resume token.
inline constexpr absl::string_view kOldestResumeTokenTrailer = "whalefeed-oldest-resume-token";

// Decides whether an activity matches a stream's filter (design §6.4). Thread-safe to call.
using ActivityPredicate = std::function<bool(const db::Activity&)>;
// Parses a stream's filter text; INVALID_ARGUMENT naming the problem.
using FeedFilterParser = std::function<absl::StatusOr<ActivityPredicate>(absl::string_view)>;

// One activity as every stream sends it, serialised once.
struct FeedEvent {
  db::Activity activity;       // what filters look at
  grpc::Slice activity_field;  // WatchWhaleActivityResponse field 1 (one WhaleActivity), encoded
  grpc::Slice token_field;     // field 3, the resume token after this activity, encoded
  size_t bytes() const { return activity_field.size() + token_field.size(); }
};

// What one stream is doing, for the stats.
struct FeedStreamStats {
  uint64_t id = 0;
  uint64_t position = 0;
  size_t buffered_bytes = 0;  // events waiting and the write in flight
  bool live = false;          // false: reading the database (catching up) or starting
};

struct FeedHubStats {
  bool ready = false;
  uint64_t head_sequence = 0;  // the newest sequence the hub has read
  // The retention floor as last read (every freshness_refresh). A resume token is checked against
  // it; one checked against an older floor whose rows are still in the ring is served from the
  // ring (nothing is skipped); a stream reading the database checks the floor after every read.
  uint64_t retention_floor = 0;
  size_t ring_events = 0;
  size_t ring_bytes = 0;
  size_t subscribers = 0;
  size_t buffered_bytes_total = 0;
  size_t buffered_bytes_max = 0;  // of one stream
  uint64_t events_read = 0;       // by the tail, since start
  uint64_t overflows = 0;         // live streams sent back to the database, since start
  uint64_t refused_streams = 0;   // over the cap, since start
  std::vector<FeedStreamStats> streams;
};

class FeedStream;

// A Component: Start launches the tail, heartbeat and reader threads; Drain ends every stream with
// UNAVAILABLE at once and refuses new ones; Stop joins the threads by its deadline.
class FeedHub final : public Component {
 public:
  // `store`, `clock` must outlive the hub. `parse_filter` compiles a stream's filter.
  FeedHub(db::Store* store, const Clock* clock, FeedFilterParser parse_filter,
          FeedHubOptions options = {});
  ~FeedHub() override;

  absl::string_view name() const override { return "feed-hub"; }
  absl::Status Start() override;
  void Drain() override;
  bool Stop(absl::Time deadline) override;

  // Called by the sync engine right after an ingest commit: wakes the tail at once (design §5.10).
  // Cheap and non-blocking; any thread.
  void NotifyCommitted(uint64_t sequence);

  // A new stream for a WatchWhaleActivity call (the raw callback method's body): it validates the
  // request and owns itself from here (deleted after OnDone).
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request);

  FeedHubStats Stats() const;

  // The steps the threads loop over, public so that tests and benchmarks can drive them.
  // Reads new rows and fans them out; returns how many rows it read (an error when the database
  // could not be read).
  absl::StatusOr<int> TailOnce();
  // Sends the heartbeats that are due now.
  void SendDueHeartbeats();

  // Waits until the hub has read the database once (ready) or `timeout` passes.
  bool WaitReady(absl::Duration timeout) const;

 private:
  friend class FeedStream;

  // Loads the feed meta, the head, labels and freshness; OK once ready.
  absl::Status Load();
  void RefreshLabels();
  void RefreshFreshness();
  std::shared_ptr<const FeedEvent> MakeEvent(db::Activity activity, const std::string& label) const;
  void TailLoop();
  void TickLoop();
  void ReadLoop();
  void LogStats();

  // Stream support.
  void ScheduleRead(std::shared_ptr<FeedStream> stream);
  // A stream at `position` joins the live events if the ring reaches back to it: returns true when
  // it did (the ring's events after `position` are now pending on it).
  bool TryJoinLive(const std::shared_ptr<FeedStream>& stream);
  void Remove(FeedStream* stream);
  uint64_t OldestValidPosition() const;  // from the cached retention floor
  absl::Status OutOfRange(uint64_t position, uint64_t oldest) const;
  std::string Token(uint64_t position) const;
  // The freshness figures a heartbeat carries.
  db::FeedFreshness Freshness() const;
  uint64_t head() const { return head_.load(std::memory_order_acquire); }

  db::Store* const store_;
  const Clock* const clock_;
  const FeedFilterParser parse_filter_;
  const FeedHubOptions options_;

  // Serialises TailOnce (the tail thread, and tests or benchmarks that drive it). Before mu_.
  absl::Mutex tail_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  absl::CondVar wake_tail_;
  absl::CondVar wake_tick_;
  absl::CondVar wake_readers_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool tail_wanted_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time drained_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Set once by Load() before ready_ and never changed: read without the lock after ready.
  std::string feed_id_;
  uint64_t tail_position_ ABSL_GUARDED_BY(mu_) = 0;
  // Ring: every event with sequence in (ring_base_, tail_position_], in order.
  std::deque<std::shared_ptr<const FeedEvent>> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t ring_base_ ABSL_GUARDED_BY(mu_) = 0;
  size_t ring_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<FeedStream*, std::shared_ptr<FeedStream>> streams_ ABSL_GUARDED_BY(mu_);
  uint64_t next_stream_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<std::shared_ptr<FeedStream>> read_queue_ ABSL_GUARDED_BY(mu_);
  int threads_running_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t events_read_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> overflows_{0};
  uint64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time labels_read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time freshness_read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time stats_logged_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  // Innermost lock: what heartbeats and event building read.
  mutable absl::Mutex info_mu_ ABSL_ACQUIRED_AFTER(mu_);
  db::FeedFreshness freshness_ ABSL_GUARDED_BY(info_mu_);
  uint64_t retention_floor_ ABSL_GUARDED_BY(info_mu_) = 0;
  std::shared_ptr<const absl::flat_hash_map<std::string, std::string>> labels_
      ABSL_GUARDED_BY(info_mu_);

  std::atomic<uint64_t> head_{0};
  std::vector<std::thread> threads_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_FEED_HUB_H_
