#include "server/whale_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "db/filter.h"
#include "server/convert.h"
#include "server/resume_token.h"

namespace whalefeed::server {
namespace {

absl::StatusOr<db::StatsWindow> RequestWindow(v1::StatsWindow window) {
  if (window == v1::STATS_WINDOW_UNSPECIFIED) return db::StatsWindow::k24h;
  if (window < v1::STATS_WINDOW_24H || window > v1::STATS_WINDOW_ALL) {
    return absl::InvalidArgumentError(absl::StrCat("window: ", static_cast<int>(window),
                                                   " is not a stats window (24H, 7D, 30D or ALL)"));
  }
  return static_cast<db::StatsWindow>(window);
}

// The fingerprint a ListWhales page token is bound to: its filter, order and window.
std::string ListFingerprint(const db::Filter& filter, const db::WhaleOrder& order,
                            db::StatsWindow window) {
  return QueryFingerprint({"ListWhales", filter.Canonical(), db::OrderText(order),
                           absl::StrCat(static_cast<int>(window))});
}

// GetWhale's recent_activity_limit with its default applied and its maximum enforced.
absl::StatusOr<int> RecentActivityLimit(const v1::GetWhaleRequest& request) {
  if (request.recent_activity_limit() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("recent_activity_limit: ", request.recent_activity_limit(),
                     " is negative (0 means the default, ", kDefaultRecentActivity, ")"));
  }
  return request.recent_activity_limit() == 0
             ? kDefaultRecentActivity
             : std::min(request.recent_activity_limit(), kMaxRecentActivity);
}

template <typename Response>
grpc::Status Answer(absl::StatusOr<Response> result, grpc::ServerContext* context,
                    Response* response) {
  if (!result.ok()) return ToGrpcStatus(result.status(), context);
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

WhaleService::WhaleService(db::Store* store, const Clock* clock, DataVersionWatcher* versions,
                           const AdminAuth* admin_auth, WhaleServiceOptions options)
    : store_(store),
      clock_(clock),
      admin_auth_(admin_auth),
      versions_(versions),
      options_(options),
      keys_(store),
      cache_(clock, versions, DataDomain::kWhales, options.cache_ttl, options.max_cached_entries),
      readers_(options.database_threads, options.max_queued_reads) {}

void WhaleService::ReadVersionsAfterWrite() {
  // A failure leaves the old versions to age out of the bound: the write itself succeeded.
  if (absl::Status s = versions_->Refresh(); !s.ok()) {
    WF_LOG(WARNING) << "whale service: reading the data versions after a write: " << s;
  }
}

absl::StatusOr<v1::Whale> WhaleService::WhaleWithStats(const db::Whale& whale) {
  v1::Whale out;
  ToProto(whale, &out);
  ASSIGN_OR_RETURN(const std::vector<db::WhaleStats> stats, store_->GetWhaleStats(whale.wallet));
  for (const db::WhaleStats& s : stats) ToProto(s, out.add_stats());
  return out;
}

absl::StatusOr<std::string> WhaleService::ListKey(const v1::ListWhalesRequest& request) const {
  ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const db::StatsWindow window, RequestWindow(request.window()));
  ASSIGN_OR_RETURN(const db::Filter filter, db::ParseWhaleFilter(request.filter()));
  ASSIGN_OR_RETURN(const db::WhaleOrder order, db::ParseWhaleOrder(request.order_by()));
  const std::string fingerprint = ListFingerprint(filter, order, window);
  // A page is kept only after its token decoded under this fingerprint: the same text is the same
  // valid token.
  return PageAnswerKey(fingerprint, request.page_token(), page_size);
}

absl::StatusOr<std::string> WhaleService::GetKey(const v1::GetWhaleRequest& request) {
  ASSIGN_OR_RETURN(const std::string wallet, db::NormalizeWallet(request.wallet(), "wallet"));
  ASSIGN_OR_RETURN(const int limit, RecentActivityLimit(request));
  return absl::StrCat("whale\n", wallet, "\n", limit);
}

absl::StatusOr<grpc::Slice> WhaleService::ListAnswer(const v1::ListWhalesRequest& request) {
  ASSIGN_OR_RETURN(const std::string key, ListKey(request));
  return cache_.GetOrRead(key, [&]() -> absl::StatusOr<grpc::Slice> {
    ASSIGN_OR_RETURN(const v1::ListWhalesResponse response, ReadList(request));
    return SerializeAnswer(response);
  });
}

absl::StatusOr<grpc::Slice> WhaleService::GetAnswer(const v1::GetWhaleRequest& request) {
  ASSIGN_OR_RETURN(const std::string key, GetKey(request));
  return cache_.GetOrRead(key, [&]() -> absl::StatusOr<grpc::Slice> {
    ASSIGN_OR_RETURN(const v1::GetWhaleResponse response, ReadWhale(request));
    return SerializeAnswer(response);
  });
}

absl::StatusOr<v1::ListWhalesResponse> WhaleService::ReadList(
    const v1::ListWhalesRequest& request) {
  ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const db::StatsWindow window, RequestWindow(request.window()));
  ASSIGN_OR_RETURN(const db::Filter filter, db::ParseWhaleFilter(request.filter()));
  ASSIGN_OR_RETURN(const db::WhaleOrder order, db::ParseWhaleOrder(request.order_by()));
  const std::string fingerprint = ListFingerprint(filter, order, window);
  ASSIGN_OR_RETURN(const QueryKeys::Keys* keys, keys_.Get());
  ASSIGN_OR_RETURN(const PagePosition position,
                   DecodePagePosition(keys->codec, request.page_token(), fingerprint));
  db::WhaleQuery query;
  query.filter = &filter;
  query.window = window;
  query.order = order;
  query.after = position.after;
  query.limit = page_size;
  ASSIGN_OR_RETURN(const db::WhalePage page, store_->ListWhaleEntries(query));
  v1::ListWhalesResponse response;
  for (const db::WhaleEntry& entry : page.whales) {
    v1::Whale* whale = response.add_whales();
    ToProto(entry.whale, whale);
    ToProto(entry.stats, whale->add_stats());
  }
  if (page.more) {
    ASSIGN_OR_RETURN(*response.mutable_next_page_token(),
                     EncodePagePosition(keys->codec, page.last, 0, fingerprint));
  }
  return response;
}

absl::StatusOr<v1::GetWhaleResponse> WhaleService::ReadWhale(const v1::GetWhaleRequest& request) {
  ASSIGN_OR_RETURN(const std::string wallet, db::NormalizeWallet(request.wallet(), "wallet"));
  ASSIGN_OR_RETURN(const int limit, RecentActivityLimit(request));
  ASSIGN_OR_RETURN(const db::Whale whale, store_->GetWhale(wallet));
  v1::GetWhaleResponse response;
  ASSIGN_OR_RETURN(*response.mutable_whale(), WhaleWithStats(whale));
  ASSIGN_OR_RETURN(const std::vector<db::Activity> recent,
                   store_->ListRecentActivity(wallet, limit));
  for (const db::Activity& a : recent) ToProto(a, whale.label, response.add_recent_activity());
  return response;
}

absl::StatusOr<v1::ListWhalesResponse> WhaleService::List(const v1::ListWhalesRequest& request) {
  ASSIGN_OR_RETURN(const grpc::Slice answer, ListAnswer(request));
  v1::ListWhalesResponse response;
  RETURN_IF_ERROR(ParseAnswer(answer, &response));
  return response;
}

absl::StatusOr<v1::GetWhaleResponse> WhaleService::Get(const v1::GetWhaleRequest& request) {
  ASSIGN_OR_RETURN(const grpc::Slice answer, GetAnswer(request));
  v1::GetWhaleResponse response;
  RETURN_IF_ERROR(ParseAnswer(answer, &response));
  return response;
}

absl::StatusOr<v1::ListWhaleActivityResponse> WhaleService::ListActivity(
    const v1::ListWhaleActivityRequest& request) {
  ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
  ASSIGN_OR_RETURN(const db::Filter filter, db::ParseActivityFilter(request.filter()));
  ASSIGN_OR_RETURN(const db::ActivityOrder order, db::ParseActivityOrder(request.order_by()));
  const std::string fingerprint =
      QueryFingerprint({"ListWhaleActivity", filter.Canonical(), db::OrderText(order),
                        request.include_backfill() ? "backfill" : "live"});
  ASSIGN_OR_RETURN(const QueryKeys::Keys* keys, keys_.Get());
  ASSIGN_OR_RETURN(PagePosition position,
                   DecodePagePosition(keys->codec, request.page_token(), fingerprint));
  if (request.page_token().empty()) {
    // A new walk: pin it to what is committed now.
    ASSIGN_OR_RETURN(position.high_water, store_->GetLatestSequence());
  }
  db::ActivityQuery query;
  query.filter = &filter;
  query.include_backfill = request.include_backfill();
  query.order = order;
  query.after = position.after;
  query.high_water = position.high_water;
  query.limit = page_size;
  ASSIGN_OR_RETURN(const db::ActivityPage page, store_->ListActivity(query));
  v1::ListWhaleActivityResponse response;
  for (size_t i = 0; i < page.activities.size(); ++i) {
    ToProto(page.activities[i], page.wallet_labels[i], response.add_activities());
  }
  if (page.more) {
    ASSIGN_OR_RETURN(*response.mutable_next_page_token(),
                     EncodePagePosition(keys->codec, page.last, position.high_water, fingerprint));
  }
  response.set_resume_token(EncodeResumeToken(keys->feed_id, position.high_water));
  return response;
}

grpc::ServerUnaryReactor* WhaleService::ListWhales(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  return ServeCachedCall<v1::ListWhalesRequest>(
      context, *request, response, "ListWhales", cache_, readers_,
      [this](const v1::ListWhalesRequest& r) { return ListKey(r); },
      [this](const v1::ListWhalesRequest& r) { return ListAnswer(r); });
}

grpc::ServerUnaryReactor* WhaleService::GetWhale(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  return ServeCachedCall<v1::GetWhaleRequest>(
      context, *request, response, "GetWhale", cache_, readers_,
      [](const v1::GetWhaleRequest& r) { return GetKey(r); },
      [this](const v1::GetWhaleRequest& r) { return GetAnswer(r); });
}

grpc::Status WhaleService::ListWhaleActivity(grpc::ServerContext* context,
                                             const v1::ListWhaleActivityRequest* request,
                                             v1::ListWhaleActivityResponse* response) {
  return Answer(ListActivity(*request), context, response);
}

grpc::Status WhaleService::TrackWhale(grpc::ServerContext* context,
                                      const v1::TrackWhaleRequest* request, v1::Whale* response) {
  auto track = [&]() -> absl::StatusOr<v1::Whale> {
    RETURN_IF_ERROR(admin_auth_->Check(*context));
    ASSIGN_OR_RETURN(const std::string wallet, db::NormalizeWallet(request->wallet(), "wallet"));
    RETURN_IF_ERROR(db::CheckText(request->label(), db::kMaxLabelChars, "label"));
    ASSIGN_OR_RETURN(
        const db::Whale whale,
        store_->TrackWhale(wallet, request->label(), db::WhaleSource::kApi, clock_->Now()));
    ReadVersionsAfterWrite();
    return WhaleWithStats(whale);
  };
  return Answer(track(), context, response);
}

grpc::Status WhaleService::UntrackWhale(grpc::ServerContext* context,
                                        const v1::UntrackWhaleRequest* request,
                                        v1::Whale* response) {
  auto untrack = [&]() -> absl::StatusOr<v1::Whale> {
    RETURN_IF_ERROR(admin_auth_->Check(*context));
    ASSIGN_OR_RETURN(const std::string wallet, db::NormalizeWallet(request->wallet(), "wallet"));
    ASSIGN_OR_RETURN(const db::Whale whale, store_->UntrackWhale(wallet));
    ReadVersionsAfterWrite();
    return WhaleWithStats(whale);
  };
  return Answer(untrack(), context, response);
}

}  // namespace whalefeed::server
