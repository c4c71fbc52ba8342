#include "router/router_options.h"

#include <algorithm>

#include "base/cpus.h"
#include "base/secret.h"
#include "cluster/membership.h"
#include "config/yaml_settings.h"
#include "net/exposure.h"
#include "net/tls_settings.h"
#include "router/map/live_settings.h"

namespace ringkv::router {

namespace {

using settings::Bind;
using settings::Bool;
using settings::Bytes;
using settings::Duration;
using settings::Enum;
using settings::List;
using settings::OneOf;
using settings::String;
using settings::Uint;
using O = RouterOptions;
using cluster::Consistency;

// The enum's names come from cluster::ConsistencyName, defined beside it.
const std::pair<std::string_view, Consistency> kConsistencyNames[] = {
    {cluster::ConsistencyName(Consistency::kOne), Consistency::kOne},
    {cluster::ConsistencyName(Consistency::kQuorum), Consistency::kQuorum},
    {cluster::ConsistencyName(Consistency::kAll), Consistency::kAll},
};
constexpr uint64_t kMaxTtlS = uint64_t{10} * 365 * 86400;  // the cluster map's bound
using H = cluster::HealthOptions;

std::vector<settings::Setting<O>> Rows() {
  std::vector<settings::Setting<O>> rows = {
      Bind("bind", &O::bind, String{},
           "address of the HTTP and RESP listeners (clients, operator)"),
      Bind("cluster_bind", &O::cluster_bind, String{},
           "address of the gRPC registry listener (the cluster plane)"),
      Bind("insecure", &O::insecure, Bool{},
           "allow listening beyond loopback without requirepass and admin_token (bind) or a "
           "cluster secret (cluster_bind)"),
      Bind("http_port", &O::http_port, Uint{}, "HTTP API port, 0 = any free port"),
      Bind("resp_port", &O::resp_port, Uint{}, "RESP proxy port, 0 = any free port"),
      Bind("grpc_port", &O::grpc_port, Uint{},
           "gRPC port of the registry (ringkv.v1.Registry, crustyring's dht.Registry), 0 = any "
           "free port; guarded by the cluster secret"),
      Bind("data_dir", &O::data_dir, String{}, "directory of the persisted cluster map"),
      Bind("nodes", &O::nodes, List{.check = cluster::ValidateAddr},
           "comma-separated node addresses added at start-up: a ringkv node's HTTP address or a "
           "redis host:port; live"),
      Bind("run_dir", &O::run_dir, String{},
           "local provider run directory whose running nodes are added at start-up"),
      Bind("vnodes", &O::vnodes, Uint{.max = 4096},
           "virtual nodes per unit of weight for a new map; live"),
      Bind("hash", &O::hash, Enum<ring::HashKind>{ring::kHashKindNames},
           "key hash for a new map: xxh3 | sha256"),
      Bind("replication", &O::replication, Uint{.max = cluster::kMaxReplication},
           "copies of each key (1..5) for a new map; >= 2 needs ringkv nodes (no redis)"),
      Bind("write_consistency", &O::write_consistency, Enum<Consistency>{kConsistencyNames},
           "replicas that acknowledge a write: one | quorum | all; for a new map, live"),
      Bind("read_consistency", &O::read_consistency, Enum<Consistency>{kConsistencyNames},
           "replicas that answer a read: one | quorum | all; for a new map, live"),
      Bind("tombstone_ttl_s", &O::tombstone_ttl_s, Uint{.max = kMaxTtlS},
           "seconds a delete's tombstone is kept, longer than hint_ttl_s; for a new map, live"),
      Bind("hint_ttl_s", &O::hint_ttl_s, Uint{.max = kMaxTtlS},
           "seconds a write kept for an unreachable replica is replayed; for a new map, live"),
      Bind("health_interval_ms", &O::health, &H::interval_ms, Uint{.max = 3600000},
           "health probe period; live"),
      Bind("health_timeout_ms", &O::health, &H::timeout_ms, Uint{.max = 3600000},
           "one probe's deadline; live"),
      Bind("health_failures", &O::health, &H::failures, Uint{.max = 3600000},
           "consecutive failures before a node is down; live"),
      Bind("health_successes", &O::health, &H::successes, Uint{.max = 3600000},
           "consecutive successes before a down node returns; live"),
      Bind("health_replace_after_s", &O::health, &H::replace_after_s, Uint{.max = 3600000},
           "replication > 1: remove a node down this many seconds and re-replicate its keys "
           "from the other replicas; 0 = never; live"),
      Bind("admin_token", &O::admin_token, String{},
           "Bearer token required by mutating endpoints; empty = none (prefer admin_token_file)"),
      Bind("admin_token_file", &O::admin_token_file, String{},
           "file (mode 0600) holding admin_token; else env RINGKV_ADMIN_TOKEN"),
      Bind("requirepass", &O::requirepass, String{},
           "password RESP clients must AUTH with, and /kv and jobs callers send as Bearer; "
           "empty = none (prefer requirepass_file)"),
      Bind("requirepass_file", &O::requirepass_file, String{},
           "file (mode 0600) holding requirepass; else env RINGKV_REQUIREPASS"),
      Bind("backend_password", &O::backend_password, String{},
           "AUTH password sent to back ends; empty = none (prefer backend_password_file)"),
      Bind("backend_password_file", &O::backend_password_file, String{},
           "file (mode 0600) holding backend_password; else env RINGKV_BACKEND_PASSWORD"),
      Bind("cluster_secret_file", &O::cluster_secret_file, String{},
           "file (mode 0600) holding the cluster secret the gRPC registry requires and calls to "
           "nodes carry; else env RINGKV_CLUSTER_SECRET; none = cluster plane open"),
      // Cluster TLS (docs/security.md, "TLS on the cluster plane").
      Bind("cluster_tls_cert_file", &O::cluster_tls_cert_file, String{},
           "PEM certificate the router presents on the cluster plane (gRPC), signed by "
           "cluster_tls_ca_file; all three cluster_tls_* or none (plaintext)"),
      Bind("cluster_tls_key_file", &O::cluster_tls_key_file, String{},
           "PEM private key (mode 0600) of cluster_tls_cert_file"),
      Bind("cluster_tls_ca_file", &O::cluster_tls_ca_file, String{},
           "PEM CA the cluster's certificates are signed by; nodes must present one"),
      // TLS to the back ends (docs/security.md, "TLS between router and nodes").
      Bind("backend_tls_ca_cert_file", &O::backend_tls_ca_cert_file, String{},
           "PEM CA the back ends' RESP certificates must chain to; set = every connection to a "
           "back end is TLS, empty = plaintext"),
      Bind("backend_tls_cert_file", &O::backend_tls_cert_file, String{},
           "PEM certificate the router presents to back ends (their tls_ca_cert_file must "
           "trust it); empty = none"),
      Bind("backend_tls_key_file", &O::backend_tls_key_file, String{},
           "PEM private key of backend_tls_cert_file"),
      Bind("backend_http_tls", &O::backend_http_tls, Bool{},
           "call the ringkv nodes' HTTP APIs (discovery, health probes, /repair) over HTTPS "
           "with the backend_tls_* files, for nodes with http_tls; needs "
           "backend_tls_ca_cert_file"),
      Bind("backend_timeout_ms", &O::backend_timeout_ms, Uint{.max = 3600000},
           "a back end slower than this yields -ERR"),
      Bind("discovery_timeout_ms", &O::discovery_timeout_ms, Uint{.max = 3600000},
           "deadline to reach a node being added"),
      Bind("io_threads", &O::io_threads, Uint{.max = 64},
           "RESP proxy I/O threads; raise on machines with spare cores"),
      Bind("io_cpus", &O::io_cpus, String{},
           "CPUs for the threads serving RESP proxy clients, e.g. 0 or 0-3; empty = all"),
      Bind("background_cpus", &O::background_cpus, String{},
           "CPUs for every other thread: HTTP, gRPC, migrations, health checks; empty = all"),
      Bind("maxclients", &O::maxclients, Uint{.max = 1000000}, "max RESP client connections"),
      // Memory and descriptor limits (docs/security.md, "Memory limits").
      Bind("client_output_buffer_limit", &O::client, &net::ClientLimits::output,
           net::OutputBufferLimitSetting{},
           "Redis's 'normal <hard> <soft> <soft seconds>': a client whose unsent replies reach "
           "hard, or stay at or above soft that long, is disconnected; 0 = no limit"),
      Bind("client_output_pause", &O::client, &net::ClientLimits::output_pause_bytes, Bytes{},
           "a client runs and reads nothing more while this many reply bytes wait to be sent; "
           "0 = never pause"),
      Bind("maxmemory_clients", &O::client, &net::ClientLimits::maxmemory_clients, Bytes{},
           "input and output buffers of all RESP clients together; above it the largest are "
           "disconnected; 0 = no limit"),
      Bind("auth_timeout", &O::client, &net::ClientLimits::auth_timeout_s, Uint{.max = 1000000},
           "with requirepass, close a RESP client that has not authenticated within this many "
           "seconds; 0 = never"),
      Bind("reserved_fds", &O::client, &net::ClientLimits::reserved_fds, Uint{.max = 1000000},
           "descriptors kept beyond maxclients for nodes, HTTP and gRPC: the open-file limit is "
           "raised to maxclients + this at start, or maxclients lowered to fit"),
      Bind("http_max_connections", &O::http_max_connections, Uint{.max = 1000000},
           "open HTTP connections; more get 503; 0 = no cap"),
      Bind("grpc_max_concurrent_streams", &O::grpc_max_concurrent_streams, Uint{.max = 1u << 30},
           "gRPC calls open at once per connection; more wait"),
      Bind("grpc_keepalive_ms", &O::grpc_keepalive_ms, Uint{.max = 86400000},
           "gRPC connections are pinged after this long without traffic, closed if the ping "
           "is not answered in 20 s"),
      Bind("http_body_limit", &O::http_body_limit, Bytes{},
           "max HTTP request body, larger gets 413"),
      Bind("config_poll_ms", &O::config_poll_ms, Uint{.max = 3600000},
           "how often the config file is checked for changes"),
      Bind("log_level", &O::log_level, OneOf{settings::kLogLevels},
           "trace, debug, info, warn, error, critical or off; live"),
      Bind("ports_file", &O::ports_file, String{},
           "write the chosen ports here as JSON once serving"),
      Bind("job_max_payload", &O::job_max_payload, Bytes{}, "largest job payload, larger gets 413"),
      Bind("job_max_iterations", &O::job_max_iterations, Uint{},
           "most iterations a job may ask for"),
      Bind("job_lease_ms", &O::job_lease_ms, Uint{.max = 86400000},
           "lease a worker gets with a job; renewed by /renewLease"),
      Bind("job_max_wait", &O::job_max_wait_ms, Duration{.max_ms = 3600000},
           "longest getWork long poll; job_retention is a node setting"),
      Bind("autoscale", &O::autoscale, Bool{},
           "launch workers when jobs wait, through the run_dir's provider (needs run_dir)"),
      Bind("max_workers", &O::max_workers, Uint{.max = 10000},
           "the autoscaler launches no more workers than this"),
      Bind("scale_after_ms", &O::scale_after_ms, Uint{.max = 86400000},
           "launch a worker when the oldest queued job waited longer"),
      Bind("worker_idle_exit", &O::worker_idle_exit, Duration{},
           "launched workers exit after this long without a job"),
      Bind("autoscale_interval_ms", &O::autoscale_interval_ms, Uint{.max = 3600000},
           "how often the autoscaler decides"),
      Bind("worker_threads", &O::worker_threads, Uint{.max = 256},
           "compute threads of each launched worker"),
      Bind("rebalance_max_keys_per_sec", &O::rebalance_max_keys_per_sec, Uint{},
           "keys per second each source copies while rebalancing, 0 = unlimited; "
           "PUT /migrations/rate changes it live"),
      Bind("rebalance_max_bytes_per_sec", &O::rebalance_max_bytes_per_sec, Bytes{},
           "bytes per second each source copies while rebalancing, 0 = unlimited"),
      Bind("rebalance_parallel_copies", &O::rebalance_parallel_copies, Uint{.max = 1024},
           "sources that copy at the same time while rebalancing; 0 = all of them (1 leaves "
           "CPU to the clients)"),
      Bind("rebalance_grace_ms", &O::rebalance_grace_ms, Uint{.max = 3600000},
           "wait after a map change before copying, and before old owners drop moved keys; "
           "0 = max(1000, 2 x backend_timeout_ms)"),
      Bind("rebalance_rpc_timeout_ms", &O::rebalance_rpc_timeout_ms, Uint{.max = 3600000},
           "deadline of each gRPC call to a node while rebalancing"),

      // Validation at the boundary (docs/security.md).
      Bind("max_weight", &O::limits, &cluster::MembershipLimits::max_weight,
           Uint{.max = ring::kMaxNodeWeight},
           "largest node weight accepted from add-node, PUT /nodes and Registry/Join"),
      Bind("max_vnodes", &O::limits, &cluster::MembershipLimits::max_vnodes,
           Uint{.max = cluster::kMaxVnodes},
           "largest vnodes per unit of weight accepted from the config and PUT /config"),
  };
  // TLS on the RESP port and HTTPS, as the nodes' (docs/security.md, "TLS").
  for (auto& row : net::TlsListenerSettings<O>(&O::tls, &O::http_tls)) rows.push_back(row);
  return rows;
}

}  // namespace

const settings::Table<RouterOptions>& RouterSettings() {
  static const settings::Table<RouterOptions> table("router", Rows());
  return table;
}

uint32_t RebalanceGraceMs(const RouterOptions& o) {
  if (o.rebalance_grace_ms != 0) return o.rebalance_grace_ms;
  return std::max<uint32_t>(1000, 2 * o.backend_timeout_ms);
}

Status ApplyRouterSetting(RouterOptions& options, const std::string& name,
                          const std::string& value) {
  return RouterSettings().Apply(options, name, value);
}

StatusOr<RouterOptions> LoadRouterConfig(const std::string& path, RouterOptions options) {
  auto loaded = config::LoadYaml(RouterSettings(), path, std::move(options));
  if (!loaded.ok()) return loaded;
  if (Status s = ValidateRouterOptions(*loaded); !s.ok())
    return InvalidArgument("config " + path + ": " + s.message());
  return loaded;
}

Status ValidateRouterOptions(const RouterOptions& o) {
  if (Status s = cluster::ValidateLimits(o.limits); !s.ok()) return s;
  if (Status s = cluster::CheckVnodes(o.vnodes, o.limits); !s.ok()) return s;
  if (o.tombstone_ttl_s == 0 || o.hint_ttl_s == 0)
    return InvalidArgument("tombstone_ttl_s and hint_ttl_s must be >= 1");
  if (Status s = cluster::CheckReplication(ReplicationSettings(o)); !s.ok()) return s;
  if (std::string e = ValidateHealth(o.health); !e.empty()) return InvalidArgument(e);
  if (o.io_threads == 0) return InvalidArgument("io_threads must be >= 1");
  if (Status s = ValidateCpuLists(o.io_cpus, o.background_cpus); !s.ok()) return s;
  if (o.backend_timeout_ms == 0) return InvalidArgument("backend_timeout_ms must be >= 1");
  if (!settings::OneOf{settings::kLogLevels}.Contains(o.log_level))
    return InvalidArgument("log_level must be " + settings::Alternatives(settings::kLogLevels));
  if (o.data_dir.empty()) return InvalidArgument("data_dir must not be empty");
  if (o.job_max_iterations == 0) return InvalidArgument("job_max_iterations must be >= 1");
  if (o.job_lease_ms < 100) return InvalidArgument("job_lease_ms must be >= 100");
  if (o.autoscale_interval_ms < 10) return InvalidArgument("autoscale_interval_ms must be >= 10");
  if (o.worker_threads == 0) return InvalidArgument("worker_threads must be >= 1");
  if (o.rebalance_rpc_timeout_ms == 0)
    return InvalidArgument("rebalance.rpc_timeout_ms must be >= 1");
  return OkStatus();
}

StatusOr<RouterOptions> LoadRouterSecrets(RouterOptions o) {
  struct Secret {
    const char* name;
    std::string* value;
    const std::string* file;
    const char* env;
  };
  const std::string no_inline_value;
  for (const Secret& s : {
           Secret{"admin_token", &o.admin_token, &o.admin_token_file, "RINGKV_ADMIN_TOKEN"},
           Secret{"requirepass", &o.requirepass, &o.requirepass_file, "RINGKV_REQUIREPASS"},
           Secret{"backend_password", &o.backend_password, &o.backend_password_file,
                  "RINGKV_BACKEND_PASSWORD"},
           Secret{"cluster_secret", &o.cluster_secret, &o.cluster_secret_file,
                  "RINGKV_CLUSTER_SECRET"},
       }) {
    auto v = ResolveSecret(s.name, *s.value, *s.file, s.env);
    if (!v.ok()) return v.status();
    *s.value = *v;
  }
  auto tls =
      net::LoadGrpcTls(o.cluster_tls_cert_file, o.cluster_tls_key_file, o.cluster_tls_ca_file);
  if (!tls.ok()) return tls.status();
  o.cluster_tls = std::move(*tls);
  if (o.backend_tls_ca_cert_file.empty()) {
    if (o.backend_http_tls) {
      return InvalidArgument(
          "backend_http_tls needs backend_tls_ca_cert_file (the CA that verifies the nodes)");
    }
    if (!o.backend_tls_cert_file.empty() || !o.backend_tls_key_file.empty()) {
      return InvalidArgument(
          "backend_tls_cert_file and backend_tls_key_file need backend_tls_ca_cert_file (the CA "
          "that verifies the back ends)");
    }
    return o;
  }
  auto backend = net::TlsContext::CreateClient({.cert_file = o.backend_tls_cert_file,
                                                .key_file = o.backend_tls_key_file,
                                                .ca_cert_file = o.backend_tls_ca_cert_file});
  if (!backend.ok()) {
    return InvalidArgument("backend_tls_*: " + std::string(backend.status().message()));
  }
  o.backend_tls = std::move(*backend);
  return o;
}

net::RespCredentials BackendCredentials(const RouterOptions& o) {
  return net::RespCredentials{.password = o.backend_password,
                              .tls = o.backend_tls,
                              .http_tls = o.backend_http_tls ? o.backend_tls : nullptr};
}

Status CheckRouterExposure(const RouterOptions& o) {
  if (Status s = net::CheckExposure(
          {.setting = "bind",
           .host = o.bind,
           .has_credential = !o.requirepass.empty() && !o.admin_token.empty(),
           .credential = "requirepass_file and admin_token_file (or RINGKV_REQUIREPASS and "
                         "RINGKV_ADMIN_TOKEN)"},
          o.insecure);
      !s.ok()) {
    return s;
  }
  // Mutual TLS guards the cluster listener as the secret does.
  return net::CheckClusterExposure(
      o.cluster_bind, !o.cluster_secret.empty() || o.cluster_tls.has_value(), o.insecure);
}

cluster::ClusterMap ReplicationSettings(const RouterOptions& o) {
  cluster::ClusterMap map;
  map.vnodes = o.vnodes;
  map.hash = o.hash;
  map.replication = o.replication;
  map.write_consistency = o.write_consistency;
  map.read_consistency = o.read_consistency;
  map.tombstone_ttl_s = o.tombstone_ttl_s;
  map.hint_ttl_s = o.hint_ttl_s;
  return map;
}

}  // namespace ringkv::router
