#include "ring/diff.h"

#include <algorithm>

namespace ringkv::ring {

namespace {

// Sorted distinct vnode points of both rings.
std::vector<uint64_t> UnionOfPoints(const Ring& a, const Ring& b) {
  std::vector<uint64_t> out;
  out.reserve(a.vnodes().size() + b.vnodes().size());
  for (const Ring::Vnode& v : a.vnodes()) out.push_back(v.point);
  std::vector<uint64_t> tmp;
  tmp.reserve(b.vnodes().size());
  for (const Ring::Vnode& v : b.vnodes()) tmp.push_back(v.point);
  size_t mid = out.size();
  out.insert(out.end(), tmp.begin(), tmp.end());
  std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(mid), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<Arc> Diff(const Ring& before, const Ring& after) {
  std::vector<Arc> arcs;
  if (before.empty() || after.empty()) return arcs;
  // Between consecutive points of the union neither ring has a vnode, so each
  // elementary interval (u[k-1], u[k]] has one owner in each ring: the owner
  // of u[k]. Interval 0 is (u[m-1], u[0]], which wraps.
  std::vector<uint64_t> u = UnionOfPoints(before, after);
  const size_t m = u.size();
  for (size_t k = 0; k < m; ++k) {
    uint32_t from = before.OwnerIndex(u[k]);
    uint32_t to = after.OwnerIndex(u[k]);
    const std::string& from_id = before.nodes()[from].id;
    const std::string& to_id = after.nodes()[to].id;
    if (from_id == to_id) continue;
    uint64_t lo = u[k == 0 ? m - 1 : k - 1];
    if (!arcs.empty() && arcs.back().hi == lo && arcs.back().from == from_id &&
        arcs.back().to == to_id) {
      arcs.back().hi = u[k];
    } else {
      arcs.push_back({lo, u[k], from_id, to_id});
    }
  }
  // The first arc may continue the last one across the wrap point.
  if (arcs.size() > 1 && arcs.back().hi == u[m - 1] && arcs.front().lo == u[m - 1] &&
      arcs.front().from == arcs.back().from && arcs.front().to == arcs.back().to) {
    arcs.front().lo = arcs.back().lo;
    arcs.pop_back();
  }
  return arcs;
}

std::vector<Transfer> ToTransfers(const std::vector<Arc>& arcs) {
  std::vector<Transfer> out;
  out.reserve(arcs.size());
  for (const Arc& a : arcs) out.push_back({a.from, a.to, a.lo, a.hi, a.wraps()});
  return out;
}

}  // namespace ringkv::ring
