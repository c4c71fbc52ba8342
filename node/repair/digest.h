// Anti-entropy digests (docs/replication.md, "Anti-entropy"): how two
// replicas find the keys they disagree on without sending every key.
//
// For a pair of nodes (self, peer) the *shared keys* are those whose
// preference list of `replication` nodes holds both. They fall into 2^bits
// buckets by the top `bits` bits of their ring position. A bucket's digest
// is the sum (mod 2^64) of the fingerprints of its entries, so it does not
// depend on the order of a scan: one scan of the store yields the digests of
// every peer at once, and digests at fewer bits are sums of adjacent buckets
// (Fold). A fingerprint covers the key, the version, the tombstone flag, the
// value and the expiry, so two replicas whose entries are equal have equal
// digests; an expired entry counts as absent (the engine's walks skip it).
//
// Buckets that differ are settled key by key: each side lists the (key,
// version, tombstone, fingerprint) of its shared keys in those buckets, and
// DiffKeys says which entries to push to the peer and which to pull from it
// (the newer one wins on each side, docs/replication.md "Versions").
//
// Thread safety: pure functions and value types; the scans read the engine,
// which allows concurrent use.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ring/diff.h"
#include "ring/ring.h"
#include "store/engine.h"

namespace ringkv::node {

class ScanPacer;

// The finest buckets a digest uses (2^16 = 65536, 512 KiB per peer).
inline constexpr uint32_t kMaxBucketBits = 16;
// BucketBitsFor aims at about this many shared keys per bucket.
inline constexpr uint64_t kKeysPerBucket = 256;

// A stable 64-bit fingerprint of one key's entry or tombstone.
uint64_t Fingerprint(std::string_view key, const store::VersionedEntry& e);

// The bucket of ring position `pos` among 2^bits; bits in [0, 64).
inline uint32_t BucketOf(uint64_t pos, uint32_t bits) {
  return bits == 0 ? 0 : static_cast<uint32_t>(pos >> (64 - bits));
}
// The arc (lo, hi] of ring positions of `bucket` among 2^bits, bits in [1, 32].
ring::Arc BucketArc(uint32_t bucket, uint32_t bits);
// Bucket bits for a pair sharing `keys` keys: about kKeysPerBucket keys per
// bucket, at least 4 and at most kMaxBucketBits bits.
uint32_t BucketBitsFor(uint64_t keys);

// Digests at `from_bits` (digests.size() == 2^from_bits) folded to
// `to_bits` <= from_bits.
std::vector<uint64_t> Fold(std::span<const uint64_t> digests, uint32_t to_bits);
// The indices at which `a` and `b` differ; every index when their sizes differ.
std::vector<uint32_t> DifferingBuckets(std::span<const uint64_t> a, std::span<const uint64_t> b);

// Who replicates what: the ring, this node's index in it and the
// replication factor of the map.
struct ReplicaSet {
  const ring::Ring& ring;
  uint32_t self = 0;
  uint32_t replication = 1;

  // Whether both `self` and `peer` are on the preference list of `pos`.
  bool Shared(uint64_t pos, uint32_t peer) const;
  // The nodes that share some keys with `self`, by ring index; with
  // `greater_only` those whose id is greater than self's (so that, when
  // every node compares with those, each pair is compared once).
  std::vector<uint32_t> Peers(bool greater_only) const;
};

// One peer's digests, as this node's store holds the shared keys.
struct PairDigests {
  uint32_t peer = 0;           // ring index
  uint64_t keys = 0;           // shared keys seen
  std::vector<uint64_t> sums;  // 2^bits bucket digests
};

// Adds entries to the digests of several peers; the body of a scan.
class DigestBuilder {
 public:
  DigestBuilder(const ReplicaSet& replicas, std::span<const uint32_t> peers, uint32_t bits);

  void Add(std::string_view key, const store::VersionedEntry& e);
  std::vector<PairDigests> Take() { return std::move(digests_); }

 private:
  const ReplicaSet& replicas_;
  const uint32_t bits_;
  std::vector<PairDigests> digests_;
  std::vector<int32_t> slot_of_;  // ring index -> index into digests_, -1 = not asked for
};

// One scan of `engine`: the digests of every peer in `peers` at `bits`.
// `pacer` (may be null) paces the scan. Errors: the engine's.
StatusOr<std::vector<PairDigests>> ScanDigests(store::Engine& engine, const ReplicaSet& replicas,
                                               std::span<const uint32_t> peers, uint32_t bits,
                                               int64_t now_ms, ScanPacer* pacer);

// What one side holds of one shared key, as the key lists carry it.
struct KeyVersion {
  std::string key;
  uint64_t version = 0;
  bool tombstone = false;
  uint64_t fingerprint = 0;

  bool operator==(const KeyVersion&) const = default;
};

// The shared keys of (self, peer) in `buckets` (among 2^bits), sorted by key.
StatusOr<std::vector<KeyVersion>> ScanBucketKeys(store::Engine& engine, const ReplicaSet& replicas,
                                                 uint32_t peer, uint32_t bits,
                                                 std::span<const uint32_t> buckets, int64_t now_ms,
                                                 ScanPacer* pacer);

// Which keys to send and which to fetch.
struct KeyDiff {
  std::vector<std::string> push;  // this side's entry is newer, or the peer has none
  std::vector<std::string> pull;  // the peer's entry is newer, or this side has none
};
// Compares two key lists sorted by key. Equal versions with different
// fingerprints (two nodes drew one timestamp) go both ways: each side's
// keep-newer install settles them alike (store::Supersedes).
KeyDiff DiffKeys(std::span<const KeyVersion> mine, std::span<const KeyVersion> theirs);

}  // namespace ringkv::node
