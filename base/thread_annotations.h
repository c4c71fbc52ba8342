// Locks the compiler checks: clang's thread-safety analysis
// (-Wthread-safety) over ringkv's own mutex type.
//
// libstdc++'s std::mutex carries no capability attributes, so state guarded
// by one cannot be checked. ringkv::Mutex wraps it with the attributes;
// members it guards say GUARDED_BY(mu_), functions that expect it held say
// REQUIRES(mu_). MutexLock is the scoped lock; it is also BasicLockable, so
// std::condition_variable_any can wait on it (the analysis treats the mutex
// as held across the wait, which is what the code after the wait relies on).
// CondVar is std::condition_variable over a Mutex, for the same waits
// without condition_variable_any's extra lock.
//
// Under g++ the attributes expand to nothing; CI compiles the tree once with
// clang and -Wthread-safety -Werror (scripts/thread-safety.sh).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define RINGKV_TSA(x) __attribute__((x))
#else
#define RINGKV_TSA(x)
#endif

// Abseil's legacy header (absl/base/internal/thread_annotations.h, pulled in
// by gRPC) defines four of these names with the same meaning; ours replace
// them so the include order does not matter (a redefinition inside that
// system header is not reported).
#undef GUARDED_BY
#undef PT_GUARDED_BY
#undef ACQUIRED_BEFORE
#undef NO_THREAD_SAFETY_ANALYSIS

#define CAPABILITY(x) RINGKV_TSA(capability(x))
#define SCOPED_CAPABILITY RINGKV_TSA(scoped_lockable)
#define GUARDED_BY(x) RINGKV_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) RINGKV_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) RINGKV_TSA(acquired_before(__VA_ARGS__))
#define REQUIRES(...) RINGKV_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) RINGKV_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) RINGKV_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) RINGKV_TSA(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) RINGKV_TSA(locks_excluded(__VA_ARGS__))
#define RETURN_CAPABILITY(x) RINGKV_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS RINGKV_TSA(no_thread_safety_analysis)

namespace ringkv {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For the analysis only: asserts nothing at run time.
  void AssertHeld() const RINGKV_TSA(assert_capability(this)) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope. Unlock/Lock release and take it again inside the
// scope (for a call that must run without it); both are checked.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // BasicLockable, for std::condition_variable_any.
  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() RELEASE() {
    held_ = false;
    mu_.unlock();
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// Waits take the Mutex the caller holds; it is held again when they return.
// A predicate that reads guarded state is declared `[&]() REQUIRES(mu_)`.
class CondVar {
 public:
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

  void Wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  template <typename Pred>
  void Wait(Mutex& mu, Pred pred) REQUIRES(mu) NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock, std::move(pred));
    lock.release();
  }
  // Returns pred() at the end: false on a timeout with pred() still false.
  template <typename Rep, typename Period, typename Pred>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout, Pred pred)
      REQUIRES(mu) NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock lock(mu.mu_, std::adopt_lock);
    const bool ok = cv_.wait_for(lock, timeout, std::move(pred));
    lock.release();
    return ok;
  }
  // Returns false on a timeout.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout) REQUIRES(mu) {
    std::unique_lock lock(mu.mu_, std::adopt_lock);
    const bool ok = cv_.wait_for(lock, timeout) == std::cv_status::no_timeout;
    lock.release();
    return ok;
  }

 private:
  std::condition_variable cv_;
};

}  // namespace ringkv
