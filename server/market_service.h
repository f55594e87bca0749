// MarketService (whalefeed.v1): ListMarkets and GetMarket over the store's read API, with a
// read-mostly cache.
//
// Caching. The market sync changes markets at most every 5 minutes, and whale volume moves after
// ingests, while screeners ask for the same markets and the same first pages over and over. Each
// answer read from the database (a GetMarket market, a ListMarkets page) is kept in memory for
// `cache_ttl` (default 2 s) and served from there meanwhile, without a database round trip: a
// change committed at time T is served by every call that starts after T + cache_ttl, on every
// replica, and nothing older than cache_ttl is ever served. A bounded TTL was chosen over a
// generation check (MAX(updated_at)): the check would cost a round trip on every call, which is
// what the cache is there to save, and writes happen on the leader, possibly another process, so
// there is no local write to invalidate on. The bound is measured with the injected clock.
// Memory is bounded by max_cached_entries (expired entries are dropped first, then all).
//
// Threading (design §8): both methods are on gRPC's callback API. An answer in the cache is given
// at once on the callback thread; a miss is read from the database on the service's own threads
// (BlockingExecutor), never on a callback thread. Thread-safe.
#ifndef WHALEFEED_SERVER_MARKET_SERVICE_H_
#define WHALEFEED_SERVER_MARKET_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/store.h"
#include "server/blocking_executor.h"
#include "server/query_common.h"
#include "whalefeed/v1/market_service.grpc.pb.h"

namespace whalefeed::server {

struct MarketServiceOptions {
  // How long an answer read from the database is served from memory; zero disables the cache.
  absl::Duration cache_ttl = absl::Seconds(2);
  // Cached markets and cached pages, each at most this many.
  size_t max_cached_entries = 4096;
  // Threads that read from the database on a cache miss, and how many misses may wait for one
  // (beyond that a call is UNAVAILABLE: retry).
  int database_threads = 8;
  size_t max_queued_reads = 10000;
};

class MarketService final : public v1::MarketService::CallbackService {
 public:
  // `store` and `clock` must outlive the service.
  MarketService(db::Store* store, const Clock* clock, MarketServiceOptions options = {});

  grpc::ServerUnaryReactor* ListMarkets(grpc::CallbackServerContext* context,
                                        const v1::ListMarketsRequest* request,
                                        v1::ListMarketsResponse* response) override;
  grpc::ServerUnaryReactor* GetMarket(grpc::CallbackServerContext* context,
                                      const v1::GetMarketRequest* request,
                                      v1::Market* response) override;

  // The calls without gRPC (what the handlers run; these may block on the database), for
  // benchmarks and tests.
  absl::StatusOr<v1::ListMarketsResponse> List(const v1::ListMarketsRequest& request);
  absl::StatusOr<v1::Market> Get(int64_t market_id);

 private:
  // The cached answer to `request`, if there is one, without blocking (nullopt also when the
  // request is bad or the page-token key is not loaded yet: List says why).
  std::optional<v1::ListMarketsResponse> CachedList(const v1::ListMarketsRequest& request);

  template <typename Message>
  struct Cached {
    Message message;
    absl::Time read_time;
  };
  template <typename Message>
  using Cache = absl::flat_hash_map<std::string, Cached<Message>>;

  // The entry of `key` if it is younger than cache_ttl.
  template <typename Message>
  bool Lookup(const Cache<Message>& cache, const std::string& key, Message* out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  template <typename Message>
  void Remember(Cache<Message>& cache, const std::string& key, const Message& message,
                absl::Time read_time) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  db::Store* const store_;
  const Clock* const clock_;
  const MarketServiceOptions options_;
  QueryKeys keys_;
  mutable absl::Mutex mu_;
  Cache<v1::Market> markets_ ABSL_GUARDED_BY(mu_);
  Cache<v1::ListMarketsResponse> pages_ ABSL_GUARDED_BY(mu_);
  // Last member: destroyed first, it finishes the reads it has before the caches go.
  BlockingExecutor readers_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_MARKET_SERVICE_H_
