#include "sync/watchlist.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "db/store.h"

namespace whalefeed::sync {

absl::StatusOr<std::vector<WatchlistEntry>> ParseWatchlist(absl::string_view text,
                                                           absl::string_view name) {
  std::vector<WatchlistEntry> entries;
  absl::flat_hash_map<std::string, size_t> index;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const size_t hash = line.find('#');
    if (hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    size_t end = 0;
    while (end < line.size() && !absl::ascii_isspace(static_cast<unsigned char>(line[end]))) ++end;
    const std::string where = absl::StrCat(name, ":", line_number);
    absl::StatusOr<std::string> wallet = db::NormalizeWallet(line.substr(0, end), where);
    if (!wallet.ok()) return wallet.status();
    const absl::string_view label = absl::StripAsciiWhitespace(line.substr(end));
    if (absl::Status s = db::CheckText(label, db::kMaxLabelChars, absl::StrCat(where, " label"));
        !s.ok()) {
      return s;
    }
    auto [it, inserted] = index.try_emplace(*wallet, entries.size());
    if (inserted) {
      entries.push_back({*wallet, std::string(label)});
    } else {
      entries[it->second].label = std::string(label);
    }
  }
  return entries;
}

absl::StatusOr<std::vector<WatchlistEntry>> ReadWatchlistFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message =
        absl::StrCat("watch-list ", path, ": cannot be read: ", std::strerror(error));
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat("watch-list ", path, ": read failed"));
  }
  return ParseWatchlist(text.str(), path);
}

}  // namespace whalefeed::sync
