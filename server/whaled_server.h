// The gRPC server of whaled: it registers the services it is given (with health and reflection),
// starts the components it is given in their declared order, and shuts everything down within a
// bound. It builds nothing itself: server/main.cc (the composition root) builds every concrete part
// and hands it in, so adding a service or a worker means editing main.cc only. Tests can run it
// in-process with parts of their own.
#ifndef WHALEFEED_SERVER_WHALED_SERVER_H_
#define WHALEFEED_SERVER_WHALED_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/component.h"
#include "server/health_service.h"

namespace whalefeed::server {

struct WhaledServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one (see port())
  // Once shutdown begins, how long open calls may finish before they are cancelled.
  absl::Duration shutdown_timeout = absl::Seconds(10);
};

// How much longer than shutdown_timeout the whole shutdown may take: time for cancelled calls to
// end and for components to stop.
inline constexpr absl::Duration kShutdownGrace = absl::Milliseconds(500);

// The parts main.cc builds. The server owns none of them; they must outlive it (and, after a
// shutdown that left something running, the process: see Shutdown).
struct WhaledParts {
  // Registered; at shutdown it turns NOT_SERVING and ends its Watch streams before anything else.
  HealthService* health = nullptr;
  // Registered as they are. A generated base class answers UNIMPLEMENTED for every method.
  std::vector<grpc::Service*> services;
  // Started in this order once the server listens; drained and stopped in reverse.
  std::vector<Component*> components;
};

// Checks a listen address: HOST:PORT or [IPv6]:PORT with PORT in 0..65535. INVALID_ARGUMENT naming
// it.
absl::Status ValidateListenAddress(const std::string& address);

// Thread-safe.
class WhaledServer {
 public:
  // Binds, registers health, reflection and the services, starts serving, then starts each
  // component in order. If a component fails to start, the server shuts down (as Shutdown does,
  // stopping the components already started) and returns that component's error.
  static absl::StatusOr<std::unique_ptr<WhaledServer>> Start(WhaledServerOptions options,
                                                             WhaledParts parts);
  // Shuts down unless that was done. After a shutdown that left something running, the gRPC server
  // object is left alive (leaked) rather than destroyed under it.
  ~WhaledServer();

  int port() const { return port_; }

  // The shutdown sequence, as a whole bounded by one deadline, shutdown_timeout + kShutdownGrace
  // from its start:
  //   1. health: every status NOT_SERVING, every Watch stream ends with UNAVAILABLE;
  //   2. Drain() of each component, in reverse order (long-lived calls end);
  //   3. the gRPC server takes no new calls; open calls have shutdown_timeout to finish, then are
  //      cancelled;
  //   4. Stop(deadline) of each component, in reverse order.
  // The steps run on a thread of their own and this call returns by the deadline whatever they do.
  // OK: everything stopped. DEADLINE_EXCEEDED: the message names what still runs (a component that
  // did not stop, or "grpc-server" when a call does not end); that part may still use anything it
  // was given, so none of the parts may be destroyed: exit the process with std::_Exit, as whaled
  // does. Idempotent: a later call returns the first result.
  absl::Status Shutdown();

 private:
  struct Progress;

  WhaledServer() = default;

  WhaledServerOptions options_;
  WhaledParts parts_;
  size_t started_ = 0;  // components started, from the front of parts_.components
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Status shutdown_result_ ABSL_GUARDED_BY(shutdown_mu_);
  // A shutdown step did not end: its thread still runs and may use server_.
  bool abandoned_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_WHALED_SERVER_H_
