// Baseline ring layouts the benchmark compares ringkv's Ring against. They are
// deliberately the straightforward designs: not for production use.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "ring/ring.h"

namespace ringkv::bench {

// twemproxy-style continuum: a sorted array of {point, server index} pairs and
// a binary search per lookup.
class Continuum {
 public:
  explicit Continuum(const ring::Ring& ring) {
    for (const auto& v : ring.vnodes()) points_.push_back({v.point, v.owner});
  }
  uint32_t Owner(uint64_t pos) const {
    auto it = std::lower_bound(points_.begin(), points_.end(), pos,
                               [](const Point& p, uint64_t x) { return p.value < x; });
    return it == points_.end() ? points_.front().index : it->index;
  }

 private:
  struct Point {
    uint64_t value;
    uint32_t index;
  };
  std::vector<Point> points_;
};

// A std::map from point to node index, as simple rings are often built.
class MapRing {
 public:
  explicit MapRing(const ring::Ring& ring) {
    for (const auto& v : ring.vnodes()) map_.emplace(v.point, v.owner);
  }
  uint32_t Owner(uint64_t pos) const {
    auto it = map_.lower_bound(pos);
    return it == map_.end() ? map_.begin()->second : it->second;
  }

 private:
  std::map<uint64_t, uint32_t> map_;
};

}  // namespace ringkv::bench
