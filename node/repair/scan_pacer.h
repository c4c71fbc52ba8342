// ScanPacer: holds a background loop (an anti-entropy scan, the keys a
// repair sends) to at most `per_sec` items per second, and offers the CPU to
// the threads serving requests every `yield` (CpuYielder, base/process.h),
// so a pass never starves them. The loop calls Tick between items, never
// while holding a store lock.
//
// Not thread-safe: one per loop.
#pragma once

#include <chrono>
#include <cstdint>

#include "base/process.h"

namespace ringkv::node {

class ScanPacer {
 public:
  // per_sec 0: no rate limit; yield 0: never yields.
  ScanPacer(uint64_t per_sec, std::chrono::microseconds yield)
      : per_sec_(per_sec), yielder_(yield), start_(std::chrono::steady_clock::now()) {}

  // Counts `n` items; sleeps while the loop is ahead of the rate.
  void Tick(uint64_t n = 1);

  uint64_t items() const { return items_; }

 private:
  const uint64_t per_sec_;
  CpuYielder yielder_;
  const std::chrono::steady_clock::time_point start_;
  uint64_t items_ = 0;
  uint64_t next_check_ = 0;
};

}  // namespace ringkv::node
