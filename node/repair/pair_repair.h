// RepairPair: one anti-entropy exchange between this node and one peer
// (docs/replication.md, "Anti-entropy"). It compares the digests of the keys
// both replicate, lists the keys of the buckets that differ on both sides,
// then pushes the entries this node holds newer (or alone) and pulls the
// ones the peer holds newer (or alone). Both sides install keep-newer,
// tombstones included, so an exchange never loses a write and repeating it
// is harmless.
//
// The peer is an interface (RepairPeer) so the exchange is tested against a
// second engine, without a network; the node's implementation
// (node/repair_client.h) speaks ringkv.v1.Peer and the peer links.
//
// Thread safety: RepairPair runs on the caller's thread; it reads and
// installs through the engine, which allows concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/function_ref.h"
#include "base/hlc.h"
#include "base/status.h"
#include "node/repair/digest.h"
#include "node/replication/replica_entry.h"
#include "store/engine.h"

namespace ringkv::node {

class ScanPacer;

// The far side of an exchange: one peer, for the pair (this node, it).
class RepairPeer {
 public:
  virtual ~RepairPeer() = default;

  // The peer's digests of the pair at `bits` and the pair's keys it holds.
  // FailedPrecondition when the peer holds another map epoch (its shared
  // keys could differ).
  virtual StatusOr<PairDigests> Digests(uint32_t bits) = 0;
  // The peer's key list of the pair in `buckets` (among 2^bits), sorted by key.
  virtual StatusOr<std::vector<KeyVersion>> Keys(uint32_t bits,
                                                 std::span<const uint32_t> buckets) = 0;
  // Installs each entry keep-newer on the peer; returns how many it kept.
  virtual StatusOr<uint64_t> Push(
      std::span<const std::pair<std::string, ReplicaEntry>> entries) = 0;
  // The peer's entry or tombstone of each key, nullopt where it has none.
  virtual StatusOr<std::vector<std::optional<ReplicaEntry>>> Pull(
      std::span<const std::string> keys) = 0;
  // Bytes sent to and received from the peer so far.
  virtual uint64_t bytes() const = 0;
};

struct PairRepairOptions {
  size_t buckets_per_call = 64;  // differing buckets listed per Keys call, at most
  size_t keys_per_call = 8192;   // fewer buckets per call when they hold more keys than this
  size_t batch_keys = 256;       // entries per Push or Pull
};

// What one exchange did, so far or in all.
struct PairRepairResult {
  uint32_t bits = 0;         // bucket bits of the comparison
  uint64_t shared_keys = 0;  // keys of the pair this node holds
  uint64_t buckets_compared = 0;
  uint64_t buckets_differing = 0;
  uint64_t keys_pushed = 0;  // entries the peer kept (they were newer than its own)
  uint64_t keys_pulled = 0;  // entries installed here
  uint64_t bytes = 0;        // exchanged with the peer
};

struct PairRepairContext {
  store::Engine& engine;
  HybridClock& hlc;
  const Clock& clock;
  const ReplicaSet& replicas;
  uint32_t peer = 0;            // ring index
  ScanPacer* scan = nullptr;    // paces the bucket scans; null: unpaced
  ScanPacer* repair = nullptr;  // paces the keys pushed and pulled; null: unpaced
  PairRepairOptions options;
};

// Runs one exchange. `mine` holds this node's digests of the pair
// (ScanDigests) at the bits BucketBitsFor gives for the keys this node
// holds, or more; fewer work too, at the cost of a second scan. `progress` is called after each
// step with the counts so far. Errors: the peer's calls and the engine's; what was repaired before
// an error stays repaired.
StatusOr<PairRepairResult> RepairPair(const PairRepairContext& ctx, const PairDigests& mine,
                                      RepairPeer& peer,
                                      FunctionRef<void(const PairRepairResult&)> progress);

}  // namespace ringkv::node
