// The one place where absl::Status becomes grpc::Status and back.
#ifndef WHALEFEED_COMMON_GRPC_STATUS_H_
#define WHALEFEED_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace whalefeed {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace whalefeed

#endif  // WHALEFEED_COMMON_GRPC_STATUS_H_
