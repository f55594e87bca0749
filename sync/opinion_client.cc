#include "sync/opinion_client.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"

namespace whalefeed::sync {
namespace {

absl::Status CheckPaging(int page, int limit) {
  if (page < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("page: ", page, " is below 1 (pages count from 1)"));
  }
  if (limit < 1 || limit > kMaxPageLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", limit, " is not within 1..", kMaxPageLimit));
  }
  return absl::OkStatus();
}

// Transport errors worth another attempt.
bool RetryableTransport(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CurlOpinionClient>> CurlOpinionClient::Create(
    OpinionClientOptions options, RateLimiter* limiter, const Clock* clock, Sleeper* sleeper) {
  if (options.api_key.empty()) {
    return absl::InvalidArgumentError(
        "api_key: empty (the Opinion OpenAPI needs a key: set OPINION_TRADE_API_KEY)");
  }
  while (absl::EndsWith(options.base_url, "/")) options.base_url.pop_back();
  if (!absl::StartsWith(options.base_url, "http://") &&
      !absl::StartsWith(options.base_url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("base_url: \"", options.base_url.substr(0, 200), "\" is not an http(s) URL"));
  }
  if (options.retry.max_attempts < 1 || options.retry.max_attempts > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts: ", options.retry.max_attempts, " is not within 1..100"));
  }
  if (options.backoff_initial <= absl::ZeroDuration() ||
      options.backoff_maximum < options.backoff_initial || options.backoff_scaling < 1) {
    return absl::InvalidArgumentError(
        "backoff: initial must be > 0, maximum >= initial and scaling >= 1");
  }
  if (limiter == nullptr || clock == nullptr || sleeper == nullptr) {
    return absl::InvalidArgumentError("limiter, clock and sleeper are required");
  }
  return std::unique_ptr<CurlOpinionClient>(
      new CurlOpinionClient(std::move(options), limiter, clock, sleeper));
}

CurlOpinionClient::CurlOpinionClient(OpinionClientOptions options, RateLimiter* limiter,
                                     const Clock* clock, Sleeper* sleeper)
    : options_(std::move(options)),
      limiter_(limiter),
      clock_(clock),
      sleeper_(sleeper),
      backoff_prototype_(options_.backoff_initial, options_.backoff_maximum,
                         options_.backoff_scaling) {}

std::unique_ptr<CurlHttpClient> CurlOpinionClient::Borrow() {
  {
    absl::MutexLock lock(&pool_mu_);
    if (!idle_.empty()) {
      std::unique_ptr<CurlHttpClient> http = std::move(idle_.back());
      idle_.pop_back();
      return http;
    }
  }
  return std::make_unique<CurlHttpClient>(options_.http);
}

void CurlOpinionClient::Return(std::unique_ptr<CurlHttpClient> http) {
  absl::MutexLock lock(&pool_mu_);
  if (static_cast<int>(idle_.size()) < options_.max_idle_handles) idle_.push_back(std::move(http));
}

absl::Status CurlOpinionClient::Redact(absl::Status status) const {
  if (status.ok() || options_.api_key.empty() ||
      !absl::StrContains(status.message(), options_.api_key)) {
    return status;
  }
  return absl::Status(status.code(),
                      absl::StrReplaceAll(status.message(), {{options_.api_key, "[redacted]"}}));
}

absl::Status CurlOpinionClient::Fetch(const std::string& path, const std::string& query,
                                      const CancelToken& cancel,
                                      absl::FunctionRef<absl::Status(const Envelope&)> decode) {
  const std::string what = absl::StrCat("GET ", path);
  std::string url = absl::StrCat(options_.base_url, path);
  if (!query.empty()) absl::StrAppend(&url, "?", query);
  const std::vector<std::pair<std::string, std::string>> headers = {{"apikey", options_.api_key},
                                                                    {"Accept", "application/json"}};

  std::unique_ptr<CurlHttpClient> http = Borrow();
  std::unique_ptr<BackoffPolicy> backoff = backoff_prototype_.clone();
  auto attempt = [&](const AttemptContext& context) -> AttemptOutcome {
    AttemptOutcome out;
    absl::StatusOr<HttpResponse> response = http->Get(url, headers, &cancel);
    if (!response.ok()) {
      const absl::StatusCode code = response.status().code();
      if (code == absl::StatusCode::kResourceExhausted) {
        // A body over our own limit: not the upstream's throttling, and no retry will shrink it.
        out.status = absl::DataLossError(response.status().message());
      } else {
        out.status = response.status();  // already names the URL without its query
        out.retryable = RetryableTransport(code);
      }
    } else {
      // Error bodies carry the envelope too; a body that does not parse has no errno.
      absl::StatusOr<std::unique_ptr<Envelope>> envelope = Envelope::Parse(response->body);
      const int64_t error_code = envelope.ok() ? (*envelope)->error_code() : 0;
      const std::string message = envelope.ok() ? (*envelope)->message() : "";
      out.status =
          UpstreamErrorStatus(what, static_cast<int>(response->status), error_code, message);
      if (!out.status.ok()) {
        const absl::StatusCode code = out.status.code();
        out.throttled = code == absl::StatusCode::kResourceExhausted;
        out.retryable = out.throttled || code == absl::StatusCode::kUnavailable;
        if (out.throttled) {
          out.retry_after = ParseRetryAfter(response->Header("retry-after"), clock_->Now());
        }
      } else if (!envelope.ok()) {
        out.status = absl::DataLossError(absl::StrCat(what, ": ", envelope.status().message()));
        out.retryable = true;
      } else {
        absl::Status decoded = decode(**envelope);
        if (!decoded.ok()) {
          out.status = absl::Status(decoded.code(), absl::StrCat(what, ": ", decoded.message()));
          out.retryable = decoded.code() == absl::StatusCode::kDataLoss;
        }
      }
    }
    if (!out.status.ok() && out.retryable && !cancel.cancelled() &&
        context.attempt < options_.retry.max_attempts) {
      WF_LOG(WARNING) << "upstream " << Redact(out.status).message() << " (attempt "
                      << context.attempt << " of " << options_.retry.max_attempts << "; retrying)";
    }
    return out;
  };
  absl::Status status =
      RunWithRetries(*limiter_, *backoff, *sleeper_, options_.retry, cancel, attempt);
  Return(std::move(http));
  if (status.code() == absl::StatusCode::kCancelled && !absl::StartsWith(status.message(), what)) {
    status = absl::CancelledError(absl::StrCat(what, ": ", status.message()));
  }
  return Redact(std::move(status));
}

absl::StatusOr<MarketsPage> CurlOpinionClient::ListMarkets(int page, int limit,
                                                           const CancelToken& cancel) {
  absl::Status paging = CheckPaging(page, limit);
  if (!paging.ok()) return paging;
  MarketsPage result;
  absl::Status s = Fetch("/market", absl::StrCat("page=", page, "&limit=", limit, "&marketType=2"),
                         cancel, [&](const Envelope& e) {
                           absl::StatusOr<MarketsPage> decoded = DecodeMarketList(e.result());
                           if (!decoded.ok()) return decoded.status();
                           result = *std::move(decoded);
                           return absl::OkStatus();
                         });
  if (!s.ok()) return s;
  return result;
}

absl::StatusOr<MarketsPage> CurlOpinionClient::GetCategoricalMarketWithChildren(
    int64_t market_id, const CancelToken& cancel) {
  if (market_id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("market_id: ", market_id, " is not positive"));
  }
  const std::string path = absl::StrCat("/market/categorical/", market_id);
  MarketsPage result;
  absl::Status s = Fetch(path, "", cancel, [&](const Envelope& e) {
    absl::StatusOr<MarketsPage> decoded = DecodeMarketDetail(e.result());
    if (!decoded.ok()) return decoded.status();
    result = *std::move(decoded);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (result.markets.empty() || result.markets[0].market_id != market_id ||
      result.markets[0].parent_market_id != 0) {
    // The record itself could not be used: retrying would give the same bytes.
    return absl::DataLossError(absl::StrCat(
        "GET ", path, ": the market in the response cannot be used",
        result.issues.reasons.empty() ? std::string()
                                      : absl::StrCat(" (", result.issues.reasons[0], ")")));
  }
  return result;
}

absl::StatusOr<db::Market> CurlOpinionClient::GetCategoricalMarket(int64_t market_id,
                                                                   const CancelToken& cancel) {
  absl::StatusOr<MarketsPage> page = GetCategoricalMarketWithChildren(market_id, cancel);
  if (!page.ok()) return page.status();
  return std::move(page->markets[0]);
}

absl::StatusOr<TradesPage> CurlOpinionClient::ListUserTrades(absl::string_view wallet, int page,
                                                             int limit, const CancelToken& cancel) {
  absl::StatusOr<std::string> normalized = db::NormalizeWallet(wallet);
  if (!normalized.ok()) return normalized.status();
  absl::Status paging = CheckPaging(page, limit);
  if (!paging.ok()) return paging;
  std::string query = absl::StrCat("page=", page, "&limit=", limit);
  if (!options_.chain_id.empty()) absl::StrAppend(&query, "&chainId=", options_.chain_id);
  TradesPage result;
  absl::Status s =
      Fetch(absl::StrCat("/trade/user/", *normalized), query, cancel, [&](const Envelope& e) {
        absl::StatusOr<TradesPage> decoded = DecodeTradeList(e.result(), *normalized);
        if (!decoded.ok()) return decoded.status();
        // No record at all on a page that `total` says holds some (the live API sends "list":
        // null for an empty page, not for one within the total): unusable, so retried like a body
        // that does not parse. Read as the end, it would end the wallet's poll early, and the
        // trades below it would never be read (the next poll stops near the newest one stored).
        const int64_t before = static_cast<int64_t>(page - 1) * limit;
        if (decoded->trades.empty() && decoded->issues.skipped == 0 && decoded->total > before) {
          return absl::DataLossError(absl::StrCat("result.list is empty on page ", page,
                                                  " while result.total is ", decoded->total, " (",
                                                  before, " on the pages before it)"));
        }
        result = *std::move(decoded);
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return result;
}

absl::StatusOr<std::vector<QuoteToken>> CurlOpinionClient::ListQuoteTokens(
    const CancelToken& cancel) {
  {
    absl::MutexLock lock(&cache_mu_);
    if (clock_->Now() < quote_tokens_expiry_) return quote_tokens_;
  }
  std::vector<QuoteToken> tokens;
  DecodeIssues issues;
  // Pages until `total` is reached or a page comes back short; bounded in case `total` lies.
  for (int page = 1; page <= 50; ++page) {
    std::string query = absl::StrCat("page=", page, "&limit=", kMaxPageLimit);
    if (!options_.chain_id.empty()) absl::StrAppend(&query, "&chainId=", options_.chain_id);
    int64_t total = 0;
    size_t rows = 0;
    absl::Status s = Fetch("/quoteToken", query, cancel, [&](const Envelope& e) {
      DecodeIssues page_issues;
      absl::StatusOr<std::vector<QuoteToken>> decoded =
          DecodeQuoteTokenList(e.result(), &total, &page_issues);
      if (!decoded.ok()) return decoded.status();
      const rapidjson::Value* list =
          e.result() != nullptr && e.result()->HasMember("list") ? &(*e.result())["list"] : nullptr;
      rows = list != nullptr && list->IsArray() ? list->Size() : 0;
      issues.Merge(page_issues);
      for (QuoteToken& t : *decoded) tokens.push_back(std::move(t));
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (rows < static_cast<size_t>(kMaxPageLimit) ||
        static_cast<int64_t>(page) * kMaxPageLimit >= total) {
      break;
    }
  }
  if (issues.skipped > 0) {
    WF_LOG(WARNING) << "upstream GET /quoteToken: skipped " << issues.skipped
                    << " quote token record(s): " << issues.reasons.front();
  }
  absl::MutexLock lock(&cache_mu_);
  quote_tokens_ = tokens;
  quote_tokens_expiry_ = clock_->Now() + options_.quote_token_ttl;
  return tokens;
}

}  // namespace whalefeed::sync
