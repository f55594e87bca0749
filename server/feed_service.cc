#include "server/feed_service.h"

#include <memory>
#include <utility>

#include "db/filter.h"

namespace whalefeed::server {

FeedFilterParser ActivityFilterParser() {
  return [](absl::string_view text) -> absl::StatusOr<ActivityPredicate> {
    absl::StatusOr<db::Filter> filter = db::ParseActivityFilter(text);
    if (!filter.ok()) return filter.status();
    if (filter->empty()) return ActivityPredicate();  // matches everything: no call per event
    auto shared = std::make_shared<const db::Filter>(*std::move(filter));
    return ActivityPredicate(
        [shared](const db::Activity& activity) { return db::MatchesActivity(*shared, activity); });
  };
}

}  // namespace whalefeed::server
