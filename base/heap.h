// How a ringkv process's heap (glibc malloc) keeps the memory it frees.
//
// glibc's defaults hand freed memory at the top of a heap back to the kernel
// once it passes a threshold that adapts as the program runs, and serve large
// blocks from mappings of their own. A node that takes in a migration's keys
// allocates and frees receive buffers of up to a megabyte over and over; with
// the defaults each new buffer lands on pages the kernel has just taken back
// and faults them in again. Measured (bench/rebalance-move.py, a target
// taking 243k keys): about 4,000 of its 14,000 page faults were such buffers,
// and keeping the freed memory made the copy about 15% faster.
//
// Thread safety: ApplyHeapOptions is for the start of main(), before any
// other thread allocates.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace ringkv {

struct HeapOptions {
  // Free bytes at the top of a heap kept for reuse instead of returned to
  // the kernel; 0 = glibc's default (adaptive, from 128 KiB).
  uint64_t trim_threshold = uint64_t{64} << 20;
  // Blocks at least this large get a mapping of their own, returned to the
  // kernel when freed; 0 = glibc's default (adaptive, from 128 KiB).
  uint64_t mmap_threshold = uint64_t{4} << 20;
};

// glibc refuses an mmap threshold above this (half its 64 MiB heap size).
inline constexpr uint64_t kMaxMmapThreshold = uint64_t{32} << 20;

// InvalidArgument naming the setting when a value is out of range.
Status ValidateHeapOptions(const HeapOptions& options);

// Applies the options (mallopt). Returns a line for the start log, empty when
// both are 0 (glibc's defaults, or GLIBC_TUNABLES, stay in force).
StatusOr<std::string> ApplyHeapOptions(const HeapOptions& options);

}  // namespace ringkv
