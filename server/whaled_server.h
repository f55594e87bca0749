// The whaled process without its command line: the gRPC server with every whalefeed.v1 service,
// health and reflection, the database prober, and graceful shutdown. server/main.cc builds the
// concrete objects and hands them in; tests can run it in-process.
#ifndef WHALEFEED_SERVER_WHALED_SERVER_H_
#define WHALEFEED_SERVER_WHALED_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "server/health_prober.h"
#include "server/health_service.h"

namespace whalefeed::server {

struct WhaledServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one (see port())
  HealthProberOptions prober;
  absl::Duration shutdown_timeout = absl::Seconds(10);  // then open calls are cancelled
};

// Checks a listen address: HOST:PORT or [IPv6]:PORT with PORT in 0..65535. INVALID_ARGUMENT naming
// it.
absl::Status ValidateListenAddress(const std::string& address);

// Thread-safe.
class WhaledServer {
 public:
  // Binds and starts serving. `prepare` readies the database (retried until it works); `store` and
  // `clock` must outlive the server.
  static absl::StatusOr<std::unique_ptr<WhaledServer>> Start(WhaledServerOptions options,
                                                             db::Store* store,
                                                             std::function<absl::Status()> prepare,
                                                             const Clock* clock);
  ~WhaledServer();

  int port() const { return port_; }
  HealthService& health() { return *health_; }

  // Health goes NOT_SERVING, streams end with UNAVAILABLE, the prober stops, and the server shuts
  // down with the configured deadline. Idempotent.
  void Shutdown();

 private:
  WhaledServer() = default;

  WhaledServerOptions options_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<HealthProber> prober_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_WHALED_SERVER_H_
