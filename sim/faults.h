// Fault injection for the simulator: switchable misbehaviour of the upstream API, so that a
// client's error handling can be tested on purpose instead of by luck.
//
// Kinds (the name is what flags and the admin endpoint use):
//   rate429        HTTP 429 with a JSON body {"errno":10429,...}; with retry_after=S also a
//                  "Retry-After: S" header (default: no header, like the limiter's own 429s).
//   api_error      HTTP 200 (or http=4xx/5xx) with errno=N != 0 (default 11002) and its message in
//                  the chosen envelope, result null: 11001/11002 key problems, 10403 region block.
//   http5xx        HTTP status=500 (default; JSON envelope errno 10500) or 502/503 (an HTML proxy
//   page,
//                  as a load balancer would send), or any other 5xx.
//   slow           waits delay_ms milliseconds (default 2000) before answering; combines with
//   others. drop           sends the headers and about half of the body, then closes the
//   connection. malformed      HTTP 200 with the JSON body cut off (unparseable). list_null list
//   results (E1, E10, E11) carry "list": null; other endpoints are not affected. wrong_types every
//   record has some fields with the wrong JSON type: price/amount/volume/
//                  sharesOwned as numbers, marketId as a string, createdAt as a string.
//   missing_fields records at even positions (0, 2, ...) lose some fields: trades txHash,
//   createdAt,
//                  price; markets yesTokenId, noTokenId, createdAt, volume; positions tokenId,
//                  sharesOwned.
//
// Each fault fires for "the next N matching requests" (count=N) and/or "each matching request with
// probability P" (rate=P, from an RNG seeded by the simulator's seed); the count is used up first.
// A fault can be limited to one endpoint family: endpoint=market (E1-E3), trade (E11) or positions
// (E10). Only API requests that passed the apikey check and the rate limiter are considered, and a
// fault is only used up by requests it actually hits. At most one of rate429, http5xx, drop and
// malformed hits a request (in that order of precedence; api_error comes right after http5xx);
// slow, list_null, wrong_types and missing_fields combine.
//
// Text form (flags): KIND[:N][:key=value]...  with keys count, rate, endpoint, status, retry_after,
// delay_ms, errno, http; several specs are separated by commas. A bare N is a count for --fault and
// a probability for --fault_rate. Examples: "rate429:3:retry_after=2",
// "http5xx:2:status=502,slow:1:delay_ms=1500", "drop:0.05:endpoint=trade" (with --fault_rate).
// JSON form (admin): {"kind":"rate429","count":3,"rate":0,"endpoint":"trade","status":502,
// "retryAfter":2,"delayMs":1500,"errno":10403,"httpStatus":200}; only "kind" is required (plus a
// count or a rate).
#ifndef WHALEFEED_SIM_FAULTS_H_
#define WHALEFEED_SIM_FAULTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "sim/rng.h"

namespace whalefeed::sim {

enum class FaultKind {
  kRateLimit,
  kServerError,
  kSlow,
  kDrop,
  kMalformed,
  kListNull,
  kWrongTypes,
  kMissingFields,
  kApiError,
};
inline constexpr FaultKind kAllFaultKinds[] = {
    FaultKind::kRateLimit,  FaultKind::kServerError,   FaultKind::kSlow,
    FaultKind::kDrop,       FaultKind::kMalformed,     FaultKind::kListNull,
    FaultKind::kWrongTypes, FaultKind::kMissingFields, FaultKind::kApiError};

absl::string_view FaultKindName(FaultKind kind);

// Endpoint families a fault can be limited to.
enum class FaultScope { kAny, kMarket, kTrade, kPositions };
absl::string_view FaultScopeName(FaultScope scope);

struct FaultSpec {
  FaultKind kind = FaultKind::kServerError;
  int64_t count = 0;  // the next `count` matching requests
  double rate = 0;    // and/or each matching request with this probability
  FaultScope scope = FaultScope::kAny;
  int status = 500;        // http5xx
  int retry_after_s = 0;   // rate429: 0 = no Retry-After header
  int delay_ms = 2000;     // slow
  int error_code = 11002;  // api_error: the errno (never 0)
  int http_status = 200;   // api_error: the HTTP status (200, or 400..599)
};

// The message the API sends with an errno: "Invalid API key" for 11002, the region-block text for
// 10403, and so on; "error N" for numbers it has no text for.
std::string ErrnoMessage(int error);

absl::Status ValidateFaultSpec(const FaultSpec& spec);
// Parses one spec of the text form; a bare number is a rate if `bare_number_is_rate`, else a count.
absl::StatusOr<FaultSpec> ParseFaultSpec(absl::string_view text, bool bare_number_is_rate);
// Parses a comma-separated list ("" gives an empty list).
absl::StatusOr<std::vector<FaultSpec>> ParseFaultSpecs(absl::string_view text,
                                                       bool bare_number_is_rate);
// Parses the JSON form.
absl::StatusOr<FaultSpec> FaultSpecFromJson(const rapidjson::Value& value);
// The text form, e.g. "http5xx:count=2:status=502".
std::string FaultSpecToString(const FaultSpec& spec);

// What happens to one request.
struct FaultDecision {
  std::optional<FaultSpec> terminal;  // rate429, http5xx, drop or malformed
  absl::Duration delay = absl::ZeroDuration();
  bool list_null = false;
  bool wrong_types = false;
  bool missing_fields = false;
};

// Thread-safe.
class FaultInjector {
 public:
  struct Active {
    int id = 0;
    FaultSpec spec;     // spec.count is the remaining count
    int64_t fired = 0;  // requests hit so far
  };

  explicit FaultInjector(uint64_t seed) : rng_(seed) {}

  // Returns the new fault's id.
  int Add(const FaultSpec& spec) ABSL_LOCKS_EXCLUDED(mu_);
  void Clear() ABSL_LOCKS_EXCLUDED(mu_);
  // Faults that can still fire (a used-up count-only fault is dropped).
  std::vector<Active> List() const ABSL_LOCKS_EXCLUDED(mu_);
  // How many requests each kind has hit since the start (by kind name).
  std::map<std::string, int64_t> FiredByKind() const ABSL_LOCKS_EXCLUDED(mu_);

  // Decides (and uses up) the faults for one request to `endpoint`; `is_list` says whether it
  // returns a list (only those can get list_null).
  FaultDecision Decide(FaultScope endpoint, bool is_list) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  bool FiresLocked(Active& fault) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  Rng rng_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<Active> faults_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> fired_by_kind_ ABSL_GUARDED_BY(mu_);
};

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_FAULTS_H_
