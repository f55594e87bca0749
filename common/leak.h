// Leaking on purpose: after a shutdown that left a thread running, the objects it may still use are
// never freed (whaled then exits without destructors). LeakOnPurpose tells LeakSanitizer so, in
// builds that have it; elsewhere it does nothing.
#ifndef WHALEFEED_COMMON_LEAK_H_
#define WHALEFEED_COMMON_LEAK_H_

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace whalefeed {

// Returns `object`, which is never to be freed; it and whatever it points to are not reported as
// leaks.
template <typename T>
T* LeakOnPurpose(T* object) {
#if defined(__SANITIZE_ADDRESS__)
  if (object != nullptr) __lsan_ignore_object(object);
#endif
  return object;
}

}  // namespace whalefeed

#endif  // WHALEFEED_COMMON_LEAK_H_
