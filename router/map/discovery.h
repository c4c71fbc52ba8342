// Discovery: learns what a node is from one address (the consistent_hashing_server's adds a node
// by one address). A ringkv node answers GET /check-alive on that address
// with its id and ports; anything that answers PING over RESP instead is a
// redis-server. Also the probes the health checker runs.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "cluster/cluster_map.h"
#include "net/resp_client.h"

namespace ringkv::router {

// `kind_hint`: nullopt = detect. `backend`: AUTH and TLS for RESP. Errors:
// kUnavailable when nothing answers.
StatusOr<cluster::NodeInfo> DiscoverNode(const std::string& addr,
                                         std::optional<cluster::BackendKind> kind_hint,
                                         uint32_t timeout_ms, const net::RespCredentials& backend);

// A node registered before it ever answered (unreachable at start-up): its
// kind and ports are unknown, so addr and http_addr both hold the one address
// it was given. Probes detect its kind, like DiscoverNode.
cluster::NodeInfo UndiscoveredNode(const std::string& addr);
bool IsUndiscovered(const cluster::NodeInfo& node);

// One health probe: /check-alive for ringkv nodes (and PING with backend
// TLS, so a node whose certificate does not verify is down), PING for
// redis, either for an undiscovered node.
Status ProbeNode(const cluster::NodeInfo& node, uint32_t timeout_ms,
                 const net::RespCredentials& backend);

// FLUSHALL on a redis back end (cache mode): run before one that was down
// is re-added, so no stale value comes back. A ringkv node is never flushed
// (kFailedPrecondition): it keeps its data through an outage.
Status FlushRedisNode(const cluster::NodeInfo& node, uint32_t timeout_ms,
                      const net::RespCredentials& backend);

}  // namespace ringkv::router
