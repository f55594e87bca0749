// FeedService (design §5, §6.2): WatchWhaleActivity on the callback API as a raw method, so that a
// stream writes the bytes the FeedHub serialised once for every subscriber. The hub does the work;
// this class only registers the method.
#ifndef WHALEFEED_SERVER_FEED_SERVICE_H_
#define WHALEFEED_SERVER_FEED_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "server/feed_hub.h"
#include "whalefeed/v1/feed_service.grpc.pb.h"

namespace whalefeed::server {

// The filter grammar of design §6.4 over activities, as the feed evaluates it in memory.
FeedFilterParser ActivityFilterParser();

// Thread-safe. `hub` must outlive the service.
class FeedService final
    : public v1::FeedService::WithRawCallbackMethod_WatchWhaleActivity<v1::FeedService::Service> {
 public:
  explicit FeedService(FeedHub* hub) : hub_(hub) {}

  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchWhaleActivity(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override {
    return hub_->Watch(context, request);
  }

 private:
  FeedHub* const hub_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_FEED_SERVICE_H_
