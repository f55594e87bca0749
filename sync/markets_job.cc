#include "sync/markets_job.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "sync/job_schedule.h"
#include "sync/job_util.h"

namespace whalefeed::sync {
namespace {

constexpr char kJob[] = "markets sync";

bool IsCategoricalParent(const db::Market& m) {
  return m.parent_market_id == 0 && m.market_type == db::MarketType::kCategorical;
}

}  // namespace

MarketsJob::MarketsJob(db::Store& store, OpinionApi& api, const Clock& clock,
                       MarketsJobOptions options)
    : store_(store), api_(api), clock_(clock), options_(std::move(options)) {}

absl::Time MarketsJob::NextRunTime(absl::Time last_started, absl::Time now) const {
  return NextIntervalRun(last_started, now, options_.interval);
}

absl::StatusOr<JobOutcome> MarketsJob::RunOnce(const JobContext& context) {
  const CancelToken& cancel = CancelOf(context);
  const int limit = options_.page_size;
  DecodeIssues issues;
  db::UpsertMarketsResult written;
  // Every market seen in this run, by id; pages may shift while they are read, so a market can
  // come twice: the later copy wins, and it is counted once.
  absl::flat_hash_set<int64_t> seen;
  std::vector<db::Market> pending;  // not yet upserted, in the order seen
  absl::flat_hash_map<int64_t, size_t> pending_index;

  auto add = [&](db::Market m) {
    seen.insert(m.market_id);
    auto it = pending_index.find(m.market_id);
    if (it != pending_index.end()) {
      pending[it->second] = std::move(m);
      return;
    }
    pending_index[m.market_id] = pending.size();
    pending.push_back(std::move(m));
  };
  auto flush = [&]() -> absl::Status {
    if (pending.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(db::UpsertMarketsResult r,
                     store_.UpsertMarkets(context.fence, pending, clock_.Now()));
    written.inserted += r.inserted;
    written.updated += r.updated;
    written.unchanged += r.unchanged;
    pending.clear();
    pending_index.clear();
    return absl::OkStatus();
  };

  int64_t total = -1;
  for (int page = 1;; ++page) {
    RETURN_IF_ERROR(CheckCancelled(context, kJob));
    absl::StatusOr<MarketsPage> listed = api_.ListMarkets(page, limit, cancel);
    if (!listed.ok()) {
      return absl::Status(
          listed.status().code(),
          absl::StrCat(kJob, ": listing markets, page ", page, ": ", listed.status().message()));
    }
    MergeIssues(listed->issues, &issues);
    if (total < 0) total = listed->total;
    // Top-level rows count against the page size (upstream's total counts parent rows only).
    int top_level = 0;
    absl::flat_hash_set<int64_t> with_children;
    for (const db::Market& m : listed->markets) {
      if (m.parent_market_id == 0)
        ++top_level;
      else
        with_children.insert(m.parent_market_id);
    }
    // Parents listed without their children (the client may say so; the rows tell too).
    std::vector<int64_t> need_children;
    absl::flat_hash_set<int64_t> asked;
    for (int64_t parent : listed->categorical_without_children) {
      if (!with_children.contains(parent) && asked.insert(parent).second) {
        need_children.push_back(parent);
      }
    }
    for (db::Market& m : listed->markets) {
      if (IsCategoricalParent(m) && !with_children.contains(m.market_id) &&
          asked.insert(m.market_id).second) {
        need_children.push_back(m.market_id);
      }
      add(std::move(m));
    }
    for (int64_t parent : need_children) {
      RETURN_IF_ERROR(CheckCancelled(context, kJob));
      absl::StatusOr<MarketsPage> detail = api_.GetCategoricalMarketWithChildren(parent, cancel);
      if (!detail.ok()) {
        return absl::Status(detail.status().code(),
                            absl::StrCat(kJob, ": reading categorical market ", parent, ": ",
                                         detail.status().message()));
      }
      MergeIssues(detail->issues, &issues);
      for (db::Market& child : detail->markets) {
        if (child.parent_market_id == parent) add(std::move(child));
      }
    }
    if (pending.size() >= options_.upsert_chunk) RETURN_IF_ERROR(flush());
    const int64_t counted = static_cast<int64_t>(page) * limit;
    // A short page, an empty page (its records may all have been skipped) or the total reached
    // ends the walk.
    if (top_level + static_cast<int>(listed->issues.skipped) < limit || counted >= total) break;
  }
  RETURN_IF_ERROR(CheckCancelled(context, kJob));
  RETURN_IF_ERROR(flush());

  WF_LOG(INFO) << kJob << ": " << seen.size() << " markets seen, " << written.inserted << " new, "
               << written.updated << " changed, " << written.unchanged << " unchanged";
  JobOutcome outcome;
  outcome.item_count = static_cast<int64_t>(seen.size());
  outcome.note = DescribeIssues(issues);
  return outcome;
}

}  // namespace whalefeed::sync
