#include "sync/job_util.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace whalefeed::sync {

const CancelToken& CancelOf(const JobContext& context) {
  static const CancelToken* const kNever = new CancelToken();
  return context.cancel != nullptr ? *context.cancel : *kNever;
}

absl::Status CheckCancelled(const JobContext& context, absl::string_view job) {
  if (CancelOf(context).cancelled()) {
    return absl::CancelledError(absl::StrCat(job, ": stopped (leadership lost or shutting down)"));
  }
  return absl::OkStatus();
}

void MergeIssues(const DecodeIssues& more, DecodeIssues* into) {
  into->skipped += more.skipped;
  for (const std::string& reason : more.reasons) {
    if (into->reasons.size() >= DecodeIssues::kMaxReasons) break;
    into->reasons.push_back(reason);
  }
}

std::string DescribeIssues(const DecodeIssues& issues) {
  if (issues.skipped == 0) return "";
  std::string out =
      absl::StrCat("skipped ", issues.skipped, " record", issues.skipped == 1 ? "" : "s");
  if (!issues.reasons.empty())
    absl::StrAppend(&out, " (", absl::StrJoin(issues.reasons, "; "), ")");
  return out;
}

std::string JoinNote(std::initializer_list<absl::string_view> parts) {
  std::string out;
  for (absl::string_view part : parts) {
    if (part.empty()) continue;
    if (!out.empty()) out += "; ";
    absl::StrAppend(&out, part);
  }
  return out;
}

}  // namespace whalefeed::sync
