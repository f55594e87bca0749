#include "server/feed_hub.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "server/convert.h"
#include "server/resume_token.h"
#include "whalefeed/v1/feed_service.pb.h"

namespace whalefeed::server {
namespace {

using Labels = absl::flat_hash_map<std::string, std::string>;

// Field numbers of WatchWhaleActivityResponse: a batch is these encodings concatenated, which the
// protobuf wire format reads as one message (repeated field 1 entries in order, then field 3).
constexpr int kActivitiesField = 1;
constexpr int kResumeTokenField = 3;

// A length-delimited field: tag, varint length, bytes.
grpc::Slice EncodeField(int field, const std::string& payload) {
  std::string out;
  out.reserve(payload.size() + 6);
  out.push_back(static_cast<char>((field << 3) | 2));
  uint64_t n = payload.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out.append(payload);
  return grpc::Slice(out);
}

absl::Status ShuttingDown() {
  return absl::UnavailableError(
      "whaled is shutting down; reconnect (to any replica) with the last resume_token received");
}

}  // namespace

// One WatchWhaleActivity call. Owned by itself through self_ (and briefly by the hub's threads that
// work on it); released in OnDone.
class FeedStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                         public std::enable_shared_from_this<FeedStream> {
 public:
  FeedStream(FeedHub* hub, grpc::CallbackServerContext* context, uint64_t id)
      : hub_(hub), context_(context), id_(id) {}

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Parses and checks the request; on success the stream is ready to Begin (or to read its start
  // position first).
  absl::Status Init(const grpc::ByteBuffer& request);
  // Ends the stream with `status` (once; later calls do nothing).
  void FinishWith(absl::Status status);
  // Starts at `position`: the first heartbeat, then live events or catching up.
  void Begin(uint64_t position);
  // Live events from the tail, in order (duplicates of what it has seen are skipped).
  void Offer(const std::vector<std::shared_ptr<const FeedEvent>>& events);
  // A step of a reader thread: resolves start_time, or reads the next batch from the database.
  void ReadStep();
  // From the heartbeat thread: sends what is due, asks for a read when one is wanted.
  void Poke();
  void Cancel() { context_->TryCancel(); }
  FeedStreamStats Stats();

  bool needs_start_read() const { return start_time_.has_value(); }

 private:
  friend class FeedHub;
  enum class Mode { kStarting, kCatchUp, kLive };
  struct Action {
    enum Kind { kNone, kWrite, kFinish } kind = kNone;
    absl::Status status;
  };

  bool Matches(const db::Activity& activity) const {
    if (!include_backfill_ && activity.origin == db::Origin::kBackfill) return false;
    return predicate_ == nullptr || predicate_(activity);
  }
  // Takes one event (a live one or a database one): pending when it matches, and the position
  // moves past it. False when it matches but the budget has no room (pending is not empty).
  bool TakeLocked(const std::shared_ptr<const FeedEvent>& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a reader step is wanted now; marks it scheduled.
  bool WantReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Decides the next write or the Finish; performed by Perform after the lock is released.
  Action PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HeartbeatLocked(uint64_t position, bool caught_up, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Perform(Action action);

  FeedHub* const hub_;
  grpc::CallbackServerContext* const context_;
  const uint64_t id_;
  std::shared_ptr<FeedStream> self_;  // set by the hub; released in OnDone
  // gRPC runs OnDone only after every other reaction has returned, through synchronisation inside
  // libgrpc++; each reaction ends with a release here and OnDone begins with an acquire, so that
  // the order is also written in this code (and visible to ThreadSanitizer) and whichever thread
  // drops the last reference destroys a stream no reaction still uses.
  std::atomic<int> reactions_returned_{0};
  // A new owner for a hub thread, from the stream's own weak reference (never from self_, which
  // OnDone may be releasing at the same moment on a gRPC thread). Whoever calls it holds the
  // stream already (a reaction before OnDone, or a hub thread through its queue), so it is set.
  std::shared_ptr<FeedStream> Self() { return weak_from_this().lock(); }

  // Set by Init, then read-only.
  ActivityPredicate predicate_;
  bool include_backfill_ = false;
  absl::Duration heartbeat_interval_ = kDefaultHeartbeatInterval;
  std::optional<absl::Time> start_time_;
  std::optional<uint64_t> start_position_;

  absl::Mutex mu_;  // after FeedHub::mu_, before FeedHub::info_mu_
  Mode mode_ ABSL_GUARDED_BY(mu_) = Mode::kStarting;
  uint64_t position_ ABSL_GUARDED_BY(mu_) = 0;       // scanned: pending, sent or skipped
  uint64_t sent_position_ ABSL_GUARDED_BY(mu_) = 0;  // covered by messages handed to gRPC
  uint64_t replay_target_ ABSL_GUARDED_BY(mu_) = 0;  // the head when the stream began
  std::deque<std::shared_ptr<const FeedEvent>> pending_ ABSL_GUARDED_BY(mu_);
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t in_flight_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ByteBuffer write_buffer_;  // owned by the write in flight
  bool first_heartbeat_ ABSL_GUARDED_BY(mu_) = false;
  bool caught_up_announced_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time heartbeat_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool read_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// ---------------------------------------------------------------------------------------------
// FeedStream

absl::Status FeedStream::Init(const grpc::ByteBuffer& request) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (request.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  v1::WatchWhaleActivityRequest req;
  if (!req.ParseFromString(bytes)) {
    return absl::InvalidArgumentError("request: not a WatchWhaleActivityRequest");
  }
  if (req.has_heartbeat_interval()) {
    ASSIGN_OR_RETURN(const absl::Duration interval,
                     DurationFromProto(req.heartbeat_interval(), "heartbeat_interval"));
    if (interval != absl::ZeroDuration()) {
      if (interval < kMinHeartbeatInterval || interval > kMaxHeartbeatInterval) {
        return absl::InvalidArgumentError(
            absl::StrCat("heartbeat_interval: ", absl::FormatDuration(interval),
                         " is outside the allowed 1s to 60s (unset means 15s)"));
      }
      heartbeat_interval_ = interval;
    }
  }
  ASSIGN_OR_RETURN(predicate_, hub_->parse_filter_(req.filter()));
  include_backfill_ = req.include_backfill();

  if (!req.resume_token().empty()) {
    ASSIGN_OR_RETURN(const uint64_t position,
                     DecodeResumeToken(req.resume_token(), hub_->feed_id_, "resume_token"));
    const uint64_t oldest = hub_->OldestValidPosition();
    if (position < oldest) return hub_->OutOfRange(position, oldest);
    start_position_ = position;
  } else if (req.has_start_time()) {
    ASSIGN_OR_RETURN(const absl::Time start, TimeFromProto(req.start_time(), "start_time"));
    start_time_ = start;
  } else {
    switch (req.start()) {
      case v1::START_POSITION_UNSPECIFIED:
      case v1::START_POSITION_LATEST:
        start_position_ = hub_->head();
        break;
      case v1::START_POSITION_EARLIEST:
        start_position_ = hub_->OldestValidPosition();
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("start: unknown StartPosition ", static_cast<int>(req.start()),
                         "; use START_POSITION_LATEST or START_POSITION_EARLIEST"));
    }
  }
  return absl::OkStatus();
}

void FeedStream::FinishWith(absl::Status status) {
  Action action;
  {
    absl::MutexLock lock(&mu_);
    if (finish_status_.has_value()) return;
    finish_status_ = std::move(status);
    pending_.clear();
    pending_bytes_ = 0;
    action = PumpLocked();
  }
  Perform(std::move(action));
}

void FeedStream::Begin(uint64_t position) {
  {
    absl::MutexLock lock(&mu_);
    position_ = sent_position_ = position;
    read_scheduled_ = false;  // a start_time read is done
    replay_target_ = std::max(position, hub_->head());
    first_heartbeat_ = true;
    mode_ = Mode::kCatchUp;
  }
  bool live = hub_->TryJoinLive(Self());
  Action action;
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    if (!live) read = WantReadLocked();
    action = PumpLocked();
  }
  Perform(std::move(action));
  if (read) hub_->ScheduleRead(Self());
}

bool FeedStream::TakeLocked(const std::shared_ptr<const FeedEvent>& event) {
  const uint64_t sequence = event->activity.sequence;
  if (sequence <= position_) return true;  // seen already (a live event also read from the ring)
  if (Matches(event->activity)) {
    if (!pending_.empty() &&
        pending_bytes_ + in_flight_bytes_ + event->bytes() > hub_->options_.stream_buffer_bytes) {
      return false;
    }
    pending_bytes_ += event->bytes();
    pending_.push_back(event);
  }
  position_ = sequence;
  return true;
}

void FeedStream::Offer(const std::vector<std::shared_ptr<const FeedEvent>>& events) {
  Action action;
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    if (mode_ != Mode::kLive || finish_status_.has_value()) return;
    for (const auto& event : events) {
      if (TakeLocked(event)) continue;
      // Over budget: what is pending is dropped and read again from the database, from the last
      // position handed to gRPC, in order. Nothing is skipped.
      pending_.clear();
      pending_bytes_ = 0;
      position_ = sent_position_;
      mode_ = Mode::kCatchUp;
      hub_->overflows_.fetch_add(1, std::memory_order_relaxed);
      read = WantReadLocked();
      break;
    }
    action = PumpLocked();
  }
  Perform(std::move(action));
  if (read) hub_->ScheduleRead(Self());
}

bool FeedStream::WantReadLocked() {
  if (finish_status_.has_value() || read_scheduled_) return false;
  if (mode_ == Mode::kStarting) {
    if (!start_time_.has_value()) return false;
  } else if (mode_ != Mode::kCatchUp ||
             pending_bytes_ + in_flight_bytes_ > hub_->options_.stream_buffer_bytes / 2) {
    return false;
  }
  read_scheduled_ = true;
  return true;
}

void FeedStream::ReadStep() {
  std::optional<absl::Time> resolve;
  uint64_t from = 0;
  {
    absl::MutexLock lock(&mu_);
    if (finish_status_.has_value() || (mode_ != Mode::kStarting && mode_ != Mode::kCatchUp)) {
      read_scheduled_ = false;
      return;
    }
    if (mode_ == Mode::kStarting) {
      resolve = *start_time_;
    } else {
      from = position_;
    }
  }
  if (resolve.has_value()) {
    absl::StatusOr<uint64_t> position = hub_->store_->GetFeedPositionAt(*resolve);
    if (!position.ok()) {
      FinishWith(absl::UnavailableError(
          absl::StrCat("the database cannot be read to find start_time's position: ",
                       position.status().message(), "; retry")));
      return;
    }
    Begin(std::max(*position, hub_->OldestValidPosition()));
    return;
  }
  if (hub_->TryJoinLive(Self())) {  // clears read_scheduled_
    Poke();
    return;
  }
  const int batch = hub_->options_.read_batch;
  absl::StatusOr<std::vector<db::Activity>> rows = hub_->store_->ReadActivitiesAfter(from, batch);
  if (!rows.ok()) {
    FinishWith(absl::UnavailableError(
        absl::StrCat("this stream fell behind and the database cannot be read to catch up (",
                     rows.status().message(), "); reconnect with the last resume_token received")));
    return;
  }
  // Read after the rows: retention raises the floor with (or before) deleting, so a floor still
  // at or below from + 1 means none of the rows after `from` was deleted before the read.
  absl::StatusOr<db::FeedMeta> meta = hub_->store_->GetFeedMeta();
  if (!meta.ok()) {
    FinishWith(absl::UnavailableError(
        absl::StrCat("the database cannot be read to catch up (", meta.status().message(),
                     "); reconnect with the last resume_token received")));
    return;
  }
  if (meta->retention_floor > 0 && meta->retention_floor - 1 > from) {
    FinishWith(hub_->OutOfRange(from, meta->retention_floor - 1));
    return;
  }
  std::shared_ptr<const Labels> labels;
  {
    absl::MutexLock lock(&hub_->info_mu_);
    labels = hub_->labels_;
  }
  Action action;
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    read_scheduled_ = false;
    if (finish_status_.has_value() || mode_ != Mode::kCatchUp || position_ != from) return;
    for (db::Activity& row : *rows) {
      if (row.sequence <= position_) continue;
      if (!Matches(row)) {
        position_ = row.sequence;
        continue;
      }
      auto found = labels ? labels->find(row.wallet) : Labels::const_iterator();
      const std::string label = labels && found != labels->end() ? found->second : std::string();
      if (!TakeLocked(hub_->MakeEvent(std::move(row), label))) break;
    }
    // An empty read means the stream is at the database's head: it joins the ring on the next
    // step, which the heartbeat thread schedules (no busy loop).
    if (!rows->empty()) read = WantReadLocked();
    action = PumpLocked();
  }
  Perform(std::move(action));
  if (read) hub_->ScheduleRead(Self());
}

void FeedStream::Poke() {
  Action action;
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    read = WantReadLocked();
    action = PumpLocked();
  }
  Perform(std::move(action));
  if (read) hub_->ScheduleRead(Self());
}

void FeedStream::HeartbeatLocked(uint64_t position, bool caught_up, absl::Time now) {
  v1::WatchWhaleActivityResponse response;
  v1::Heartbeat* heartbeat = response.mutable_heartbeat();
  SetTimestamp(now, heartbeat->mutable_server_time());
  heartbeat->set_latest_sequence(position);
  heartbeat->set_head_sequence(std::max(position, hub_->head()));
  heartbeat->set_caught_up(caught_up);
  const db::FeedFreshness freshness = hub_->Freshness();
  SetTimeField(freshness.last_whale_poll_time, heartbeat,
               &v1::Heartbeat::mutable_last_whale_poll_time);
  if (freshness.detection_lag.has_value()) {
    SetDuration(*freshness.detection_lag, heartbeat->mutable_detection_lag());
  }
  response.set_resume_token(hub_->Token(position));
  grpc::Slice slice(response.SerializeAsString());
  write_buffer_ = grpc::ByteBuffer(&slice, 1);
  in_flight_bytes_ = slice.size();
  sent_position_ = position;
}

FeedStream::Action FeedStream::PumpLocked() {
  Action action;
  if (finished_ || write_in_flight_) return action;
  if (finish_status_.has_value()) {
    finished_ = true;
    action.kind = Action::kFinish;
    action.status = *finish_status_;
    return action;
  }
  if (mode_ == Mode::kStarting) return action;
  const absl::Time now = hub_->clock_->Now();
  const bool live = mode_ == Mode::kLive;
  if (first_heartbeat_) {
    // The start position, whatever is already pending after it.
    const bool caught_up = live && pending_.empty() && position_ >= replay_target_;
    HeartbeatLocked(sent_position_, caught_up, now);
    first_heartbeat_ = false;
    caught_up_announced_ = caught_up;
  } else if (!pending_.empty()) {
    std::vector<grpc::Slice> slices;
    size_t bytes = 0;
    while (!pending_.empty()) {
      const std::shared_ptr<const FeedEvent>& event = pending_.front();
      if (!slices.empty() && bytes + event->bytes() > hub_->options_.max_message_bytes) break;
      slices.push_back(event->activity_field);
      bytes += event->bytes();
      pending_bytes_ -= event->bytes();
      sent_position_ = event->activity.sequence;
      if (pending_.size() == 1 || bytes + pending_[1]->bytes() > hub_->options_.max_message_bytes) {
        slices.push_back(event->token_field);
      }
      pending_.pop_front();
    }
    write_buffer_ = grpc::ByteBuffer(slices.data(), slices.size());
    in_flight_bytes_ = bytes;
  } else if (live && !caught_up_announced_ && position_ >= replay_target_) {
    // A replay has reached the head it saw: say so at once (design §5.11).
    HeartbeatLocked(position_, /*caught_up=*/true, now);
    caught_up_announced_ = true;
  } else if (now >= heartbeat_due_) {
    HeartbeatLocked(position_, live && position_ >= replay_target_, now);
  } else {
    return action;
  }
  heartbeat_due_ = now + heartbeat_interval_;
  write_in_flight_ = true;
  action.kind = Action::kWrite;
  return action;
}

void FeedStream::Perform(Action action) {
  switch (action.kind) {
    case Action::kNone:
      return;
    case Action::kWrite:
      StartWrite(&write_buffer_);
      return;
    case Action::kFinish:
      Finish(ToGrpcStatus(action.status, context_));
      return;
  }
}

void FeedStream::OnWriteDone(bool ok) {
  Action action;
  bool read = false;
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    in_flight_bytes_ = 0;
    if (!ok && !finish_status_.has_value()) {
      finish_status_ = absl::CancelledError("the stream was cancelled");
      pending_.clear();
      pending_bytes_ = 0;
    }
    read = WantReadLocked();
    action = PumpLocked();
  }
  Perform(std::move(action));
  if (read) hub_->ScheduleRead(Self());
  reactions_returned_.fetch_add(1, std::memory_order_release);
}

void FeedStream::OnCancel() {
  FinishWith(absl::CancelledError("the client cancelled the call"));
  reactions_returned_.fetch_add(1, std::memory_order_release);
}

void FeedStream::OnDone() {
  reactions_returned_.load(std::memory_order_acquire);
  std::shared_ptr<FeedStream> self = std::move(self_);
  hub_->Remove(this);
  // `self` goes last: the stream is deleted here unless a hub thread still holds it for a moment.
}

FeedStreamStats FeedStream::Stats() {
  absl::MutexLock lock(&mu_);
  FeedStreamStats stats;
  stats.id = id_;
  stats.position = position_;
  stats.buffered_bytes = pending_bytes_ + in_flight_bytes_;
  stats.live = mode_ == Mode::kLive;
  return stats;
}

// ---------------------------------------------------------------------------------------------
// FeedHub

FeedHub::FeedHub(db::Store* store, const Clock* clock, FeedFilterParser parse_filter,
                 FeedHubOptions options)
    : store_(store),
      clock_(clock),
      parse_filter_(std::move(parse_filter)),
      options_(std::move(options)) {}

FeedHub::~FeedHub() {
  bool running;
  {
    absl::MutexLock lock(&mu_);
    running = started_ && !stopping_;
  }
  if (running) (void)Stop(absl::Now() + absl::Seconds(5));
}

absl::Status FeedHub::Start() {
  if (options_.read_batch < 1 || options_.max_streams < 0 || options_.read_threads < 1 ||
      options_.tail_interval <= absl::ZeroDuration() || options_.stream_buffer_bytes == 0) {
    return absl::InvalidArgumentError(
        "feed hub: read_batch, read_threads and tail_interval must be positive, max_streams not "
        "negative, the stream buffer not empty");
  }
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("feed hub: started twice");
    started_ = true;
    threads_running_ = 2 + options_.read_threads;
    // Not ready until the tail thread has read the database (at once, then every tail interval
    // while it cannot: a database that is down at start is waited for, and streams are refused
    // with UNAVAILABLE meanwhile).
    tail_wanted_ = true;
  }
  threads_.emplace_back([this] { TailLoop(); });
  threads_.emplace_back([this] { TickLoop(); });
  for (int i = 0; i < options_.read_threads; ++i) threads_.emplace_back([this] { ReadLoop(); });
  return absl::OkStatus();
}

void FeedHub::Drain() {
  std::vector<std::shared_ptr<FeedStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    drained_at_ = absl::Now();  // real time: how long gRPC takes to deliver the final statuses
    for (const auto& [raw, stream] : streams_) streams.push_back(stream);
  }
  for (const auto& stream : streams) stream->FinishWith(ShuttingDown());
  WF_LOG(INFO) << "feed hub: ended " << streams.size() << " streams with UNAVAILABLE";
}

bool FeedHub::Stop(absl::Time deadline) {
  std::vector<std::shared_ptr<FeedStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    draining_ = true;
    wake_tail_.SignalAll();
    wake_tick_.SignalAll();
    wake_readers_.SignalAll();
    for (const auto& [raw, stream] : streams_) streams.push_back(stream);
    read_queue_.clear();
  }
  for (const auto& stream : streams) stream->FinishWith(ShuttingDown());
  streams.clear();
  bool stopped;
  {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return threads_running_ == 0; };
    mu_.AwaitWithDeadline(absl::Condition(&done),
                          std::min(deadline, absl::Now() + options_.stop_wait));
    stopped = threads_running_ == 0;
  }
  for (std::thread& thread : threads_) {
    // A thread still inside a database call keeps running; the process exits without waiting.
    if (stopped) {
      thread.join();
    } else {
      thread.detach();
    }
  }
  threads_.clear();
  return stopped;
}

void FeedHub::NotifyCommitted(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  if (sequence <= tail_position_) return;
  tail_wanted_ = true;
  wake_tail_.Signal();
}

absl::Status FeedHub::Load() {
  ASSIGN_OR_RETURN(const db::FeedMeta meta, store_->GetFeedMeta());
  ASSIGN_OR_RETURN(const uint64_t head, store_->GetLatestSequence());
  {
    absl::MutexLock lock(&info_mu_);
    retention_floor_ = meta.retention_floor;
  }
  RefreshLabels();
  RefreshFreshness();
  absl::MutexLock lock(&mu_);
  if (ready_) return absl::OkStatus();
  feed_id_ = meta.feed_id;
  tail_position_ = ring_base_ = head;
  head_.store(head, std::memory_order_release);
  ready_ = true;
  WF_LOG(INFO) << "feed hub: ready at sequence " << head << ", feed " << feed_id_;
  return absl::OkStatus();
}

void FeedHub::RefreshLabels() {
  absl::StatusOr<std::vector<db::Whale>> whales = store_->ListWhales(/*tracked_only=*/false);
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    labels_read_at_ = now;
  }
  if (!whales.ok()) return;  // the labels in hand stay; tried again at the next refresh
  auto labels = std::make_shared<Labels>();
  for (const db::Whale& whale : *whales) {
    if (!whale.label.empty()) (*labels)[whale.wallet] = whale.label;
  }
  absl::MutexLock lock(&info_mu_);
  labels_ = std::move(labels);
}

void FeedHub::RefreshFreshness() {
  absl::StatusOr<db::FeedFreshness> freshness = store_->GetFeedFreshness();
  absl::StatusOr<db::FeedMeta> meta = store_->GetFeedMeta();
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    freshness_read_at_ = now;
  }
  absl::MutexLock lock(&info_mu_);
  if (freshness.ok()) freshness_ = *freshness;
  if (meta.ok()) retention_floor_ = std::max(retention_floor_, meta->retention_floor);
}

db::FeedFreshness FeedHub::Freshness() const {
  absl::MutexLock lock(&info_mu_);
  return freshness_;
}

uint64_t FeedHub::OldestValidPosition() const {
  absl::MutexLock lock(&info_mu_);
  return retention_floor_ > 0 ? retention_floor_ - 1 : 0;
}

std::string FeedHub::Token(uint64_t position) const {
  return EncodeResumeToken(feed_id_, position);
}

absl::Status FeedHub::OutOfRange(uint64_t position, uint64_t oldest) const {
  const std::string token = Token(oldest);
  return WithTrailer(
      absl::OutOfRangeError(absl::StrCat(
          "resume_token: position ", position,
          " is below the retention floor (older activities were deleted by retention); the "
          "oldest valid resume_token is \"",
          token, "\" (also in trailer ", kOldestResumeTokenTrailer,
          "): resuming from it skips what was deleted")),
      kOldestResumeTokenTrailer, token);
}

std::shared_ptr<const FeedEvent> FeedHub::MakeEvent(db::Activity activity,
                                                    const std::string& label) const {
  auto event = std::make_shared<FeedEvent>();
  v1::WhaleActivity message;
  ToProto(activity, label, &message);
  event->activity_field = EncodeField(kActivitiesField, message.SerializeAsString());
  event->token_field = EncodeField(kResumeTokenField, Token(activity.sequence));
  event->activity = std::move(activity);
  return event;
}

absl::StatusOr<int> FeedHub::TailOnce() {
  absl::MutexLock tail_lock(&tail_mu_);
  uint64_t from;
  {
    absl::MutexLock lock(&mu_);
    if (!ready_) return absl::UnavailableError("feed hub: not ready");
    from = tail_position_;
  }
  ASSIGN_OR_RETURN(std::vector<db::Activity> rows,
                   store_->ReadActivitiesAfter(from, options_.read_batch));
  if (rows.empty()) return 0;
  std::shared_ptr<const Labels> labels;
  {
    absl::MutexLock lock(&info_mu_);
    labels = labels_;
  }
  std::vector<std::shared_ptr<const FeedEvent>> events;
  events.reserve(rows.size());
  uint64_t last = from;
  for (db::Activity& row : rows) {
    if (row.sequence <= last) {
      // The store broke its contract (ascending, above `from`): never stream out of order.
      WF_LOG(ERROR) << "feed hub: the store returned sequence " << row.sequence << " after " << last
                    << "; skipped";
      continue;
    }
    last = row.sequence;
    std::string label;
    if (labels) {
      auto found = labels->find(row.wallet);
      if (found != labels->end()) label = found->second;
    }
    events.push_back(MakeEvent(std::move(row), label));
  }
  const int read = static_cast<int>(rows.size());
  std::vector<std::shared_ptr<FeedStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& event : events) {
      ring_bytes_ += event->bytes();
      ring_.push_back(event);
    }
    while (!ring_.empty() &&
           (ring_.size() > options_.ring_events || ring_bytes_ > options_.ring_bytes)) {
      ring_base_ = ring_.front()->activity.sequence;
      ring_bytes_ -= ring_.front()->bytes();
      ring_.pop_front();
    }
    if (ring_.empty()) ring_base_ = last;
    tail_position_ = last;
    head_.store(last, std::memory_order_release);
    events_read_ += events.size();
    if (read == options_.read_batch) tail_wanted_ = true;  // more to read: no wait
    streams.reserve(streams_.size());
    for (const auto& [raw, stream] : streams_) streams.push_back(stream);
  }
  // The fan-out holds no hub lock: each stream takes only its own.
  for (const auto& stream : streams) stream->Offer(events);
  return read;
}

bool FeedHub::TryJoinLive(const std::shared_ptr<FeedStream>& stream) {
  if (stream == nullptr) return false;  // the stream is being destroyed
  absl::MutexLock lock(&mu_);
  absl::MutexLock stream_lock(&stream->mu_);
  if (stream->mode_ != FeedStream::Mode::kCatchUp || stream->finish_status_.has_value()) {
    return false;
  }
  if (stream->position_ < ring_base_) return false;
  auto first =
      std::upper_bound(ring_.begin(), ring_.end(), stream->position_,
                       [](uint64_t position, const std::shared_ptr<const FeedEvent>& event) {
                         return position < event->activity.sequence;
                       });
  for (auto it = first; it != ring_.end(); ++it) {
    // No room: stay with the database; the stream reads on from where it got to.
    if (!stream->TakeLocked(*it)) return false;
  }
  stream->mode_ = FeedStream::Mode::kLive;
  stream->read_scheduled_ = false;
  return true;
}

void FeedHub::ScheduleRead(std::shared_ptr<FeedStream> stream) {
  if (stream == nullptr) return;  // the stream is being destroyed
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  read_queue_.push_back(std::move(stream));
  wake_readers_.Signal();
}

void FeedHub::Remove(FeedStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* FeedHub::Watch(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request) {
  absl::Status refused;
  std::shared_ptr<FeedStream> stream;
  {
    absl::MutexLock lock(&mu_);
    stream = std::make_shared<FeedStream>(this, context, next_stream_id_++);
    stream->self_ = stream;
    if (draining_) {
      refused = ShuttingDown();
    } else if (!ready_) {
      refused = absl::UnavailableError(
          "the feed is starting: the database has not been read yet; retry shortly");
    } else if (streams_.size() >= static_cast<size_t>(options_.max_streams)) {
      ++refused_;
      refused = absl::ResourceExhaustedError(
          absl::StrCat("this server's cap of ", options_.max_streams,
                       " open feed streams is reached; retry later or on another replica"));
    } else {
      streams_[stream.get()] = stream;
    }
  }
  absl::Status status = refused.ok() ? stream->Init(*request) : refused;
  if (!status.ok()) {
    stream->FinishWith(std::move(status));
    return stream.get();
  }
  if (stream->needs_start_read()) {
    stream->Poke();  // schedules the read of start_time's position
  } else {
    stream->Begin(*stream->start_position_);
  }
  return stream.get();
}

bool FeedHub::WaitReady(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_; };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

void FeedHub::SendDueHeartbeats() {
  std::vector<std::shared_ptr<FeedStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    streams.reserve(streams_.size());
    for (const auto& [raw, stream] : streams_) streams.push_back(stream);
  }
  for (const auto& stream : streams) stream->Poke();
}

FeedHubStats FeedHub::Stats() const {
  FeedHubStats stats;
  {
    absl::MutexLock lock(&info_mu_);
    stats.retention_floor = retention_floor_;
  }
  absl::MutexLock lock(&mu_);
  stats.ready = ready_;
  stats.head_sequence = tail_position_;
  stats.ring_events = ring_.size();
  stats.ring_bytes = ring_bytes_;
  stats.subscribers = streams_.size();
  stats.events_read = events_read_;
  stats.overflows = overflows_.load(std::memory_order_relaxed);
  stats.refused_streams = refused_;
  for (const auto& [raw, stream] : streams_) {
    FeedStreamStats s = stream->Stats();
    stats.buffered_bytes_total += s.buffered_bytes;
    stats.buffered_bytes_max = std::max(stats.buffered_bytes_max, s.buffered_bytes);
    stats.streams.push_back(s);
  }
  return stats;
}

void FeedHub::LogStats() {
  const FeedHubStats stats = Stats();
  size_t live = 0;
  for (const FeedStreamStats& s : stats.streams) live += s.live ? 1 : 0;
  WF_LOG(INFO) << "feed hub: head " << stats.head_sequence << ", " << stats.subscribers
               << " streams (" << live << " live), buffered " << stats.buffered_bytes_total
               << " bytes (max " << stats.buffered_bytes_max << " per stream, budget "
               << options_.stream_buffer_bytes << "), ring " << stats.ring_events << " events / "
               << stats.ring_bytes << " bytes, " << stats.overflows << " overflows, "
               << stats.refused_streams << " refused over the cap";
}

void FeedHub::TailLoop() {
  absl::Time last_error_log = absl::InfinitePast();
  while (true) {
    bool ready;
    absl::Time labels_due, freshness_due;
    {
      absl::MutexLock lock(&mu_);
      if (!tail_wanted_ && !stopping_) wake_tail_.WaitWithTimeout(&mu_, options_.tail_interval);
      if (stopping_) break;
      tail_wanted_ = false;
      ready = ready_;
      labels_due = labels_read_at_ + options_.labels_refresh;
      freshness_due = freshness_read_at_ + options_.freshness_refresh;
    }
    absl::Status status;
    if (!ready) {
      status = Load();
    } else {
      status = TailOnce().status();
      const absl::Time now = clock_->Now();
      if (now >= labels_due) RefreshLabels();
      if (now >= freshness_due) RefreshFreshness();
    }
    if (!status.ok() && absl::Now() - last_error_log >= absl::Seconds(5)) {
      last_error_log = absl::Now();
      WF_LOG(WARNING) << "feed hub: cannot read the feed: " << status.message();
    }
  }
  absl::MutexLock lock(&mu_);
  --threads_running_;
}

void FeedHub::TickLoop() {
  while (true) {
    bool cancel_stuck = false;
    bool log_stats = false;
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) wake_tick_.WaitWithTimeout(&mu_, options_.heartbeat_tick);
      if (stopping_) break;
      const absl::Time now = clock_->Now();
      cancel_stuck = draining_ && absl::Now() - drained_at_ >= options_.drain_cancel_after;
      if (options_.stats_log_interval > absl::ZeroDuration() &&
          now - stats_logged_at_ >= options_.stats_log_interval) {
        stats_logged_at_ = now;
        log_stats = ready_;
      }
    }
    SendDueHeartbeats();
    if (cancel_stuck) {
      // Streams whose client stopped reading cannot take their final status: cancel them so
      // that the server's shutdown does not wait for them. Outside the lock: a cancellation may
      // run the stream's reactions at once.
      std::vector<std::shared_ptr<FeedStream>> stuck;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [raw, stream] : streams_) stuck.push_back(stream);
      }
      for (const auto& stream : stuck) stream->Cancel();
    }
    if (log_stats) LogStats();
  }
  absl::MutexLock lock(&mu_);
  --threads_running_;
}

void FeedHub::ReadLoop() {
  while (true) {
    std::shared_ptr<FeedStream> stream;
    {
      absl::MutexLock lock(&mu_);
      while (read_queue_.empty() && !stopping_) wake_readers_.Wait(&mu_);
      if (stopping_) break;
      stream = std::move(read_queue_.front());
      read_queue_.pop_front();
    }
    stream->ReadStep();
  }
  absl::MutexLock lock(&mu_);
  --threads_running_;
}

}  // namespace whalefeed::server
