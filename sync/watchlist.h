// The watch-list file (FR-SYNC-2): one wallet address per line, optionally followed by whitespace
// and a label; '#' starts a comment; blank lines are ignored. Example:
//   # desk A
//   0x5f68...9fb6  Big fish
//   0xabc...def
#ifndef WHALEFEED_SYNC_WATCHLIST_H_
#define WHALEFEED_SYNC_WATCHLIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace whalefeed::sync {

struct WatchlistEntry {
  std::string wallet;  // normalised (db::NormalizeWallet)
  std::string label;   // "" when the line has none
};

// Parses the text of a watch-list; `name` (the file's path) prefixes errors. A malformed address or
// an over-long label is INVALID_ARGUMENT naming the line: the whole list is refused, never applied
// in part. A wallet listed twice keeps its last line.
absl::StatusOr<std::vector<WatchlistEntry>> ParseWatchlist(absl::string_view text,
                                                           absl::string_view name);

// Reads and parses the file at `path`. NOT_FOUND / PERMISSION_DENIED naming it when it cannot be
// read.
absl::StatusOr<std::vector<WatchlistEntry>> ReadWatchlistFile(const std::string& path);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_WATCHLIST_H_
