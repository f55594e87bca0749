#include "common/grpc_status.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace whalefeed {
namespace {

std::string TypeUrl(absl::string_view key) { return absl::StrCat(kTrailerTypeUrlPrefix, key); }

// What gRPC accepts as a metadata key of the application's.
bool ValidKey(absl::string_view key) {
  if (key.empty() || absl::StartsWith(key, "grpc-")) return false;
  for (char c : key) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool ValidValue(absl::string_view key, absl::string_view value) {
  if (absl::EndsWith(key, "-bin")) return true;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

absl::Status WithTrailer(absl::Status status, absl::string_view key, absl::string_view value) {
  status.SetPayload(TypeUrl(key), absl::Cord(value));
  return status;
}

std::optional<std::string> GetTrailer(const absl::Status& status, absl::string_view key) {
  auto payload = status.GetPayload(TypeUrl(key));  // an absl::optional in Debian's abseil
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context) {
  if (status.ok()) return grpc::Status::OK;
  std::vector<std::pair<std::string, std::string>> trailers;
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    if (!absl::StartsWith(type_url, kTrailerTypeUrlPrefix)) return;
    trailers.emplace_back(std::string(type_url.substr(kTrailerTypeUrlPrefix.size())),
                          std::string(payload));
  });
  for (const auto& [key, value] : trailers) {
    if (!ValidKey(key) || !ValidValue(key, value)) {
      WF_LOG(ERROR) << "dropped trailing metadata \"" << key
                    << "\": not a valid gRPC metadata key or value";
      continue;
    }
    context->AddTrailingMetadata(key, value);
  }
  // absl::StatusCode and grpc::StatusCode share the canonical numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status, const grpc::ClientContext* context) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  if (context != nullptr) {
    for (const auto& [key, value] : context->GetServerTrailingMetadata()) {
      result = WithTrailer(std::move(result), absl::string_view(key.data(), key.size()),
                           absl::string_view(value.data(), value.size()));
    }
  }
  return result;
}

}  // namespace whalefeed
