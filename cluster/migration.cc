#include "cluster/migration.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <utility>

#include "ring/balance.h"

namespace ringkv::cluster {
namespace {

using Json = nlohmann::ordered_json;

constexpr double kRingSize = 18446744073709551616.0;  // 2^64

const std::pair<MigrationState, std::string_view> kStateNames[] = {
    {MigrationState::kPlanned, "planned"},     {MigrationState::kCopying, "copying"},
    {MigrationState::kSwitching, "switching"}, {MigrationState::kCleaning, "cleaning"},
    {MigrationState::kDone, "done"},           {MigrationState::kCancelling, "cancelling"},
    {MigrationState::kCancelled, "cancelled"},
};

const std::pair<MigrationKind, std::string_view> kKindNames[] = {
    {MigrationKind::kAdd, "add"},
    {MigrationKind::kRemove, "remove"},
    {MigrationKind::kWeight, "weight"},
    {MigrationKind::kVnodes, "vnodes"},
    {MigrationKind::kReturn, "return"},
    {MigrationKind::kReplication, "replication"},
};

const NodeInfo* FindNode(const ClusterMap& map, const std::string& id) {
  std::optional<size_t> i = map.Find(id);
  return i ? &map.nodes[*i] : nullptr;
}

// The fraction of the ring each node of `ring` owns, by id.
std::map<std::string, double> Shares(const ring::Ring& ring) {
  std::map<std::string, double> out;
  if (ring.empty()) return out;
  ring::Balance b = ring::BalanceFromArcs(ring);
  for (size_t i = 0; i < ring.nodes().size(); ++i) out[ring.nodes()[i].id] = b.share[i];
  return out;
}

void AddArc(std::vector<MigrationPair>& pairs, const ring::Arc& arc, const ClusterMap& from,
            const ClusterMap& to) {
  auto it = std::find_if(pairs.begin(), pairs.end(), [&](const MigrationPair& p) {
    return p.source == arc.from && p.target == arc.to;
  });
  if (it == pairs.end()) {
    MigrationPair p;
    p.source = arc.from;
    p.target = arc.to;
    if (const NodeInfo* n = FindNode(from, arc.from)) p.source_grpc = n->grpc_addr;
    if (const NodeInfo* n = FindNode(to, arc.to)) p.target_grpc = n->grpc_addr;
    pairs.push_back(std::move(p));
    it = pairs.end() - 1;
  }
  it->arcs.push_back({arc.lo, arc.hi, arc.from, arc.to});
}

// The fraction of the ring each node of `ring` holds a replica of, with
// `n` replicas per position, by id.
std::map<std::string, double> ReplicaShares(const ring::Ring& ring, uint32_t n) {
  std::map<std::string, double> out;
  std::span<const ring::Ring::Vnode> vnodes = ring.vnodes();
  std::array<uint32_t, ring::kMaxReplication> owners{};
  for (size_t i = 0; i < vnodes.size(); ++i) {
    const uint64_t lo = vnodes[i == 0 ? vnodes.size() - 1 : i - 1].point;
    const uint64_t len = vnodes.size() == 1 ? UINT64_MAX : vnodes[i].point - lo;
    const uint32_t count = ring.Owners(vnodes[i].point, std::span(owners).first(n));
    for (uint32_t k = 0; k < count; ++k) {
      out[ring.nodes()[owners[k]].id] += static_cast<double>(len) / kRingSize;
    }
  }
  return out;
}

MigrationSource& SourceFor(Migration& m, const std::string& id,
                           const std::map<std::string, double>& owned) {
  auto it = std::find_if(m.sources.begin(), m.sources.end(),
                         [&](const MigrationSource& s) { return s.id == id; });
  if (it != m.sources.end()) return *it;
  auto share = owned.find(id);
  m.sources.push_back({.id = id, .owned_share = share == owned.end() ? 0 : share->second});
  return m.sources.back();
}

// Replica sets move (docs/replication.md, "Moves"): every node an arc gains
// copies it from every old replica of the arc that is not down. A write
// acknowledged by W replicas is on at least one of any N - W + 1 of them,
// and keep-newer installs make the duplicates harmless.
Status PlanReplicaArcs(Migration& m, const ring::Ring& before, const ring::Ring& after) {
  const uint32_t n_before = std::min<uint32_t>(m.from_map.replication, ring::kMaxReplication);
  const uint32_t n_after = std::min<uint32_t>(m.to_map.replication, ring::kMaxReplication);
  const std::map<std::string, double> owned = ReplicaShares(before, std::max(n_before, 1u));
  for (const ring::ReplicaArc& arc : ring::ReplicaDiff(before, n_before, after, n_after)) {
    // A write acknowledged by W of the old set may be on W - |lost| of the
    // kept nodes only: with as many gained nodes that is enough, with fewer
    // (a shrinking replication) the kept ones take a copy as well.
    const std::vector<std::string>& targets =
        arc.gained.size() < arc.lost.size() ? arc.after : arc.gained;
    if (targets.empty()) continue;
    std::vector<std::string> live;
    for (const std::string& id : arc.before) {
      const NodeInfo* n = FindNode(m.from_map, id);
      if (n != nullptr && n->state != NodeState::kDown) live.push_back(id);
    }
    if (live.empty()) {
      return FailedPrecondition("arc (" + std::to_string(arc.lo) + ", " + std::to_string(arc.hi) +
                                "] has no live replica in the old ring (all of its " +
                                std::to_string(arc.before.size()) +
                                " replicas are down); its keys cannot be copied");
    }
    for (const std::string& source : live) {
      double copies = 0;
      for (const std::string& target : targets) {
        if (target == source) continue;
        AddArc(m.pairs, ring::Arc{arc.lo, arc.hi, source, target}, m.from_map, m.to_map);
        ++copies;
      }
      SourceFor(m, source, owned).moving_share +=
          static_cast<double>(arc.Length()) * copies / kRingSize;
    }
  }
  return OkStatus();
}

Json MapObject(const ClusterMap& map) {
  return Json::parse(ToJson(map));
}

StatusOr<ClusterMap> MapFrom(const Json& j) {
  return ClusterMapFromJson(j.dump());
}

Json PairJson(const MigrationPair& p) {
  Json arcs = Json::array();
  for (const ring::Arc& a : p.arcs) arcs.push_back(Json::array({a.lo, a.hi}));
  return {{"source", p.source},           {"source_grpc", p.source_grpc}, {"target", p.target},
          {"target_grpc", p.target_grpc}, {"arcs", std::move(arcs)},      {"done", p.done}};
}

MigrationPair PairFrom(const Json& j) {
  MigrationPair p;
  p.source = j.at("source").get<std::string>();
  p.source_grpc = j.value("source_grpc", "");
  p.target = j.at("target").get<std::string>();
  p.target_grpc = j.value("target_grpc", "");
  for (const Json& a : j.at("arcs")) {
    p.arcs.push_back({a.at(0).get<uint64_t>(), a.at(1).get<uint64_t>(), p.source, p.target});
  }
  p.done = j.value("done", false);
  return p;
}

Json SourceJson(const MigrationSource& s) {
  return {{"id", s.id},
          {"moving_share", s.moving_share},
          {"owned_share", s.owned_share},
          {"keys_held", s.keys_held},
          {"keys_expected", s.KeysExpected()},
          {"keys_moved", s.keys_moved},
          {"bytes_moved", s.bytes_moved},
          {"done", s.done}};
}

MigrationSource SourceFrom(const Json& j) {
  MigrationSource s;
  s.id = j.at("id").get<std::string>();
  s.moving_share = j.value("moving_share", 0.0);
  s.owned_share = j.value("owned_share", 0.0);
  s.keys_held = j.value("keys_held", uint64_t{0});
  s.keys_moved = j.value("keys_moved", uint64_t{0});
  s.bytes_moved = j.value("bytes_moved", uint64_t{0});
  s.done = j.value("done", false);
  return s;
}

Json MigrationObject(const Migration& m) {
  Json pairs = Json::array();
  for (const MigrationPair& p : m.pairs) pairs.push_back(PairJson(p));
  Json sources = Json::array();
  for (const MigrationSource& s : m.sources) sources.push_back(SourceJson(s));
  return {{"id", m.id},
          {"kind", MigrationKindName(m.kind)},
          {"subject", m.subject},
          {"state", MigrationStateName(m.state)},
          {"paused", m.paused},
          {"arcs_total", m.ArcsTotal()},
          {"arcs_done", m.ArcsDone()},
          {"keys_expected", m.KeysExpected()},
          {"keys_moved", m.KeysMoved()},
          {"bytes_moved", m.BytesMoved()},
          {"max_keys_per_sec", m.max_keys_per_sec},
          {"max_bytes_per_sec", m.max_bytes_per_sec},
          {"grace_ms", m.grace_ms},
          {"created_ms", m.created_ms},
          {"finished_ms", m.finished_ms},
          {"clean_until_ms", m.clean_until_ms},
          {"copy_started_ms", m.copy_started_ms},
          {"copy_finished_ms", m.copy_finished_ms},
          {"last_error", m.last_error},
          {"pairs", std::move(pairs)},
          {"sources", std::move(sources)},
          {"from_map", MapObject(m.from_map)},
          {"to_map", MapObject(m.to_map)}};
}

StatusOr<Migration> MigrationFrom(const Json& j) {
  if (!j.is_object()) return InvalidArgument("migration: expected a JSON object");
  Migration m;
  m.id = j.at("id").get<std::string>();
  auto kind = ParseMigrationKind(j.at("kind").get<std::string>());
  if (!kind) return InvalidArgument("migration " + m.id + ": unknown kind");
  m.kind = *kind;
  m.subject = j.value("subject", "");
  auto state = ParseMigrationState(j.at("state").get<std::string>());
  if (!state) return InvalidArgument("migration " + m.id + ": unknown state");
  m.state = *state;
  m.paused = j.value("paused", false);
  for (const Json& p : j.at("pairs")) m.pairs.push_back(PairFrom(p));
  for (const Json& s : j.at("sources")) m.sources.push_back(SourceFrom(s));
  m.max_keys_per_sec = j.value("max_keys_per_sec", uint64_t{0});
  m.max_bytes_per_sec = j.value("max_bytes_per_sec", uint64_t{0});
  m.grace_ms = j.value("grace_ms", uint32_t{1000});
  m.created_ms = j.value("created_ms", int64_t{0});
  m.finished_ms = j.value("finished_ms", int64_t{0});
  m.clean_until_ms = j.value("clean_until_ms", int64_t{0});
  m.copy_started_ms = j.value("copy_started_ms", int64_t{0});
  m.copy_finished_ms = j.value("copy_finished_ms", int64_t{0});
  m.last_error = j.value("last_error", "");
  auto from = MapFrom(j.at("from_map"));
  if (!from.ok()) return from.status();
  m.from_map = *std::move(from);
  auto to = MapFrom(j.at("to_map"));
  if (!to.ok()) return to.status();
  m.to_map = *std::move(to);
  return m;
}

// Parses `text` and runs `decode`; JSON errors become kInvalidArgument.
template <typename T, typename F>
StatusOr<T> Decode(std::string_view text, const char* what, F decode) {
  try {
    return decode(Json::parse(text));
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string(what) + ": " + e.what());
  }
}

}  // namespace

std::string_view MigrationStateName(MigrationState s) {
  for (const auto& [state, name] : kStateNames) {
    if (state == s) return name;
  }
  return "unknown";
}

std::optional<MigrationState> ParseMigrationState(std::string_view s) {
  for (const auto& [state, name] : kStateNames) {
    if (name == s) return state;
  }
  return std::nullopt;
}

std::string_view MigrationKindName(MigrationKind k) {
  for (const auto& [kind, name] : kKindNames) {
    if (kind == k) return name;
  }
  return "unknown";
}

std::optional<MigrationKind> ParseMigrationKind(std::string_view s) {
  for (const auto& [kind, name] : kKindNames) {
    if (name == s) return kind;
  }
  return std::nullopt;
}

bool ReplicaMove(const ClusterMap& from, const ClusterMap& to) {
  return from.replication > 1 || to.replication > 1;
}

bool IsFinished(MigrationState s) {
  return s == MigrationState::kDone || s == MigrationState::kCancelled;
}

uint64_t MigrationSource::KeysExpected() const {
  if (owned_share <= 0) return 0;
  double f = std::clamp(moving_share / owned_share, 0.0, 1.0);
  return static_cast<uint64_t>(std::llround(static_cast<double>(keys_held) * f));
}

size_t Migration::ArcsTotal() const {
  size_t n = 0;
  for (const MigrationPair& p : pairs) n += p.arcs.size();
  return n;
}

size_t Migration::ArcsDone() const {
  size_t n = 0;
  for (const MigrationPair& p : pairs) n += p.done ? p.arcs.size() : 0;
  return n;
}

uint64_t Migration::KeysMoved() const {
  uint64_t n = 0;
  for (const MigrationSource& s : sources) n += s.keys_moved;
  return n;
}

uint64_t Migration::BytesMoved() const {
  uint64_t n = 0;
  for (const MigrationSource& s : sources) n += s.bytes_moved;
  return n;
}

uint64_t Migration::KeysExpected() const {
  uint64_t n = 0;
  for (const MigrationSource& s : sources) n += s.KeysExpected();
  return n;
}

std::vector<std::string> Migration::InvolvedNodes() const {
  std::vector<std::string> out;
  auto add = [&out](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  for (const MigrationPair& p : pairs) {
    add(p.source);
    add(p.target);
  }
  return out;
}

bool Migration::InvolvesRedis() const {
  for (const MigrationPair& p : pairs) {
    const NodeInfo* s = FindNode(from_map, p.source);
    const NodeInfo* t = FindNode(to_map, p.target);
    if ((s && s->kind == BackendKind::kRedis) || (t && t->kind == BackendKind::kRedis)) return true;
  }
  return false;
}

StatusOr<Migration> PlanMigration(const ClusterMap& from, const ClusterMap& to, MigrationKind kind,
                                  std::string id, std::string subject, int64_t now_ms) {
  auto before = BuildRing(from);
  if (!before.ok()) return before.status();
  auto after = BuildRing(to);
  if (!after.ok()) return after.status();
  Migration m;
  m.id = std::move(id);
  m.kind = kind;
  m.subject = std::move(subject);
  m.from_map = from;
  m.to_map = to;
  m.created_ms = now_ms;
  if (ReplicaMove(from, to)) {
    if (Status s = PlanReplicaArcs(m, **before, **after); !s.ok()) return s;
    return m;
  }
  std::map<std::string, double> owned = Shares(**before);
  for (const ring::Arc& arc : ring::Diff(**before, **after)) {
    AddArc(m.pairs, arc, from, to);
    auto it = std::find_if(m.sources.begin(), m.sources.end(),
                           [&](const MigrationSource& s) { return s.id == arc.from; });
    if (it == m.sources.end()) {
      m.sources.push_back({.id = arc.from, .owned_share = owned[arc.from]});
      it = m.sources.end() - 1;
    }
    it->moving_share += static_cast<double>(arc.Length()) / kRingSize;
  }
  return m;
}

Status Transition(Migration& m, MigrationState next, int64_t now_ms) {
  using S = MigrationState;
  static const std::pair<S, S> kAllowed[] = {
      {S::kPlanned, S::kCopying},      {S::kCopying, S::kSwitching},  {S::kSwitching, S::kCleaning},
      {S::kCleaning, S::kDone},        {S::kPlanned, S::kCancelling}, {S::kCopying, S::kCancelling},
      {S::kCancelling, S::kCancelled},
  };
  bool ok = std::any_of(std::begin(kAllowed), std::end(kAllowed),
                        [&](const auto& t) { return t.first == m.state && t.second == next; });
  if (!ok) {
    return FailedPrecondition("migration " + m.id + " cannot go from " +
                              std::string(MigrationStateName(m.state)) + " to " +
                              std::string(MigrationStateName(next)));
  }
  m.state = next;
  if (IsFinished(next)) {
    m.finished_ms = now_ms;
    m.paused = false;
  }
  if (next == S::kSwitching || next == S::kCancelling) m.paused = false;
  return OkStatus();
}

bool Cancellable(const Migration& m) {
  return m.state == MigrationState::kPlanned || m.state == MigrationState::kCopying;
}

ClusterMap Settled(const ClusterMap& map) {
  ClusterMap out = map;
  std::erase_if(out.nodes, [](const NodeInfo& n) { return n.state == NodeState::kLeaving; });
  for (NodeInfo& n : out.nodes) {
    if (n.state == NodeState::kJoining) n.state = NodeState::kActive;
  }
  return out;
}

bool SameMembership(const ClusterMap& a, const ClusterMap& b) {
  return a.nodes == b.nodes && a.vnodes == b.vnodes && a.hash == b.hash &&
         a.replication == b.replication;
}

std::string MigrationToJson(const Migration& m) {
  return MigrationObject(m).dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<Migration> MigrationFromJson(std::string_view json) {
  return Decode<Migration>(json, "migration", [](const Json& j) { return MigrationFrom(j); });
}

std::string MigrationLogToJson(const MigrationLog& log) {
  Json history = Json::array();
  for (const Migration& m : log.history) history.push_back(MigrationObject(m));
  Json j = {{"current", log.current ? MigrationObject(*log.current) : Json()},
            {"history", std::move(history)}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<MigrationLog> MigrationLogFromJson(std::string_view json) {
  return Decode<MigrationLog>(json, "migration log", [](const Json& j) -> StatusOr<MigrationLog> {
    if (!j.is_object()) return InvalidArgument("migration log: expected a JSON object");
    MigrationLog log;
    if (j.contains("current") && !j["current"].is_null()) {
      auto m = MigrationFrom(j["current"]);
      if (!m.ok()) return m.status();
      log.current = *std::move(m);
    }
    if (j.contains("history")) {
      for (const Json& h : j["history"]) {
        auto m = MigrationFrom(h);
        if (!m.ok()) return m.status();
        log.history.push_back(*std::move(m));
      }
    }
    return log;
  });
}

}  // namespace ringkv::cluster
