// Small process-level helpers shared by the ringkv subcommands.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "base/status.h"

namespace ringkv {

// Replaces `path` with `content` by writing `<path>.tmp` and renaming it, so
// a reader (e.g. a test waiting for a ports file) never sees half a file.
Status WriteFileAtomically(const std::string& path, const std::string& content);

// Blocks SIGINT and SIGTERM (and SIGHUP when `with_hup`) in the calling
// thread and every thread it starts later, so the main thread can sigwait on
// the returned set. Call before starting any thread.
sigset_t BlockStopSignals(bool with_hup = false);

// Lets a bulk loop (streaming a migration's keys) share the CPU with the
// threads serving requests: call MaybeYield() between units of work, never
// while holding a lock those threads take; it gives the CPU to any runnable
// thread once `interval` has passed since the last yield, so a request
// thread waits at most about that long behind bulk work.
//
// Why not a low nice value instead: a nice-19 thread preempted while it
// holds a store shard lock leaves every request that needs the lock waiting
// until the scheduler runs it again (measured on a busy 2-core machine:
// request threads blocked up to 44 ms), and a request thread that wakes may
// wait for the next scheduler tick (4 ms at HZ=250) before it preempts a
// nice-19 thread. At normal priority a preempted lock holder runs again
// soon.
//
// The interval trades the two against each other: a longer one copies
// faster and makes requests wait longer (measured in docs/benchmarks.md,
// "Live rebalancing"); 0 never yields.
//
// Not thread-safe: one per loop.
class CpuYielder {
 public:
  static constexpr std::chrono::microseconds kDefaultInterval{50};

  explicit CpuYielder(std::chrono::microseconds interval = kDefaultInterval)
      : interval_(interval) {}

  void MaybeYield() {
    if (interval_.count() == 0 || std::chrono::steady_clock::now() - last_ < interval_) return;
    std::this_thread::yield();
    ++yields_;
    last_ = std::chrono::steady_clock::now();
  }

  uint64_t yields() const { return yields_; }  // times it gave the CPU away

 private:
  const std::chrono::microseconds interval_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  uint64_t yields_ = 0;
};

}  // namespace ringkv
