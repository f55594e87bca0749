// grpc.health.v1.Health served from code generated off grpc-proto's health.proto, so that it shows
// through reflection (gRPC's built-in health service does not). Check reads a map and touches
// nothing else; Watch streams every change of one service's status.
#ifndef WHALEFEED_SERVER_HEALTH_SERVICE_H_
#define WHALEFEED_SERVER_HEALTH_SERVICE_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace whalefeed::server {

// Thread-safe.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService() = default;
  ~HealthService() override;

  // Sets a service's status ("" is the server as a whole). Unknown services answer NOT_FOUND to
  // Check.
  void SetStatus(absl::string_view service, ServingStatus status);
  // The status Check answers for `service`; SERVICE_UNKNOWN when it has none.
  ServingStatus GetStatus(absl::string_view service) const;
  // Marks every service NOT_SERVING and ignores later SetStatus calls (used at shutdown), then ends
  // every Watch stream so that Shutdown does not wait for them.
  void Shutdown();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;
  friend class WatchReactor;

  void Unregister(WatchReactor* reactor);
  ServingStatus StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  std::vector<WatchReactor*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_HEALTH_SERVICE_H_
