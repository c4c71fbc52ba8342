// AntiEntropy: this node's anti-entropy (docs/replication.md,
// "Anti-entropy"). A pass scans the store once for the digests of every
// peer it compares with, then runs one exchange per peer (RepairPair over a
// RepairClient): the keys both replicate end with the newest entry or
// tombstone on both sides. It also serves the peers' side of their
// exchanges (RepairDigests, RepairKeys).
//
// When a pass runs, on a thread of its own, one at a time:
//  - on request (Request(): POST /repair), with every peer, or with
//    `split` only with the peers whose id is greater than this node's — the
//    router asks every node with split, so each pair is compared once;
//  - every interval_s (split), when interval_s > 0;
//  - when a peer this node believed down — suspect after a failed request
//    (Replication::TakeSuspected), marked down in the map, or unreachable
//    in a pass — is neither any more: a pass with that peer alone (when
//    interval_s > 0).
// Scans go at most scan_keys_per_sec and offer the CPU every `yield`;
// repaired keys at most max_keys_per_sec, so a pass never starves the
// threads serving requests. A peer that does not answer is skipped (and
// compared with when it returns); the pass goes on with the next.
//
// Thread safety: every public method may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/hlc.h"
#include "base/periodic_task.h"
#include "base/thread_annotations.h"
#include "node/commands/forward_link.h"
#include "node/peer_channels.h"
#include "node/repair/repair_status.h"
#include "node/replication/replication.h"
#include "node/view/cluster_view.h"
#include "ringkv/v1/peer.grpc.pb.h"
#include "store/engine.h"

namespace ringkv::node {

struct AntiEntropyOptions {
  uint32_t interval_s = 3600;            // periodic passes; 0 = only on request
  uint64_t max_keys_per_sec = 10000;     // keys pushed plus pulled; 0 = unlimited
  uint64_t scan_keys_per_sec = 1000000;  // keys scanned; 0 = unlimited
  std::chrono::microseconds yield{50};   // scans offer the CPU this often; 0 = never
  uint32_t peer_timeout_ms = 2000;       // a peer that does not answer this fast is skipped
  uint32_t tick_ms = 500;                // how often triggers are checked
};

class AntiEntropy {
 public:
  // Not owned; all must outlive this. `self_id` is read at each pass (the
  // node sets it before serving).
  AntiEntropy(ClusterView& view, store::Engine& engine, HybridClock& hlc, ForwardLink& link,
              PeerChannels& peers, Replication& replication, const Clock& clock,
              const std::string& self_id, AntiEntropyOptions options);
  ~AntiEntropy() { Stop(); }

  void Start();
  void Stop() { task_.Stop(); }

  // Asks for a pass now (or right after the one that runs). Returns whether
  // one was running.
  bool Request(bool split) EXCLUDES(mu_);
  // What GET /repair shows.
  RepairStatus Progress() const EXCLUDES(mu_);

  // The receiving side of a peer's exchange (ringkv.v1.Peer).
  ringkv::Status ServeDigests(const ringkv::v1::RepairDigestsRequest& req,
                              ringkv::v1::RepairDigestsReply& reply);
  ringkv::Status ServeKeys(const ringkv::v1::RepairKeysRequest& req,
                           ringkv::v1::RepairKeysReply& reply);

 private:
  struct Pending {
    bool requested = false;
    bool split = false;
  };

  // One round of the task: triggers, then at most one pass.
  void Tick() EXCLUDES(mu_);
  // Peers believed down now: suspect or marked down in the map.
  bool BelievedDown(const ClusterSnapshot& view, uint32_t peer) const;
  // Records the peers the map marks down as owed; returns the owed ones
  // that are believed up now and due (the return trigger).
  std::vector<uint32_t> ReturnedPeers(const ClusterSnapshot& view, int64_t now) REQUIRES(mu_);
  // The ring indices a pass compares with: the nodes that replicate some
  // keys with this one (those with a greater id when `split`).
  std::vector<uint32_t> PeersOf(const ClusterSnapshot& view, bool split) const;
  void RunPass(RepairTrigger trigger, const std::vector<uint32_t>& peers,
               const ClusterSnapshot& view) EXCLUDES(mu_);
  // A quick call, so an unreachable peer costs peer_timeout_ms, not the
  // deadline of a call that scans.
  ringkv::Status Probe(ringkv::v1::Peer::Stub& stub) const;
  // One exchange; records its progress and result in current_.peers[slot].
  void RunPeer(const ClusterSnapshot& view, const ReplicaSet& replicas, const PairDigests& mine,
               size_t slot, ScanPacer& repair) EXCLUDES(mu_);
  // The map a peer's request is served under, once its epoch, sender and
  // bits check out; *from is the sender's ring index.
  StatusOr<std::shared_ptr<const ClusterSnapshot>> CheckRequest(std::string_view from_id,
                                                                uint64_t epoch, uint32_t bits,
                                                                uint32_t* from) const;
  // Ends current_: it becomes last_ and counts in the totals.
  void Finish() EXCLUDES(mu_);

  ClusterView& view_;
  store::Engine& engine_;
  HybridClock& hlc_;
  ForwardLink& link_;
  PeerChannels& peers_;
  Replication& replication_;
  const Clock& clock_;
  const std::string& self_id_;
  const AntiEntropyOptions options_;
  PeriodicTask task_;

  mutable Mutex mu_;
  Pending pending_ GUARDED_BY(mu_);
  int64_t next_periodic_ms_ GUARDED_BY(mu_) = 0;
  // Peers to compare with when they answer again, and not before the time (ms).
  std::map<std::string, int64_t> owed_ GUARDED_BY(mu_);
  // When each peer's last exchange succeeded (ms).
  std::map<std::string, int64_t> compared_ms_ GUARDED_BY(mu_);
  RepairTotals totals_ GUARDED_BY(mu_);
  std::optional<RepairPassStatus> current_ GUARDED_BY(mu_);
  std::optional<RepairPassStatus> last_ GUARDED_BY(mu_);
};

}  // namespace ringkv::node
