// ClusterMap: the registry's record of one cluster. Every change creates a
// map with epoch + 1; maps are values (copy, change, publish).
//
//   {epoch, nodes[{id, addr, http_addr, grpc_addr, kind, weight, state}],
//    vnodes, hash, replication, write_consistency, read_consistency,
//    tombstone_ttl_s, hint_ttl_s}
//
// A node's index in `nodes` is its X-CacheServer-Index; nodes keep their
// index while they stay in the map (new nodes are appended).
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ring/ring.h"

namespace ringkv::cluster {

enum class NodeState : uint8_t {
  kJoining,  // added; owns its arcs in the ring while its keys arrive from the old owners
  kActive,   // owns keys
  kLeaving,  // being removed; owns nothing while its keys move off to their new owners
  kDown,     // failed health checks: replication 1 ejects it from the ring (cache mode);
             // replication >= 2 keeps it there, routed around, its keys served by the
             // other replicas
};

enum class BackendKind : uint8_t {
  kRingkv,  // a `ringkv node`: RESP + /check-alive
  kRedis,   // a plain redis-server: RESP only, health by PING
};

std::string_view NodeStateName(NodeState s);  // "joining", "active", "leaving", "down"
std::optional<NodeState> ParseNodeState(std::string_view s);
std::string_view BackendKindName(BackendKind k);  // "ringkv", "redis"
std::optional<BackendKind> ParseBackendKind(std::string_view s);

// How many replicas of a key must answer a read or acknowledge a write
// (docs/replication.md).
enum class Consistency : uint8_t {
  kOne,     // 1
  kQuorum,  // replication / 2 + 1
  kAll,     // replication
};

std::string_view ConsistencyName(Consistency c);  // "one", "quorum", "all"
std::optional<Consistency> ParseConsistency(std::string_view s);
// The number of replicas `c` asks for out of `replication` (>= 1).
uint32_t Required(Consistency c, uint32_t replication);

// Copies of each key: 1 (no replicas) to kMaxReplication.
using ring::kMaxReplication;

struct NodeInfo {
  std::string id;         // ring identity (placement depends on it alone); defaults to addr
  std::string addr;       // "host:port" of the RESP data plane: the node's name in the consistent_hashing_server's API
  std::string http_addr;  // ringkv nodes: "host:port" serving /check-alive; empty for redis
  std::string grpc_addr;  // ringkv nodes: "host:port" of the peer protocol; empty for redis
  BackendKind kind = BackendKind::kRingkv;
  uint32_t weight = 1;
  NodeState state = NodeState::kActive;

  bool operator==(const NodeInfo&) const = default;
};

struct ClusterMap {
  uint64_t epoch = 0;
  std::vector<NodeInfo> nodes;
  uint32_t vnodes = 160;  // per unit of weight
  ring::HashKind hash = ring::HashKind::kXxh3;
  uint32_t replication = 1;  // copies of each key, [1, kMaxReplication]
  Consistency write_consistency = Consistency::kQuorum;
  Consistency read_consistency = Consistency::kQuorum;
  // A delete's tombstone is kept this long, so no replica, hint or repair
  // brings the key back; longer than hint_ttl_s.
  uint64_t tombstone_ttl_s = 86400;
  // A hint (a write kept for an unreachable replica) is replayed within this
  // long or dropped (anti-entropy repairs what it carried).
  uint64_t hint_ttl_s = 10800;

  // Index in `nodes` of the node whose addr or id is `name`, or nullopt.
  std::optional<size_t> Find(std::string_view name) const;
  // Nodes that own keys in the ring: active and joining, and with
  // replication >= 2 down ones too.
  std::vector<ring::NodeSpec> RingNodes() const;
  // Number of nodes that serve keys (active and joining).
  size_t InService() const;

  bool operator==(const ClusterMap&) const = default;
};

// The ring of the nodes that own keys: active and joining (a joining node
// owns its arcs while a migration copies its keys; the router routes to it
// and it fetches what it lacks from the old owner). Leaving nodes are not in
// it. Down nodes are not in it at replication 1 (ejected: their successors
// serve their keys, cold); at replication >= 2 they stay, so a failure moves
// no key: the other replicas serve a down node's keys and keep hints for it
// (docs/design.md, "Health and ejection").
StatusOr<ring::RingPtr> BuildRing(const ClusterMap& map);

// JSON form (also the on-disk format):
// {"epoch": 3, "vnodes": 160, "hash": "xxh3", "replication": 1,
//  "write_consistency": "quorum", "read_consistency": "quorum",
//  "tombstone_ttl_s": 86400, "hint_ttl_s": 10800,
//  "nodes": [{"id": "...", "addr": "127.0.0.1:6380", "http_addr": "...",
//             "grpc_addr": "...", "kind": "ringkv", "weight": 1, "state": "active"}]}
std::string ToJson(const ClusterMap& map);
// Absent optional fields take the defaults above; an older map parses.
StatusOr<ClusterMap> ClusterMapFromJson(std::string_view json);

// Checks the replication settings of `map` together: replication in
// [1, kMaxReplication]; replication 1 while any node is a redis back end
// (a redis-server keeps no versions, so replicas could not converge);
// tombstone_ttl_s > hint_ttl_s. kInvalidArgument names the setting.
Status CheckReplication(const ClusterMap& map);

}  // namespace ringkv::cluster
