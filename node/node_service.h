// NodeService: the `ringkv node` process wired together: a storage engine,
// the command dispatcher, and its RESP, HTTP and gRPC listeners.
//
// Thread safety: Start/Stop from one thread; the service runs on its own
// I/O threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "net/client_limits.h"
#include "net/grpc_auth.h"
#include "net/tls.h"
#include "store/memory_engine.h"
#include "store/rocksdb_engine.h"

namespace ringkv::node {

// Every setting of `ringkv node`; node/node_settings.h names them for flags,
// the YAML file and --help, and docs/configuration.md documents them.
struct NodeOptions {
  std::string id;  // empty: "node-<resp port>"
  // Two planes, two addresses (docs/security.md, "Authentication and
  // listeners"): clients (RESP, HTTP) on `bind`; the cluster (peer gRPC, the
  // peer link listener) on `cluster_bind`. Either beyond loopback needs its
  // credential (requirepass; cluster_secret) unless `insecure`.
  std::string bind = "127.0.0.1";
  std::string cluster_bind = "127.0.0.1";
  bool insecure = false;
  uint16_t resp_port = 6380;   // 0 = pick a free port
  uint16_t http_port = 7000;   // 0 = pick a free port
  uint16_t grpc_port = 50051;  // 0 = pick a free port
  std::string data_dir;        // empty: memory engine; else RocksDB in this directory
  store::FsyncPolicy fsync = store::FsyncPolicy::kEverySec;  // RocksDB durability
  uint64_t max_memory = 0;                                   // bytes, memory engine; 0 = unlimited
  store::EvictionPolicy maxmemory_policy = store::EvictionPolicy::kAllKeysLru;
  std::string requirepass;  // empty: no AUTH
  // Read by LoadNodeSecrets (node/node_settings.h) into requirepass and
  // cluster_secret; never given on the command line.
  std::string requirepass_file;
  std::string cluster_secret_file;
  // Carried by every ringkv.v1.Peer and ringkv.v1.Registry call this node
  // makes and required of every one it serves; empty = the cluster plane is
  // open (loopback only, unless insecure). Not a setting: from
  // cluster_secret_file or RINGKV_CLUSTER_SECRET.
  std::string cluster_secret;
  // Mutual TLS on the cluster plane (docs/security.md, "TLS on the cluster
  // plane"): PEM files of this node's certificate, its key (mode 0600) and
  // the cluster CA; all three or none (plaintext). With them the gRPC
  // listener takes only clients the CA signed, every channel to another
  // node or the router presents the certificate, and the peer link is
  // mutual TLS with the same files (PeerLinkOptions::tls).
  std::string cluster_tls_cert_file;
  std::string cluster_tls_key_file;
  std::string cluster_tls_ca_file;
  // Not a setting: the three files read by LoadNodeSecrets.
  std::optional<net::GrpcTls> cluster_tls;
  uint32_t io_threads = 1;  // RESP I/O threads
  // CPU lists ("0-3,8"; empty = all): the RESP I/O threads run on io_cpus,
  // every other thread (migration copy/install/drop, gRPC, HTTP, peer work)
  // on background_cpus, so bulk work cannot hold the CPU a request waits for.
  std::string io_cpus;
  std::string background_cpus;
  uint64_t maxclients = 10000;
  uint32_t idle_timeout_s = 0;  // 0 = never
  uint64_t max_bulk_len = 512ull << 20;
  uint64_t max_args = 1024 * 1024;
  uint64_t max_inline_len = 64 * 1024;
  uint64_t max_query_buffer = 1ull << 30;
  uint64_t http_body_limit = 512ull << 20;
  uint32_t http_header_limit = 16 * 1024;
  uint32_t http_read_timeout_ms = 10000;
  // Memory and descriptor limits of client connections (docs/security.md).
  net::ClientLimits client;
  net::TlsOptions tls;    // RESP over TLS (tls-port etc.)
  bool http_tls = false;  // the HTTP API over TLS with tls's certificate files
  // resp_port speaks TLS (with tls's files) and no plaintext RESP port is
  // open, as Redis with port 0 and a tls-port; tls.port must be 0.
  bool resp_tls_only = false;
  uint32_t http_max_connections = 1024;
  uint32_t grpc_max_concurrent_streams = 1000;
  uint32_t grpc_keepalive_ms = 60000;
  uint32_t expire_interval_ms = 100;  // active expiry period
  uint32_t expire_budget = 200;       // entries examined per period
  // Jobs (the cloud-ex2 jobs API): kept in their own engine, memory or RocksDB under
  // <data_dir>/jobs.
  uint64_t job_retention_ms = 3600 * 1000;  // completed jobs stay readable this long
  uint64_t max_jobs = 1000000;              // queued + leased + retained; JOB.ENQUEUE fails beyond
  // Live rebalancing: deadline of each call to another node (Fetch, Apply);
  // a MoveArcs target that takes no data for 5x this fails the copy.
  uint32_t peer_timeout_ms = 2000;
  // A value larger than this crosses gRPC between nodes (MoveArcs, Apply,
  // Fetch) in pieces of this size, and every gRPC message between nodes is
  // capped at 4x this plus 4 MiB (docs/dht.md, "Large values on the wire").
  uint64_t transfer_chunk_bytes = 1ull << 20;
  // Replicas (docs/replication.md): hints held for replicas that missed
  // writes, all together (0 = unlimited), and how long a peer that failed a
  // request is routed around.
  uint64_t max_hints = 1'000'000;
  uint64_t max_hint_bytes = 64ull << 20;
  uint32_t suspect_ms = 1000;
  uint32_t speculative_read_ms = 5;  // DispatcherOptions::speculative_read_ms
  // Anti-entropy (docs/replication.md): a pass compares this node's replicas
  // with its peers' every this many seconds, and when a peer believed down
  // answers again; 0 = only on request (POST /repair). Repaired keys (pushed
  // plus pulled) and scanned keys per second at most; 0 = unlimited.
  uint32_t anti_entropy_interval_s = 3600;
  uint64_t anti_entropy_max_keys_per_sec = 10000;
  uint64_t anti_entropy_scan_keys_per_sec = 1000000;
  // Threads that run the commands waiting for a migration peer (pull-on-miss,
  // write-through), so the RESP I/O threads never wait; at most this many
  // such commands wait at once, the rest queue.
  uint32_t peer_workers = 16;
  // While keys move, the loops that copy, install and drop them offer the CPU
  // to the threads serving requests every this many microseconds; 0 = never.
  // Longer copies faster and makes clients wait longer (docs/benchmarks.md).
  uint32_t migration_yield_us = 50;
  // Peer links (docs/dht.md, "The peer link"): forwarded commands travel to
  // each owner over one pipelined connection, served by a link listener on
  // this port (0 = any free port; peers learn it over gRPC, so it is as
  // cluster-internal as grpc_port).
  uint16_t peer_link_port = 0;
  // Per link: requests (and their bytes) in flight at most; more queue.
  uint32_t peer_link_window = 1024;
  uint64_t peer_link_window_bytes = 16ull << 20;
  // Per link: requests (and bytes) queued beyond the window at most; more
  // are refused at once with -TRYAGAIN.
  uint32_t peer_link_queue = 16384;
  uint64_t peer_link_queue_bytes = 64ull << 20;
  // Joining (as with crustyring's registry): gRPC "host:port" of the router
  // or of any node. The node registers through it and serves no data until
  // the cluster map arrives; its keys reach it through the rebalancing
  // migration.
  std::string join;
  // Empty: `bind` for client addresses, `cluster_bind` for cluster ones
  // (must be set when either is a wildcard and join is).
  std::string advertise_host;
  uint32_t weight = 1;             // asked for when joining
  std::string ports_file;          // if set, the chosen ports are written here as JSON once serving
  std::string log_level = "info";  // applied by `ringkv node`, not by NodeService

  // Validation at the boundary (docs/security.md): how far ahead of the map
  // held a new map may be, and how far ahead of this node's clock a version
  // arriving from a peer may be (beyond: refused, counted in /metrics).
  uint64_t max_epoch_step = 1000;
  uint64_t max_clock_drift_ms = 60'000;
};

// Validates options (clear InvalidArgument messages), including the refusal
// to listen beyond loopback without a credential (as Redis's protected mode).
Status ValidateNodeOptions(const NodeOptions& options);

class NodeService {
 public:
  // Opens the engine and starts every listener; on error nothing is left running.
  static StatusOr<std::unique_ptr<NodeService>> Start(const NodeOptions& options);
  ~NodeService();

  void Stop();  // idempotent
  uint16_t resp_port() const;
  uint16_t http_port() const;
  uint16_t grpc_port() const;
  const std::string& id() const;

  struct Impl;  // opaque; defined in the .cc

 private:
  explicit NodeService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::node
