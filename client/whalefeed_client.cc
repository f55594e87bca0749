#include "client/whalefeed_client.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/grpc_status.h"

namespace whalefeed::client {
namespace {

// `status` with `suffix` added to its message; code and payloads (trailers) kept.
absl::Status AppendToMessage(const absl::Status& status, absl::string_view suffix) {
  absl::Status result(status.code(), absl::StrCat(status.message(), suffix));
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    result.SetPayload(type_url, payload);
  });
  return result;
}

// Transport trouble names the replicas tried, so that a user sees where the client went.
absl::Status NameAddresses(const absl::Status& status, const std::vector<std::string>& tried) {
  if (status.code() != absl::StatusCode::kUnavailable &&
      status.code() != absl::StatusCode::kDeadlineExceeded) {
    return status;
  }
  return AppendToMessage(status, absl::StrCat(" (whaled at ", absl::StrJoin(tried, ", "), ")"));
}

// A watch ends for good only on an answer about the request itself. CANCELLED is retried: the
// caller's own stop is checked before this, so a CANCELLED here came from the server or the
// transport, as when a call reaches a server that is shutting down.
bool RetryableWatchEnd(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kCancelled;
}

absl::Status ValidatePolicy(const RetryPolicy& policy, absl::string_view name) {
  if (policy.initial_backoff < absl::ZeroDuration() || policy.max_backoff < absl::ZeroDuration() ||
      policy.multiplier < 1.0 || policy.max_attempts < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": max_attempts must be >= 1, backoffs >= 0 and multiplier >= 1; got max_attempts ",
        policy.max_attempts, ", initial_backoff ", absl::FormatDuration(policy.initial_backoff),
        ", max_backoff ", absl::FormatDuration(policy.max_backoff), ", multiplier ",
        policy.multiplier));
  }
  return absl::OkStatus();
}

// Cancels the stream in flight when no message arrived for `timeout`: one thread per watch, none
// when the timeout is infinite. Thread-safe.
class IdleWatchdog {
 public:
  explicit IdleWatchdog(absl::Duration timeout) : timeout_(timeout) {
    if (timeout_ != absl::InfiniteDuration()) thread_ = std::thread([this] { Run(); });
  }
  ~IdleWatchdog() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

  // Watches `context` (a new stream) from now on.
  void Arm(grpc::ClientContext* context) {
    absl::MutexLock lock(&mu_);
    context_ = context;
    last_ = absl::Now();
    fired_ = false;
    ++generation_;
  }
  // A message arrived.
  void Touch() {
    absl::MutexLock lock(&mu_);
    last_ = absl::Now();
  }
  // Stops watching the stream (before its context goes away); true when it cancelled it.
  bool Disarm() {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
    return fired_;
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!done_) {
      const bool watching = context_ != nullptr && !fired_;
      if (watching && absl::Now() - last_ >= timeout_) {
        context_->TryCancel();
        fired_ = true;
        continue;
      }
      const uint64_t seen = generation_;
      auto woken = [this, seen]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || generation_ != seen; };
      mu_.AwaitWithDeadline(absl::Condition(&woken),
                            watching ? last_ + timeout_ : absl::InfiniteFuture());
    }
  }

  const absl::Duration timeout_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Time last_ ABSL_GUARDED_BY(mu_);
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

absl::Duration IdleTimeout(absl::Duration configured,
                           const v1::WatchWhaleActivityRequest& request) {
  if (configured != absl::ZeroDuration()) return configured;
  absl::Duration interval = absl::Seconds(request.heartbeat_interval().seconds()) +
                            absl::Nanoseconds(request.heartbeat_interval().nanos());
  if (interval <= absl::ZeroDuration()) interval = absl::Seconds(15);
  return 3 * interval + absl::Seconds(5);
}

}  // namespace

void WatchStop::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool WatchStop::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

bool WatchStop::Register(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return false;
  context_ = context;
  return true;
}

void WatchStop::Unregister() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

bool WatchStop::WaitStopped(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopped_), timeout);
  return stopped_;
}

absl::StatusOr<std::unique_ptr<WhalefeedClient>> WhalefeedClient::Create(ClientOptions options) {
  if (options.addresses.empty()) {
    return absl::InvalidArgumentError("addresses: at least one whaled address is needed");
  }
  for (const std::string& address : options.addresses) {
    if (address.empty()) return absl::InvalidArgumentError("addresses: an address is empty");
  }
  if (options.default_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("default_deadline must be positive, got ",
                                                   absl::FormatDuration(options.default_deadline)));
  }
  if (absl::Status s = ValidatePolicy(options.retry, "retry"); !s.ok()) return s;
  if (absl::Status s = ValidatePolicy(options.watch_reconnect, "watch_reconnect"); !s.ok()) {
    return s;
  }
  for (char c : options.admin_token) {
    // gRPC takes only printable ASCII in a metadata value.
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "admin_token: only printable ASCII characters can be sent in a header");
    }
  }
  return std::unique_ptr<WhalefeedClient>(new WhalefeedClient(std::move(options)));
}

WhalefeedClient::WhalefeedClient(ClientOptions options) : options_(std::move(options)) {
  auto credentials =
      options_.credentials != nullptr ? options_.credentials : grpc::InsecureChannelCredentials();
  // gRPC's own reconnect backoff (1 s growing to 120 s by default) would keep a replica that
  // restarted looking down long after it is back; follow the client's policy instead. The minimum
  // reconnect backoff stays at gRPC's default: it is also the time a connection attempt may take
  // (20 s), and a busy server must not be given up on after 100 ms.
  grpc::ChannelArguments args;
  const int max_reconnect_ms = static_cast<int>(std::max<int64_t>(
      100, absl::ToInt64Milliseconds(
               std::max(options_.retry.max_backoff, options_.watch_reconnect.max_backoff))));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_reconnect_ms);
  for (const std::string& address : options_.addresses) {
    Replica replica;
    replica.address = address;
    replica.channel = grpc::CreateCustomChannel(address, credentials, args);
    replica.markets = v1::MarketService::NewStub(replica.channel);
    replica.whales = v1::WhaleService::NewStub(replica.channel);
    replica.sync = v1::SyncService::NewStub(replica.channel);
    replica.feed = v1::FeedService::NewStub(replica.channel);
    replica.health = grpc::health::v1::Health::NewStub(replica.channel);
    replicas_.push_back(std::move(replica));
  }
}

size_t WhalefeedClient::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void WhalefeedClient::Advance(size_t from) {
  absl::MutexLock lock(&mu_);
  if (current_ == from) current_ = (current_ + 1) % replicas_.size();
}

absl::Duration WhalefeedClient::Backoff(const RetryPolicy& policy, int retry) {
  absl::Duration cap = policy.initial_backoff;
  for (int i = 1; i < retry && cap < policy.max_backoff; ++i) cap *= policy.multiplier;
  cap = std::min(cap, policy.max_backoff);
  absl::MutexLock lock(&mu_);
  return absl::Nanoseconds(absl::Uniform<int64_t>(absl::IntervalClosedClosed, random_, 0,
                                                  absl::ToInt64Nanoseconds(cap)));
}

void WhalefeedClient::Sleep(absl::Duration d) const {
  if (options_.sleep) {
    options_.sleep(d);
  } else {
    absl::SleepFor(d);
  }
}

void WhalefeedClient::PrepareContext(grpc::ClientContext& context) const {
  if (!options_.admin_token.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.admin_token));
  }
}

namespace {

// Connects `channel` unless it is connected: false when the connection failed (the channel went
// to TRANSIENT_FAILURE) or `deadline` passed first.
bool Connect(grpc::Channel& channel, absl::Time deadline) {
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!channel.WaitForStateChange(state, absl::ToChronoTime(deadline))) return false;
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

}  // namespace

absl::Status WhalefeedClient::Call(
    Retry retry, const CallOptions& call,
    const std::function<grpc::Status(Replica&, grpc::ClientContext&)>& attempt) {
  const absl::Duration budget =
      call.deadline > absl::ZeroDuration() ? call.deadline : options_.default_deadline;
  const absl::Time deadline = absl::Now() + budget;
  std::vector<bool> tried(replicas_.size(), false);
  std::vector<std::string> tried_addresses;
  size_t index = current();
  int attempts = 0;
  int backoffs = 0;
  while (true) {
    Replica& replica = replicas_[index];
    if (!tried[index]) {
      tried[index] = true;
      tried_addresses.push_back(replica.address);
    }
    if (retry == Retry::kAtMostOnce && !Connect(*replica.channel, deadline)) {
      // Nothing was sent: another replica may take the write.
      absl::Status status =
          absl::Now() >= deadline
              ? absl::DeadlineExceededError("deadline exceeded while connecting")
              : absl::UnavailableError(absl::StrCat("cannot connect to ", replica.address));
      Advance(index);
      index = current();
      if (status.code() == absl::StatusCode::kDeadlineExceeded || tried[index]) {
        return NameAddresses(status, tried_addresses);
      }
      continue;
    }
    grpc::ClientContext context;
    PrepareContext(context);
    context.set_deadline(absl::ToChronoTime(deadline));
    ++attempts;
    absl::Status status = FromGrpcStatus(attempt(replica, context), &context);
    if (status.code() != absl::StatusCode::kUnavailable) {
      return NameAddresses(status, tried_addresses);
    }
    Advance(index);
    index = current();
    if (retry == Retry::kAtMostOnce || attempts >= options_.retry.max_attempts) {
      return NameAddresses(status, tried_addresses);
    }
    if (tried[index]) {  // every replica had its turn in this call: wait before the next
      const absl::Duration wait = Backoff(options_.retry, ++backoffs);
      if (absl::Now() + wait >= deadline) return NameAddresses(status, tried_addresses);
      Sleep(wait);
    }
  }
}

#define WHALEFEED_UNARY(Method, Response, Request, stub, retry)                             \
  absl::StatusOr<Response> WhalefeedClient::Method(const Request& request,                  \
                                                   const CallOptions& call) {               \
    Response response;                                                                      \
    absl::Status status = Call(retry, call, [&](Replica& replica, grpc::ClientContext& c) { \
      response.Clear();                                                                     \
      return replica.stub->Method(&c, request, &response);                                  \
    });                                                                                     \
    if (!status.ok()) return status;                                                        \
    return response;                                                                        \
  }

WHALEFEED_UNARY(ListMarkets, v1::ListMarketsResponse, v1::ListMarketsRequest, markets,
                Retry::kIdempotent)
WHALEFEED_UNARY(GetMarket, v1::Market, v1::GetMarketRequest, markets, Retry::kIdempotent)
WHALEFEED_UNARY(ListWhales, v1::ListWhalesResponse, v1::ListWhalesRequest, whales,
                Retry::kIdempotent)
WHALEFEED_UNARY(GetWhale, v1::GetWhaleResponse, v1::GetWhaleRequest, whales, Retry::kIdempotent)
WHALEFEED_UNARY(ListWhaleActivity, v1::ListWhaleActivityResponse, v1::ListWhaleActivityRequest,
                whales, Retry::kIdempotent)
WHALEFEED_UNARY(GetSyncStatus, v1::GetSyncStatusResponse, v1::GetSyncStatusRequest, sync,
                Retry::kIdempotent)
WHALEFEED_UNARY(TrackWhale, v1::Whale, v1::TrackWhaleRequest, whales, Retry::kAtMostOnce)
WHALEFEED_UNARY(UntrackWhale, v1::Whale, v1::UntrackWhaleRequest, whales, Retry::kAtMostOnce)
WHALEFEED_UNARY(RunSyncJob, v1::RunSyncJobResponse, v1::RunSyncJobRequest, sync, Retry::kAtMostOnce)

#undef WHALEFEED_UNARY

absl::StatusOr<grpc::health::v1::HealthCheckResponse> WhalefeedClient::Check(
    const std::string& service, const CallOptions& call) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  absl::Status status =
      Call(Retry::kIdempotent, call, [&](Replica& replica, grpc::ClientContext& context) {
        response.Clear();
        return replica.health->Check(&context, request, &response);
      });
  if (!status.ok()) return status;
  return response;
}

absl::Status WhalefeedClient::WatchWhaleActivity(
    const v1::WatchWhaleActivityRequest& request,
    const std::function<void(const v1::WatchWhaleActivityResponse&)>& on_message, WatchStop* stop,
    const WatchHooks& hooks) {
  WatchStop own_stop;
  if (stop == nullptr) stop = &own_stop;
  v1::WatchWhaleActivityRequest next = request;
  bool delivered_any = false;
  uint64_t last_sequence = 0;
  int failures = 0;
  size_t index = current();
  const absl::Duration idle_timeout = IdleTimeout(options_.watch_idle_timeout, request);
  IdleWatchdog watchdog(idle_timeout);
  while (true) {
    Replica& replica = replicas_[index];
    grpc::ClientContext context;
    PrepareContext(context);
    if (!stop->Register(&context)) return absl::OkStatus();
    watchdog.Arm(&context);
    std::unique_ptr<grpc::ClientReader<v1::WatchWhaleActivityResponse>> reader =
        replica.feed->WatchWhaleActivity(&context, next);
    v1::WatchWhaleActivityResponse message;
    while (reader->Read(&message)) {
      watchdog.Touch();
      failures = 0;
      if (!message.resume_token().empty()) next.set_resume_token(message.resume_token());
      if (message.activities_size() > 0) {
        auto* activities = message.mutable_activities();
        // Keep only what was not delivered yet: sequences rise within a stream and across
        // resumes, so "above the last delivered" is exactly "new".
        activities->erase(std::remove_if(activities->begin(), activities->end(),
                                         [&](const v1::WhaleActivity& activity) {
                                           const bool seen = delivered_any &&
                                                             activity.sequence() <= last_sequence;
                                           if (!seen) {
                                             delivered_any = true;
                                             last_sequence = activity.sequence();
                                           }
                                           return seen;
                                         }),
                          activities->end());
        if (activities->empty()) continue;
      }
      on_message(message);
    }
    const grpc::Status end = reader->Finish();
    stop->Unregister();
    const bool idle = watchdog.Disarm();
    if (stop->stopped()) return absl::OkStatus();
    absl::Status status = FromGrpcStatus(end, &context);
    if (idle) {
      status = absl::UnavailableError(absl::StrCat("no message from the server for ",
                                                   absl::FormatDuration(idle_timeout),
                                                   ": the stream is stuck"));
    } else if (status.ok()) {
      status = absl::UnavailableError("the server ended the stream");
    }
    if (!RetryableWatchEnd(status.code())) return NameAddresses(status, {replica.address});
    Advance(index);
    index = current();
    const absl::Duration wait = Backoff(options_.watch_reconnect, ++failures);
    if (hooks.on_reconnect) {
      hooks.on_reconnect(NameAddresses(status, {replica.address}), wait);
    }
    if (options_.sleep) {
      options_.sleep(wait);
      if (stop->stopped()) return absl::OkStatus();
    } else if (stop->WaitStopped(wait)) {
      return absl::OkStatus();
    }
  }
}

std::optional<std::string> OldestResumeToken(const absl::Status& status) {
  if (std::optional<std::string> trailer = GetTrailer(status, kOldestResumeTokenKey)) {
    return trailer;
  }
  const absl::string_view message = status.message();
  const size_t oldest = message.find("oldest");
  if (oldest == absl::string_view::npos) return std::nullopt;
  const absl::string_view rest = message.substr(oldest);
  // A quoted token: the first "..." after "oldest".
  const size_t open = rest.find('"');
  if (open != absl::string_view::npos) {
    const size_t close = rest.find('"', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      return std::string(rest.substr(open + 1, close - open - 1));
    }
  }
  // Else the last word of the message, without closing punctuation.
  absl::string_view word = rest.substr(rest.find_last_of(' ') + 1);
  while (!word.empty() && absl::string_view(").,;").find(word.back()) != absl::string_view::npos) {
    word.remove_suffix(1);
  }
  if (word.empty() || word == rest) return std::nullopt;
  return std::string(word);
}

}  // namespace whalefeed::client
