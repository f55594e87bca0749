#include "sync/http_client.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace whalefeed::sync {
namespace {

// curl_global_init is not thread-safe: the first client made does it, once.
void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpResponse* response;
  size_t max_body_bytes;
  const CancelToken* cancel;
  bool too_large = false;
};

// libcurl calls this often during a transfer; a non-zero return aborts it. The multi handle's
// wakeup (below) makes cancellation immediate; this catches a cancel between two polls.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->cancel != nullptr && t->cancel->cancelled()) ? 1 : 0;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->response->body.size() + n > t->max_body_bytes) {
    t->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  t->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    t->response->headers.clear();  // a new response (after a redirect or 100 Continue)
    return n;
  }
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    t->response->headers[absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return n;
}

std::string WithoutQuery(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

CurlHttpClient::CurlHttpClient(HttpClientOptions options) : options_(std::move(options)) {
  GlobalInitOnce();
  curl_ = curl_easy_init();
  multi_ = curl_multi_init();
}

CurlHttpClient::~CurlHttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

absl::StatusOr<HttpResponse> CurlHttpClient::Get(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
    const CancelToken* cancel) {
  CURL* curl = static_cast<CURL*>(curl_);
  CURLM* multi = static_cast<CURLM*>(multi_);
  if (curl == nullptr || multi == nullptr) return absl::InternalError("curl_easy_init failed");
  if (cancel != nullptr && cancel->cancelled()) {
    return absl::CancelledError(absl::StrCat("GET ", WithoutQuery(url), ": cancelled"));
  }
  HttpResponse response;
  Transfer transfer{&response, options_.max_body_bytes, cancel};
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : headers) {
    header_list = curl_slist_append(header_list, absl::StrCat(name, ": ", value).c_str());
  }

  curl_easy_reset(curl);  // keeps the connection cache and TLS sessions, clears per-request options
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // whatever this libcurl can decode
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);

  // Driven through the multi handle so that a cancel can wake the wait (curl_multi_wakeup is the
  // one libcurl call that is safe from another thread).
  CURLcode code = CURLE_OK;
  bool cancelled = false;
  if (curl_multi_add_handle(multi, curl) != CURLM_OK) {
    curl_slist_free_all(header_list);
    return absl::InternalError(
        absl::StrCat("GET ", WithoutQuery(url), ": curl_multi_add_handle failed"));
  }
  {
    ScopedCancelCallback wake(cancel, [multi] { curl_multi_wakeup(multi); });
    for (bool done = false; !done;) {
      int running = 0;
      CURLMcode mc = curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) {
          code = msg->data.result;
          done = true;
        }
      }
      if (done) break;
      if (mc == CURLM_OK && cancel != nullptr && cancel->cancelled()) {
        cancelled = true;
        break;
      }
      if (mc == CURLM_OK) mc = curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
      if (mc != CURLM_OK) {
        curl_multi_remove_handle(multi, curl);
        curl_slist_free_all(header_list);
        return absl::InternalError(
            absl::StrCat("GET ", WithoutQuery(url), ": ", curl_multi_strerror(mc)));
      }
    }
  }
  curl_multi_remove_handle(multi, curl);  // a transfer cut short closes its connection
  curl_slist_free_all(header_list);
  if (cancelled || code == CURLE_ABORTED_BY_CALLBACK) {
    return absl::CancelledError(absl::StrCat("GET ", WithoutQuery(url), ": cancelled"));
  }

  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &response.new_connections);
    return response;
  }
  const std::string what = absl::StrCat("GET ", WithoutQuery(url), ": ",
                                        error[0] != '\0' ? error : curl_easy_strerror(code));
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(what);
    case CURLE_WRITE_ERROR:
      if (transfer.too_large) {
        return absl::ResourceExhaustedError(
            absl::StrCat(what, " (body over ", options_.max_body_bytes, " bytes)"));
      }
      return absl::InternalError(what);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(what);
    default:
      // Connection refused or reset, DNS, TLS, an empty reply, a body cut short: all retryable.
      return absl::UnavailableError(what);
  }
}

}  // namespace whalefeed::sync
