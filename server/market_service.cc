#include "server/market_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "db/filter.h"
#include "server/convert.h"

namespace whalefeed::server {
namespace {

void EntryToProto(const db::MarketEntry& entry, v1::Market* out) {
  ToProto(entry.market, entry.whale_volume_24h, out);
  for (const db::MarketEntry& child : entry.children) EntryToProto(child, out->add_children());
}

// The cache key of a ListMarkets page.
std::string PageKey(const std::string& fingerprint, const std::string& page_token, int page_size) {
  return absl::StrCat(fingerprint, "\n", page_token, "\n", page_size);
}

}  // namespace

MarketService::MarketService(db::Store* store, const Clock* clock, MarketServiceOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      keys_(store),
      readers_(options.database_threads, options.max_queued_reads) {}

std::optional<v1::ListMarketsResponse> MarketService::CachedList(
    const v1::ListMarketsRequest& request) {
  if (options_.cache_ttl <= absl::ZeroDuration() || keys_.GetIfLoaded() == nullptr) {
    return std::nullopt;
  }
  absl::StatusOr<int> page_size = EffectivePageSize(request.page_size());
  if (!page_size.ok()) return std::nullopt;
  absl::StatusOr<db::Filter> filter = db::ParseMarketFilter(request.filter());
  if (!filter.ok()) return std::nullopt;
  absl::StatusOr<db::MarketOrder> order = db::ParseMarketOrder(request.order_by());
  if (!order.ok()) return std::nullopt;
  // A cached page was made for a token that decoded under this fingerprint: the same text is the
  // same valid token, so it need not be checked again.
  const std::string key =
      PageKey(QueryFingerprint({"ListMarkets", filter->Canonical(), db::OrderText(*order)}),
              request.page_token(), *page_size);
  v1::ListMarketsResponse response;
  absl::MutexLock lock(&mu_);
  if (!Lookup(pages_, key, &response)) return std::nullopt;
  return response;
}

template <typename Message>
bool MarketService::Lookup(const Cache<Message>& cache, const std::string& key,
                           Message* out) const {
  auto it = cache.find(key);
  if (it == cache.end() || clock_->Now() - it->second.read_time >= options_.cache_ttl) return false;
  *out = it->second.message;
  return true;
}

template <typename Message>
void MarketService::Remember(Cache<Message>& cache, const std::string& key, const Message& message,
                             absl::Time read_time) {
  if (options_.cache_ttl <= absl::ZeroDuration()) return;
  if (cache.size() >= options_.max_cached_entries) {
    const absl::Time now = clock_->Now();
    absl::erase_if(cache, [&](const auto& entry) {
      return now - entry.second.read_time >= options_.cache_ttl;
    });
    if (cache.size() >= options_.max_cached_entries) cache.clear();
  }
  auto& slot = cache[key];
  // Keep the fresher of two concurrent reads.
  if (slot.read_time <= read_time) slot = Cached<Message>{message, read_time};
}

absl::StatusOr<v1::Market> MarketService::Get(int64_t market_id) {
  if (market_id <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("market_id: ", market_id, " is not a market id (ids are positive)"));
  }
  const std::string key = absl::StrCat(market_id);
  v1::Market market;
  {
    absl::MutexLock lock(&mu_);
    if (Lookup(markets_, key, &market)) return market;
  }
  // The read time is taken before the read: the entry is never older than it claims.
  const absl::Time read_time = clock_->Now();
  ASSIGN_OR_RETURN(const db::MarketEntry entry, store_->GetMarketEntry(market_id));
  EntryToProto(entry, &market);
  absl::MutexLock lock(&mu_);
  Remember(markets_, key, market, read_time);
  return market;
}

absl::StatusOr<v1::ListMarketsResponse> MarketService::List(const v1::ListMarketsRequest& request) {
  ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const db::Filter filter, db::ParseMarketFilter(request.filter()));
  ASSIGN_OR_RETURN(const db::MarketOrder order, db::ParseMarketOrder(request.order_by()));
  const std::string fingerprint =
      QueryFingerprint({"ListMarkets", filter.Canonical(), db::OrderText(order)});
  ASSIGN_OR_RETURN(const QueryKeys::Keys* keys, keys_.Get());
  ASSIGN_OR_RETURN(const PagePosition position,
                   DecodePagePosition(keys->codec, request.page_token(), fingerprint));
  const std::string key = PageKey(fingerprint, request.page_token(), page_size);
  v1::ListMarketsResponse response;
  {
    absl::MutexLock lock(&mu_);
    if (Lookup(pages_, key, &response)) return response;
  }
  const absl::Time read_time = clock_->Now();
  db::MarketQuery query;
  query.filter = &filter;
  query.order = order;
  query.after = position.after;
  query.limit = page_size;
  ASSIGN_OR_RETURN(const db::MarketPage page, store_->ListMarketEntries(query));
  for (const db::MarketEntry& entry : page.markets) EntryToProto(entry, response.add_markets());
  response.set_total_size(page.total_size);
  if (page.more) {
    ASSIGN_OR_RETURN(*response.mutable_next_page_token(),
                     EncodePagePosition(keys->codec, page.last, 0, fingerprint));
  }
  absl::MutexLock lock(&mu_);
  Remember(pages_, key, response, read_time);
  return response;
}

grpc::ServerUnaryReactor* MarketService::ListMarkets(grpc::CallbackServerContext* context,
                                                     const v1::ListMarketsRequest* request,
                                                     v1::ListMarketsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (std::optional<v1::ListMarketsResponse> cached = CachedList(*request); cached.has_value()) {
    *response = *std::move(cached);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  const bool scheduled = readers_.Schedule([this, context, request, response, reactor] {
    absl::StatusOr<v1::ListMarketsResponse> result = List(*request);
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(result.ok() ? grpc::Status::OK : ToGrpcStatus(result.status(), context));
  });
  if (!scheduled) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "ListMarkets: too many reads waiting for the database; retry"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* MarketService::GetMarket(grpc::CallbackServerContext* context,
                                                   const v1::GetMarketRequest* request,
                                                   v1::Market* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int64_t market_id = request->market_id();
  bool cached = false;
  if (market_id > 0) {
    absl::MutexLock lock(&mu_);
    cached = Lookup(markets_, absl::StrCat(market_id), response);
  }
  if (cached) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  auto answer = [this, context, market_id, response, reactor] {
    absl::StatusOr<v1::Market> result = Get(market_id);
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(result.ok() ? grpc::Status::OK : ToGrpcStatus(result.status(), context));
  };
  if (market_id <= 0) {
    answer();  // refused without touching the database
  } else if (!readers_.Schedule(std::move(answer))) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "GetMarket: too many reads waiting for the database; retry"));
  }
  return reactor;
}

}  // namespace whalefeed::server
