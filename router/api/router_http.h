// The router's HTTP API: the consistent_hashing_server's (get-node, add-node, remove-node), the
// FastAPI cache balancer's
// (/kv/{key} with X-CacheServer-* headers), the cluster map, live config,
// health, metrics and live rebalancing (/migrations). See docs/api.md for every endpoint with an
// example.
//
// Requests are parsed by pure functions, changes go through the Registry, and
// responses are rendered by pure functions; HandleRouterHttp only routes.
//
// Thread safety: HandleRouterHttp runs concurrently on HTTP threads.
#pragma once

#include <functional>
#include <string>

#include "cluster/membership.h"
#include "net/http.h"
#include "net/resp_client.h"
#include "router/map/live_settings.h"
#include "router/map/map_owner.h"
#include "router/proxy/kv_gateway.h"
#include "router/proxy/proxy.h"

namespace ringkv::router {

class JobsApi;
class Migrator;

struct RouterHttpContext {
  MapOwner& map_owner;
  LiveSettings& settings;
  KvGateway& kv;
  const ProxyStats& proxy_stats;
  std::string admin_token;       // empty: mutating endpoints are open
  net::RespCredentials backend;  // AUTH and TLS for back ends
  uint32_t discovery_timeout_ms = 2000;
  uint16_t http_port = 0;
  uint16_t resp_port = 0;
  std::function<void(const std::string&)> apply_log_level;
  JobsApi* jobs = nullptr;  // the jobs API (docs/jobs.md); null: its paths answer 503
  // Live rebalancing: every ring change goes through it. Null: changes apply
  // at once (cache remap) and /migrations answers 503.
  Migrator* migrator = nullptr;
  // The clients' password: when set, /kv/... and the jobs API need
  // Authorization: Bearer <requirepass> (or the admin token). Empty: open.
  std::string requirepass;
  // Bounds on node weights and vnodes (settings max_weight, max_vnodes), and
  // the count of requests refused for them (null: not counted).
  cluster::MembershipLimits limits;
  cluster::LimitRefusals* refusals = nullptr;
};

net::HttpResponse HandleRouterHttp(const net::HttpRequest& request, RouterHttpContext& ctx);

}  // namespace ringkv::router
