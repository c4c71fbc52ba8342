// RouterOptions: every setting of `ringkv router`, from the `router:` section
// of the YAML config and from flags (same names, dashes for underscores),
// named by the table RouterSettings(). docs/configuration.md documents each
// with its default; a test checks it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/settings.h"
#include "base/status.h"
#include "cluster/cluster_map.h"
#include "cluster/health.h"
#include "cluster/membership.h"
#include "net/client_limits.h"
#include "net/grpc_auth.h"
#include "net/resp_client.h"
#include "net/tls.h"
#include "ring/hash.h"

namespace ringkv::router {

struct RouterOptions {
  // Two planes, two addresses (docs/security.md, "Authentication and
  // listeners"): clients and the operator (HTTP, RESP) on `bind`; the
  // cluster (gRPC registry) on `cluster_bind`. Beyond loopback each needs
  // its credentials (requirepass and admin_token; cluster_secret) unless
  // `insecure`.
  std::string bind = "127.0.0.1";
  std::string cluster_bind = "127.0.0.1";
  bool insecure = false;
  uint16_t http_port = 8080;  // 0 = pick a free port
  uint16_t resp_port = 6379;  // 0 = pick a free port
  // gRPC: ringkv.v1.Registry and crustyring's registry (dht.Registry); 0 = pick
  // a free port. Guarded by cluster_secret, not by admin_token.
  uint16_t grpc_port = 50000;
  std::string data_dir = "ringkv-router";  // the persisted cluster map lives here
  std::vector<std::string> nodes;          // addresses added at start-up (and on config reload)
  std::string run_dir;    // local provider's run directory: its nodes are added at start-up
  uint32_t vnodes = 160;  // for a new cluster map; live-changeable via PUT /config
  ring::HashKind hash = ring::HashKind::kXxh3;  // for a new cluster map
  // Replicas (docs/design.md, "Cluster map and membership"), for a new
  // cluster map; a persisted map keeps its own. Checked together by
  // cluster::CheckReplication: replication >= 2 needs ringkv nodes only.
  uint32_t replication = 1;  // copies of each key, 1..5
  cluster::Consistency write_consistency = cluster::Consistency::kQuorum;  // live
  cluster::Consistency read_consistency = cluster::Consistency::kQuorum;   // live
  uint64_t tombstone_ttl_s = 86400;  // live; longer than hint_ttl_s
  uint64_t hint_ttl_s = 10800;       // live
  cluster::HealthOptions health;
  std::string admin_token;       // required as Bearer token by mutating endpoints when set
  std::string requirepass;       // RESP clients must AUTH when set
  std::string backend_password;  // AUTH sent to back ends
  // Read by LoadRouterSecrets into the three above; never on the command line.
  std::string admin_token_file;
  std::string requirepass_file;
  std::string backend_password_file;
  std::string cluster_secret_file;
  // Required of every call to the gRPC registry and sent with every call to
  // a node's ringkv.v1.Peer; empty = the cluster plane is open. Not a
  // setting: from cluster_secret_file or RINGKV_CLUSTER_SECRET.
  std::string cluster_secret;
  // Mutual TLS on the cluster plane (docs/security.md, "TLS on the cluster
  // plane"): PEM files of the router's certificate, its key (mode 0600) and
  // the cluster CA; all three or none (plaintext). With them the gRPC
  // registry takes only clients the CA signed and every call to a node
  // presents the certificate. Read at start-up only.
  std::string cluster_tls_cert_file;
  std::string cluster_tls_key_file;
  std::string cluster_tls_ca_file;
  // Not a setting: the three files read by LoadRouterSecrets.
  std::optional<net::GrpcTls> cluster_tls;
  // TLS from the router to its back ends' RESP ports (docs/security.md, "TLS
  // between router and nodes"): every connection the router opens to a
  // node (the proxy, the /kv API, discovery, health checks, moves) verifies
  // the node's certificate against backend_tls_ca_cert_file and its name
  // against the node's address host, and presents backend_tls_cert_file
  // (optional, both or neither with the key). Empty CA = plaintext. Read at
  // start-up only.
  std::string backend_tls_cert_file;
  std::string backend_tls_key_file;
  std::string backend_tls_ca_cert_file;
  // Not a setting: the client context LoadRouterSecrets makes of the three
  // (null = plaintext).
  std::shared_ptr<const net::TlsContext> backend_tls;
  // The ringkv nodes' HTTP APIs are HTTPS (their http_tls): reached with
  // backend_tls too. Needs backend_tls_ca_cert_file.
  bool backend_http_tls = false;
  uint32_t backend_timeout_ms = 1000;
  uint32_t discovery_timeout_ms = 2000;
  uint32_t io_threads = 1;  // one thread beats two on a 2-core box shared with back ends
  // CPU lists ("0-3,8"; empty = all): the RESP proxy threads run on io_cpus,
  // every other thread (HTTP, gRPC, migrations, health checks) on
  // background_cpus.
  std::string io_cpus;
  std::string background_cpus;
  uint64_t maxclients = 10000;
  // Memory and descriptor limits of client connections (docs/security.md).
  net::ClientLimits client;
  net::TlsOptions tls;    // the proxy's RESP over TLS (tls-port etc.)
  bool http_tls = false;  // the HTTP API over TLS with tls's certificate files
  uint32_t http_max_connections = 1024;
  uint32_t grpc_max_concurrent_streams = 1000;
  uint32_t grpc_keepalive_ms = 60000;
  uint64_t http_body_limit = 64ull << 20;
  uint32_t config_poll_ms = 1000;  // how often the config file's mtime is checked
  std::string log_level = "info";
  std::string config_path;  // set by --config
  // Settings given as flags (name -> value): they override the config file,
  // at start-up and again on every reload of it.
  std::map<std::string, std::string> overrides;
  std::string ports_file;  // written as JSON once serving
  // Jobs (cloud-ex2's jobs API, docs/jobs.md). How long results stay readable is the
  // nodes' job_retention setting.
  uint64_t job_max_payload = 16ull << 20;    // larger enqueue bodies get 413
  uint32_t job_max_iterations = 10'000'000;  // more gets 400
  uint32_t job_lease_ms = 30000;             // lease a getWork hands out
  uint32_t job_max_wait_ms = 30000;          // cap of getWork's ?wait (setting job_max_wait)
  bool autoscale = true;                     // launch workers; only when run_dir is set
  uint32_t max_workers = 4;
  uint32_t scale_after_ms = 15000;       // launch when the oldest job waited longer
  std::string worker_idle_exit = "10m";  // launched workers leave after this long idle
  uint32_t autoscale_interval_ms = 1000;
  uint32_t worker_threads = 1;  // --threads of launched workers
  // Live rebalancing (YAML `rebalance:` section, docs/rebalancing.md).
  uint64_t rebalance_max_keys_per_sec = 0;   // copy rate limit per source; 0 = unlimited
  uint64_t rebalance_max_bytes_per_sec = 0;  // likewise in key + value bytes
  uint32_t rebalance_grace_ms = 0;           // 0 = max(1000, 2 x backend_timeout_ms)
  uint32_t rebalance_parallel_copies = 1;    // sources copying at once; 0 = all
  uint32_t rebalance_rpc_timeout_ms = 5000;  // deadline of each unary call to a node

  // Validation at the boundary (docs/security.md): the largest node weight
  // (add-node, PUT /nodes, Registry/Join) and vnodes per unit of weight
  // (vnodes, PUT /config) the router accepts.
  cluster::MembershipLimits limits;
};

// The grace period of a migration: wait after publishing a map (so no proxy
// request is still in flight with the old table) and before old owners drop
// moved arcs.
uint32_t RebalanceGraceMs(const RouterOptions& options);

// The settings of `ringkv router` (`nodes` is a list; the YAML `health:` and
// `rebalance:` maps are the health_* and rebalance_* settings).
const settings::Table<RouterOptions>& RouterSettings();

// Applies one setting by name; errors name the setting and the value.
Status ApplyRouterSetting(RouterOptions& options, const std::string& name,
                          const std::string& value);

// Reads the `router:` section of a YAML file onto `options`, then validates.
StatusOr<RouterOptions> LoadRouterConfig(const std::string& path, RouterOptions options);

Status ValidateRouterOptions(const RouterOptions& options);

// `options` with its secrets loaded, each from its *_file setting, else its
// environment variable (RINGKV_ADMIN_TOKEN, RINGKV_REQUIREPASS,
// RINGKV_BACKEND_PASSWORD, RINGKV_CLUSTER_SECRET), else the setting itself;
// cluster_tls from the cluster_tls_* files (net::LoadGrpcTls); backend_tls
// from the backend_tls_* files (errors name the file).
StatusOr<RouterOptions> LoadRouterSecrets(RouterOptions options);

// How the router reaches its back ends over RESP: backend_password and
// backend_tls. Call after LoadRouterSecrets.
net::RespCredentials BackendCredentials(const RouterOptions& options);

// The refusal to listen beyond loopback without credentials (net/exposure.h):
// `bind` needs requirepass and admin_token, `cluster_bind` the cluster
// secret or cluster TLS, unless `insecure`. Call after LoadRouterSecrets.
Status CheckRouterExposure(const RouterOptions& options);

// A cluster map holding the replication settings of `options` (no nodes):
// the start of a new cluster, and what cluster::CheckReplication checks.
cluster::ClusterMap ReplicationSettings(const RouterOptions& options);

}  // namespace ringkv::router
