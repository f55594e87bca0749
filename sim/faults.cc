#include "sim/faults.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace whalefeed::sim {
namespace {

std::optional<FaultKind> KindFromName(absl::string_view name) {
  for (FaultKind kind : kAllFaultKinds) {
    if (FaultKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

absl::StatusOr<FaultScope> ScopeFromName(absl::string_view name) {
  for (FaultScope scope :
       {FaultScope::kAny, FaultScope::kMarket, FaultScope::kTrade, FaultScope::kPositions}) {
    if (FaultScopeName(scope) == name) return scope;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown endpoint '", name, "' (want any, market, trade or positions)"));
}

absl::Status SetKey(FaultSpec& spec, absl::string_view key, absl::string_view value) {
  auto int_value = [&](int64_t lo, int64_t hi) -> absl::StatusOr<int64_t> {
    int64_t v = 0;
    if (!absl::SimpleAtoi(value, &v) || v < lo || v > hi) {
      return absl::InvalidArgumentError(absl::StrCat("fault key '", key, "' wants an integer in ",
                                                     lo, "..", hi, ", got '", value, "'"));
    }
    return v;
  };
  if (key == "count") {
    auto v = int_value(0, int64_t{1} << 40);
    if (!v.ok()) return v.status();
    spec.count = *v;
  } else if (key == "rate") {
    double v = 0;
    if (!absl::SimpleAtod(value, &v) || !(v >= 0 && v <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat("fault rate wants 0..1, got '", value, "'"));
    }
    spec.rate = v;
  } else if (key == "endpoint") {
    auto scope = ScopeFromName(value);
    if (!scope.ok()) return scope.status();
    spec.scope = *scope;
  } else if (key == "status") {
    auto v = int_value(500, 599);
    if (!v.ok()) return v.status();
    spec.status = static_cast<int>(*v);
  } else if (key == "retry_after") {
    auto v = int_value(0, 86400);
    if (!v.ok()) return v.status();
    spec.retry_after_s = static_cast<int>(*v);
  } else if (key == "delay_ms") {
    auto v = int_value(0, 600000);
    if (!v.ok()) return v.status();
    spec.delay_ms = static_cast<int>(*v);
  } else if (key == "errno") {
    auto v = int_value(1, 99999);
    if (!v.ok()) return v.status();
    spec.error_code = static_cast<int>(*v);
  } else if (key == "http") {
    auto v = int_value(200, 599);
    if (!v.ok()) return v.status();
    spec.http_status = static_cast<int>(*v);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown fault key '", key, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ErrnoMessage(int error) {
  switch (error) {
    case 10400:
      return "invalid parameter";
    case 10403:
      return "API is not available to persons located in the United States, China, or restricted "
             "jurisdictions";
    case 10404:
      return "resource not found";
    case 10429:
      return "Too many requests";
    case 10500:
      return "Internal server error";
    case 11001:
      return "This API Key has no related Opinion Login Wallet yet";
    case 11002:
      return "Invalid API key";
    default:
      return absl::StrCat("error ", error);
  }
}

absl::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kRateLimit:
      return "rate429";
    case FaultKind::kServerError:
      return "http5xx";
    case FaultKind::kSlow:
      return "slow";
    case FaultKind::kDrop:
      return "drop";
    case FaultKind::kMalformed:
      return "malformed";
    case FaultKind::kListNull:
      return "list_null";
    case FaultKind::kWrongTypes:
      return "wrong_types";
    case FaultKind::kMissingFields:
      return "missing_fields";
    case FaultKind::kApiError:
      return "api_error";
  }
  return "unknown";
}

absl::string_view FaultScopeName(FaultScope scope) {
  switch (scope) {
    case FaultScope::kAny:
      return "any";
    case FaultScope::kMarket:
      return "market";
    case FaultScope::kTrade:
      return "trade";
    case FaultScope::kPositions:
      return "positions";
  }
  return "any";
}

absl::Status ValidateFaultSpec(const FaultSpec& spec) {
  if (spec.count < 0) return absl::InvalidArgumentError("fault count must be >= 0");
  if (!(spec.rate >= 0 && spec.rate <= 1)) {
    return absl::InvalidArgumentError("fault rate must be in [0, 1]");
  }
  if (spec.count == 0 && spec.rate == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault '", FaultKindName(spec.kind), "' needs a count > 0 or a rate > 0"));
  }
  if (spec.status < 500 || spec.status > 599) {
    return absl::InvalidArgumentError("fault status must be a 5xx code");
  }
  if (spec.retry_after_s < 0 || spec.delay_ms < 0 || spec.delay_ms > 600000) {
    return absl::InvalidArgumentError("fault retry_after/delay_ms out of range");
  }
  if (spec.error_code == 0) return absl::InvalidArgumentError("fault errno must not be 0");
  if (spec.http_status != 200 && (spec.http_status < 400 || spec.http_status > 599)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault http status must be 200 or 400..599, got ", spec.http_status));
  }
  return absl::OkStatus();
}

absl::StatusOr<FaultSpec> ParseFaultSpec(absl::string_view text, bool bare_number_is_rate) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  FaultSpec spec;
  const absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
  std::optional<FaultKind> kind = KindFromName(name);
  if (!kind.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown fault kind '", name,
                     "' (want rate429, http5xx, api_error, slow, drop, malformed, list_null, "
                     "wrong_types, missing_fields)"));
  }
  spec.kind = *kind;
  for (size_t i = 1; i < parts.size(); ++i) {
    const absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      if (i != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("fault '", text, "': expected key=value, got '", part, "'"));
      }
      const absl::Status status = SetKey(spec, bare_number_is_rate ? "rate" : "count", part);
      if (!status.ok()) return status;
      continue;
    }
    const absl::Status status = SetKey(spec, part.substr(0, eq), part.substr(eq + 1));
    if (!status.ok()) return status;
  }
  const absl::Status status = ValidateFaultSpec(spec);
  if (!status.ok()) return status;
  return spec;
}

absl::StatusOr<std::vector<FaultSpec>> ParseFaultSpecs(absl::string_view text,
                                                       bool bare_number_is_rate) {
  std::vector<FaultSpec> specs;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    absl::StatusOr<FaultSpec> spec = ParseFaultSpec(item, bare_number_is_rate);
    if (!spec.ok()) return spec.status();
    specs.push_back(*spec);
  }
  return specs;
}

absl::StatusOr<FaultSpec> FaultSpecFromJson(const rapidjson::Value& value) {
  if (!value.IsObject()) return absl::InvalidArgumentError("a fault must be a JSON object");
  if (!value.HasMember("kind") || !value["kind"].IsString()) {
    return absl::InvalidArgumentError("a fault needs a string \"kind\"");
  }
  FaultSpec spec;
  std::optional<FaultKind> kind = KindFromName(value["kind"].GetString());
  if (!kind.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown fault kind '", value["kind"].GetString(), "'"));
  }
  spec.kind = *kind;
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
    const absl::string_view key(it->name.GetString(), it->name.GetStringLength());
    const rapidjson::Value& v = it->value;
    auto want_int = [&](int64_t lo, int64_t hi) -> absl::StatusOr<int64_t> {
      if (!v.IsInt64() || v.GetInt64() < lo || v.GetInt64() > hi) {
        return absl::InvalidArgumentError(
            absl::StrCat("fault field \"", key, "\" wants an integer in ", lo, "..", hi));
      }
      return v.GetInt64();
    };
    if (key == "kind") continue;
    if (key == "count") {
      auto n = want_int(0, int64_t{1} << 40);
      if (!n.ok()) return n.status();
      spec.count = *n;
    } else if (key == "rate") {
      if (!v.IsNumber()) return absl::InvalidArgumentError("fault field \"rate\" wants a number");
      spec.rate = v.GetDouble();
    } else if (key == "endpoint") {
      if (!v.IsString())
        return absl::InvalidArgumentError("fault field \"endpoint\" wants a string");
      auto scope = ScopeFromName(v.GetString());
      if (!scope.ok()) return scope.status();
      spec.scope = *scope;
    } else if (key == "status") {
      auto n = want_int(500, 599);
      if (!n.ok()) return n.status();
      spec.status = static_cast<int>(*n);
    } else if (key == "retryAfter") {
      auto n = want_int(0, 86400);
      if (!n.ok()) return n.status();
      spec.retry_after_s = static_cast<int>(*n);
    } else if (key == "delayMs") {
      auto n = want_int(0, 600000);
      if (!n.ok()) return n.status();
      spec.delay_ms = static_cast<int>(*n);
    } else if (key == "errno") {
      auto n = want_int(1, 99999);
      if (!n.ok()) return n.status();
      spec.error_code = static_cast<int>(*n);
    } else if (key == "httpStatus") {
      auto n = want_int(200, 599);
      if (!n.ok()) return n.status();
      spec.http_status = static_cast<int>(*n);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown fault field \"", key, "\""));
    }
  }
  const absl::Status status = ValidateFaultSpec(spec);
  if (!status.ok()) return status;
  return spec;
}

std::string FaultSpecToString(const FaultSpec& spec) {
  std::string out(FaultKindName(spec.kind));
  if (spec.count > 0) absl::StrAppend(&out, ":count=", spec.count);
  if (spec.rate > 0) absl::StrAppend(&out, ":rate=", spec.rate);
  if (spec.scope != FaultScope::kAny)
    absl::StrAppend(&out, ":endpoint=", FaultScopeName(spec.scope));
  switch (spec.kind) {
    case FaultKind::kServerError:
      absl::StrAppend(&out, ":status=", spec.status);
      break;
    case FaultKind::kRateLimit:
      if (spec.retry_after_s > 0) absl::StrAppend(&out, ":retry_after=", spec.retry_after_s);
      break;
    case FaultKind::kSlow:
      absl::StrAppend(&out, ":delay_ms=", spec.delay_ms);
      break;
    case FaultKind::kApiError:
      absl::StrAppend(&out, ":errno=", spec.error_code, ":http=", spec.http_status);
      break;
    default:
      break;
  }
  return out;
}

int FaultInjector::Add(const FaultSpec& spec) {
  absl::MutexLock lock(&mu_);
  Active fault;
  fault.id = next_id_++;
  fault.spec = spec;
  faults_.push_back(fault);
  return fault.id;
}

void FaultInjector::Clear() {
  absl::MutexLock lock(&mu_);
  faults_.clear();
}

std::vector<FaultInjector::Active> FaultInjector::List() const {
  absl::MutexLock lock(&mu_);
  return faults_;
}

std::map<std::string, int64_t> FaultInjector::FiredByKind() const {
  absl::MutexLock lock(&mu_);
  return fired_by_kind_;
}

bool FaultInjector::FiresLocked(Active& fault) {
  bool fires = false;
  if (fault.spec.count > 0) {
    --fault.spec.count;
    fires = true;
  } else if (fault.spec.rate > 0) {
    fires = rng_.Uniform() < fault.spec.rate;
  }
  if (fires) {
    ++fault.fired;
    ++fired_by_kind_[std::string(FaultKindName(fault.spec.kind))];
  }
  return fires;
}

FaultDecision FaultInjector::Decide(FaultScope endpoint, bool is_list) {
  absl::MutexLock lock(&mu_);
  FaultDecision decision;
  auto applies = [&](const Active& f) {
    if (f.spec.scope != FaultScope::kAny && f.spec.scope != endpoint) return false;
    if (f.spec.kind == FaultKind::kListNull && !is_list) return false;
    return f.spec.count > 0 || f.spec.rate > 0;
  };
  // The response-replacing kinds, in order of precedence: only the first that fires is used up.
  for (FaultKind kind : {FaultKind::kRateLimit, FaultKind::kServerError, FaultKind::kApiError,
                         FaultKind::kDrop, FaultKind::kMalformed}) {
    for (Active& f : faults_) {
      if (decision.terminal.has_value()) break;
      if (f.spec.kind == kind && applies(f) && FiresLocked(f)) decision.terminal = f.spec;
    }
  }
  for (Active& f : faults_) {
    if (!applies(f)) continue;
    switch (f.spec.kind) {
      case FaultKind::kSlow:
        if (FiresLocked(f)) {
          decision.delay = std::max(decision.delay, absl::Milliseconds(f.spec.delay_ms));
        }
        break;
      case FaultKind::kListNull:
        if (FiresLocked(f)) decision.list_null = true;
        break;
      case FaultKind::kWrongTypes:
        if (FiresLocked(f)) decision.wrong_types = true;
        break;
      case FaultKind::kMissingFields:
        if (FiresLocked(f)) decision.missing_fields = true;
        break;
      default:
        break;
    }
  }
  // Drop faults that can no longer fire.
  faults_.erase(
      std::remove_if(faults_.begin(), faults_.end(),
                     [](const Active& f) { return f.spec.count == 0 && f.spec.rate == 0; }),
      faults_.end());
  return decision;
}

}  // namespace whalefeed::sim
