#include "server/whaled_server.h"

#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"
#include "whalefeed/v1/market_service.grpc.pb.h"
#include "whalefeed/v1/sync_service.grpc.pb.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed::server {
namespace {

// gRPC's own log lines go through WF_LOG, one line each. While the server is being built they are
// captured instead, so that a bind failure becomes one line that names the address and the cause.
absl::Mutex grpc_log_mu(absl::kConstInit);
std::string* grpc_log_capture ABSL_GUARDED_BY(grpc_log_mu) = nullptr;

void RouteGrpcLog(gpr_log_func_args* args) {
  {
    absl::MutexLock lock(&grpc_log_mu);
    if (grpc_log_capture != nullptr) {
      absl::StrAppend(grpc_log_capture, args->message, "\n");
      return;
    }
  }
  const LogSeverity severity = args->severity == GPR_LOG_SEVERITY_ERROR  ? LogSeverity::kError
                               : args->severity == GPR_LOG_SEVERITY_INFO ? LogSeverity::kInfo
                                                                         : LogSeverity::kInfo;
  LogLine(severity, args->file, args->line) << "grpc: " << args->message;
}

// The OS error gRPC reports for a failed bind, e.g. "Address already in use".
std::string BindError(const std::string& log) {
  constexpr absl::string_view kKey = "os_error:\"";
  const size_t begin = log.find(kKey.data(), 0, kKey.size());
  if (begin == std::string::npos) return "cannot listen there";
  const size_t end = log.find('"', begin + kKey.size());
  return absl::StrCat("cannot listen there: ",
                      log.substr(begin + kKey.size(), end - begin - kKey.size()));
}

}  // namespace

absl::Status ValidateListenAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--listen \"", address, "\": ", why));
  };
  if (colon == std::string::npos || colon == 0)
    return bad("expected HOST:PORT, e.g. 127.0.0.1:50051");
  const std::string host = address.substr(0, colon);
  int port = -1;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return bad("the port must be a number in 0..65535");
  }
  if (host.front() == '[' && host.back() != ']') return bad("unbalanced [ in an IPv6 address");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WhaledServer>> WhaledServer::Start(
    WhaledServerOptions options, db::Store* store, std::function<absl::Status()> prepare,
    const Clock* clock) {
  if (absl::Status s = ValidateListenAddress(options.listen); !s.ok()) return s;
  std::unique_ptr<WhaledServer> self(new WhaledServer());
  self->options_ = options;
  self->health_ = std::make_unique<HealthService>();
  // The whalefeed.v1 services answer UNIMPLEMENTED for every method until each is built.
  self->services_.push_back(std::make_unique<whalefeed::v1::MarketService::Service>());
  self->services_.push_back(std::make_unique<whalefeed::v1::WhaleService::Service>());
  self->services_.push_back(std::make_unique<whalefeed::v1::FeedService::Service>());
  self->services_.push_back(std::make_unique<whalefeed::v1::SyncService::Service>());

  // The prober marks "" NOT_SERVING now, so health answers from the first call on.
  self->prober_ = std::make_unique<HealthProber>(store, std::move(prepare), self->health_.get(),
                                                 clock, options.prober);

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &self->port_);
  builder.RegisterService(self->health_.get());
  for (auto& service : self->services_) builder.RegisterService(service.get());
  std::string startup_log;
  gpr_set_log_function(&RouteGrpcLog);
  {
    absl::MutexLock lock(&grpc_log_mu);
    grpc_log_capture = &startup_log;
  }
  self->server_ = builder.BuildAndStart();
  {
    absl::MutexLock lock(&grpc_log_mu);
    grpc_log_capture = nullptr;
  }
  if (self->server_ == nullptr || self->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("--listen \"", options.listen, "\": ", BindError(startup_log)));
  }
  // Started: what gRPC said meanwhile was not about a failure, but may still matter.
  for (absl::string_view line : absl::StrSplit(startup_log, '\n', absl::SkipEmpty())) {
    WF_LOG(INFO) << "grpc: " << line;
  }
  self->prober_->Start();
  return self;
}

WhaledServer::~WhaledServer() { Shutdown(); }

void WhaledServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  health_->Shutdown();
  if (prober_) prober_->Stop();
  if (server_ == nullptr) return;  // never started
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options_.shutdown_timeout));
  server_->Wait();
}

}  // namespace whalefeed::server
