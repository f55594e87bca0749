// whalectl: the whalefeed command line.
//   whalectl [--server=HOST:PORT] health [SERVICE]   exit 0 when SERVING, 1 when not, 2 on error
//   whalectl [--server=HOST:PORT] version            this tool's version and the server's
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/version.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "whaled address, HOST:PORT (also WHALEFEED_SERVER)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call");

namespace {

constexpr int kOk = 0, kNotServing = 1, kError = 2;

std::shared_ptr<grpc::Channel> Connect() {
  return grpc::CreateChannel(absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials());
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_timeout)));
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(absl::GetFlag(FLAGS_server), ": ", status.error_message(), " (code ",
                      status.error_code(), ")");
}

int Health(const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(Connect());
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    std::fprintf(stderr, "whalectl: the server knows no health service \"%s\"\n", service.c_str());
    return kError;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "whalectl: health check failed: %s\n", Describe(status).c_str());
    return kError;
  }
  std::printf("%s\n",
              grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()).c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kOk : kNotServing;
}

int Version() {
  std::printf("whalectl %s\n", whalefeed::kVersion);
  auto stub = whalefeed::v1::SyncService::NewStub(Connect());
  grpc::ClientContext context;
  SetDeadline(context);
  whalefeed::v1::GetSyncStatusResponse response;
  grpc::Status status =
      stub->GetSyncStatus(&context, whalefeed::v1::GetSyncStatusRequest(), &response);
  if (status.ok()) {
    std::printf("whaled %s (replica %s, schema %lld)\n", response.server().version().c_str(),
                response.server().replica_id().c_str(),
                static_cast<long long>(response.server().schema_version()));
    return kOk;
  }
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    std::printf(
        "whaled: version not reported (this server does not implement GetSyncStatus yet)\n");
    return kOk;
  }
  std::fprintf(stderr, "whalectl: cannot reach the server: %s\n", Describe(status).c_str());
  return kError;
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "client/whalectl.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "whalefeed command line.\n\n"
      "  whalectl [--server=HOST:PORT] health [SERVICE]  health of the server (\"\") or of "
      "SERVICE;\n"
      "                                                 exit 0 SERVING, 1 not serving, 2 error\n"
      "  whalectl [--server=HOST:PORT] version           this tool's version and the server's\n\n"
      "The server defaults to WHALEFEED_SERVER, else 127.0.0.1:50051.");
  if (const char* server = std::getenv("WHALEFEED_SERVER"); server != nullptr && *server != '\0') {
    absl::SetFlag(&FLAGS_server, server);
  }
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    std::fprintf(stderr, "whalectl: missing command (health, version); see --help\n");
    return kError;
  }
  const std::string command = args[1];
  if (command == "health" && args.size() <= 3) return Health(args.size() == 3 ? args[2] : "");
  if (command == "version" && args.size() == 2) return Version();
  std::fprintf(stderr, "whalectl: unknown command or arguments \"%s\"; see --help\n",
               command.c_str());
  return kError;
}
