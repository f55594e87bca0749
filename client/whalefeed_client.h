// WhalefeedClient: the C++ client library of whalefeed (libwhalefeed_client).
//
//   whalefeed::client::ClientOptions options;
//   options.addresses = {"10.0.0.1:50051", "10.0.0.2:50051"};  // any replicas
//   auto client = whalefeed::client::WhalefeedClient::Create(options);
//   absl::StatusOr<v1::ListMarketsResponse> page = (*client)->ListMarkets(request);
//
//   WatchStop stop;  // stop.Stop() from any thread ends the watch
//   absl::Status end = (*client)->WatchWhaleActivity(
//       request, [](const v1::WatchWhaleActivityResponse& m) { ... }, &stop);
//
// Addresses: the client talks to one replica at a time (the first at the start) and moves on to the
// next, round robin, when a call fails with UNAVAILABLE. Every replica serves the same data, page
// tokens and resume tokens.
//
// Retries: reads (every List/Get, GetSyncStatus, the health Check) are retried on UNAVAILABLE, at
// once on the next address while this call has not tried it yet, else after an exponential backoff
// with full jitter, until RetryPolicy::max_attempts or the call's deadline; the deadline covers
// every attempt. The admin writes TrackWhale, UntrackWhale and RunSyncJob are sent at most once: a
// second TrackWhale or UntrackWhale would be harmless (both are idempotent in effect), but
// RunSyncJob would queue a second run once the first started, and one rule for every write is
// easier to reason about. A write only moves to the next address while no connection to the
// current one could be made (the request cannot have reached any server): its channel is connected
// first, and only then is the request sent.
//
// Errors: grpc::Status becomes absl::Status with the same canonical code and message; the server's
// trailing metadata rides along as trailers (common/grpc_status.h: GetTrailer). UNAVAILABLE and
// DEADLINE_EXCEEDED also name the addresses tried.
//
// Thread-safe: every method may be called from any number of threads at once.
#ifndef WHALEFEED_CLIENT_WHALEFEED_CLIENT_H_
#define WHALEFEED_CLIENT_WHALEFEED_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed::client {

// The trailing metadata of an OUT_OF_RANGE WatchWhaleActivity: the oldest valid resume token.
inline constexpr char kOldestResumeTokenKey[] = "whalefeed-oldest-resume-token";

// Exponential backoff with full jitter: before retry n (1, 2, ...) the client waits a uniformly
// random time in [0, min(max_backoff, initial_backoff * multiplier^(n-1))].
struct RetryPolicy {
  // Attempts of one idempotent unary call, the first included (1 = no retry).
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double multiplier = 2.0;
};

struct ClientOptions {
  // One or more whaled replicas, HOST:PORT (any gRPC target). Required.
  std::vector<std::string> addresses;
  // Deadline of each unary call, every retry included. Watch has none.
  absl::Duration default_deadline = absl::Seconds(10);
  // Sent as `authorization: Bearer <token>` on every call when not empty (the admin methods need
  // it; the others ignore it).
  std::string admin_token;
  RetryPolicy retry;
  // Backoff between reconnects of WatchWhaleActivity (max_attempts is ignored: a watch retries
  // until stopped). The backoff starts again from initial_backoff after every message received.
  RetryPolicy watch_reconnect;
  // A watch that receives nothing (not even a heartbeat) for this long takes its stream for stuck
  // (a hung replica, a dead connection that TCP has not noticed) and reconnects. Zero: three
  // heartbeat intervals of the request (15 s when unset) plus 5 s. InfiniteDuration(): never.
  absl::Duration watch_idle_timeout = absl::ZeroDuration();
  // Channel credentials; insecure when null.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // How the client waits between attempts; tests record the waits. Null: a real wait. The wait
  // of a watch also ends early when the watch is stopped, whatever this is.
  std::function<void(absl::Duration)> sleep;
};

// Per call: overrides of the client's defaults.
struct CallOptions {
  // The call's deadline, every retry included; zero: the client's default_deadline.
  absl::Duration deadline = absl::ZeroDuration();
};

// Ends a WatchWhaleActivity from any thread (or from its callback): cancels the stream in flight
// and any reconnect wait. A stop before the watch begins makes it return at once. Thread-safe.
class WatchStop {
 public:
  void Stop();
  bool stopped() const;

 private:
  friend class WhalefeedClient;
  // The stream in flight (or null); the watch registers and unregisters it.
  bool Register(grpc::ClientContext* context);
  void Unregister();
  // Waits until `timeout` passed or Stop was called; true when stopped.
  bool WaitStopped(absl::Duration timeout);

  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// What a watch reports besides messages (optional).
struct WatchHooks {
  // Called before each reconnect: the error that ended the stream, and the wait before the next
  // attempt. In the watch's thread.
  std::function<void(const absl::Status& cause, absl::Duration wait)> on_reconnect;
};

class WhalefeedClient {
 public:
  // INVALID_ARGUMENT without addresses, or with an empty one, or a non-positive deadline.
  static absl::StatusOr<std::unique_ptr<WhalefeedClient>> Create(ClientOptions options);

  // Reads: retried on UNAVAILABLE (see above).
  absl::StatusOr<v1::ListMarketsResponse> ListMarkets(const v1::ListMarketsRequest& request,
                                                      const CallOptions& call = {});
  absl::StatusOr<v1::Market> GetMarket(const v1::GetMarketRequest& request,
                                       const CallOptions& call = {});
  absl::StatusOr<v1::ListWhalesResponse> ListWhales(const v1::ListWhalesRequest& request,
                                                    const CallOptions& call = {});
  absl::StatusOr<v1::GetWhaleResponse> GetWhale(const v1::GetWhaleRequest& request,
                                                const CallOptions& call = {});
  absl::StatusOr<v1::ListWhaleActivityResponse> ListWhaleActivity(
      const v1::ListWhaleActivityRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::GetSyncStatusResponse> GetSyncStatus(
      const v1::GetSyncStatusRequest& request = {}, const CallOptions& call = {});
  // grpc.health.v1 Check of `service` ("" = the server as a whole). NOT_FOUND: no such service.
  absl::StatusOr<grpc::health::v1::HealthCheckResponse> Check(const std::string& service = "",
                                                              const CallOptions& call = {});

  // Admin writes: sent at most once (see above).
  absl::StatusOr<v1::Whale> TrackWhale(const v1::TrackWhaleRequest& request,
                                       const CallOptions& call = {});
  absl::StatusOr<v1::Whale> UntrackWhale(const v1::UntrackWhaleRequest& request,
                                         const CallOptions& call = {});
  absl::StatusOr<v1::RunSyncJobResponse> RunSyncJob(const v1::RunSyncJobRequest& request,
                                                    const CallOptions& call = {});

  // Streams whale activity into `on_message` (called in this thread, one message at a time) until
  // `stop` is stopped (returns OK) or a non-retryable error ends it (returns that error).
  //
  // The watch resumes by itself: it keeps the last resume_token received and, when the stream
  // ends with UNAVAILABLE or RESOURCE_EXHAUSTED (server going away, database down, a slow
  // consumer cut off, the stream cap of one replica), with a CANCELLED it did not ask for (a
  // server that is shutting down), ends without a status, or stays silent
  // past ClientOptions::watch_idle_timeout, reconnects with
  // backoff, to the next address, from that token. Within one call no activity is delivered
  // twice: an activity whose sequence is not above the last delivered one is dropped (a message
  // left empty by that is not delivered, its resume_token is still kept). Messages are delivered
  // as the server sent them otherwise: activities (one or more) or a heartbeat.
  //
  // Errors that end it: INVALID_ARGUMENT (bad filter or token), OUT_OF_RANGE (the token is below
  // the retention floor: OldestResumeToken(status) gives the oldest valid one), PERMISSION_DENIED,
  // UNAUTHENTICATED, and every other code. `stop` may be null (then only an error ends it).
  absl::Status WatchWhaleActivity(
      const v1::WatchWhaleActivityRequest& request,
      const std::function<void(const v1::WatchWhaleActivityResponse&)>& on_message, WatchStop* stop,
      const WatchHooks& hooks = {});

  const ClientOptions& options() const { return options_; }

 private:
  struct Replica {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::MarketService::Stub> markets;
    std::unique_ptr<v1::WhaleService::Stub> whales;
    std::unique_ptr<v1::SyncService::Stub> sync;
    std::unique_ptr<v1::FeedService::Stub> feed;
    std::unique_ptr<grpc::health::v1::Health::Stub> health;
  };
  enum class Retry { kIdempotent, kAtMostOnce };

  explicit WhalefeedClient(ClientOptions options);

  // Runs `attempt(replica, context)` under the retry rules of `retry`.
  absl::Status Call(Retry retry, const CallOptions& call,
                    const std::function<grpc::Status(Replica&, grpc::ClientContext&)>& attempt);
  void PrepareContext(grpc::ClientContext& context) const;
  size_t current() const;
  // Moves on from replica `from` (unless another thread already did).
  void Advance(size_t from);
  absl::Duration Backoff(const RetryPolicy& policy, int retry);
  void Sleep(absl::Duration d) const;

  const ClientOptions options_;
  std::vector<Replica> replicas_;
  mutable absl::Mutex mu_;
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
};

// The oldest valid resume token of an OUT_OF_RANGE watch error: the trailing metadata
// `whalefeed-oldest-resume-token`, else the token quoted after "oldest" in the message.
std::optional<std::string> OldestResumeToken(const absl::Status& status);

}  // namespace whalefeed::client

#endif  // WHALEFEED_CLIENT_WHALEFEED_CLIENT_H_
