// FakeWhaled: an in-process gRPC server with every whalefeed.v1 service and grpc.health.v1, whose
// answers the test decides, for client and whalectl tests. Real gRPC through the generated
// services, on a loopback port; it can be restarted on the same port to play a replica that went
// away and came back.
//
//   FakeWhaled fake;  // started on a free port
//   fake.Reply("GetMarket", market);                                  // a canned answer
//   fake.Fail("ListMarkets", grpc::Status(grpc::StatusCode::UNAVAILABLE, "db down"));
//   fake.On<v1::ListMarketsRequest, v1::ListMarketsResponse>("ListMarkets", [](auto& req, auto*
//   resp) {...}); fake.OnWatch([&](grpc::ServerContext* c, const auto& req, auto* writer) {...});
//
// A method without a handler answers UNIMPLEMENTED. Every call is recorded: a unary call once its
// handler returned, a watch when it starts. Thread-safe.
#ifndef WHALEFEED_TESTS_CLIENT_FAKE_WHALED_H_
#define WHALEFEED_TESTS_CLIENT_FAKE_WHALED_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed::testing {

class FakeWhaled {
 public:
  using Message = google::protobuf::Message;
  using UnaryHandler = std::function<grpc::Status(const Message& request, Message* response)>;
  using WatchWriter = grpc::ServerWriter<v1::WatchWhaleActivityResponse>;
  using WatchHandler = std::function<grpc::Status(grpc::ServerContext* context,
                                                  const v1::WatchWhaleActivityRequest& request,
                                                  WatchWriter* writer)>;

  // One recorded call.
  struct Call {
    std::string method;         // e.g. "ListMarkets", "Check", "WatchWhaleActivity"
    std::string authorization;  // the `authorization` metadata, "" when absent
    std::shared_ptr<Message> request;
  };

  // Starts on a free loopback port.
  FakeWhaled();
  ~FakeWhaled();

  int port() const { return port_; }
  std::string address() const;

  // Stops the server as whaled does on SIGTERM: open watches end with UNAVAILABLE (see
  // WaitWhileServing), then the server shuts down. Restart: stops, then serves again on the same
  // port with the same handlers.
  void Stop();
  void Restart();

  // Handlers, by method name (the RPC's name; "Check" for health).
  void Set(const std::string& method, UnaryHandler handler);
  template <typename Request, typename Response>
  void On(const std::string& method,
          std::function<grpc::Status(const Request&, Response*)> handler) {
    Set(method, [handler](const Message& request, Message* response) {
      return handler(static_cast<const Request&>(request), static_cast<Response*>(response));
    });
  }
  void Reply(const std::string& method, const Message& response);
  void Fail(const std::string& method, grpc::Status status);
  void OnWatch(WatchHandler handler);

  // For watch handlers: waits while the server serves and the call is alive. Returns the status
  // a stream then ends with: UNAVAILABLE when the server is stopping, CANCELLED when the client
  // went away.
  grpc::Status WaitWhileServing(grpc::ServerContext* context);

  std::vector<Call> calls() const;
  std::vector<Call> calls(const std::string& method) const;
  // Waits until `method` has been called `n` times in all; false on timeout.
  bool WaitForCalls(const std::string& method, size_t n, absl::Duration timeout) const;

 private:
  class Services;

  void StartServer();
  grpc::Status Dispatch(const std::string& method, grpc::ServerContext* context,
                        const Message& request, Message* response);
  grpc::Status DispatchWatch(grpc::ServerContext* context,
                             const v1::WatchWhaleActivityRequest& request, WatchWriter* writer);
  void Record(const std::string& method, grpc::ServerContext* context, const Message& request);

  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, UnaryHandler> handlers_ ABSL_GUARDED_BY(mu_);
  WatchHandler watch_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

// A heartbeat message at `token`, and a message of activities with these sequences ending at
// `token`: the shapes a watch test sends.
v1::WatchWhaleActivityResponse HeartbeatMessage(const std::string& token);
v1::WatchWhaleActivityResponse ActivityMessage(const std::vector<uint64_t>& sequences,
                                               const std::string& token);

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_CLIENT_FAKE_WHALED_H_
