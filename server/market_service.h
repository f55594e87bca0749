// MarketService (whalefeed.v1): ListMarkets and GetMarket over the store's read API, with a
// read-mostly cache.
//
// Caching (server/answer_cache.h). Screeners ask for the same markets and the same first pages
// over and over, and markets change every 5 minutes: each answer read from the database (a
// GetMarket market, a ListMarkets page) is kept, as the bytes of the response, while the markets'
// data version is unchanged, and served from there without a database round trip. A change
// committed at time T is served by every call that starts after T + cache_ttl, on every replica,
// and nothing is served from memory longer than cache_ttl after the versions could last be read.
// Memory is bounded by max_cached_entries.
//
// Threading (design §8): both methods are raw methods on gRPC's callback API (the answer's bytes
// are written as they are kept). An answer in the cache is given at once on the callback thread; a
// miss is read from the database on the service's own threads (BlockingExecutor), never on a
// callback thread. Thread-safe.
#ifndef WHALEFEED_SERVER_MARKET_SERVICE_H_
#define WHALEFEED_SERVER_MARKET_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "server/answer_cache.h"
#include "server/blocking_executor.h"
#include "server/query_common.h"
#include "whalefeed/v1/market_service.grpc.pb.h"

namespace whalefeed::server {

using MarketServiceOptions = CachedReadOptions;

// The service's base: both methods raw, on the callback API.
using MarketServiceBase = v1::MarketService::WithRawCallbackMethod_ListMarkets<
    v1::MarketService::WithRawCallbackMethod_GetMarket<v1::MarketService::Service>>;

class MarketService final : public MarketServiceBase {
 public:
  // `store`, `clock` and `versions` must outlive the service.
  MarketService(db::Store* store, const Clock* clock, const DataVersionWatcher* versions,
                MarketServiceOptions options = {});

  grpc::ServerUnaryReactor* ListMarkets(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetMarket(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

  // The calls without gRPC, through the cache as the handlers (these may block on the database),
  // for benchmarks and tests.
  absl::StatusOr<v1::ListMarketsResponse> List(const v1::ListMarketsRequest& request);
  absl::StatusOr<v1::Market> Get(int64_t market_id);
  // Answers in the cache now.
  size_t cached_answers() const { return cache_.size(); }

 private:
  // The cache key of a request, or an error for a request that cannot be answered (the cache is
  // then skipped and the read says why).
  absl::StatusOr<std::string> ListKey(const v1::ListMarketsRequest& request) const;
  static absl::StatusOr<std::string> GetKey(int64_t market_id);
  // The answer's bytes: from the cache, else read from the database (and kept).
  absl::StatusOr<grpc::Slice> ListAnswer(const v1::ListMarketsRequest& request);
  absl::StatusOr<grpc::Slice> GetAnswer(int64_t market_id);
  // The database reads.
  absl::StatusOr<v1::ListMarketsResponse> ReadList(const v1::ListMarketsRequest& request);
  absl::StatusOr<v1::Market> ReadMarket(int64_t market_id);

  db::Store* const store_;
  const Clock* const clock_;
  const MarketServiceOptions options_;
  QueryKeys keys_;
  AnswerCache cache_;
  // Last member: destroyed first, it finishes the reads it has before the cache goes.
  BlockingExecutor readers_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_MARKET_SERVICE_H_
