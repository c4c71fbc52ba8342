// NodeChanges: the router's policy for adding and removing nodes named by its
// operator — at start-up (--nodes, the provider's running instances) and from
// the watched config file. HTTP (POST /add-node) and gRPC joins go through
// router/api instead; all three end in the same MapOwner and Migrator.
//
// - An unknown address is discovered; one that does not answer is recorded
//   as down, so the health checker brings it in when it answers.
// - At start-up a node joins at once (the cluster is being assembled); from
//   the config file it joins through a migration, so its keys move to it
//   while the cluster serves. A removal always drains the node first.
//
// Thread safety: calls may run concurrently; the Migrator serializes changes
// (kAborted while a migration runs, which the caller retries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_map.h"
#include "net/resp_client.h"

namespace ringkv::router {

class MapOwner;
class Migrator;

struct NodeChangesOptions {
  uint32_t discovery_timeout_ms = 1000;
  net::RespCredentials backend;  // AUTH and TLS for back ends
};

class NodeChanges {
 public:
  enum class Source : uint8_t { kStartUp, kProvider, kConfig };

  // None of the references is owned; both must outlive this object.
  NodeChanges(NodeChangesOptions options, MapOwner& map_owner, Migrator& migrator)
      : options_(std::move(options)), map_owner_(map_owner), migrator_(migrator) {}

  // Adds each address the map does not know yet. Returns false when a change
  // had to wait for a running migration (retry later).
  bool Add(const std::vector<std::string>& addrs, Source source);
  // Add for start-up: kInvalidArgument when a node cannot join this cluster
  // at all (cluster::CheckReplication: a redis back end at replication >= 2),
  // so the router refuses to start; other failures are logged as by Add.
  Status AddAtStartUp(const std::vector<std::string>& addrs, Source source);
  // Drains and removes each known address. Returns false as Add does.
  bool Remove(const std::vector<std::string>& addrs);

 private:
  // Adds one address; kAborted when it waits for a migration, the change's
  // error when it is refused, OK when added (or registered down).
  Status AddOne(const std::string& addr, Source source);

  const NodeChangesOptions options_;
  MapOwner& map_owner_;
  Migrator& migrator_;
};

// Whether `addr` names a node of `map` (by RESP or HTTP address, or id).
bool KnowsNode(const cluster::ClusterMap& map, const std::string& addr);

// Addresses of the running ringkv nodes (HTTP) and redis-servers (RESP) that
// the local provider lists in `run_dir`; empty when run_dir is empty.
std::vector<std::string> ProviderNodes(const std::string& run_dir);

}  // namespace ringkv::router
