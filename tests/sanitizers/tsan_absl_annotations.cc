// Makes absl::Mutex, absl::CondVar and absl::Notification visible to ThreadSanitizer. Linked into
// every executable of a ThreadSanitizer build (WHALEFEED_SANITIZE=thread) and nowhere else.
//
// Why: TSan sees synchronisation only in instrumented code and in the libc functions it intercepts.
// Debian's abseil is built without -fsanitize=thread, so these classes synchronise through atomics
// TSan never sees, and every access our code guards with an absl::Mutex (or hands over through a
// Notification) would be reported as a data race. An abseil built with TSan annotates itself
// (ABSL_TSAN_MUTEX_* in absl/synchronization/mutex.cc); this library adds the same annotations from
// the outside.
//
// How: it defines the out-of-line members of those classes itself. Each finds the real one with
// dlsym(RTLD_NEXT), calls it, and tells TSan what happened through <sanitizer/tsan_interface.h>.
// Linked first (CMake's link_libraries), this library comes before libabsl_synchronization.so in
// the dynamic linker's search order, so calls from our code, from gRPC (whose grpc_core::Mutex is
// an absl::Mutex) and from abseil itself reach these definitions. Calls abseil makes to its own
// members while inside one of them (e.g. Notification::Notify taking its mutex) are passed straight
// through: only the outermost call on a thread is annotated.
//
// - Lock, TryLock, ReaderLock, ReaderTryLock, [Reader]LockWhen*: __tsan_mutex_pre_lock before the
//   call, __tsan_mutex_post_lock after it (the acquire). TSan ignores memory accesses in between,
//   so conditions abseil evaluates while locking are not checked (abseil's own annotations check
//   them; ours cannot reach inside).
// - Unlock, ReaderUnlock: __tsan_mutex_pre_unlock (the release) before, __tsan_mutex_post_unlock
//   after; conditions of waiters that abseil evaluates in the unlocking thread fall in between.
// - Await*, CondVar::Wait*: the caller holds the mutex, abseil lets go of it and takes it again
//   inside. To TSan the mutex is released before the call (which runs with accesses ignored) and
//   taken again after it, as a writer or a reader, whichever the caller held.
// - Notification: Notify releases and a wait that saw the notification acquires, on the address of
//   the notification's flag, which is also what the inline HasBeenNotified() loads with acquire
//   semantics.
// - Mutex::~Mutex: __tsan_mutex_destroy after, so TSan reports destroying a locked mutex and
//   forgets it.
//
// Not wrapped themselves: absl::BlockingCounter and absl::Barrier (tests use them). They synchronise
// through their own absl::Mutex, whose calls reach the definitions here.
// tsan_absl_annotations_test.cc shows that TSan reports a race on data guarded by the real
// absl::Mutex without these annotations, and none with them.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#ifndef __SANITIZE_THREAD__
#error "tsan_absl_annotations.cc belongs in ThreadSanitizer builds only"
#endif

// The mangled names below are abseil's: namespace absl, then its inline namespace (Debian's
// "debian3").
static_assert(ABSL_OPTION_USE_INLINE_NAMESPACE == 1,
              "the mangled names assume an inline namespace");

namespace {

#define WF_TSAN_STRINGIFY_INNER(x) #x
#define WF_TSAN_STRINGIFY(x) WF_TSAN_STRINGIFY_INNER(x)

enum class Kind { kMember, kConstMember };

// dlsym(RTLD_NEXT) of absl::<inline namespace>::<rest>: the definition this library stands in front
// of. `rest` is the mangled name after the namespaces, e.g. "5Mutex4LockEv" for Mutex::Lock().
template <typename Fn>
Fn Real(Kind kind, const char* rest) {
  const char* inline_namespace = WF_TSAN_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name = std::string(kind == Kind::kConstMember ? "_ZNK" : "_ZN") + "4absl" +
                           std::to_string(std::strlen(inline_namespace)) + inline_namespace + rest;
  void* real = ::dlsym(RTLD_NEXT, name.c_str());
  if (real == nullptr) {
    std::fprintf(stderr, "tsan_absl_annotations: %s not found after this library: %s\n",
                 name.c_str(), ::dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(real);
}

// How many annotated calls this thread is inside; only the outermost one annotates.
__attribute__((tls_model("initial-exec"))) thread_local int depth = 0;

class Call {
 public:
  Call() { ++depth; }
  ~Call() { --depth; }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  bool nested() const { return depth > 1; }
};

// The caller holds `mu`: as a writer if abseil's writer bit is set in the mutex word (kMuWriter,
// 0x08, in absl/synchronization/mutex.cc; the word is the class's only member), else as a reader.
unsigned HeldFlags(const absl::Mutex* mu) {
  static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>), "absl::Mutex is one word");
  constexpr intptr_t kMuWriter = 0x08;
  const intptr_t word =
      reinterpret_cast<const std::atomic<intptr_t>*>(mu)->load(std::memory_order_relaxed);
  return (word & kMuWriter) != 0 ? 0 : __tsan_mutex_read_lock;
}

// Operations that take `mu`; `real` returns void or bool.
template <typename R, typename... Args>
R Locking(R (*real)(absl::Mutex*, Args...), absl::Mutex* mu, unsigned flags, Args... args) {
  const Call call;
  if (call.nested()) return real(mu, args...);
  __tsan_mutex_pre_lock(mu, flags);
  if constexpr (std::is_void_v<R>) {
    real(mu, args...);
    __tsan_mutex_post_lock(mu, flags, 0);
  } else {
    R result = real(mu, args...);
    __tsan_mutex_post_lock(mu, flags, 0);
    return result;
  }
}

void Unlocking(void (*real)(absl::Mutex*), absl::Mutex* mu, unsigned flags) {
  const Call call;
  if (call.nested()) return real(mu);
  __tsan_mutex_pre_unlock(mu, flags);
  real(mu);
  __tsan_mutex_post_unlock(mu, flags);
}

bool TryLocking(bool (*real)(absl::Mutex*), absl::Mutex* mu, unsigned flags) {
  const Call call;
  if (call.nested()) return real(mu);
  __tsan_mutex_pre_lock(mu, flags | __tsan_mutex_try_lock);
  const bool locked = real(mu);
  __tsan_mutex_post_lock(
      mu, flags | __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

// Operations that release `mu` (held by the caller) and take it again before they return.
template <typename R, typename Self, typename... Args>
R Releasing(R (*real)(Self*, Args...), Self* self, absl::Mutex* mu, Args... args) {
  const Call call;
  if (call.nested()) return real(self, args...);
  const unsigned flags = HeldFlags(mu);
  __tsan_mutex_pre_unlock(mu, flags);
  auto finish = [mu, flags] {
    __tsan_mutex_post_unlock(mu, flags);
    __tsan_mutex_pre_lock(mu, flags);
    __tsan_mutex_post_lock(mu, flags, 0);
  };
  if constexpr (std::is_void_v<R>) {
    real(self, args...);
    finish();
  } else {
    R result = real(self, args...);
    finish();
    return result;
  }
}

// Notification's flag: the std::atomic<bool> right after its mutex
// (absl/synchronization/notification.h).
void* NotifiedFlag(const absl::Notification* n) {
  static_assert(sizeof(absl::Notification) == 2 * sizeof(absl::Mutex),
                "absl::Notification is a Mutex and a flag");
  return const_cast<char*>(reinterpret_cast<const char*>(n) + sizeof(absl::Mutex));
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

using MutexFn = void (*)(Mutex*);
using MutexTryFn = bool (*)(Mutex*);
using CondFn = void (*)(Mutex*, const Condition&);
using CondTimeoutFn = bool (*)(Mutex*, const Condition&, Duration);
using CondDeadlineFn = bool (*)(Mutex*, const Condition&, Time);

void Mutex::Lock() {
  static const auto real = Real<MutexFn>(Kind::kMember, "5Mutex4LockEv");
  Locking(real, this, 0);
}

void Mutex::ReaderLock() {
  static const auto real = Real<MutexFn>(Kind::kMember, "5Mutex10ReaderLockEv");
  Locking(real, this, __tsan_mutex_read_lock);
}

bool Mutex::TryLock() {
  static const auto real = Real<MutexTryFn>(Kind::kMember, "5Mutex7TryLockEv");
  return TryLocking(real, this, 0);
}

bool Mutex::ReaderTryLock() {
  static const auto real = Real<MutexTryFn>(Kind::kMember, "5Mutex13ReaderTryLockEv");
  return TryLocking(real, this, __tsan_mutex_read_lock);
}

void Mutex::Unlock() {
  static const auto real = Real<MutexFn>(Kind::kMember, "5Mutex6UnlockEv");
  Unlocking(real, this, 0);
}

void Mutex::ReaderUnlock() {
  static const auto real = Real<MutexFn>(Kind::kMember, "5Mutex12ReaderUnlockEv");
  Unlocking(real, this, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(const Condition& cond) {
  static const auto real = Real<CondFn>(Kind::kMember, "5Mutex8LockWhenERKNS0_9ConditionE");
  Locking<void, const Condition&>(real, this, 0, cond);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static const auto real = Real<CondFn>(Kind::kMember, "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Locking<void, const Condition&>(real, this, __tsan_mutex_read_lock, cond);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static const auto real = Real<CondTimeoutFn>(
      Kind::kMember, "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking<bool, const Condition&, Duration>(real, this, 0, cond, timeout);
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static const auto real = Real<CondTimeoutFn>(
      Kind::kMember, "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking<bool, const Condition&, Duration>(real, this, __tsan_mutex_read_lock, cond,
                                                   timeout);
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<CondDeadlineFn>(
      Kind::kMember, "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking<bool, const Condition&, Time>(real, this, 0, cond, deadline);
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<CondDeadlineFn>(
      Kind::kMember, "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking<bool, const Condition&, Time>(real, this, __tsan_mutex_read_lock, cond, deadline);
}

void Mutex::Await(const Condition& cond) {
  static const auto real = Real<CondFn>(Kind::kMember, "5Mutex5AwaitERKNS0_9ConditionE");
  Releasing<void, Mutex, const Condition&>(real, this, this, cond);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static const auto real = Real<CondTimeoutFn>(
      Kind::kMember, "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Releasing<bool, Mutex, const Condition&, Duration>(real, this, this, cond, timeout);
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static const auto real =
      Real<CondDeadlineFn>(Kind::kMember, "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Releasing<bool, Mutex, const Condition&, Time>(real, this, this, cond, deadline);
}

Mutex::~Mutex() {
  static const auto real = Real<MutexFn>(Kind::kMember, "5MutexD1Ev");
  const Call call;
  real(this);
  if (!call.nested()) __tsan_mutex_destroy(this, __tsan_mutex_not_static);
}

void CondVar::Wait(Mutex* mu) {
  static const auto real =
      Real<void (*)(CondVar*, Mutex*)>(Kind::kMember, "7CondVar4WaitEPNS0_5MutexE");
  Releasing<void, CondVar, Mutex*>(real, this, mu, mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static const auto real = Real<bool (*)(CondVar*, Mutex*, Duration)>(
      Kind::kMember, "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return Releasing<bool, CondVar, Mutex*, Duration>(real, this, mu, mu, timeout);
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static const auto real = Real<bool (*)(CondVar*, Mutex*, Time)>(
      Kind::kMember, "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return Releasing<bool, CondVar, Mutex*, Time>(real, this, mu, mu, deadline);
}

void Notification::Notify() {
  static const auto real = Real<void (*)(Notification*)>(Kind::kMember, "12Notification6NotifyEv");
  const Call call;
  if (!call.nested()) __tsan_release(NotifiedFlag(this));
  real(this);
}

void Notification::WaitForNotification() const {
  static const auto real = Real<void (*)(const Notification*)>(
      Kind::kConstMember, "12Notification19WaitForNotificationEv");
  const Call call;
  real(this);
  if (!call.nested()) __tsan_acquire(NotifiedFlag(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static const auto real = Real<bool (*)(const Notification*, Duration)>(
      Kind::kConstMember, "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const Call call;
  const bool notified = real(this, timeout);
  if (notified && !call.nested()) __tsan_acquire(NotifiedFlag(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static const auto real = Real<bool (*)(const Notification*, Time)>(
      Kind::kConstMember, "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const Call call;
  const bool notified = real(this, deadline);
  if (notified && !call.nested()) __tsan_acquire(NotifiedFlag(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
