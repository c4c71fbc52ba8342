// Diff: the arcs of the ring whose owner changes between two rings.
// ReplicaDiff: the arcs whose preference list (replicas, Ring::Owners)
// changes, between two rings and/or two replication factors.
//
// Diff is what a migration executes and what /remove-node answers. An arc
// {lo, hi} holds the positions x with lo < x <= hi; when lo >= hi it wraps
// around 0 (x > lo || x <= hi), and lo == hi is the whole ring.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ring/ring.h"

namespace ringkv::ring {

// Whether arc {lo, hi} holds x (see above).
inline bool ArcContains(uint64_t lo, uint64_t hi, uint64_t x) {
  return lo < hi ? (lo < x && x <= hi) : (x > lo || x <= hi);
}

struct Arc {
  uint64_t lo = 0;
  uint64_t hi = 0;
  std::string from;  // owner in the old ring
  std::string to;    // owner in the new ring

  bool wraps() const { return lo >= hi; }
  bool Contains(uint64_t x) const { return ArcContains(lo, hi, x); }
  // Number of positions in the arc; the whole ring reports 2^64 - 1.
  uint64_t Length() const { return lo == hi ? UINT64_MAX : hi - lo; }
  bool operator==(const Arc&) const = default;
};

// An arc whose preference list changes, and what the change asks of nodes.
struct ReplicaArc {
  uint64_t lo = 0;
  uint64_t hi = 0;
  std::vector<std::string> before;  // preference list in the old ring, owner first
  std::vector<std::string> after;   // preference list in the new ring, owner first
  // In `after` but not `before`, in `after` order: each must receive a copy
  // of the arc's keys.
  std::vector<std::string> gained;
  // In `before` but not `after`, in `before` order: each may drop the arc's
  // keys once the change is complete.
  std::vector<std::string> lost;

  bool wraps() const { return lo >= hi; }
  bool Contains(uint64_t x) const { return ArcContains(lo, hi, x); }
  uint64_t Length() const { return lo == hi ? UINT64_MAX : hi - lo; }
  bool operator==(const ReplicaArc&) const = default;
};

// Maximal arcs whose owner differs between `before` and `after`, in clockwise
// order starting after position 0; adjacent arcs with the same from/to are
// merged. Empty when either ring is empty (nothing held, or nowhere to go).
std::vector<Arc> Diff(const Ring& before, const Ring& after);

// Maximal arcs whose preference list of n_before nodes in `before` differs
// from that of n_after nodes in `after` (as ordered lists, so a new primary
// among the same nodes counts), in Diff's order, adjacent arcs with the same
// lists merged. Lists hold min(n, ring size) nodes. With n_before ==
// n_after == 1 the arcs are exactly Diff's, with from/to as one-node lists.
// Empty when either ring is empty. Costs one Owners() per vnode of either
// ring, so n is meant to be a replication factor (<= kMaxReplication).
std::vector<ReplicaArc> ReplicaDiff(const Ring& before, uint32_t n_before, const Ring& after,
                                    uint32_t n_after);
// The same replication factor on both sides.
inline std::vector<ReplicaArc> ReplicaDiff(const Ring& before, const Ring& after, uint32_t n) {
  return ReplicaDiff(before, n, after, n);
}

// The consistent_hashing_server's transfer shape: move the keys in (min, max] from source to
// destination; exception = the range wraps around 0.
struct Transfer {
  std::string source;
  std::string destination;
  uint64_t min = 0;
  uint64_t max = 0;
  bool exception = false;

  bool InRange(uint64_t x) const { return exception ? (x <= max || x > min) : (min < x && x <= max); }
};

std::vector<Transfer> ToTransfers(const std::vector<Arc>& arcs);

}  // namespace ringkv::ring
