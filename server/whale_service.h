// WhaleService (whalefeed.v1): the leaderboard, one whale with its stats and recent activity,
// stored activity in pinned walks, and the admin calls TrackWhale / UntrackWhale, over the
// store's read API.
//
// ListWhaleActivity pins each walk to a high-water mark, the latest committed sequence when its
// first page was read: every page reads only rows at or below it (sequence order is commit order),
// so rows committed during the walk never appear and every matching row committed before it
// appears exactly once. The mark rides in the page token, and resume_token is the feed position
// of the mark, so FeedService.WatchWhaleActivity from it continues with no gap and no overlap.
//
// Thread-safe. Every call may block on the database: they run on gRPC's sync API.
#ifndef WHALEFEED_SERVER_WHALE_SERVICE_H_
#define WHALEFEED_SERVER_WHALE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "db/store.h"
#include "server/admin_auth.h"
#include "server/query_common.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed::server {

inline constexpr int kDefaultRecentActivity = 20;
inline constexpr int kMaxRecentActivity = 100;

struct WhaleServiceOptions {};

class WhaleService final : public v1::WhaleService::Service {
 public:
  // `store`, `clock` and `admin_auth` must outlive the service.
  WhaleService(db::Store* store, const Clock* clock, const AdminAuth* admin_auth,
               WhaleServiceOptions options = {});

  grpc::Status ListWhales(grpc::ServerContext* context, const v1::ListWhalesRequest* request,
                          v1::ListWhalesResponse* response) override;
  grpc::Status GetWhale(grpc::ServerContext* context, const v1::GetWhaleRequest* request,
                        v1::GetWhaleResponse* response) override;
  grpc::Status ListWhaleActivity(grpc::ServerContext* context,
                                 const v1::ListWhaleActivityRequest* request,
                                 v1::ListWhaleActivityResponse* response) override;
  grpc::Status TrackWhale(grpc::ServerContext* context, const v1::TrackWhaleRequest* request,
                          v1::Whale* response) override;
  grpc::Status UntrackWhale(grpc::ServerContext* context, const v1::UntrackWhaleRequest* request,
                            v1::Whale* response) override;

  // The unauthenticated calls without gRPC (what the handlers run), for benchmarks and tests.
  absl::StatusOr<v1::ListWhalesResponse> List(const v1::ListWhalesRequest& request);
  absl::StatusOr<v1::GetWhaleResponse> Get(const v1::GetWhaleRequest& request);
  absl::StatusOr<v1::ListWhaleActivityResponse> ListActivity(
      const v1::ListWhaleActivityRequest& request);

 private:
  // The whale with the stats of every window.
  absl::StatusOr<v1::Whale> WhaleWithStats(const db::Whale& whale);

  db::Store* const store_;
  const Clock* const clock_;
  const AdminAuth* const admin_auth_;
  const WhaleServiceOptions options_;
  QueryKeys keys_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_WHALE_SERVICE_H_
