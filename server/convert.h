// Store rows to whalefeed.v1 messages, and the time conversions every service shares. The store's
// enums are numbered as the API's, so enum conversion is a cast checked by static_asserts in the
// .cc.
#ifndef WHALEFEED_SERVER_CONVERT_H_
#define WHALEFEED_SERVER_CONVERT_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/store.h"
#include "whalefeed/v1/types.pb.h"

namespace whalefeed::server {

// absl::InfinitePast() ("none" in the store) clears the timestamp; otherwise microsecond precision,
// as stored.
void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out);
// Sets message field `field` (e.g. &v1::Market::mutable_created_time) to `time`, leaving the field
// absent when `time` is "none", so a client can tell "none" from the epoch.
template <typename Message>
void SetTimeField(absl::Time time, Message* message,
                  google::protobuf::Timestamp* (Message::*field)()) {
  if (time == absl::InfinitePast() || time == absl::InfiniteFuture()) return;
  SetTimestamp(time, (message->*field)());
}
// Unset (or the zero timestamp) is InfinitePast(). INVALID_ARGUMENT naming `field` when the
// timestamp is outside the range protobuf defines (0001-01-01 to 9999-12-31, nanos in [0, 1e9)).
absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& timestamp,
                                         absl::string_view field);
void SetDuration(absl::Duration duration, google::protobuf::Duration* out);
// INVALID_ARGUMENT naming `field` when the duration is outside protobuf's range or its seconds and
// nanos have different signs.
absl::StatusOr<absl::Duration> DurationFromProto(const google::protobuf::Duration& duration,
                                                 absl::string_view field);

// `whale_volume_24h` is the market's whale flow (market_whale_flow), "0" when unknown. Children are
// not filled in: the caller adds them (they are separate rows).
void ToProto(const db::Market& market, absl::string_view whale_volume_24h, v1::Market* out);
void ToProto(const db::WhaleStats& stats, v1::WhaleStats* out);
// Stats are not filled in: the caller adds them.
void ToProto(const db::Whale& whale, v1::Whale* out);
// `wallet_label` is the whale's label when the message is built ("" when it has none).
void ToProto(const db::Activity& activity, absl::string_view wallet_label, v1::WhaleActivity* out);

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_CONVERT_H_
