// What the query services (MarketService, WhaleService) share: page-size rules, page tokens bound
// to the query, the database's feed id and token key (read once), keyset positions in tokens.
#ifndef WHALEFEED_SERVER_QUERY_COMMON_H_
#define WHALEFEED_SERVER_QUERY_COMMON_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "db/store.h"
#include "server/page_token.h"

namespace whalefeed::server {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = db::kMaxQueryLimit;

// AIP-158: 0 means kDefaultPageSize, larger than kMaxPageSize is coerced to it, negative is
// INVALID_ARGUMENT naming page_size.
absl::StatusOr<int> EffectivePageSize(int32_t page_size);

// The feed id and the page-token codec of the database, read from FeedMeta on first use and kept
// (both are fixed when the database is made). Until a read succeeds every call reads again, so a
// server that starts while its database is down answers UNAVAILABLE, then recovers. Thread-safe.
class QueryKeys {
 public:
  explicit QueryKeys(db::Store* store) : store_(store) {}

  struct Keys {
    std::string feed_id;
    PageTokenCodec codec;
  };
  absl::StatusOr<const Keys*> Get();
  // The keys if a read has succeeded already, else nullptr; never blocks on the database.
  const Keys* GetIfLoaded();

 private:
  db::Store* const store_;
  absl::Mutex mu_;
  std::unique_ptr<Keys> keys_ ABSL_GUARDED_BY(mu_);
};

// What a page token carries for the query services: the keyset position after which the next
// page starts, and the walk's high-water mark (ListWhaleActivity; 0 elsewhere).
struct PagePosition {
  std::optional<db::Keyset> after;
  uint64_t high_water = 0;
};

// Decodes request.page_token ("" is the first page: no position). INVALID_ARGUMENT naming
// page_token when it is malformed, tampered with or made for another query (fingerprint).
absl::StatusOr<PagePosition> DecodePagePosition(const PageTokenCodec& codec,
                                                absl::string_view page_token,
                                                absl::string_view fingerprint);
// The next_page_token for a walk continuing after `last`.
absl::StatusOr<std::string> EncodePagePosition(const PageTokenCodec& codec, const db::Keyset& last,
                                               uint64_t high_water, absl::string_view fingerprint);

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_QUERY_COMMON_H_
