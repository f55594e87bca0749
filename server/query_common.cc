#include "server/query_common.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace whalefeed::server {

absl::StatusOr<int> EffectivePageSize(int32_t page_size) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", page_size, " is negative (0 means the default, ",
                     kDefaultPageSize, "; at most ", kMaxPageSize, ")"));
  }
  if (page_size == 0) return kDefaultPageSize;
  return std::min<int>(page_size, kMaxPageSize);
}

absl::StatusOr<const QueryKeys::Keys*> QueryKeys::Get() {
  absl::MutexLock lock(&mu_);
  if (keys_ != nullptr) return keys_.get();
  ASSIGN_OR_RETURN(const db::FeedMeta meta, store_->GetFeedMeta());
  absl::StatusOr<PageTokenCodec> codec = PageTokenCodec::Create(meta.token_key);
  if (!codec.ok()) {
    // A damaged feed_meta row: the server's problem, not the caller's.
    return absl::InternalError(
        absl::StrCat("feed_meta.token_key is unusable: ", codec.status().message()));
  }
  keys_ = std::make_unique<Keys>(Keys{meta.feed_id, *std::move(codec)});
  return keys_.get();
}

const QueryKeys::Keys* QueryKeys::GetIfLoaded() {
  absl::MutexLock lock(&mu_);
  return keys_.get();
}

absl::StatusOr<PagePosition> DecodePagePosition(const PageTokenCodec& codec,
                                                absl::string_view page_token,
                                                absl::string_view fingerprint) {
  PagePosition position;
  if (page_token.empty()) return position;
  ASSIGN_OR_RETURN(const PageToken token, codec.Decode(page_token, fingerprint));
  if (token.position.size() != 2 || token.position[0].type != PageKeyValue::Type::kString ||
      token.position[1].type != PageKeyValue::Type::kString) {
    return absl::InvalidArgumentError(
        "page_token: it does not hold a position of this list; list again without a page token");
  }
  position.after = db::Keyset{token.position[0].text, token.position[1].text};
  position.high_water = token.high_water_sequence;
  return position;
}

absl::StatusOr<std::string> EncodePagePosition(const PageTokenCodec& codec, const db::Keyset& last,
                                               uint64_t high_water, absl::string_view fingerprint) {
  PageToken token;
  token.position = {PageKeyValue::String(last.value), PageKeyValue::String(last.tiebreak)};
  token.high_water_sequence = high_water;
  return codec.Encode(token, fingerprint);
}

}  // namespace whalefeed::server
