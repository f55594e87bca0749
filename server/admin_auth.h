// Admin calls (TrackWhale, UntrackWhale, RunSyncJob) carry `authorization: Bearer <token>`
// (design §6.3). The token is compared in constant time; it never appears in a message or a log.
#ifndef WHALEFEED_SERVER_ADMIN_AUTH_H_
#define WHALEFEED_SERVER_ADMIN_AUTH_H_

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/status.h"

namespace whalefeed::server {

// Thread-safe (immutable).
class AdminAuth {
 public:
  // An empty `token` means no admin token is configured: every admin call is PERMISSION_DENIED.
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}

  // OK when the call carries the configured token. UNAUTHENTICATED when it carries none (or not as
  // a Bearer token), PERMISSION_DENIED when it is wrong or none is configured.
  absl::Status Check(const grpc::ServerContextBase& context) const;

 private:
  const std::string token_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_ADMIN_AUTH_H_
