#include "node/replication/replication.h"

namespace ringkv::node {

Replication::Replication(const Clock& clock, ReplicationOptions options)
    : clock_(clock), options_(options) {}

void Replication::Suspect(std::string_view node_id) {
  MutexLock lock(mu_);
  auto [it, added] = suspect_until_.try_emplace(std::string(node_id), 0);
  it->second = clock_.NowMs() + options_.suspect_ms;
  if (added) suspects_count_.fetch_add(1, std::memory_order_relaxed);
}

void Replication::Clear(std::string_view node_id) {
  if (suspects_count_.load(std::memory_order_relaxed) == 0) return;
  MutexLock lock(mu_);
  if (suspect_until_.erase(std::string(node_id)) > 0) {
    suspects_count_.fetch_sub(1, std::memory_order_relaxed);
  }
}

bool Replication::IsSuspect(std::string_view node_id) const {
  if (suspects_count_.load(std::memory_order_relaxed) == 0) return false;
  MutexLock lock(mu_);
  auto it = suspect_until_.find(std::string(node_id));
  return it != suspect_until_.end() && it->second > clock_.NowMs();
}

bool Replication::AddHint(std::string_view node_id, std::string_view key) {
  MutexLock lock(mu_);
  if (hint_count_ >= options_.max_hints) {
    counters_.hints_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (hints_[std::string(node_id)].emplace(key).second) {
    ++hint_count_;
    counters_.hints_stored.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

std::vector<std::string> Replication::TakeHints(std::string_view node_id, size_t max) {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  auto it = hints_.find(std::string(node_id));
  if (it == hints_.end()) return out;
  auto& keys = it->second;
  while (!keys.empty() && out.size() < max) {
    out.push_back(std::move(keys.extract(keys.begin()).value()));
  }
  hint_count_ -= out.size();
  if (keys.empty()) hints_.erase(it);
  return out;
}

std::vector<std::string> Replication::HintedNodes() const {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, keys] : hints_) out.push_back(id);
  return out;
}

uint64_t Replication::hints() const {
  MutexLock lock(mu_);
  return hint_count_;
}

}  // namespace ringkv::node
