// The router's /repair (docs/api.md): POST starts an anti-entropy pass on
// every ringkv node in the map (each node's POST /repair?split=1, so each
// pair of replicas is compared once, by its node with the smaller id); GET
// gathers every node's GET /repair with a summary. Parse and render are pure
// (AggregateRepair); the handlers only call the nodes. Private to router/api.
//
// Thread safety: the handlers run concurrently on HTTP threads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "net/http.h"
#include "router/api/router_http.h"

namespace ringkv::router::internal {

// One node's answer to GET or POST /repair: its JSON body, or why there is none.
struct NodeRepairAnswer {
  std::string id;
  std::string http_addr;
  StatusOr<nlohmann::json> body = nlohmann::json::object();
};

// {"state": "running" | "idle", "running": <nodes running a pass>,
//  "totals": <sums of every node's totals>, "nodes": [<each node's body, or
//  {"id", "http_addr", "error"}>]}.
nlohmann::json AggregateRepair(const std::vector<NodeRepairAnswer>& answers);

net::HttpResponse GetRepair(RouterHttpContext& ctx);
net::HttpResponse StartRepair(RouterHttpContext& ctx);

}  // namespace ringkv::router::internal
