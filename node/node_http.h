// The node's HTTP API: health, data (the FastAPI cache balancer's shape under /kv/{key}),
// metrics and stats. Parse/render are plain functions; this handler only
// routes. Data requests go through the Dispatcher, so HTTP and RESP share
// one set of semantics and counters.
//
//   GET    /check-alive   200 {"status":"ok","id","version","engine","ports":{...}}
//   GET    /kv/{key}      200 raw value | 404 {"message": "Key does not exist."}
//   PUT    /kv/{key}      body = raw value -> 201 {"key","bytes"}
//   POST   /kv/{key}      same as PUT
//   DELETE /kv/{key}      200 {"deleted": 1} | 404
//   GET    /metrics       Prometheus text
//   GET    /stats         JSON
//   GET    /neighbors     200 {"id","epoch","in_service","position","previous","next","nodes"}
//                         (crustyring's neighbours: the nodes just before and after
//                         this one by ring id)
//   GET    /repair        200 anti-entropy progress (node/repair/repair_status.h)
//   POST   /repair        202 starts a pass (?split=1: only pairs with greater ids)
//
// A key this node does not own is served by its owner (forwarded in one hop).
// With a password set, /kv requires "Authorization: Bearer <password>".
#pragma once

#include "net/http.h"
#include "node/anti_entropy.h"
#include "node/commands/dispatcher.h"
#include "node/commands/metrics.h"
#include "node/view/cluster_view.h"
#include "store/engine.h"

namespace ringkv::node {

struct NodeHttpContext {
  Dispatcher& dispatcher;
  store::Engine& engine;
  const Metrics& metrics;
  const ServerState& state;
  const std::string& password;        // empty: no auth
  const ClusterView* view = nullptr;  // the cluster map, for GET /neighbors; null: none
  AntiEntropy* repair = nullptr;      // GET and POST /repair; null: 503
};

class NodeHttpApi {
 public:
  explicit NodeHttpApi(NodeHttpContext ctx) : ctx_(ctx) {}

  // Never throws; errors are JSON bodies with their HTTP status.
  net::HttpResponse Handle(const net::HttpRequest& request) const;

 private:
  const NodeHttpContext ctx_;
};

}  // namespace ringkv::node
