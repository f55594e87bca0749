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
// ListWhales and GetWhale are read over and over (a dashboard's leaderboard, the whales it
// shows): their answers are cached as MarketService's are (server/answer_cache.h), under the
// whales' data version, which every write of whales, their stats or their activity raises; they
// are raw methods on the callback API, answered at once from the cache and read from the database
// on the service's own threads on a miss. ListWhaleActivity (pinned walks) and the admin calls read
// or write the database every time, on gRPC's sync API.
//
// Thread-safe.
#ifndef WHALEFEED_SERVER_WHALE_SERVICE_H_
#define WHALEFEED_SERVER_WHALE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "db/store.h"
#include "server/admin_auth.h"
#include "server/answer_cache.h"
#include "server/blocking_executor.h"
#include "server/query_common.h"
#include "whalefeed/v1/whale_service.grpc.pb.h"

namespace whalefeed::server {

inline constexpr int kDefaultRecentActivity = 20;
inline constexpr int kMaxRecentActivity = 100;

using WhaleServiceOptions = CachedReadOptions;

// The service's base: ListWhales and GetWhale raw on the callback API, the rest on the sync API.
using WhaleServiceBase = v1::WhaleService::WithRawCallbackMethod_ListWhales<
    v1::WhaleService::WithRawCallbackMethod_GetWhale<v1::WhaleService::Service>>;

class WhaleService final : public WhaleServiceBase {
 public:
  // `store`, `clock`, `versions` and `admin_auth` must outlive the service.
  WhaleService(db::Store* store, const Clock* clock, DataVersionWatcher* versions,
               const AdminAuth* admin_auth, WhaleServiceOptions options = {});

  grpc::ServerUnaryReactor* ListWhales(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetWhale(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::Status ListWhaleActivity(grpc::ServerContext* context,
                                 const v1::ListWhaleActivityRequest* request,
                                 v1::ListWhaleActivityResponse* response) override;
  // The admin writes. The next GetWhale / ListWhales on this replica see them (the data versions
  // are read again after each); other replicas within the cache bound.
  grpc::Status TrackWhale(grpc::ServerContext* context, const v1::TrackWhaleRequest* request,
                          v1::Whale* response) override;
  grpc::Status UntrackWhale(grpc::ServerContext* context, const v1::UntrackWhaleRequest* request,
                            v1::Whale* response) override;

  // The unauthenticated calls without gRPC, through the cache as the handlers (these may block on
  // the database), for benchmarks and tests.
  absl::StatusOr<v1::ListWhalesResponse> List(const v1::ListWhalesRequest& request);
  absl::StatusOr<v1::GetWhaleResponse> Get(const v1::GetWhaleRequest& request);
  absl::StatusOr<v1::ListWhaleActivityResponse> ListActivity(
      const v1::ListWhaleActivityRequest& request);

 private:
  // The cache key of a request, or an error for a request that cannot be answered (refused
  // without the database).
  absl::StatusOr<std::string> ListKey(const v1::ListWhalesRequest& request) const;
  static absl::StatusOr<std::string> GetKey(const v1::GetWhaleRequest& request);
  // The answer's bytes: from the cache, else read from the database (and kept).
  absl::StatusOr<grpc::Slice> ListAnswer(const v1::ListWhalesRequest& request);
  absl::StatusOr<grpc::Slice> GetAnswer(const v1::GetWhaleRequest& request);
  // The database reads.
  absl::StatusOr<v1::ListWhalesResponse> ReadList(const v1::ListWhalesRequest& request);
  absl::StatusOr<v1::GetWhaleResponse> ReadWhale(const v1::GetWhaleRequest& request);

  void ReadVersionsAfterWrite();
  // The whale with the stats of every window.
  absl::StatusOr<v1::Whale> WhaleWithStats(const db::Whale& whale);

  db::Store* const store_;
  const Clock* const clock_;
  const AdminAuth* const admin_auth_;
  // Read again after an admin write, so that this replica's next reads see it.
  DataVersionWatcher* const versions_;
  const WhaleServiceOptions options_;
  QueryKeys keys_;
  AnswerCache cache_;
  // Last member: destroyed first, it finishes the reads it has before the cache goes.
  BlockingExecutor readers_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_WHALE_SERVICE_H_
