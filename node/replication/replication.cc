#include "node/replication/replication.h"

namespace ringkv::node {

Replication::Replication(const Clock& clock, ReplicationOptions options, store::HintStore& hints,
                         ReplicationCounters& counters)
    : clock_(clock), options_(options), hints_(hints), counters_(counters) {}

void Replication::Suspect(std::string_view node_id) {
  MutexLock lock(mu_);
  auto [it, added] = suspect_until_.try_emplace(std::string(node_id), 0);
  it->second = clock_.NowMs() + options_.suspect_ms;
  if (added) suspects_count_.fetch_add(1, std::memory_order_relaxed);
  suspected_.emplace(node_id);
}

std::vector<std::string> Replication::TakeSuspected() {
  MutexLock lock(mu_);
  std::vector<std::string> out(suspected_.begin(), suspected_.end());
  suspected_.clear();
  return out;
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
  if (!hints_.Add(node_id, key, clock_.NowMs()).ok()) {
    counters_.hints_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  counters_.hints_stored.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace ringkv::node
