#include "server/answer_cache.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace whalefeed::server {

DataVersionWatcher::DataVersionWatcher(db::Store* store, const Clock* clock,
                                       absl::Duration interval)
    : store_(store), clock_(clock), interval_(interval) {
  (void)Refresh();
  if (interval_ > absl::ZeroDuration()) thread_ = std::thread([this] { Loop(); });
}

DataVersionWatcher::~DataVersionWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status DataVersionWatcher::Refresh() {
  // The time is taken before the read: the snapshot is never younger than it claims.
  const absl::Time read_time = clock_->Now();
  absl::StatusOr<db::DataVersions> versions = store_->GetDataVersions();
  if (!versions.ok()) return versions.status();
  absl::MutexLock lock(&mu_);
  // Two reads may overlap (the thread and a caller): keep the one that began last.
  if (read_time >= snapshot_.read_time) snapshot_ = {*versions, read_time};
  return absl::OkStatus();
}

DataVersionWatcher::Snapshot DataVersionWatcher::Current() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void DataVersionWatcher::Loop() {
  bool failing = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
    }
    const absl::Status status = Refresh();
    // Said once per outage: the caches stop serving and the calls that read say why.
    if (!status.ok() && !failing) {
      WF_LOG(WARNING) << "data versions: cannot read them (" << status
                      << "); cached answers are not served until they are read again";
    } else if (status.ok() && failing) {
      WF_LOG(INFO) << "data versions: read again; cached answers are served";
    }
    failing = !status.ok();
  }
}

AnswerCache::AnswerCache(const Clock* clock, const DataVersionWatcher* watcher, DataDomain domain,
                         absl::Duration max_age, size_t max_entries)
    : clock_(clock),
      watcher_(watcher),
      domain_(domain),
      max_age_(max_age),
      max_entries_(max_entries) {}

std::optional<uint64_t> AnswerCache::ServableVersion() const {
  if (max_age_ <= absl::ZeroDuration()) return std::nullopt;
  const DataVersionWatcher::Snapshot snapshot = watcher_->Current();
  if (clock_->Now() - snapshot.read_time >= max_age_) return std::nullopt;
  return domain_ == DataDomain::kMarkets ? snapshot.versions.markets : snapshot.versions.whales;
}

absl::StatusOr<grpc::Slice> AnswerCache::GetOrRead(
    const std::string& key, absl::FunctionRef<absl::StatusOr<grpc::Slice>()> read) {
  if (std::optional<grpc::Slice> cached = Lookup(key)) return *std::move(cached);
  // Taken before the read: an answer is never kept under a version newer than what it saw.
  const std::optional<uint64_t> version = ServableVersion();
  absl::StatusOr<grpc::Slice> answer = read();
  if (answer.ok() && version.has_value()) Remember(key, *answer, *version);
  return answer;
}

std::optional<grpc::Slice> AnswerCache::Lookup(const std::string& key) const {
  const std::optional<uint64_t> version = ServableVersion();
  if (!version.has_value()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.version != *version) return std::nullopt;
  return it->second.answer;
}

void AnswerCache::Remember(const std::string& key, grpc::Slice answer, uint64_t version) {
  if (max_age_ <= absl::ZeroDuration() || max_entries_ == 0) return;
  const std::optional<uint64_t> current = ServableVersion();
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= max_entries_ && !entries_.contains(key)) {
    // Answers of another version will never be served again.
    absl::erase_if(entries_, [&](const auto& entry) {
      return !current.has_value() || entry.second.version != *current;
    });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  Entry& entry = entries_[key];
  // Of two reads of one key, keep the one of the newer version.
  if (entry.answer.size() == 0 || entry.version <= version) entry = {std::move(answer), version};
}

size_t AnswerCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

std::string PageAnswerKey(const std::string& fingerprint, const std::string& page_token,
                          int page_size) {
  return absl::StrCat(fingerprint, "\n", page_token, "\n", page_size);
}

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* request) {
  grpc::ByteBuffer copy(bytes);  // shares the slices; Deserialize consumes its argument
  const grpc::Status status =
      grpc::SerializationTraits<google::protobuf::Message>::Deserialize(&copy, request);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request: not a valid ", request->GetDescriptor()->full_name(), " message"));
  }
  return absl::OkStatus();
}

grpc::Slice SerializeAnswer(const google::protobuf::Message& response) {
  return grpc::Slice(response.SerializeAsString());
}

grpc::ByteBuffer AnswerBuffer(const grpc::Slice& answer) {
  grpc::Slice shared = answer;
  return grpc::ByteBuffer(&shared, 1);
}

absl::Status ParseAnswer(const grpc::Slice& answer, google::protobuf::Message* response) {
  if (!response->ParseFromArray(answer.begin(), static_cast<int>(answer.size()))) {
    return absl::InternalError(
        absl::StrCat("a cached ", response->GetDescriptor()->full_name(), " does not parse"));
  }
  return absl::OkStatus();
}

}  // namespace whalefeed::server
