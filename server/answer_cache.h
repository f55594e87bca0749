// Serialized answers of the read RPCs, kept while the data they were read from is unchanged.
//
// The store raises a version per domain of data (markets, whales) in the transaction of every
// write to it (db::Store::GetDataVersions). A DataVersionWatcher reads those versions every
// `interval` (the leader's writes and every other replica's reads share one database, so this works
// across replicas). An AnswerCache entry carries the version its read began under, and is served
// only while
//   - the watcher's last successful read of the versions began less than `max_age` ago, and
//   - that read saw the entry's version, unchanged.
// So a change committed at time T is served by every call that starts after T + max_age (a
// watcher read that began after T has seen the new version), and when the database cannot be
// reached nothing is served from memory longer than max_age after the last read that could. Between
// changes an answer is read once, however many calls ask for it: markets change every 5 minutes.
//
// The answer is kept as the bytes of the serialized response, shared by every call that is
// answered with it (a grpc::Slice is reference-counted): a hit costs a lookup, not a copy or a
// serialization.
#ifndef WHALEFEED_SERVER_ANSWER_CACHE_H_
#define WHALEFEED_SERVER_ANSWER_CACHE_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/grpc_status.h"
#include "db/store.h"
#include "server/blocking_executor.h"

namespace whalefeed::server {

// Reads the data versions every `interval` on a thread of its own (none when the interval is zero:
// then Refresh() is called by hand, as tests do). Thread-safe.
class DataVersionWatcher {
 public:
  struct Snapshot {
    db::DataVersions versions;
    // When the read that saw `versions` began; InfinitePast() before the first successful read.
    absl::Time read_time = absl::InfinitePast();
  };

  // `store` and `clock` must outlive the watcher. The first read happens in the constructor.
  DataVersionWatcher(db::Store* store, const Clock* clock, absl::Duration interval);
  // Stops the thread.
  ~DataVersionWatcher();
  DataVersionWatcher(const DataVersionWatcher&) = delete;
  DataVersionWatcher& operator=(const DataVersionWatcher&) = delete;

  // Reads the versions now. On error the last snapshot stays (and ages).
  absl::Status Refresh();
  Snapshot Current() const;

 private:
  void Loop();

  db::Store* const store_;
  const Clock* const clock_;
  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  Snapshot snapshot_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// How a query service caches and reads: its cache (see above) and its database readers.
struct CachedReadOptions {
  // The staleness bound of the cache; zero disables it.
  absl::Duration cache_ttl = absl::Seconds(2);
  // Cached answers, at most this many.
  size_t max_cached_entries = 8192;
  // Threads that read from the database on a cache miss, and how many misses may wait for one
  // (beyond that a call is UNAVAILABLE: retry).
  int database_threads = 8;
  size_t max_queued_reads = 10000;
};

// Which version of DataVersions an AnswerCache follows.
enum class DataDomain { kMarkets, kWhales };

// Thread-safe. A zero max_age disables the cache (nothing is kept).
class AnswerCache {
 public:
  // `clock` and `watcher` must outlive the cache. At most `max_entries` answers are kept: when
  // full, those of an old version go first, then all.
  AnswerCache(const Clock* clock, const DataVersionWatcher* watcher, DataDomain domain,
              absl::Duration max_age, size_t max_entries);

  // The answer kept under `key`, if it may be served now.
  std::optional<grpc::Slice> Lookup(const std::string& key) const;
  // The answer kept under `key`, else what `read` (a database read) answers, kept under the
  // version current before the read began, so that it is never kept under a newer version than
  // what it saw, and not kept when the versions are too old to vouch for anything.
  absl::StatusOr<grpc::Slice> GetOrRead(const std::string& key,
                                        absl::FunctionRef<absl::StatusOr<grpc::Slice>()> read);

  size_t size() const;

 private:
  // The current version if the watcher's snapshot is fresh enough.
  std::optional<uint64_t> ServableVersion() const;
  void Remember(const std::string& key, grpc::Slice answer, uint64_t version);

  struct Entry {
    grpc::Slice answer;
    uint64_t version = 0;
  };

  const Clock* const clock_;
  const DataVersionWatcher* const watcher_;
  const DataDomain domain_;
  const absl::Duration max_age_;
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// The cache key of a list page: the fingerprint its token is bound to, the token, the page size.
std::string PageAnswerKey(const std::string& fingerprint, const std::string& page_token,
                          int page_size);

// The unary raw-method plumbing the query services share: a request's bytes into its message (an
// INVALID_ARGUMENT naming the message when they do not parse), a response into bytes and back.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* request);
grpc::Slice SerializeAnswer(const google::protobuf::Message& response);
grpc::ByteBuffer AnswerBuffer(const grpc::Slice& answer);
absl::Status ParseAnswer(const grpc::Slice& answer, google::protobuf::Message* response);

// Serves one call of a unary raw callback method whose answers `cache` keeps: parses the request
// (a `Request`), then answers at once on the callback thread when `key(request)` is an error (a
// request refused needs no database: `answer` would refuse it the same way) or is in the cache;
// else runs `answer(request)` (which may block) on `readers`, or answers UNAVAILABLE when too
// many reads wait already.
template <typename Request, typename KeyFn, typename AnswerFn>
grpc::ServerUnaryReactor* ServeCachedCall(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer& request_bytes,
                                          grpc::ByteBuffer* response, const char* method,
                                          const AnswerCache& cache, BlockingExecutor& readers,
                                          KeyFn key, AnswerFn answer) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = [context, response, reactor](const absl::StatusOr<grpc::Slice>& result) {
    if (result.ok()) *response = AnswerBuffer(*result);
    reactor->Finish(result.ok() ? grpc::Status::OK : ToGrpcStatus(result.status(), context));
  };
  auto request = std::make_shared<Request>();
  if (absl::Status parsed = ParseRequest(request_bytes, request.get()); !parsed.ok()) {
    finish(parsed);
    return reactor;
  }
  const absl::StatusOr<std::string> cache_key = key(*request);
  if (!cache_key.ok()) {
    finish(cache_key.status());
    return reactor;
  }
  if (std::optional<grpc::Slice> cached = cache.Lookup(*cache_key)) {
    finish(*std::move(cached));
    return reactor;
  }
  if (!readers.Schedule([request, answer, finish] { finish(answer(*request)); })) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     absl::StrCat(method, ": too many reads waiting for the database; retry")));
  }
  return reactor;
}

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_ANSWER_CACHE_H_
