#include "node/repair/digest.h"

#include <algorithm>
#include <bit>

#include "node/repair/scan_pacer.h"
#include "ring/hash.h"

namespace ringkv::node {
namespace {

// splitmix64's finalizer: spreads a combination of fields over all 64 bits,
// so sums of fingerprints do not cancel by accident.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr uint64_t kTombstoneSalt = 0x9e3779b97f4a7c15ull;

}  // namespace

uint64_t Fingerprint(std::string_view key, const store::VersionedEntry& e) {
  uint64_t h = XXH3_64bits_withSeed(key.data(), key.size(), e.entry.version);
  if (e.tombstone) return Mix(h ^ kTombstoneSalt);
  const std::string& v = e.entry.value;
  h ^= Mix(XXH3_64bits_withSeed(v.data(), v.size(), static_cast<uint64_t>(e.entry.expire_at_ms)));
  return Mix(h);
}

ring::Arc BucketArc(uint32_t bucket, uint32_t bits) {
  const uint32_t shift = 64 - bits;
  const uint64_t first = uint64_t{bucket} << shift;
  const uint64_t last = first + ((uint64_t{1} << shift) - 1);
  // (first - 1, last]; for bucket 0 the arc wraps: (2^64 - 1, last].
  return ring::Arc{.lo = first - 1, .hi = last};
}

uint32_t BucketBitsFor(uint64_t keys) {
  const uint64_t buckets = std::max<uint64_t>(keys / kKeysPerBucket, 1);
  const auto bits = static_cast<uint32_t>(std::bit_width(buckets - 1));  // ceil(log2)
  return std::clamp<uint32_t>(bits, 4, kMaxBucketBits);
}

std::vector<uint64_t> Fold(std::span<const uint64_t> digests, uint32_t to_bits) {
  std::vector<uint64_t> out(size_t{1} << to_bits, 0);
  const size_t per = digests.size() / out.size();
  if (per == 0) return out;
  for (size_t i = 0; i < digests.size(); ++i) out[i / per] += digests[i];
  return out;
}

std::vector<uint32_t> DifferingBuckets(std::span<const uint64_t> a, std::span<const uint64_t> b) {
  std::vector<uint32_t> out;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.size() != b.size() || a[i] != b[i]) out.push_back(static_cast<uint32_t>(i));
  }
  return out;
}

bool ReplicaSet::Shared(uint64_t pos, uint32_t peer) const {
  std::array<uint32_t, ring::kMaxReplication> list{};
  const uint32_t n =
      ring.Owners(pos, std::span(list).first(std::min(replication, ring::kMaxReplication)));
  bool has_self = false, has_peer = false;
  for (uint32_t i = 0; i < n; ++i) {
    has_self |= list[i] == self;
    has_peer |= list[i] == peer;
  }
  return has_self && has_peer;
}

std::vector<uint32_t> ReplicaSet::Peers(bool greater_only) const {
  std::vector<uint32_t> out;
  if (replication < 2 || self >= ring.size()) return out;
  std::vector<uint8_t> shares(ring.size(), 0);
  std::array<uint32_t, ring::kMaxReplication> list{};
  const uint32_t n = std::min(replication, ring::kMaxReplication);
  for (const ring::Ring::Vnode& v : ring.vnodes()) {
    const uint32_t got = ring.Owners(v.point, std::span(list).first(n));
    if (std::find(list.begin(), list.begin() + got, self) == list.begin() + got) continue;
    for (uint32_t i = 0; i < got; ++i) shares[list[i]] = 1;
  }
  const std::string& self_id = ring.nodes()[self].id;
  for (uint32_t i = 0; i < ring.size(); ++i) {
    if (i == self || !shares[i]) continue;
    if (greater_only && ring.nodes()[i].id < self_id) continue;
    out.push_back(i);
  }
  return out;
}

DigestBuilder::DigestBuilder(const ReplicaSet& replicas, std::span<const uint32_t> peers,
                             uint32_t bits)
    : replicas_(replicas), bits_(bits), slot_of_(replicas.ring.size(), -1) {
  for (uint32_t p : peers) {
    if (p >= slot_of_.size() || p == replicas.self || slot_of_[p] >= 0) continue;
    slot_of_[p] = static_cast<int32_t>(digests_.size());
    digests_.push_back(
        PairDigests{.peer = p, .keys = 0, .sums = std::vector<uint64_t>(size_t{1} << bits)});
  }
}

void DigestBuilder::Add(std::string_view key, const store::VersionedEntry& e) {
  const uint64_t pos = replicas_.ring.KeyPosition(key);
  std::array<uint32_t, ring::kMaxReplication> list{};
  const uint32_t n = replicas_.ring.Owners(
      pos, std::span(list).first(std::min(replicas_.replication, ring::kMaxReplication)));
  if (std::find(list.begin(), list.begin() + n, replicas_.self) == list.begin() + n) return;
  const uint64_t fp = Fingerprint(key, e);
  const uint32_t bucket = BucketOf(pos, bits_);
  for (uint32_t i = 0; i < n; ++i) {
    const int32_t slot = slot_of_[list[i]];
    if (slot < 0) continue;
    PairDigests& d = digests_[static_cast<size_t>(slot)];
    d.sums[bucket] += fp;
    ++d.keys;
  }
}

StatusOr<std::vector<PairDigests>> ScanDigests(store::Engine& engine, const ReplicaSet& replicas,
                                               std::span<const uint32_t> peers, uint32_t bits,
                                               int64_t now_ms, ScanPacer* pacer) {
  DigestBuilder builder(replicas, peers, bits);
  const ring::Arc whole{.lo = 0, .hi = 0};
  Status s =
      engine.ForEachVersionedInArcs(std::span(&whole, 1), replicas.ring.options().hash, now_ms,
                                    [&](std::string_view key, const store::VersionedEntry& e) {
                                      builder.Add(key, e);
                                      if (pacer != nullptr) pacer->Tick();
                                      return true;
                                    });
  if (!s.ok()) return s;
  return builder.Take();
}

StatusOr<std::vector<KeyVersion>> ScanBucketKeys(store::Engine& engine, const ReplicaSet& replicas,
                                                 uint32_t peer, uint32_t bits,
                                                 std::span<const uint32_t> buckets, int64_t now_ms,
                                                 ScanPacer* pacer) {
  std::vector<ring::Arc> arcs;
  arcs.reserve(buckets.size());
  for (uint32_t b : buckets) arcs.push_back(BucketArc(b, bits));
  std::vector<KeyVersion> out;
  Status s =
      engine.ForEachVersionedInArcs(arcs, replicas.ring.options().hash, now_ms,
                                    [&](std::string_view key, const store::VersionedEntry& e) {
                                      if (pacer != nullptr) pacer->Tick();
                                      if (!replicas.Shared(replicas.ring.KeyPosition(key), peer))
                                        return true;
                                      out.push_back(KeyVersion{.key = std::string(key),
                                                               .version = e.entry.version,
                                                               .tombstone = e.tombstone,
                                                               .fingerprint = Fingerprint(key, e)});
                                      return true;
                                    });
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(),
            [](const KeyVersion& a, const KeyVersion& b) { return a.key < b.key; });
  return out;
}

KeyDiff DiffKeys(std::span<const KeyVersion> mine, std::span<const KeyVersion> theirs) {
  KeyDiff d;
  size_t i = 0, j = 0;
  while (i < mine.size() || j < theirs.size()) {
    if (j == theirs.size() || (i < mine.size() && mine[i].key < theirs[j].key)) {
      d.push.push_back(mine[i++].key);
    } else if (i == mine.size() || theirs[j].key < mine[i].key) {
      d.pull.push_back(theirs[j++].key);
    } else {
      const KeyVersion& a = mine[i++];
      const KeyVersion& b = theirs[j++];
      if (a.version > b.version) {
        d.push.push_back(a.key);
      } else if (a.version < b.version) {
        d.pull.push_back(a.key);
      } else if (a.fingerprint != b.fingerprint) {
        d.push.push_back(a.key);
        d.pull.push_back(a.key);
      }
    }
  }
  return d;
}

}  // namespace ringkv::node
