// Diff: the arcs of the ring whose owner changes between two rings.
//
// This is what a migration executes and what /remove-node answers. An arc
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

struct Arc {
  uint64_t lo = 0;
  uint64_t hi = 0;
  std::string from;  // owner in the old ring
  std::string to;    // owner in the new ring

  bool wraps() const { return lo >= hi; }
  bool Contains(uint64_t x) const { return lo < hi ? (lo < x && x <= hi) : (x > lo || x <= hi); }
  // Number of positions in the arc; the whole ring reports 2^64 - 1.
  uint64_t Length() const { return lo == hi ? UINT64_MAX : hi - lo; }
  bool operator==(const Arc&) const = default;
};

// Maximal arcs whose owner differs between `before` and `after`, in clockwise
// order starting after position 0; adjacent arcs with the same from/to are
// merged. Empty when either ring is empty (nothing held, or nowhere to go).
std::vector<Arc> Diff(const Ring& before, const Ring& after);

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
