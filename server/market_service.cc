#include "server/market_service.h"

#include <memory>
#include <optional>
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

}  // namespace

MarketService::MarketService(db::Store* store, const Clock* clock,
                             const DataVersionWatcher* versions, MarketServiceOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      keys_(store),
      cache_(clock, versions, DataDomain::kMarkets, options.cache_ttl, options.max_cached_entries),
      readers_(options.database_threads, options.max_queued_reads) {}

absl::StatusOr<std::string> MarketService::ListKey(const v1::ListMarketsRequest& request) const {
  ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const db::Filter filter, db::ParseMarketFilter(request.filter()));
  ASSIGN_OR_RETURN(const db::MarketOrder order, db::ParseMarketOrder(request.order_by()));
  // A page is kept only after its token decoded under this fingerprint: the same text is the same
  // valid token, so a hit need not check it again.
  return PageAnswerKey(QueryFingerprint({"ListMarkets", filter.Canonical(), db::OrderText(order)}),
                       request.page_token(), page_size);
}

absl::StatusOr<std::string> MarketService::GetKey(int64_t market_id) {
  if (market_id <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("market_id: ", market_id, " is not a market id (ids are positive)"));
  }
  return absl::StrCat("market\n", market_id);
}

absl::StatusOr<grpc::Slice> MarketService::ListAnswer(const v1::ListMarketsRequest& request) {
  ASSIGN_OR_RETURN(const std::string key, ListKey(request));
  return cache_.GetOrRead(key, [&]() -> absl::StatusOr<grpc::Slice> {
    ASSIGN_OR_RETURN(const v1::ListMarketsResponse response, ReadList(request));
    return SerializeAnswer(response);
  });
}

absl::StatusOr<grpc::Slice> MarketService::GetAnswer(int64_t market_id) {
  ASSIGN_OR_RETURN(const std::string key, GetKey(market_id));
  return cache_.GetOrRead(key, [&]() -> absl::StatusOr<grpc::Slice> {
    ASSIGN_OR_RETURN(const v1::Market market, ReadMarket(market_id));
    return SerializeAnswer(market);
  });
}

absl::StatusOr<v1::Market> MarketService::ReadMarket(int64_t market_id) {
  ASSIGN_OR_RETURN(const db::MarketEntry entry, store_->GetMarketEntry(market_id));
  v1::Market market;
  EntryToProto(entry, &market);
  return market;
}

absl::StatusOr<v1::ListMarketsResponse> MarketService::ReadList(
    const v1::ListMarketsRequest& request) {
  ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const db::Filter filter, db::ParseMarketFilter(request.filter()));
  ASSIGN_OR_RETURN(const db::MarketOrder order, db::ParseMarketOrder(request.order_by()));
  const std::string fingerprint =
      QueryFingerprint({"ListMarkets", filter.Canonical(), db::OrderText(order)});
  ASSIGN_OR_RETURN(const QueryKeys::Keys* keys, keys_.Get());
  ASSIGN_OR_RETURN(const PagePosition position,
                   DecodePagePosition(keys->codec, request.page_token(), fingerprint));
  db::MarketQuery query;
  query.filter = &filter;
  query.order = order;
  query.after = position.after;
  query.limit = page_size;
  ASSIGN_OR_RETURN(const db::MarketPage page, store_->ListMarketEntries(query));
  v1::ListMarketsResponse response;
  for (const db::MarketEntry& entry : page.markets) EntryToProto(entry, response.add_markets());
  response.set_total_size(page.total_size);
  if (page.more) {
    ASSIGN_OR_RETURN(*response.mutable_next_page_token(),
                     EncodePagePosition(keys->codec, page.last, 0, fingerprint));
  }
  return response;
}

absl::StatusOr<v1::ListMarketsResponse> MarketService::List(const v1::ListMarketsRequest& request) {
  ASSIGN_OR_RETURN(const grpc::Slice answer, ListAnswer(request));
  v1::ListMarketsResponse response;
  RETURN_IF_ERROR(ParseAnswer(answer, &response));
  return response;
}

absl::StatusOr<v1::Market> MarketService::Get(int64_t market_id) {
  ASSIGN_OR_RETURN(const grpc::Slice answer, GetAnswer(market_id));
  v1::Market market;
  RETURN_IF_ERROR(ParseAnswer(answer, &market));
  return market;
}

grpc::ServerUnaryReactor* MarketService::ListMarkets(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return ServeCachedCall<v1::ListMarketsRequest>(
      context, *request, response, "ListMarkets", cache_, readers_,
      [this](const v1::ListMarketsRequest& r) { return ListKey(r); },
      [this](const v1::ListMarketsRequest& r) { return ListAnswer(r); });
}

grpc::ServerUnaryReactor* MarketService::GetMarket(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  return ServeCachedCall<v1::GetMarketRequest>(
      context, *request, response, "GetMarket", cache_, readers_,
      [](const v1::GetMarketRequest& r) { return GetKey(r.market_id()); },
      [this](const v1::GetMarketRequest& r) { return GetAnswer(r.market_id()); });
}

}  // namespace whalefeed::server
