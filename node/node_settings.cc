#include "node/node_settings.h"

#include <cstdint>

#include "base/secret.h"
#include "net/tls_settings.h"

namespace ringkv::node {

namespace {

using settings::Bind;
using settings::Bool;
using settings::Bytes;
using settings::Duration;
using settings::Enum;
using settings::OneOf;
using settings::String;
using settings::Uint;
using O = NodeOptions;
using net::ClientLimits;

std::vector<settings::Setting<O>> Rows() {
  std::vector<settings::Setting<O>> rows = {
      Bind("id", &O::id, String{}, "node id; empty = node-<resp port>"),
      Bind("bind", &O::bind, String{}, "address of the client listeners (RESP, HTTP)"),
      Bind("cluster_bind", &O::cluster_bind, String{},
           "address of the cluster listeners (peer gRPC, peer link)"),
      Bind("insecure", &O::insecure, Bool{},
           "allow listening beyond loopback without requirepass (bind) or a cluster secret "
           "(cluster_bind)"),
      Bind("resp_port", &O::resp_port, Uint{}, "RESP port, 0 = any free port"),
      Bind("http_port", &O::http_port, Uint{}, "HTTP port, 0 = any free port"),
      Bind("grpc_port", &O::grpc_port, Uint{}, "gRPC port, 0 = any free port"),
      Bind("data_dir", &O::data_dir, String{}, "RocksDB directory; empty = memory engine"),
      Bind("fsync", &O::fsync, Enum<store::FsyncPolicy>{store::kFsyncPolicyNames},
           "RocksDB durability: always | everysec | no"),
      Bind("max_memory", &O::max_memory, Bytes{}, "memory engine limit, e.g. 100mb; 0 = none"),
      Bind("maxmemory_policy", &O::maxmemory_policy,
           Enum<store::EvictionPolicy>{store::kEvictionPolicyNames}, "allkeys-lru | noeviction"),
      Bind("requirepass", &O::requirepass, String{},
           "password for AUTH, /kv and dht.DhtNode; empty = none (prefer requirepass_file)"),
      Bind("requirepass_file", &O::requirepass_file, String{},
           "file (mode 0600) holding requirepass; else env RINGKV_REQUIREPASS"),
      Bind("cluster_secret_file", &O::cluster_secret_file, String{},
           "file (mode 0600) holding the cluster secret every Peer and Registry call carries; "
           "else env RINGKV_CLUSTER_SECRET; none = cluster plane open"),
      // Cluster TLS (docs/security.md, "TLS on the cluster plane").
      Bind("cluster_tls_cert_file", &O::cluster_tls_cert_file, String{},
           "PEM certificate this node presents on the cluster plane (gRPC), signed by "
           "cluster_tls_ca_file; all three cluster_tls_* or none (plaintext)"),
      Bind("cluster_tls_key_file", &O::cluster_tls_key_file, String{},
           "PEM private key (mode 0600) of cluster_tls_cert_file"),
      Bind("cluster_tls_ca_file", &O::cluster_tls_ca_file, String{},
           "PEM CA the cluster's certificates are signed by; peers and routers must present one"),
      Bind("io_threads", &O::io_threads, Uint{.max = 64}, "RESP I/O threads"),
      Bind("io_cpus", &O::io_cpus, String{},
           "CPUs for the threads serving client requests, e.g. 0 or 0-3; empty = all"),
      Bind("background_cpus", &O::background_cpus, String{},
           "CPUs for every other thread: copying keys, gRPC, HTTP; empty = all"),
      Bind("maxclients", &O::maxclients, Uint{.max = 1000000}, "max RESP connections"),
      Bind("idle_timeout", &O::idle_timeout_s, Uint{.max = 1000000},
           "close RESP clients idle this many seconds; 0 = never"),
      Bind("max_bulk_len", &O::max_bulk_len, Bytes{}, "max bytes of one argument"),
      Bind("max_args", &O::max_args, Uint{.max = 1u << 30}, "max arguments of one command"),
      Bind("max_inline_len", &O::max_inline_len, Bytes{}, "max inline command line"),
      Bind("max_query_buffer", &O::max_query_buffer, Bytes{}, "max unprocessed bytes per client"),
      // Memory and descriptor limits (docs/security.md, "Memory limits").
      Bind("client_output_buffer_limit", &O::client, &ClientLimits::output,
           net::OutputBufferLimitSetting{},
           "Redis's 'normal <hard> <soft> <soft seconds>': a client whose unsent replies reach "
           "hard, or stay at or above soft that long, is disconnected; 0 = no limit"),
      Bind("client_output_pause", &O::client, &ClientLimits::output_pause_bytes, Bytes{},
           "a client runs and reads nothing more while this many reply bytes wait to be sent; "
           "0 = never pause"),
      Bind("maxmemory_clients", &O::client, &ClientLimits::maxmemory_clients, Bytes{},
           "input and output buffers of all RESP clients together; above it the largest are "
           "disconnected; 0 = no limit"),
      Bind("auth_timeout", &O::client, &ClientLimits::auth_timeout_s, Uint{.max = 1000000},
           "with requirepass, close a RESP client that has not authenticated within this many "
           "seconds; 0 = never"),
      Bind("reserved_fds", &O::client, &ClientLimits::reserved_fds, Uint{.max = 1000000},
           "descriptors kept beyond maxclients for files, peers, HTTP and gRPC: the open-file "
           "limit is raised to maxclients + this at start, or maxclients lowered to fit"),
      Bind("resp_tls_only", &O::resp_tls_only, Bool{},
           "resp_port speaks TLS only (tls_cert_file, ...; tls_port 0): no plaintext RESP port, "
           "as Redis with port 0 and a tls-port"),
      Bind("http_max_connections", &O::http_max_connections, Uint{.max = 1000000},
           "open HTTP connections; more get 503; 0 = no cap"),
      Bind("grpc_max_concurrent_streams", &O::grpc_max_concurrent_streams, Uint{.max = 1u << 30},
           "gRPC calls open at once per connection; more wait"),
      Bind("grpc_keepalive_ms", &O::grpc_keepalive_ms, Uint{.max = 86400000},
           "gRPC connections are pinged after this long without traffic, closed if the ping "
           "is not answered in 20 s"),
      Bind("http_body_limit", &O::http_body_limit, Bytes{}, "max HTTP body, larger gets 413"),
      Bind("http_header_limit", &O::http_header_limit, Bytes{},
           "max HTTP header bytes, larger gets 431"),
      Bind("http_read_timeout_ms", &O::http_read_timeout_ms, Uint{.max = 3600000},
           "a request slower than this gets 408"),
      Bind("expire_interval_ms", &O::expire_interval_ms, Uint{.max = 60000},
           "active expiry period"),
      Bind("expire_budget", &O::expire_budget, Uint{.max = 1000000},
           "keys examined per expiry period"),
      Bind("job_retention", &O::job_retention_ms, Duration{},
           "how long completed jobs stay readable, e.g. 30m"),
      Bind("max_jobs", &O::max_jobs, Uint{.max = uint64_t{1} << 40},
           "queued + leased + retained jobs; enqueue fails beyond"),
      Bind("peer_timeout_ms", &O::peer_timeout_ms, Uint{.max = 3600000},
           "deadline of each call to another node while keys move"),
      Bind("transfer_chunk_bytes", &O::transfer_chunk_bytes, Bytes{},
           "values larger than this move between nodes over gRPC in pieces of this size; "
           "gRPC messages between nodes are capped at 4x this + 4mb (64kb..64mb)"),
      Bind("max_hints", &O::max_hints, Uint{},
           "hints kept for replicas that missed writes, all together; more are dropped "
           "(a quorum read repairs those keys), 0 = unlimited"),
      Bind("max_hint_bytes", &O::max_hint_bytes, Bytes{},
           "bytes of hints (replica id + key + 8 each), all together; 0 = unlimited"),
      Bind("suspect_ms", &O::suspect_ms, Uint{.max = 3600000},
           "a replica that failed a request is routed around (and hinted) this long"),
      Bind("speculative_read_ms", &O::speculative_read_ms, Uint{.max = 60000},
           "a quorum read asks only the replicas it needs, and the others once one of "
           "those fails or has not answered after this long; 0 = all at once"),
      Bind("anti_entropy_interval_s", &O::anti_entropy_interval_s,
           Uint{.max = uint64_t{30} * 86400},
           "anti-entropy pass every this many seconds, and when a replica believed down "
           "answers again; 0 = only on request (POST /repair)"),
      Bind("anti_entropy_max_keys_per_sec", &O::anti_entropy_max_keys_per_sec, Uint{},
           "keys anti-entropy repairs (pushed plus pulled) per second at most; 0 = unlimited"),
      Bind("anti_entropy_scan_keys_per_sec", &O::anti_entropy_scan_keys_per_sec, Uint{},
           "keys an anti-entropy scan reads per second at most; 0 = unlimited"),
      Bind("peer_workers", &O::peer_workers, Uint{.max = 1024},
           "threads running commands that wait for a migration peer; more queue"),
      Bind("migration_yield_us", &O::migration_yield_us, Uint{.max = 1000000},
           "while keys move, copy/install/drop loops offer the CPU to request threads every "
           "this many us; 0 = never"),
      Bind("peer_link_port", &O::peer_link_port, Uint{},
           "port of the peer link listener (forwards between nodes), 0 = any free port"),
      Bind("peer_link_window", &O::peer_link_window, Uint{.max = 1u << 20},
           "requests in flight per peer link; more queue"),
      Bind("peer_link_window_bytes", &O::peer_link_window_bytes, Bytes{},
           "request bytes in flight per peer link; more queue"),
      Bind("peer_link_queue", &O::peer_link_queue, Uint{.max = 1u << 24},
           "requests queued per peer link beyond the window; more get -TRYAGAIN"),
      Bind("peer_link_queue_bytes", &O::peer_link_queue_bytes, Bytes{},
           "request bytes queued per peer link beyond the window; more get -TRYAGAIN"),
      Bind("join", &O::join, String{},
           "gRPC host:port of the router or of any node: register with the cluster and receive "
           "this node's keys before serving them; empty = none"),
      Bind("advertise_host", &O::advertise_host, String{},
           "host other processes reach this node at; empty = --bind (clients), --cluster-bind "
           "(cluster)"),
      Bind("weight", &O::weight, Uint{.max = 65536}, "ring weight asked for with --join"),
      Bind("ports_file", &O::ports_file, String{},
           "write the chosen ports here as JSON once serving"),
      Bind("log_level", &O::log_level, OneOf{settings::kLogLevels},
           "trace, debug, info, warn, error, critical or off"),

      // Validation at the boundary (docs/security.md).
      Bind("max_epoch_step", &O::max_epoch_step, Uint{.max = uint64_t{1} << 32},
           "a cluster map more than this many epochs ahead of the one held is refused"),
      Bind("max_clock_drift", &O::max_clock_drift_ms, Duration{.max_ms = 86400000},
           "a version from a peer more than this far ahead of this node's clock is refused, "
           "e.g. 60s"),
  };
  // TLS on the RESP port and HTTPS, as the router's (docs/security.md, "TLS").
  for (auto& row : net::TlsListenerSettings<O>(&O::tls, &O::http_tls)) rows.push_back(row);
  return rows;
}

}  // namespace

const settings::Table<NodeOptions>& NodeSettings() {
  static const settings::Table<NodeOptions> table("node", Rows());
  return table;
}

StatusOr<NodeOptions> LoadNodeSecrets(NodeOptions o) {
  auto pass = ResolveSecret("requirepass", o.requirepass, o.requirepass_file, "RINGKV_REQUIREPASS");
  if (!pass.ok()) return pass.status();
  o.requirepass = *pass;
  auto secret = ResolveSecret("cluster_secret", "", o.cluster_secret_file, "RINGKV_CLUSTER_SECRET");
  if (!secret.ok()) return secret.status();
  o.cluster_secret = *secret;
  auto tls =
      net::LoadGrpcTls(o.cluster_tls_cert_file, o.cluster_tls_key_file, o.cluster_tls_ca_file);
  if (!tls.ok()) return tls.status();
  o.cluster_tls = std::move(*tls);
  return o;
}

}  // namespace ringkv::node
