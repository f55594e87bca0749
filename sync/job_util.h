// Small pieces the sync jobs share: cancellation checks and notes for sync_logs.
#ifndef WHALEFEED_SYNC_JOB_UTIL_H_
#define WHALEFEED_SYNC_JOB_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "sync/job.h"
#include "sync/opinion_api.h"

namespace whalefeed::sync {

// CANCELLED naming the job when the run was told to stop.
absl::Status CheckCancelled(const JobContext& context, absl::string_view job);

// A token that never fires, for a context that brings none.
const CancelToken& CancelOf(const JobContext& context);

// Adds `more` to `into`: counts summed, reasons kept up to DecodeIssues::kMaxReasons.
void MergeIssues(const DecodeIssues& more, DecodeIssues* into);

// "skipped N records (reason; reason; ...)", or "" when nothing was skipped.
std::string DescribeIssues(const DecodeIssues& issues);

// Joins non-empty parts with "; ".
std::string JoinNote(std::initializer_list<absl::string_view> parts);

}  // namespace whalefeed::sync

#endif  // WHALEFEED_SYNC_JOB_UTIL_H_
