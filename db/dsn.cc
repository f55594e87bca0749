#include "db/dsn.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace whalefeed::db {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> PercentDecode(absl::string_view in, absl::string_view what) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || HexValue(in[i + 1]) < 0 || HexValue(in[i + 2]) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("mysql_dsn: bad percent-encoding in the ", what));
    }
    out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
    i += 2;
  }
  return out;
}

bool IsValidDatabaseName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '$') return false;
  }
  return true;
}

}  // namespace

std::string HostForUrl(absl::string_view host) {
  return host.find(':') == absl::string_view::npos ? std::string(host)
                                                   : absl::StrCat("[", host, "]");
}

std::string MySqlDsn::Redacted() const {
  std::string out =
      absl::StrCat("mysql://", user, password.empty() ? "" : ":***", "@", HostForUrl(host));
  if (socket.empty()) absl::StrAppend(&out, ":", port);
  absl::StrAppend(&out, "/", database);
  if (!socket.empty()) absl::StrAppend(&out, "?socket=", socket);
  return out;
}

absl::StatusOr<MySqlDsn> ParseMySqlDsn(absl::string_view url) {
  MySqlDsn dsn;
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "mysql://")) {
    return absl::InvalidArgumentError(
        "mysql_dsn: must start with mysql:// (mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE)");
  }
  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const size_t at = rest.rfind('@');
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError("mysql_dsn: missing USER@ before the host");
  }
  absl::string_view userinfo = rest.substr(0, at);
  rest = rest.substr(at + 1);
  absl::string_view user = userinfo, password;
  if (size_t colon = userinfo.find(':'); colon != absl::string_view::npos) {
    user = userinfo.substr(0, colon);
    password = userinfo.substr(colon + 1);
  }
  auto decoded_user = PercentDecode(user, "user");
  if (!decoded_user.ok()) return decoded_user.status();
  auto decoded_password = PercentDecode(password, "password");
  if (!decoded_password.ok()) return decoded_password.status();
  dsn.user = *std::move(decoded_user);
  dsn.password = *std::move(decoded_password);
  if (dsn.user.empty()) return absl::InvalidArgumentError("mysql_dsn: the user is empty");

  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError("mysql_dsn: missing /DATABASE after the host");
  }
  absl::string_view hostport = rest.substr(0, slash);
  absl::string_view database = rest.substr(slash + 1);
  if (!IsValidDatabaseName(database)) {
    return absl::InvalidArgumentError(absl::StrCat("mysql_dsn: database name \"", database,
                                                   "\" must be 1-64 letters, digits, _ or $"));
  }
  dsn.database = std::string(database);

  absl::string_view host = hostport;
  std::optional<absl::string_view> port_text;
  if (absl::StartsWith(hostport, "[")) {  // [IPv6] or [IPv6]:PORT
    const size_t close = hostport.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("mysql_dsn: unbalanced [ in the host");
    }
    host = hostport.substr(1, close - 1);
    absl::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (!absl::ConsumePrefix(&after, ":")) {
        return absl::InvalidArgumentError("mysql_dsn: expected :PORT after the ] of the host");
      }
      port_text = after;
    }
  } else if (std::count(hostport.begin(), hostport.end(), ':') > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mysql_dsn: host \"", hostport,
        "\" looks like an IPv6 address: write it in brackets, e.g. mysql://USER@[::1]:3306/DB"));
  } else if (size_t colon = hostport.rfind(':'); colon != absl::string_view::npos) {
    host = hostport.substr(0, colon);
    port_text = hostport.substr(colon + 1);
  }
  if (port_text.has_value()) {
    int port = 0;
    if (!absl::SimpleAtoi(*port_text, &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("mysql_dsn: port \"", *port_text, "\" is not a number in 1..65535"));
    }
    dsn.port = port;
  }
  if (host.empty()) return absl::InvalidArgumentError("mysql_dsn: the host is empty");
  dsn.host = std::string(host);

  if (!query.empty()) {
    for (absl::string_view param : absl::StrSplit(query, '&')) {
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(param, absl::MaxSplits('=', 1));
      if (kv.first != "socket") {
        return absl::InvalidArgumentError(absl::StrCat("mysql_dsn: unknown parameter \"", kv.first,
                                                       "\" (only socket=PATH is understood)"));
      }
      auto socket = PercentDecode(kv.second, "socket path");
      if (!socket.ok()) return socket.status();
      if (socket->empty()) return absl::InvalidArgumentError("mysql_dsn: socket= needs a path");
      dsn.socket = *std::move(socket);
    }
  }
  if (!dsn.socket.empty() && (dsn.host != "localhost" || port_text.has_value())) {
    // The socket would be used and the host and port silently ignored.
    return absl::InvalidArgumentError(
        "mysql_dsn: with socket=PATH the host must be localhost and have no port "
        "(mysql://USER@localhost/DATABASE?socket=PATH)");
  }
  return dsn;
}

}  // namespace whalefeed::db
