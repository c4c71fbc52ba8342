// Helpers shared by the store tests: a temporary directory and HLC versions.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace ringkv::store::testing {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ringkv_rocks_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

// An HLC version as HybridClock makes them: (ms << 16) | counter.
inline uint64_t Version(int64_t ms, uint16_t counter = 0) {
  return (static_cast<uint64_t>(ms) << 16) | counter;
}

}  // namespace ringkv::store::testing
