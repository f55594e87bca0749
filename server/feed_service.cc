#include "server/feed_service.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace whalefeed::server {

FeedFilterParser ActivityFilterParser() {
  return [](absl::string_view text) -> absl::StatusOr<ActivityPredicate> {
    if (absl::StripAsciiWhitespace(text).empty()) return ActivityPredicate();
    return absl::InvalidArgumentError(
        absl::StrCat("filter: \"", text, "\" is not supported by this server yet"));
  };
}

}  // namespace whalefeed::server
