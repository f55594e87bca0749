#include "server/whaled_server.h"

#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/leak.h"
#include "common/log.h"
#include "common/status_macros.h"

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

absl::StatusOr<std::unique_ptr<WhaledServer>> WhaledServer::Start(WhaledServerOptions options,
                                                                  WhaledParts parts) {
  RETURN_IF_ERROR(ValidateListenAddress(options.listen));
  if (parts.health == nullptr) return absl::InvalidArgumentError("WhaledServer: no health service");
  std::unique_ptr<WhaledServer> self(new WhaledServer());
  self->options_ = std::move(options);
  self->parts_ = std::move(parts);

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(self->options_.listen, grpc::InsecureServerCredentials(), &self->port_);
  // ---- Keepalive for long idle streams (WatchWhaleActivity) ----
  // The server pings an idle connection every 60 s and drops it when no answer comes in 20 s, so
  // streams of vanished clients end. Clients may ping as often as every 10 s, also with no call
  // open (they should set keepalive_time >= 10 s, or they get GOAWAY too_many_pings).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // ---- End of keepalive ----
  builder.RegisterService(self->parts_.health);
  for (grpc::Service* service : self->parts_.services) builder.RegisterService(service);
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
        absl::StrCat("--listen \"", self->options_.listen, "\": ", BindError(startup_log)));
  }
  // Started: what gRPC said meanwhile was not about a failure, but may still matter.
  for (absl::string_view line : absl::StrSplit(startup_log, '\n', absl::SkipEmpty())) {
    WF_LOG(INFO) << "grpc: " << line;
  }
  for (Component* component : self->parts_.components) {
    const absl::Status started = component->Start();
    if (!started.ok()) {
      const absl::Status stopped = self->Shutdown();
      return absl::Status(started.code(),
                          absl::StrCat(component->name(), " did not start: ", started.message(),
                                       stopped.ok() ? "" : "; then ", stopped.message()));
    }
    ++self->started_;
  }
  return self;
}

// What the thread that runs the shutdown steps has done. Shared with that thread, which may outlive
// the server when a step does not end.
struct WhaledServer::Progress {
  absl::Mutex mu;
  std::string step ABSL_GUARDED_BY(mu);  // in progress
  std::vector<std::string> not_stopped ABSL_GUARDED_BY(mu);
  bool finished ABSL_GUARDED_BY(mu) = false;
};

WhaledServer::~WhaledServer() {
  (void)Shutdown();
  absl::MutexLock lock(&shutdown_mu_);
  // The shutdown thread may still be inside server_->Shutdown() or Wait().
  if (abandoned_) LeakOnPurpose(server_.release());
}

absl::Status WhaledServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return shutdown_result_;
  shut_down_ = true;
  if (server_ == nullptr) return shutdown_result_;  // never served, nothing started
  const absl::Time calls_deadline = absl::Now() + options_.shutdown_timeout;
  const absl::Time deadline = calls_deadline + kShutdownGrace;
  // Started components, last first. The thread gets copies of everything it uses, not `this`.
  const std::vector<Component*> components(parts_.components.rend() - started_,
                                           parts_.components.rend());
  auto progress = std::make_shared<Progress>();
  std::thread steps([progress, components, calls_deadline, deadline, health = parts_.health,
                     server = server_.get()] {
    auto begin = [&progress](absl::string_view step) {
      absl::MutexLock lock(&progress->mu);
      progress->step = std::string(step);
    };
    begin("health");
    health->Shutdown();
    for (Component* component : components) {
      begin(component->name());
      component->Drain();
    }
    begin("grpc-server");
    server->Shutdown(absl::ToChronoTime(calls_deadline));
    server->Wait();
    for (Component* component : components) {
      begin(component->name());
      const bool stopped = component->Stop(deadline);
      absl::MutexLock lock(&progress->mu);
      if (!stopped) progress->not_stopped.push_back(progress->step);
    }
    absl::MutexLock lock(&progress->mu);
    progress->step.clear();
    progress->finished = true;
  });

  std::vector<std::string> still_running;
  bool finished;
  {
    absl::MutexLock progress_lock(&progress->mu);
    auto done = [&progress]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(progress->mu) { return progress->finished; };
    progress->mu.AwaitWithDeadline(absl::Condition(&done), deadline);
    finished = progress->finished;
    still_running = progress->not_stopped;
    if (!finished) still_running.push_back(progress->step);
  }
  if (finished) {
    steps.join();  // it has finished its work: this only waits for the thread to end
  } else {
    steps.detach();  // it holds `progress`, and uses the parts and the (then leaked) gRPC server
    abandoned_ = true;
  }
  if (!still_running.empty()) {
    shutdown_result_ = absl::DeadlineExceededError(
        absl::StrCat("still running at the shutdown deadline (",
                     absl::FormatDuration(options_.shutdown_timeout + kShutdownGrace),
                     "): ", absl::StrJoin(still_running, ", ")));
  }
  return shutdown_result_;
}

}  // namespace whalefeed::server
