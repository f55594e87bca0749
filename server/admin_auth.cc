#include "server/admin_auth.h"

#include <openssl/crypto.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace whalefeed::server {

absl::Status AdminAuth::Check(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "admin call without credentials: send the metadata `authorization: Bearer <admin token>`");
  }
  absl::string_view value(it->second.data(), it->second.size());
  constexpr absl::string_view kBearer = "bearer ";
  if (!absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError(
        "authorization: expected `Bearer <admin token>` (the value is not a Bearer token)");
  }
  absl::string_view presented = absl::StripAsciiWhitespace(value.substr(kBearer.size()));
  if (token_.empty()) {
    return absl::PermissionDeniedError(
        "admin calls are disabled on this server (no admin token is configured: "
        "--admin_token / WHALEFEED_ADMIN_TOKEN)");
  }
  // Constant time over the configured token's length whatever was presented.
  const bool same_size = presented.size() == token_.size();
  const std::string& compared = same_size ? std::string(presented) : token_;
  const bool equal = CRYPTO_memcmp(compared.data(), token_.data(), token_.size()) == 0;
  if (!(same_size && equal)) return absl::PermissionDeniedError("admin token is wrong");
  return absl::OkStatus();
}

}  // namespace whalefeed::server
