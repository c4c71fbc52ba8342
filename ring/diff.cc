#include "ring/diff.h"

#include <algorithm>
#include <optional>
#include <span>
#include <utility>

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

struct Bounds {
  uint64_t lo;
  uint64_t hi;
};

// Between consecutive points of the union neither ring has a vnode, so on
// each elementary interval (u[k-1], u[k]] both rings walk from the same
// vnodes as from u[k]: whatever a ring assigns there is what it assigns to
// u[k]. Interval 0 is (u[m-1], u[0]], which wraps. `label_at(u[k])` says
// how the interval changes, nullopt if it does not; returns the maximal runs
// of intervals with equal labels, in clockwise order after position 0.
template <typename Label, typename LabelAt>
std::vector<std::pair<Bounds, Label>> ChangedArcs(std::span<const uint64_t> u, LabelAt label_at) {
  std::vector<std::pair<Bounds, Label>> arcs;
  const size_t m = u.size();
  for (size_t k = 0; k < m; ++k) {
    std::optional<Label> label = label_at(u[k]);
    if (!label) continue;
    const uint64_t lo = u[k == 0 ? m - 1 : k - 1];
    if (!arcs.empty() && arcs.back().first.hi == lo && arcs.back().second == *label) {
      arcs.back().first.hi = u[k];
    } else {
      arcs.emplace_back(Bounds{lo, u[k]}, std::move(*label));
    }
  }
  // The first arc may continue the last one across the wrap point.
  if (arcs.size() > 1 && arcs.back().first.hi == u[m - 1] && arcs.front().first.lo == u[m - 1] &&
      arcs.front().second == arcs.back().second) {
    arcs.front().first.lo = arcs.back().first.lo;
    arcs.pop_back();
  }
  return arcs;
}

// A node's identity on both sides of a ReplicaDiff: its index in `after`, or
// after.size() + its index in `before` when only `before` has it.
class CommonIds {
 public:
  CommonIds(const Ring& before, const Ring& after) : before_(before), after_(after) {
    of_before_.reserve(before.size());
    for (uint32_t i = 0; i < before.size(); ++i) {
      const uint32_t j = after.IndexOf(before.nodes()[i].id);
      of_before_.push_back(j != kNoNode ? j : static_cast<uint32_t>(after.size()) + i);
    }
  }
  uint32_t OfBefore(uint32_t index) const { return of_before_[index]; }
  const std::string& Name(uint32_t common) const {
    return common < after_.size() ? after_.nodes()[common].id
                                  : before_.nodes()[common - after_.size()].id;
  }

 private:
  const Ring& before_;
  const Ring& after_;
  std::vector<uint32_t> of_before_;
};

using ListPair = std::pair<std::vector<uint32_t>, std::vector<uint32_t>>;  // before, after

ReplicaArc Named(Bounds bounds, const ListPair& lists, const CommonIds& ids) {
  const auto& [before, after] = lists;
  const auto in = [](const std::vector<uint32_t>& list, uint32_t id) {
    return std::find(list.begin(), list.end(), id) != list.end();
  };
  ReplicaArc arc{.lo = bounds.lo, .hi = bounds.hi};
  for (uint32_t id : before) {
    arc.before.push_back(ids.Name(id));
    if (!in(after, id)) arc.lost.push_back(ids.Name(id));
  }
  for (uint32_t id : after) {
    arc.after.push_back(ids.Name(id));
    if (!in(before, id)) arc.gained.push_back(ids.Name(id));
  }
  return arc;
}

}  // namespace

std::vector<Arc> Diff(const Ring& before, const Ring& after) {
  std::vector<Arc> arcs;
  if (before.empty() || after.empty()) return arcs;
  using Owners = std::pair<const std::string*, const std::string*>;  // from, to
  const auto owners_at = [&](uint64_t point) -> std::optional<Owners> {
    const std::string& from = before.Owner(point);
    const std::string& to = after.Owner(point);
    if (from == to) return std::nullopt;
    return Owners{&from, &to};
  };
  for (const auto& [b, owners] : ChangedArcs<Owners>(UnionOfPoints(before, after), owners_at)) {
    arcs.push_back({b.lo, b.hi, *owners.first, *owners.second});
  }
  return arcs;
}

std::vector<ReplicaArc> ReplicaDiff(const Ring& before, uint32_t n_before, const Ring& after,
                                    uint32_t n_after) {
  std::vector<ReplicaArc> arcs;
  if (before.empty() || after.empty()) return arcs;
  const CommonIds ids(before, after);
  std::vector<uint32_t> old_list(std::min<size_t>(n_before, before.size()));
  std::vector<uint32_t> new_list(std::min<size_t>(n_after, after.size()));
  const auto lists_at = [&](uint64_t point) -> std::optional<ListPair> {
    before.Owners(point, old_list);
    for (uint32_t& id : old_list) id = ids.OfBefore(id);
    after.Owners(point, new_list);
    if (old_list == new_list) return std::nullopt;
    return ListPair{old_list, new_list};
  };
  for (const auto& [b, lists] : ChangedArcs<ListPair>(UnionOfPoints(before, after), lists_at)) {
    arcs.push_back(Named(b, lists, ids));
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
