// HTTP GET over libcurl for the upstream client: one reused easy handle driven by its own multi
// handle (connection reuse with keep-alive, TLS session reuse), no signals, connect and total
// timeouts, compressed responses (every encoding this libcurl decodes), the response's status,
// headers and body. A request in flight stops at once when its CancelToken fires.
#ifndef WHALEFEED_SYNC_HTTP_CLIENT_H_
#define WHALEFEED_SYNC_HTTP_CLIENT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sync/cancel_token.h"

namespace whalefeed::sync {

struct HttpResponse {
  long status = 0;  // NOLINT(runtime/int): libcurl's type
  std::map<std::string, std::string>
      headers;  // names in lower case; a repeated header keeps the last
  std::string body;
  // New connections this request had to open: 0 when it reused a kept-alive one.
  long new_connections = 0;  // NOLINT(runtime/int): libcurl's type

  // The value of a header, or "" (`name` in lower case).
  std::string Header(const std::string& name) const;
};

struct HttpClientOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration timeout = absl::Seconds(20);  // the whole request
  size_t max_body_bytes = 16 << 20;            // larger bodies fail with RESOURCE_EXHAUSTED
  std::string user_agent = "whalefeed";
};

// Not thread-safe: one request at a time (the handle is used by one thread at a time; a pool may
// hand the client to another thread between requests).
class CurlHttpClient {
 public:
  explicit CurlHttpClient(HttpClientOptions options = {});
  ~CurlHttpClient();
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // Any HTTP status is a response, not an error. Errors: DEADLINE_EXCEEDED on a timeout;
  // UNAVAILABLE when the connection fails, is dropped, or the body ends early; RESOURCE_EXHAUSTED
  // for a body over the limit; INVALID_ARGUMENT for a malformed URL; CANCELLED when `cancel` (if
  // given) fires, at once (the transfer's wait is woken, it does not run on to its timeout).
  // Messages name the URL without its query (which may hold ids), never a header value (which may
  // hold the API key).
  absl::StatusOr<HttpResponse> Get(const std::string& url,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const CancelToken* cancel = nullptr);

 private:
  const HttpClientOptions options_;
  void* curl_;   // CURL*, kept out of this header
  void* multi_;  // CURLM*: owns the connection cache; woken by a cancel
};

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_HTTP_CLIENT_H_
