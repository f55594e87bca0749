// Runs blocking work (database reads) on threads of its own, off gRPC's callback threads, which
// must never block. Thread-safe.
#ifndef WHALEFEED_SERVER_BLOCKING_EXECUTOR_H_
#define WHALEFEED_SERVER_BLOCKING_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace whalefeed::server {

class BlockingExecutor {
 public:
  // `threads` >= 1 run the work; at most `max_queued` pieces wait for one.
  BlockingExecutor(int threads, size_t max_queued);
  // Runs everything already scheduled, then joins the threads.
  ~BlockingExecutor();
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // False (and `work` dropped) when max_queued pieces are waiting already: the caller answers
  // UNAVAILABLE rather than queueing without bound.
  bool Schedule(std::function<void()> work);

 private:
  void Loop();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace whalefeed::server

#endif  // WHALEFEED_SERVER_BLOCKING_EXECUTOR_H_
