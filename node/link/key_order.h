// KeyOrder: the order a link's receiver keeps among commands on the same
// keys (docs/dht.md, "The peer link"). Commands run as they arrive, and a
// command whose reply is deferred (it waits for a migration peer, or for
// its replicas) does not hold up the others — except those on one of its
// keys: they wait until it answered, in the order they arrived, so a
// client's pipelined SET k then GET k never run the other way round.
//
// Requests are named by id (their sequence number on the link).
//
// Pure: no sockets, no threads. Thread safety: none; one owner.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ringkv::node {

class KeyOrder {
 public:
  // Nothing runs deferred and nothing waits: every command may run at once.
  bool idle() const { return running_.empty() && waiting_.empty(); }

  // Whether request `id` on `keys` may run now. If not, it waits behind the
  // earlier ones on its keys (Done hands it back).
  bool Admit(uint64_t id, std::vector<std::string> keys);
  // Request `id`, admitted or handed back by Done, ran and answers later:
  // its keys stay held until Done(id).
  void Running(uint64_t id, std::vector<std::string> keys);
  // Request `id` answered (deferred, or handed back by Done and answered at
  // once). Returns the waiting requests that may run now, oldest first; each
  // counts as running until its own Done.
  std::vector<uint64_t> Done(uint64_t id);

  size_t waiting() const { return waiting_.size(); }

 private:
  void Hold(const std::vector<std::string>& keys);
  void Release(const std::vector<std::string>& keys);

  std::unordered_map<uint64_t, std::vector<std::string>> running_;
  std::deque<std::pair<uint64_t, std::vector<std::string>>> waiting_;
  std::unordered_map<std::string, uint32_t> held_;  // keys of running_ and waiting_, counted
};

}  // namespace ringkv::node
