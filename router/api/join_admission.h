// JoinAdmission: nodes that ask to join the cluster (docs/api.md, "gRPC
// (router)"). The core behind the router's gRPC registry services
// (router/api/registry_service.h): ringkv.v1.Registry/Join names a node by its
// RESP (or HTTP) address, crustyring's RegisterNode by its gRPC address. An
// unknown node is discovered and added exactly as POST /add-node adds it —
// joining, through StartChange, so its keys move to it while the cluster
// serves; a node already in the map is answered as a member, so a retried
// join is harmless.
//
// Also the pure views crustyring's registry reports: a node's ring id (its
// identity position, cluster/neighbors.h) and its predecessor.
//
// Thread safety: Join and RegisterNode run concurrently; the Migrator
// serializes the changes (one migration at a time: kAborted while one runs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cluster/cluster_map.h"
#include "cluster/membership.h"
#include "net/resp_client.h"

namespace ringkv::router {

class Migrator;
class NodeClient;
class MapOwner;

// A node as crustyring's registry names it (dht.Node).
struct RingNode {
  uint64_t id = 0;   // identity position: the cluster's hash of the node id
  std::string addr;  // gRPC "host:port"
  bool operator==(const RingNode&) const = default;
};

// The ringkv nodes in service (active, joining) ordered by id; nodes without a
// gRPC address (redis back ends) cannot serve crustyring's API and are left out.
std::vector<RingNode> ConnectedNodes(const cluster::ClusterMap& map);
// The node `node_id` as a RingNode, and its predecessor on the ring (itself
// when it is the only node in service); nullopt when it is not in service.
struct Placement {
  RingNode self;
  RingNode previous;
};
std::optional<Placement> PlacementOf(const cluster::ClusterMap& map, std::string_view node_id);

// The index of the node named by any of these (empty ones are ignored): its
// RESP or HTTP address, its gRPC address, its id.
struct NodeNames {
  std::string addr;  // RESP or HTTP "host:port"
  std::string grpc_addr;
  std::string id;
};
std::optional<size_t> FindMember(const cluster::ClusterMap& map, const NodeNames& names);

struct JoinRequest {
  std::string addr;     // the node's RESP "host:port" (its HTTP address also works)
  uint32_t weight = 0;  // 0 = 1
  std::string id;       // empty = the id the node reports
};

struct JoinResult {
  // "processing": added, its keys are moving to it (follow GET /migrations);
  // "done": added, and no key had to move; "member": already in the map.
  std::string status;
  std::string node_id;
  std::string migration_id;  // of the move that brings its keys; empty when none
  cluster::ClusterMap map;   // the map after the join
};

struct JoinAdmissionOptions {
  uint32_t discovery_timeout_ms = 2000;        // to reach a joining node (HTTP, RESP or gRPC)
  net::RespCredentials backend;                // AUTH and TLS for the RESP probe
  cluster::MembershipLimits limits;            // a weight beyond max_weight is refused
  cluster::LimitRefusals* refusals = nullptr;  // counts those refusals; not owned, may be null
};

class JoinAdmission {
 public:
  // None owned; all must outlive this. `migrator` null: changes apply at once.
  JoinAdmission(JoinAdmissionOptions options, MapOwner& map_owner, Migrator* migrator,
                NodeClient& peers);

  // Errors: kInvalidArgument (bad addr or weight), kUnavailable (nothing
  // answers as a ringkv node there), kAborted (another migration runs; retry),
  // and the map change's own (kAlreadyExists: the id names another node).
  StatusOr<JoinResult> Join(const JoinRequest& request);
  // The node whose ringkv.v1.Peer listens at `grpc_addr`: its Status tells
  // its RESP and HTTP addresses, then as Join.
  StatusOr<JoinResult> RegisterNode(const std::string& grpc_addr);

 private:
  // Adds the discovered `node` unless a member already has its id or address.
  StatusOr<JoinResult> Add(cluster::NodeInfo node, const JoinRequest& request);
  JoinResult Member(const cluster::ClusterMap& map, size_t index) const;
  // A ringkv node from its HTTP address, or from its RESP address (INFO
  // server reports ringkv_http_port).
  StatusOr<cluster::NodeInfo> Discover(const std::string& addr) const;

  const JoinAdmissionOptions options_;
  MapOwner& map_owner_;
  Migrator* migrator_;
  NodeClient& peers_;
};

}  // namespace ringkv::router
