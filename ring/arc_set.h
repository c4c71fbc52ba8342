// ArcSet: a union of ring arcs, flattened into sorted disjoint closed
// intervals so membership is a binary search instead of a scan over every
// arc (a diff after adding a node with 160 vnodes has hundreds of arcs).
//
// Thread safety: immutable after construction; const methods are safe to
// call concurrently.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "ring/diff.h"

namespace ringkv::ring {

class ArcSet {
 public:
  struct Span {
    uint64_t first;  // inclusive
    uint64_t last;   // inclusive
    auto operator<=>(const Span&) const = default;
  };

  explicit ArcSet(std::span<const ring::Arc> arcs) {
    for (const ring::Arc& a : arcs) Add(a);
    std::sort(spans_.begin(), spans_.end());
    Merge();
  }

  // Same answer as "some arc in the set Contains(x)".
  bool Contains(uint64_t x) const {
    // The last interval that starts at or before x.
    auto it = std::upper_bound(spans_.begin(), spans_.end(), Span{x, UINT64_MAX});
    return it != spans_.begin() && x <= std::prev(it)->last;
  }

  // The set as sorted, disjoint, non-adjacent closed intervals.
  std::span<const Span> spans() const { return spans_; }

 private:
  // An arc (lo, hi] is the closed interval [lo + 1, hi]; a wrapping one is
  // [lo + 1, max] plus [0, hi]; lo == hi is the whole ring.
  void Add(const ring::Arc& a) {
    if (a.lo == a.hi) {
      spans_.push_back({0, UINT64_MAX});
    } else if (a.lo < a.hi) {
      spans_.push_back({a.lo + 1, a.hi});
    } else {
      if (a.lo != UINT64_MAX) spans_.push_back({a.lo + 1, UINT64_MAX});
      spans_.push_back({0, a.hi});
    }
  }

  void Merge() {
    std::vector<Span> merged;
    for (const Span& s : spans_) {
      bool touches = !merged.empty() &&
                     (merged.back().last == UINT64_MAX || s.first <= merged.back().last + 1);
      if (touches) {
        merged.back().last = std::max(merged.back().last, s.last);
      } else {
        merged.push_back(s);
      }
    }
    spans_ = std::move(merged);
  }

  std::vector<Span> spans_;
};

}  // namespace ringkv::ring
