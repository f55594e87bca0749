// A part of a process that runs in the background between Start and Stop (the health prober, and
// later the leader elector, the sync workers, the feed hub). server/main.cc lists the components in
// the order they start; they stop in reverse.
#ifndef WHALEFEED_COMMON_COMPONENT_H_
#define WHALEFEED_COMMON_COMPONENT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace whalefeed {

// The contract, for the owner and for implementations:
// - Start() is called once; on error nothing of the component runs.
// - Drain() is called at most once, after Start() and before Stop(), when the process starts to
//   shut down and before the gRPC server waits for its open calls: end long-lived calls (streams
//   end with UNAVAILABLE so that clients resume elsewhere) and refuse new ones. It must return at
//   once.
// - Stop(deadline) is called once after a successful Start(). It must return by `deadline`, also
//   when a thread of the component is blocked (e.g. in a database call): it must never wait for
//   such a call past the deadline.
//     true:  everything of the component has stopped; it can be destroyed.
//     false: something of it still runs and may still use the component and everything that was
//            handed to it. Nothing of that may then be destroyed: the process must exit without
//            running destructors (std::_Exit), which is what whaled does.
// - Destroy a component only when it was never started or Stop() returned true.
// Start, Drain and Stop are called from one thread at a time.
class Component {
 public:
  virtual ~Component() = default;

  // Names the component in log lines, e.g. "health-prober".
  virtual absl::string_view name() const = 0;
  virtual absl::Status Start() = 0;
  virtual void Drain() {}
  virtual bool Stop(absl::Time deadline) = 0;
};

}  // namespace whalefeed

#endif  // WHALEFEED_COMMON_COMPONENT_H_
