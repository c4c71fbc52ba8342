#include "cluster/cluster_map.h"

#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace ringkv::cluster {
namespace {

using Json = nlohmann::ordered_json;  // keeps fields in the documented order

constexpr uint32_t kMaxVnodesPerWeight = 4096;  // same bound as membership's kMaxVnodes
constexpr uint64_t kMaxTtlS = uint64_t{10} * 365 * 86400;  // ten years

bool OwnsKeys(NodeState s) {
  return s == NodeState::kActive || s == NodeState::kJoining;
}

// An unsigned integer field of `obj` in [lo, hi]. `where` names the field in
// errors, e.g. "vnodes" or "nodes[2].weight".
StatusOr<uint64_t> GetUint(const Json& obj, const char* key, const std::string& where, uint64_t lo,
                           uint64_t hi) {
  auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgument("cluster map: missing field \"" + where + "\"");
  if (!it->is_number_unsigned()) {
    return InvalidArgument("cluster map: field \"" + where + "\" must be a non-negative integer");
  }
  uint64_t v = it->get<uint64_t>();
  if (v < lo || v > hi) {
    return InvalidArgument("cluster map: field \"" + where + "\" must be in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                           std::to_string(v));
  }
  return v;
}

// A string field of `obj`; `fallback` when absent (nullopt: required).
StatusOr<std::string> GetString(const Json& obj, const char* key, const std::string& where,
                                std::optional<std::string> fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (fallback) return *std::move(fallback);
    return InvalidArgument("cluster map: missing field \"" + where + "\"");
  }
  if (!it->is_string())
    return InvalidArgument("cluster map: field \"" + where + "\" must be a string");
  return it->get<std::string>();
}

StatusOr<NodeInfo> NodeFromJson(const Json& j, size_t i) {
  std::string at = "nodes[" + std::to_string(i) + "]";
  if (!j.is_object()) return InvalidArgument("cluster map: " + at + " must be an object");
  NodeInfo n;
  auto addr = GetString(j, "addr", at + ".addr", std::nullopt);
  if (!addr.ok()) return addr.status();
  if (addr->empty()) return InvalidArgument("cluster map: " + at + ".addr must not be empty");
  n.addr = *addr;
  auto id = GetString(j, "id", at + ".id", n.addr);
  if (!id.ok()) return id.status();
  if (id->empty()) return InvalidArgument("cluster map: " + at + ".id must not be empty");
  n.id = *id;
  auto http = GetString(j, "http_addr", at + ".http_addr", "");
  if (!http.ok()) return http.status();
  n.http_addr = *http;
  auto grpc = GetString(j, "grpc_addr", at + ".grpc_addr", "");
  if (!grpc.ok()) return grpc.status();
  n.grpc_addr = *grpc;
  auto kind = GetString(j, "kind", at + ".kind", "ringkv");
  if (!kind.ok()) return kind.status();
  auto parsed_kind = ParseBackendKind(*kind);
  if (!parsed_kind) {
    return InvalidArgument("cluster map: " + at + ".kind must be \"ringkv\" or \"redis\", got \"" +
                           *kind + "\"");
  }
  n.kind = *parsed_kind;
  auto state = GetString(j, "state", at + ".state", "active");
  if (!state.ok()) return state.status();
  auto parsed_state = ParseNodeState(*state);
  if (!parsed_state) {
    return InvalidArgument("cluster map: " + at +
                           ".state must be one of joining, active, leaving, down, got \"" + *state +
                           "\"");
  }
  n.state = *parsed_state;
  if (j.contains("weight")) {
    auto w = GetUint(j, "weight", at + ".weight", 1, ring::kMaxNodeWeight);
    if (!w.ok()) return w.status();
    n.weight = static_cast<uint32_t>(*w);
  }
  return n;
}

// Every id and addr names one node only, so Find() is unambiguous.
Status CheckUniqueNames(const std::vector<NodeInfo>& nodes) {
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string* name : {&nodes[i].id, &nodes[i].addr}) {
      if (name == &nodes[i].addr && nodes[i].addr == nodes[i].id) continue;
      if (!names.insert(*name).second) {
        return InvalidArgument("cluster map: nodes[" + std::to_string(i) + "] reuses the name \"" +
                               *name + "\" of another node");
      }
    }
  }
  return OkStatus();
}

StatusOr<ClusterMap> MapFromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("cluster map: expected a JSON object");
  ClusterMap map;
  auto epoch = GetUint(j, "epoch", "epoch", 0, UINT64_MAX);
  if (!epoch.ok()) return epoch.status();
  map.epoch = *epoch;
  if (j.contains("vnodes")) {
    auto vnodes = GetUint(j, "vnodes", "vnodes", 1, kMaxVnodesPerWeight);
    if (!vnodes.ok()) return vnodes.status();
    map.vnodes = static_cast<uint32_t>(*vnodes);
  }
  auto hash = GetString(j, "hash", "hash", "xxh3");
  if (!hash.ok()) return hash.status();
  auto kind = ring::ParseHashKind(*hash);
  if (!kind) {
    return InvalidArgument("cluster map: field \"hash\" must be \"xxh3\" or \"sha256\", got \"" +
                           *hash + "\"");
  }
  map.hash = *kind;
  if (j.contains("replication")) {
    auto r = GetUint(j, "replication", "replication", 1, kMaxReplication);
    if (!r.ok()) return r.status();
    map.replication = static_cast<uint32_t>(*r);
  }
  for (auto [key, field] : {std::pair{"write_consistency", &map.write_consistency},
                            std::pair{"read_consistency", &map.read_consistency}}) {
    auto name = GetString(j, key, key, std::string(ConsistencyName(*field)));
    if (!name.ok()) return name.status();
    auto c = ParseConsistency(*name);
    if (!c) {
      return InvalidArgument(std::string("cluster map: field \"") + key +
                             "\" must be \"one\", \"quorum\" or \"all\", got \"" + *name + "\"");
    }
    *field = *c;
  }
  for (auto [key, field] : {std::pair{"tombstone_ttl_s", &map.tombstone_ttl_s},
                            std::pair{"hint_ttl_s", &map.hint_ttl_s}}) {
    if (!j.contains(key)) continue;
    auto v = GetUint(j, key, key, 1, kMaxTtlS);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  auto nodes = j.find("nodes");
  if (nodes == j.end()) return InvalidArgument("cluster map: missing field \"nodes\"");
  if (!nodes->is_array()) return InvalidArgument("cluster map: field \"nodes\" must be an array");
  for (size_t i = 0; i < nodes->size(); ++i) {
    auto n = NodeFromJson((*nodes)[i], i);
    if (!n.ok()) return n.status();
    map.nodes.push_back(*std::move(n));
  }
  if (Status s = CheckUniqueNames(map.nodes); !s.ok()) return s;
  if (Status s = CheckReplication(map); !s.ok()) return InvalidArgument("cluster map: " + s.message());
  return map;
}

}  // namespace

std::string_view NodeStateName(NodeState s) {
  switch (s) {
    case NodeState::kJoining:
      return "joining";
    case NodeState::kActive:
      return "active";
    case NodeState::kLeaving:
      return "leaving";
    case NodeState::kDown:
      return "down";
  }
  return "unknown";
}

std::optional<NodeState> ParseNodeState(std::string_view s) {
  for (NodeState st :
       {NodeState::kJoining, NodeState::kActive, NodeState::kLeaving, NodeState::kDown}) {
    if (NodeStateName(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view BackendKindName(BackendKind k) {
  return k == BackendKind::kRedis ? "redis" : "ringkv";
}

std::optional<BackendKind> ParseBackendKind(std::string_view s) {
  if (s == "ringkv") return BackendKind::kRingkv;
  if (s == "redis") return BackendKind::kRedis;
  return std::nullopt;
}

std::string_view ConsistencyName(Consistency c) {
  switch (c) {
    case Consistency::kOne:
      return "one";
    case Consistency::kQuorum:
      return "quorum";
    case Consistency::kAll:
      return "all";
  }
  return "unknown";
}

std::optional<Consistency> ParseConsistency(std::string_view s) {
  for (Consistency c : {Consistency::kOne, Consistency::kQuorum, Consistency::kAll}) {
    if (ConsistencyName(c) == s) return c;
  }
  return std::nullopt;
}

uint32_t Required(Consistency c, uint32_t replication) {
  switch (c) {
    case Consistency::kOne:
      return 1;
    case Consistency::kQuorum:
      return replication / 2 + 1;
    case Consistency::kAll:
      return replication;
  }
  return replication;
}

Status CheckReplication(const ClusterMap& map) {
  if (map.replication < 1 || map.replication > kMaxReplication) {
    return InvalidArgument("replication must be in [1, " + std::to_string(kMaxReplication) +
                           "], got " + std::to_string(map.replication));
  }
  if (map.replication > 1) {
    for (const NodeInfo& n : map.nodes) {
      if (n.kind == BackendKind::kRedis) {
        return InvalidArgument("replication " + std::to_string(map.replication) +
                               " needs ringkv nodes; " + n.addr +
                               " is a redis back end, which keeps no versions (use replication 1)");
      }
    }
  }
  if (map.tombstone_ttl_s <= map.hint_ttl_s) {
    return InvalidArgument("tombstone_ttl_s (" + std::to_string(map.tombstone_ttl_s) +
                           ") must be longer than hint_ttl_s (" + std::to_string(map.hint_ttl_s) +
                           "), or a replayed hint could bring a deleted key back");
  }
  return OkStatus();
}

std::optional<size_t> ClusterMap::Find(std::string_view name) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].addr == name || nodes[i].id == name) return i;
  }
  return std::nullopt;
}

std::vector<ring::NodeSpec> ClusterMap::RingNodes() const {
  std::vector<ring::NodeSpec> out;
  for (const NodeInfo& n : nodes) {
    const bool kept_down = replication > 1 && n.state == NodeState::kDown;
    if (OwnsKeys(n.state) || kept_down) out.push_back({n.id, n.weight});
  }
  return out;
}

size_t ClusterMap::InService() const {
  size_t count = 0;
  for (const NodeInfo& n : nodes) count += OwnsKeys(n.state) ? 1 : 0;
  return count;
}

StatusOr<ring::RingPtr> BuildRing(const ClusterMap& map) {
  return ring::Ring::Build(map.RingNodes(), {.vnodes_per_weight = map.vnodes, .hash = map.hash});
}

std::string ToJson(const ClusterMap& map) {
  Json nodes = Json::array();
  for (const NodeInfo& n : map.nodes) {
    nodes.push_back({{"id", n.id},
                     {"addr", n.addr},
                     {"http_addr", n.http_addr},
                     {"grpc_addr", n.grpc_addr},
                     {"kind", BackendKindName(n.kind)},
                     {"weight", n.weight},
                     {"state", NodeStateName(n.state)}});
  }
  Json j = {{"epoch", map.epoch},
            {"vnodes", map.vnodes},
            {"hash", ring::HashKindName(map.hash)},
            {"replication", map.replication},
            {"write_consistency", ConsistencyName(map.write_consistency)},
            {"read_consistency", ConsistencyName(map.read_consistency)},
            {"tombstone_ttl_s", map.tombstone_ttl_s},
            {"hint_ttl_s", map.hint_ttl_s},
            {"nodes", std::move(nodes)}};
  // Replace, not throw, on invalid UTF-8 in a name: ToJson cannot fail.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<ClusterMap> ClusterMapFromJson(std::string_view json) {
  try {
    return MapFromJson(Json::parse(json));
  } catch (const Json::parse_error& e) {
    return InvalidArgument(std::string("cluster map: not valid JSON: ") + e.what());
  } catch (const Json::exception& e) {  // defensive: the accessors above check types first
    return InvalidArgument(std::string("cluster map: ") + e.what());
  }
}

}  // namespace ringkv::cluster
