// Typed, lenient decoding of the Opinion OpenAPI's JSON (shared/opinion-openapi.md §2, §3, §5).
//
// Page level (an error the client retries; DATA_LOSS): a body that is not JSON, not an object, an
// envelope without errno/code and without result, a list result that is not an object, a `list`
// that is neither an array nor null, a `total` that is not a non-negative integer.
//
// Envelope: `errno`/`errmsg` as the wire sends them, else the documented `code`/`msg`. errno != 0
// is an error whatever the HTTP status (UpstreamErrorStatus maps it). `list: null` is an empty
// list.
//
// Record level (skip and count in DecodeIssues, keep the rest of the page). The rule: a missing or
// null field takes its default; a field that is present but unusable skips the record. Except the
// fields without which a record means nothing, which are required:
//   market: marketId (> 0).
//   trade:  txHash, marketId (> 0), side, the outcome (outcomeSide 1/2, else outcomeSideEnum, else
//           outcome Yes/No), price (0..1), shares (>= 0), amount (>= 0), createdAt (> 0).
// Numbers are read without a double ever holding them (RapidJSON's kParseNumbersAsStringsFlag):
// ids and times accept a JSON number or a string of digits; amounts a decimal string or a JSON
// number, exponents included, kept exact; token ids stay decimal strings (a JSON number's digits
// are kept as they are). Times are Unix seconds; 0 means unset (cutoffAt, resolvedAt, createdAt of
// a market); a value only plausible in milliseconds (above 1e11) is read as milliseconds.
// Trade side compares case-insensitively (Buy/BUY/buy, Merge, Split). amount_usd = amount ×
// quoteTokenUsdPrice (1 when absent or ""; must be > 0), exact, rounded half to even at 18
// decimals; the 1e18-scaled usdAmount is never used. A trade whose status is present and not 2
// (Filled) is skipped. Every record then passes db::NormalizeMarket / db::NormalizeActivity (text
// longer than its column, bad UTF-8, token ids that are not digits, out-of-range decimals), else it
// is skipped with that reason.
#ifndef WHALEFEED_SYNC_OPINION_DECODE_H_
#define WHALEFEED_SYNC_OPINION_DECODE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

// A parsed response body.
class Envelope {
 public:
  // DATA_LOSS when the body is not a JSON object with an envelope.
  static absl::StatusOr<std::unique_ptr<Envelope>> Parse(absl::string_view body);

  int64_t error_code() const { return error_code_; }       // errno, else code; 0 = success
  const std::string& message() const { return message_; }  // errmsg, else msg
  // `result`, or nullptr when absent or null.
  const rapidjson::Value* result() const;

 private:
  Envelope() = default;
  rapidjson::Document doc_;
  int64_t error_code_ = 0;
  std::string message_;
};

// Upstream errnos with a meaning of their own.
inline constexpr int64_t kErrnoNoLoginWallet = 11001;
inline constexpr int64_t kErrnoInvalidKey = 11002;
inline constexpr int64_t kErrnoRegionBlocked = 10403;
inline constexpr int64_t kErrnoBadParam = 10400;
inline constexpr int64_t kErrnoNotFound = 10404;
inline constexpr int64_t kErrnoRateLimited = 10429;
inline constexpr int64_t kErrnoInternal = 10500;

// The status for an upstream error: `http_status` (0 if unknown) and the envelope's errno and
// message (errno 0 if there is none). UNAUTHENTICATED (401, 11001, 11002), PERMISSION_DENIED
// (10403, 403), RESOURCE_EXHAUSTED (429, 10429), UNAVAILABLE (5xx, 10500), NOT_FOUND (404, 10404),
// INVALID_ARGUMENT (other 4xx, 10400), else UNKNOWN. The message names `what` (the endpoint), the
// HTTP status and errno, and says when the error is not retried. OK when there is no error.
absl::Status UpstreamErrorStatus(absl::string_view what, int http_status, int64_t error_code,
                                 absl::string_view message);

// Result decoders (after the envelope said errno 0). `result` may be nullptr.
absl::StatusOr<MarketsPage> DecodeMarketList(const rapidjson::Value* result);
// E2/E3 `result.data`: one market, and its children if it has any.
absl::StatusOr<MarketsPage> DecodeMarketDetail(const rapidjson::Value* result);
// `wallet`: the wallet the trades belong to (any case; INVALID_ARGUMENT when malformed).
absl::StatusOr<TradesPage> DecodeTradeList(const rapidjson::Value* result,
                                           absl::string_view wallet);
absl::StatusOr<std::vector<QuoteToken>> DecodeQuoteTokenList(const rapidjson::Value* result,
                                                             int64_t* total, DecodeIssues* issues);

// Whole bodies (envelope, errno, result), for callers that have only the body (HTTP 200).
absl::StatusOr<MarketsPage> DecodeMarketListBody(absl::string_view body);
absl::StatusOr<MarketsPage> DecodeMarketDetailBody(absl::string_view body);
absl::StatusOr<TradesPage> DecodeTradeListBody(absl::string_view body, absl::string_view wallet);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_OPINION_DECODE_H_
