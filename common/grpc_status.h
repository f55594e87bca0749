// The one place where absl::Status becomes grpc::Status and back (the canonical codes share their
// numbering). Its own library, whalefeed_grpc_status, so that only what speaks gRPC links gRPC.
//
// Trailing metadata rides on a status as a payload, so that code far from the call (the store, the
// feed) can attach what a client needs to recover, and the handler only converts:
//
//   return WithTrailer(absl::OutOfRangeError("..."), "whalefeed-oldest-resume-token", token);
//   ...
//   reactor->Finish(ToGrpcStatus(status, context));  // code, message and the trailer
//
// A trailer is a payload whose type URL is kTrailerTypeUrlPrefix + the metadata key. Only errors
// carry trailers: absl::Status keeps no payload on OK.
#ifndef WHALEFEED_COMMON_GRPC_STATUS_H_
#define WHALEFEED_COMMON_GRPC_STATUS_H_

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace whalefeed {

inline constexpr absl::string_view kTrailerTypeUrlPrefix = "type.whalefeed.dev/grpc-trailer/";

// `status` with the trailing-metadata entry `key: value` (replacing an earlier value of `key`). An
// OK status is returned as it is. `key` must be a valid gRPC metadata key: lower-case letters,
// digits, '-', '_' and '.', not starting with "grpc-"; its value printable ASCII, or any bytes when
// the key ends in "-bin". ToGrpcStatus drops (and logs) a trailer that breaks these rules: gRPC
// 1.51 aborts the whole process on invalid trailing metadata.
absl::Status WithTrailer(absl::Status status, absl::string_view key, absl::string_view value);

// The value of trailer `key` on `status`, if any.
std::optional<std::string> GetTrailer(const absl::Status& status, absl::string_view key);

// The call's status: code and message, with every trailer of `status` added to `context`'s trailing
// metadata. Call it once, when the call finishes (with a sync handler's or a reactor's context).
// Payloads that are not trailers stay in the process.
grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context);

// Code and message of a finished call. With the call's `context`, every entry of the server's
// trailing metadata comes back as a trailer (read it with GetTrailer).
absl::Status FromGrpcStatus(const grpc::Status& status,
                            const grpc::ClientContext* context = nullptr);

}  // namespace whalefeed

#endif  // WHALEFEED_COMMON_GRPC_STATUS_H_
