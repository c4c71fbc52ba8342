#include "store/internal/hint_set.h"

#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace ringkv::store::internal {
namespace {

// Hints handed to a ForEach callback, or examined by Expire, per lock hold.
constexpr size_t kChunk = 256;

}  // namespace

void HintSet::Restore(std::string_view target, std::string_view key, int64_t created_ms) {
  MutexLock lock(mu_);
  auto t = targets_.find(target);
  if (t != targets_.end()) {
    if (auto k = t->second.keys.find(key); k != t->second.keys.end()) {
      k->second = created_ms;
      return;
    }
  }
  Insert(target, key, created_ms);
}

Status HintSet::Add(std::string_view target, std::string_view key, int64_t now_ms) {
  if (target.empty()) return InvalidArgument("hint: empty target");
  MutexLock lock(mu_);
  auto t = targets_.find(target);
  if (t != targets_.end()) {
    if (auto k = t->second.keys.find(key); k != t->second.keys.end()) {
      if (log_ != nullptr) {
        if (Status s = log_->Put(target, key, now_ms); !s.ok()) return s;
      }
      k->second = now_ms;
      return OkStatus();
    }
  }
  const uint64_t bytes = HintBytes(target, key);
  if ((limits_.max_hints != 0 && total_.hints + 1 > limits_.max_hints) ||
      (limits_.max_bytes != 0 && total_.bytes + bytes > limits_.max_bytes)) {
    ++refused_;
    return ResourceExhausted("hint store full: " + std::to_string(total_.hints) + " hints, " +
                             std::to_string(total_.bytes) + " bytes");
  }
  if (log_ != nullptr) {
    if (Status s = log_->Put(target, key, now_ms); !s.ok()) return s;
  }
  Insert(target, key, now_ms);
  return OkStatus();
}

void HintSet::Insert(std::string_view target, std::string_view key, int64_t created_ms) {
  auto t = targets_.find(target);
  if (t == targets_.end()) t = targets_.emplace(std::string(target), Target{}).first;
  t->second.keys.emplace(std::string(key), created_ms);
  const uint64_t bytes = HintBytes(target, key);
  t->second.bytes += bytes;
  total_.hints += 1;
  total_.bytes += bytes;
}

void HintSet::ForEach(std::string_view target,
                      FunctionRef<bool(std::string_view key, int64_t created_ms)> fn) const {
  std::vector<std::pair<std::string, int64_t>> chunk;
  std::string after;
  for (bool first = true;; first = false) {
    chunk.clear();
    {
      MutexLock lock(mu_);
      auto t = targets_.find(target);
      if (t == targets_.end()) return;
      const Keys& keys = t->second.keys;
      for (auto k = first ? keys.begin() : keys.upper_bound(after);
           k != keys.end() && chunk.size() < kChunk; ++k) {
        chunk.emplace_back(k->first, k->second);
      }
    }
    for (const auto& [key, created_ms] : chunk) {
      if (!fn(key, created_ms)) return;
    }
    if (chunk.size() < kChunk) return;
    after = std::move(chunk.back().first);
  }
}

Status HintSet::Remove(std::string_view target, std::span<const std::string> keys) {
  MutexLock lock(mu_);
  auto t = targets_.find(target);
  if (t == targets_.end()) return OkStatus();
  std::vector<std::string> held;
  for (const std::string& key : keys) {
    if (t->second.keys.contains(key)) held.push_back(key);
  }
  return EraseHeld(t, held);
}

Status HintSet::EraseHeld(Targets::iterator t, std::span<const std::string> keys) {
  if (keys.empty()) return OkStatus();
  if (log_ != nullptr) {
    if (Status s = log_->Delete(t->first, keys); !s.ok()) return s;
  }
  for (const std::string& key : keys) {
    if (t->second.keys.erase(key) == 0) continue;  // a duplicate in `keys`
    const uint64_t bytes = HintBytes(t->first, key);
    t->second.bytes -= bytes;
    total_.hints -= 1;
    total_.bytes -= bytes;
  }
  if (t->second.keys.empty()) targets_.erase(t);
  return OkStatus();
}

StatusOr<size_t> HintSet::Expire(int64_t now_ms, int64_t max_age_ms) {
  if (max_age_ms < 0) max_age_ms = 0;
  const int64_t cutoff_ms = now_ms - max_age_ms;
  size_t dropped = 0;
  ExpireCursor cursor;
  for (;;) {
    StatusOr<bool> more = ExpireChunk(cutoff_ms, cursor, dropped);
    if (!more.ok()) return more.status();
    if (!*more) return dropped;
  }
}

StatusOr<bool> HintSet::ExpireChunk(int64_t cutoff_ms, ExpireCursor& cursor, size_t& dropped) {
  MutexLock lock(mu_);
  auto t = targets_.lower_bound(cursor.target);
  if (t == targets_.end()) return false;
  if (t->first != cursor.target) cursor = {t->first, std::nullopt};
  const Keys& keys = t->second.keys;
  std::vector<std::string> old;
  size_t examined = 0;
  auto k = cursor.after ? keys.upper_bound(*cursor.after) : keys.begin();
  for (; k != keys.end() && examined < kChunk; ++k, ++examined) {
    if (k->second <= cutoff_ms) old.push_back(k->first);
  }
  if (k == keys.end()) {
    cursor = {cursor.target + '\0', std::nullopt};  // the least name after this target's
  } else {
    cursor.after = std::prev(k)->first;
  }
  if (Status s = EraseHeld(t, old); !s.ok()) return s;
  dropped += old.size();
  expired_ += old.size();
  return true;
}

HintStats HintSet::Stats() const {
  MutexLock lock(mu_);
  HintStats stats;
  stats.total = total_;
  stats.refused = refused_;
  stats.expired = expired_;
  for (const auto& [name, t] : targets_) {
    stats.targets.emplace(name, HintUsage{t.keys.size(), t.bytes});
  }
  return stats;
}

}  // namespace ringkv::store::internal
