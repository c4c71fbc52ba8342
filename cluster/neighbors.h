// Neighbours on the ring (crustyring): each node in service has one identity
// position, the cluster's hash of its node id, and a previous and a next
// neighbour in the order of those positions. Keys are placed by the virtual
// nodes of the ring (ring/ring.h); this view is what the DHT API reports as
// a node's id (dht.Node.id) and what GET /neighbors shows.
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cluster/cluster_map.h"

namespace ringkv::cluster {

// A node's identity position: HashKey(map.hash, node.id).
uint64_t NodePosition(const ClusterMap& map, const NodeInfo& node);

struct PlacedNode {
  uint64_t position = 0;
  size_t index = 0;  // in map.nodes
};

// The nodes in service (active and joining), ordered by position (ties by id).
std::vector<PlacedNode> NodesByPosition(const ClusterMap& map);

struct Neighbors {
  PlacedNode self;
  PlacedNode previous;  // the node with the closest smaller position (wrapping)
  PlacedNode next;      // the node with the closest larger position (wrapping)
};

// The neighbours of the node whose id is `id`, or nullopt when it is not in
// service. A single node is its own previous and next neighbour.
std::optional<Neighbors> NeighborsOf(const ClusterMap& map, std::string_view id);

// The node in service that would precede identity position `position`
// (the closest smaller position, wrapping), or nullopt when none is in service.
std::optional<PlacedNode> PredecessorOf(const ClusterMap& map, uint64_t position);

}  // namespace ringkv::cluster
