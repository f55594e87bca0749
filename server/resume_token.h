// Feed resume tokens (design §5.1, §6.3): opaque, versioned, printable ASCII, position-only (never
// bound to a filter) and carrying the id of the feed's database, so a token works on every replica
// of that database and is refused by any other. WatchWhaleActivity and ListWhaleActivity share
// them.
//
// A token for position P means "everything up to and including sequence P has been seen": a stream
// resumed from it starts strictly after P. P = 0 is the position before the first activity.
#ifndef WHALEFEED_SERVER_RESUME_TOKEN_H_
#define WHALEFEED_SERVER_RESUME_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace whalefeed::server {

// `feed_id` is FeedMeta::feed_id: 32 lower-case hex digits.
std::string EncodeResumeToken(absl::string_view feed_id, uint64_t sequence);

// The position of `token`. INVALID_ARGUMENT naming `field` when the token is malformed, of an
// unknown version, or of another database (another feed id).
absl::StatusOr<uint64_t> DecodeResumeToken(absl::string_view token, absl::string_view feed_id,
                                           absl::string_view field = "resume_token");

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_RESUME_TOKEN_H_
