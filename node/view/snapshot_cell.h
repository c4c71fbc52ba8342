// SnapshotCell: the current immutable snapshot of a T, for readers that keep
// a shared_ptr (current(), under the owner's mutex) and for hot paths that
// read it through a raw pointer without a lock (Peek). A replaced snapshot
// stays alive for a grace period, long enough for a Peek reader (one hash
// and one lookup) to be done with it.
//
// Thread safety: current() and Replace() require the owner's mutex; Peek may
// be called from any thread at any time. The cell cannot name the owner's
// mutex, and Peek rules out GUARDED_BY on the cell, so each owner reaches
// current() and Replace() through its own REQUIRES(mu_) methods.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace ringkv::node {

template <typename T>
class SnapshotCell {
 public:
  explicit SnapshotCell(std::shared_ptr<const T> first) : current_(std::move(first)) {
    fast_.store(current_.get(), std::memory_order_release);
  }

  const std::shared_ptr<const T>& current() const { return current_; }
  const T& Peek() const { return *fast_.load(std::memory_order_acquire); }

  // `now_ms`: the owner's clock, for the grace period of the replaced snapshot.
  void Replace(std::shared_ptr<const T> next, int64_t now_ms) {
    std::erase_if(retired_, [now_ms](const auto& r) { return now_ms - r.first > kGraceMs; });
    retired_.emplace_back(now_ms, std::move(current_));
    current_ = std::move(next);
    fast_.store(current_.get(), std::memory_order_release);
  }

 private:
  static constexpr int64_t kGraceMs = 60'000;

  std::atomic<const T*> fast_;
  std::shared_ptr<const T> current_;
  std::vector<std::pair<int64_t, std::shared_ptr<const T>>> retired_;
};

}  // namespace ringkv::node
