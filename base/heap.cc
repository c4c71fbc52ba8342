#include "base/heap.h"

#include <malloc.h>

#include <climits>

namespace ringkv {
namespace {

// "64mb", "512kb" or "1000 bytes", as the settings are written.
std::string Size(uint64_t n) {
  if (n % (1 << 20) == 0) return std::to_string(n >> 20) + "mb";
  if (n % (1 << 10) == 0) return std::to_string(n >> 10) + "kb";
  return std::to_string(n) + " bytes";
}

}  // namespace

Status ValidateHeapOptions(const HeapOptions& options) {
  if (options.mmap_threshold > kMaxMmapThreshold) {
    return InvalidArgument("heap-mmap-threshold must be at most 32mb (0 = glibc's default), got " +
                           std::to_string(options.mmap_threshold) + " bytes");
  }
  if (options.trim_threshold > uint64_t{INT_MAX}) {
    return InvalidArgument("heap-trim-threshold must be below 2gb (0 = glibc's default), got " +
                           std::to_string(options.trim_threshold) + " bytes");
  }
  return OkStatus();
}

StatusOr<std::string> ApplyHeapOptions(const HeapOptions& options) {
  if (Status s = ValidateHeapOptions(options); !s.ok()) return s;
  std::string applied;
  if (options.trim_threshold != 0) {
    if (mallopt(M_TRIM_THRESHOLD, static_cast<int>(options.trim_threshold)) != 1) {
      return Internal("mallopt(M_TRIM_THRESHOLD) refused " +
                      std::to_string(options.trim_threshold));
    }
    applied += "keeps up to " + Size(options.trim_threshold) + " freed per heap";
  }
  if (options.mmap_threshold != 0) {
    if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(options.mmap_threshold)) != 1) {
      return Internal("mallopt(M_MMAP_THRESHOLD) refused " +
                      std::to_string(options.mmap_threshold));
    }
    if (!applied.empty()) applied += ", ";
    applied += "maps blocks of " + Size(options.mmap_threshold) + " and more on their own";
  }
  return applied.empty() ? applied : "heap: " + applied;
}

}  // namespace ringkv
