#include "node/link/key_order.h"

#include <algorithm>
#include <unordered_set>

namespace ringkv::node {

bool KeyOrder::Admit(uint64_t id, std::vector<std::string> keys) {
  const bool blocked = std::any_of(keys.begin(), keys.end(),
                                   [this](const std::string& k) { return held_.contains(k); });
  if (!blocked) return true;
  Hold(keys);
  waiting_.emplace_back(id, std::move(keys));
  return false;
}

void KeyOrder::Running(uint64_t id, std::vector<std::string> keys) {
  if (running_.contains(id)) return;  // handed back by Done: its keys are held already
  Hold(keys);
  running_[id] = std::move(keys);
}

std::vector<uint64_t> KeyOrder::Done(uint64_t id) {
  auto it = running_.find(id);
  if (it != running_.end()) {
    Release(it->second);
    running_.erase(it);
  }
  std::vector<uint64_t> ready;
  if (waiting_.empty()) return ready;
  // A waiting request runs when no running one, and no earlier waiting one,
  // holds one of its keys.
  std::unordered_set<std::string> blocked;
  for (const auto& [rid, keys] : running_) blocked.insert(keys.begin(), keys.end());
  std::deque<std::pair<uint64_t, std::vector<std::string>>> still;
  for (auto& [wid, keys] : waiting_) {
    const bool wait = std::any_of(keys.begin(), keys.end(),
                                  [&blocked](const std::string& k) { return blocked.contains(k); });
    blocked.insert(keys.begin(), keys.end());
    if (wait) {
      still.emplace_back(wid, std::move(keys));
    } else {
      ready.push_back(wid);
      running_[wid] = std::move(keys);  // its keys stay held: they move from waiting to running
    }
  }
  waiting_.swap(still);
  return ready;
}

void KeyOrder::Hold(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) ++held_[k];
}

void KeyOrder::Release(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    auto it = held_.find(k);
    if (it != held_.end() && --it->second == 0) held_.erase(it);
  }
}

}  // namespace ringkv::node
