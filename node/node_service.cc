#include "node/node_service.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/cpus.h"
#include "base/hlc.h"
#include "base/periodic_task.h"
#include "base/process.h"
#include "base/settings.h"
#include "base/worker_pool.h"
#include "jobs/queue_shard.h"
#include "net/exposure.h"
#include "net/grpc_auth.h"
#include "net/grpc_client.h"
#include "net/grpc_server.h"
#include "net/http_server.h"
#include "net/resp_server.h"
#include "node/anti_entropy.h"
#include "node/cluster_services.h"
#include "node/commands/dispatcher.h"
#include "node/commands/metrics.h"
#include "node/forwarder.h"
#include "node/link/peer_links.h"
#include "node/migration/migration_roles.h"
#include "node/node_http.h"
#include "node/peer_channels.h"
#include "node/peer_service.h"
#include "node/replica_maintenance.h"
#include "node/replication/replication.h"
#include "node/view/cluster_view.h"
#include "store/memory_engine.h"
#include "store/rocksdb_engine.h"

#ifndef RINGKV_VERSION
#define RINGKV_VERSION "0.0.0"
#endif

namespace ringkv::node {

namespace {

// Expired job leases are requeued at least this often (between ticks every
// JOB.* command requeues them before it acts).
constexpr uint32_t kJobTickMs = 100;

// Deadline of a Join (the router probes the node before it answers).
constexpr uint32_t kJoinTimeoutMs = 30000;
// The largest max_bulk_len: twice Redis's largest string.
constexpr uint64_t kMaxBulkLen = 1ull << 30;
// transfer_chunk_bytes: pieces small enough to interleave, and a message cap
// (4x plus headroom) far below gRPC's 2 GB.
constexpr uint64_t kMinChunkBytes = 64ull << 10;
constexpr uint64_t kMaxChunkBytes = 64ull << 20;

// The wait after `failed` failed --join attempts: 250 ms, doubling up to 5 s.
std::chrono::milliseconds JoinBackoff(int failed) {
  return std::chrono::milliseconds(
      std::min<int64_t>(int64_t{250} << std::clamp(failed - 1, 0, 5), 5000));
}

// The RESP connection handler: one Session per connection over the shared
// Dispatcher. The Session may defer a reply through the server's deferrer (a
// forward to the owner of the keys), so the I/O thread never waits for a peer.
class NodeConnection final : public net::ConnectionHandler {
 public:
  NodeConnection(Dispatcher& dispatcher, uint64_t id) : dispatcher_(dispatcher) {
    session_.id = id;
    session_.authenticated = !dispatcher.RequiresAuth();
    session_.defer = [this] { return deferrer_->Defer(); };
  }
  After Execute(std::span<const std::string_view> args, std::string& out,
                net::ReplyDeferrer& deferrer) override {
    deferrer_ = &deferrer;  // valid during this call, which is the only time defer may run
    dispatcher_.Execute(args, session_, out);
    return {.close = session_.close_after_reply,
            .authenticated = session_.authenticated,
            .abandon_on_close = session_.abandon_on_close};
  }
  bool Authenticated() const override { return session_.authenticated; }

 private:
  Dispatcher& dispatcher_;
  Session session_;
  net::ReplyDeferrer* deferrer_ = nullptr;
};

PeerLinkOptions LinkOptions(const NodeOptions& o) {
  PeerLinkOptions lo;
  lo.bind = o.cluster_bind;  // the cluster plane; OpenLink (gRPC, guarded) hands out its token
  lo.port = o.peer_link_port;
  lo.limits = {.window = o.peer_link_window,
               .window_bytes = o.peer_link_window_bytes,
               .queue = o.peer_link_queue,
               .queue_bytes = o.peer_link_queue_bytes};
  lo.timeout_ms = o.peer_timeout_ms;
  // No CPU list: the links' thread runs on background_cpus, as gRPC did for forwards.
  // A batch holds many commands: its arguments are bounded by the bytes in flight, not by max_args.
  lo.request_limits = {.max_bulk_len = o.max_bulk_len,
                       .max_args = size_t{1} << 30,
                       .max_inline_len = o.max_inline_len};
  lo.max_query_buffer = o.max_query_buffer;
  // Cluster TLS covers the link too: mutual TLS with the cluster CA.
  if (o.cluster_tls) {
    lo.tls = {.cert_file = o.cluster_tls_cert_file,
              .key_file = o.cluster_tls_key_file,
              .ca_cert_file = o.cluster_tls_ca_file};
  }
  return lo;
}

// The largest gRPC message between nodes. It does not grow with
// max_bulk_len: values move in pieces of transfer_chunk_bytes (docs/dht.md,
// "Large values on the wire").
int PeerMessageBytes(const NodeOptions& o) {
  return static_cast<int>(MessageCapForChunks(o.transfer_chunk_bytes));
}

StatusOr<std::unique_ptr<store::Engine>> OpenEngine(const NodeOptions& o) {
  if (o.data_dir.empty()) {
    store::MemoryEngineOptions mo;
    mo.max_memory = o.max_memory;
    mo.policy = o.maxmemory_policy;
    mo.hints = {.max_hints = o.max_hints, .max_bytes = o.max_hint_bytes};
    return store::NewMemoryEngine(mo);
  }
  store::RocksDbEngineOptions ro;
  ro.path = o.data_dir;
  ro.fsync = o.fsync;
  ro.hints = {.max_hints = o.max_hints, .max_bytes = o.max_hint_bytes};
  return store::OpenRocksDbEngine(ro);
}

// The jobs' own engine, so DBSIZE, SCAN and FLUSHALL never see them.
StatusOr<std::unique_ptr<store::Engine>> OpenJobEngine(const NodeOptions& o) {
  if (o.data_dir.empty()) return store::NewMemoryEngine({});
  store::RocksDbEngineOptions ro;
  ro.path = o.data_dir + "/jobs";
  ro.fsync = o.fsync;
  ro.block_cache_bytes = 8ull << 20;
  return store::OpenRocksDbEngine(ro);
}

}  // namespace

struct NodeService::Impl {
  NodeOptions options;
  std::unique_ptr<store::Engine> engine;
  std::unique_ptr<store::Engine> job_engine;  // declared before `jobs`, which uses it
  std::unique_ptr<jobs::QueueShard> jobs;
  HybridClock hlc{SystemClock::Instance()};
  Metrics metrics;
  ServerState state;
  // Declared before the listeners, so they are gone before these are.
  std::unique_ptr<PeerChannels> peers;
  std::unique_ptr<ClusterView> view;
  std::unique_ptr<MigrationRoles> migration;
  std::unique_ptr<Replication> replication;
  std::unique_ptr<ReplicaMaintenance> replica_maintenance;  // stopped before the forwarder drains
  std::unique_ptr<AntiEntropy> anti_entropy;                // likewise
  std::unique_ptr<PeerService> peer_service;
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<RegistryRelay> registry_relay;
  std::unique_ptr<DhtService> dht;
  std::unique_ptr<Dispatcher> dispatcher;
  // After the Dispatcher, which incoming links run commands on; before the
  // pool, whose tasks send over the links.
  std::unique_ptr<PeerLinks> links;
  std::unique_ptr<WorkerPool> peer_work;  // runs commands that wait for a migration peer
  std::unique_ptr<NodeHttpApi> http_api;
  std::unique_ptr<net::RespServer> resp;
  std::unique_ptr<net::HttpServer> http;
  std::unique_ptr<net::GrpcServer> grpc;
  std::atomic<uint64_t> next_session{1};
  // --join: registers with the cluster in the background until it succeeds.
  PeriodicTask joiner;
  int join_attempts = 0;  // the joiner's thread only

  // After a failed start, too: nothing may send over the links, and no link
  // thread may run, once what they use is gone.
  ~Impl() {
    if (replica_maintenance) replica_maintenance->Stop();
    if (anti_entropy) anti_entropy->Stop();
    if (links) links->Stop();
  }

  // Where others reach a client listener (RESP, HTTP) and a cluster one
  // (gRPC, the peer link).
  std::string Advertised(uint16_t port) const {
    return (options.advertise_host.empty() ? options.bind : options.advertise_host) + ":" +
           std::to_string(port);
  }
  std::string AdvertisedCluster(uint16_t port) const {
    return (options.advertise_host.empty() ? options.cluster_bind : options.advertise_host) + ":" +
           std::to_string(port);
  }
  // One registration attempt; false once there is nothing left to retry.
  bool TryJoin(int attempt);

  Status OpenJobs();
  Status StartLinks();
  Status StartListeners();
  std::string PortsJson() const;
};

Status ValidateNodeOptions(const NodeOptions& o) {
  if (!o.data_dir.empty() && o.max_memory > 0) {
    return InvalidArgument("--max-memory applies to the memory engine only; drop it or --data-dir");
  }
  if (o.io_threads == 0 || o.io_threads > 64)
    return InvalidArgument("io-threads must be in [1, 64]");
  if (o.maxclients == 0) return InvalidArgument("maxclients must be >= 1");
  if (o.max_args == 0 || o.max_bulk_len == 0 || o.max_inline_len == 0) {
    return InvalidArgument("max-args, max-bulk-len and max-inline-len must be >= 1");
  }
  if (o.max_bulk_len > kMaxBulkLen) {
    return InvalidArgument(
        "max-bulk-len must be at most 1gb, got " +
        std::to_string(o.max_bulk_len));
  }
  if (o.transfer_chunk_bytes < kMinChunkBytes || o.transfer_chunk_bytes > kMaxChunkBytes) {
    return InvalidArgument("transfer-chunk-bytes must be in [64kb, 64mb], got " +
                           std::to_string(o.transfer_chunk_bytes));
  }
  if (o.expire_interval_ms == 0) return InvalidArgument("expire-interval-ms must be >= 1");
  if (o.job_retention_ms == 0 || o.job_retention_ms > (uint64_t{1} << 52)) {
    return InvalidArgument("job-retention must be in [1ms, 2^52 ms]");
  }
  if (o.max_jobs == 0) return InvalidArgument("max-jobs must be >= 1");
  if (o.peer_timeout_ms == 0 || o.peer_timeout_ms > 3600 * 1000) {
    return InvalidArgument("peer-timeout-ms must be in [1, 3600000]");
  }
  if (o.peer_workers == 0 || o.peer_workers > 1024) {
    return InvalidArgument("peer-workers must be in [1, 1024]");
  }
  if (Status s = ValidateCpuLists(o.io_cpus, o.background_cpus); !s.ok()) return s;
  if (o.migration_yield_us > 1000000) {
    return InvalidArgument("migration-yield-us must be in [0, 1000000] (0 = never yield)");
  }
  if (o.peer_link_window == 0 || o.peer_link_window_bytes == 0) {
    return InvalidArgument("peer-link-window and peer-link-window-bytes must be >= 1");
  }
  if (o.weight == 0 || o.weight > 65536) return InvalidArgument("weight must be in [1, 65536]");
  if (o.resp_tls_only && o.tls.enabled()) {
    return InvalidArgument(
        "resp-tls-only serves TLS on resp-port and opens no plaintext port; drop tls-port");
  }
  if (o.max_epoch_step == 0) return InvalidArgument("max-epoch-step must be >= 1");
  if (o.max_clock_drift_ms < 1000 || o.max_clock_drift_ms > 86400000) {
    return InvalidArgument("max-clock-drift must be in [1s, 24h]");
  }
  if (!o.join.empty()) {
    if (o.join.find(':') == std::string::npos) {
      return InvalidArgument("--join takes the gRPC host:port of the router or of a node, got '" +
                             o.join + "'");
    }
    for (const std::string* bind : {&o.bind, &o.cluster_bind}) {
      const std::string& host = o.advertise_host.empty() ? *bind : o.advertise_host;
      if (host == "0.0.0.0" || host == "::" || host.empty()) {
        return InvalidArgument(
            "--join needs --advertise-host when --bind or --cluster-bind is a wildcard address");
      }
    }
  }
  if (Status s = net::CheckExposure({.setting = "bind",
                                     .host = o.bind,
                                     .has_credential = !o.requirepass.empty(),
                                     .credential = "requirepass_file or RINGKV_REQUIREPASS"},
                                    o.insecure);
      !s.ok()) {
    return s;
  }
  // Mutual TLS guards the cluster listener as the secret does.
  return net::CheckClusterExposure(
      o.cluster_bind, !o.cluster_secret.empty() || o.cluster_tls.has_value(), o.insecure);
}

namespace {

// Peer and Registry (the cluster plane) need the cluster secret; dht.DhtNode
// (clients) needs requirepass, as RESP's AUTH does; health and reflection
// stay open.
std::vector<net::GrpcServiceGuard> GrpcGuards(const NodeOptions& o) {
  std::vector<net::GrpcServiceGuard> guards;
  for (const char* service : {"ringkv.v1.Peer", "ringkv.v1.Registry"}) {
    if (auto g = net::ClusterGuard(service, o.cluster_secret)) guards.push_back(*g);
  }
  if (auto g = net::PasswordGuard("dht.DhtNode", o.requirepass)) guards.push_back(*g);
  return guards;
}

// How the cluster plane is guarded, for the start-up line.
std::string ClusterAuthName(const NodeOptions& o) {
  if (!o.cluster_tls) return o.cluster_secret.empty() ? "open" : "cluster secret";
  return o.cluster_secret.empty() ? "mutual TLS" : "mutual TLS + cluster secret";
}

}  // namespace

Status NodeService::Impl::OpenJobs() {
  auto e = OpenJobEngine(options);
  if (!e.ok()) return e.status();
  job_engine = std::move(*e);
  jobs::QueueOptions qo{.retention_ms = static_cast<int64_t>(options.job_retention_ms),
                        .max_jobs = options.max_jobs};
  auto q = jobs::QueueShard::Open(*job_engine, qo, SystemClock::Instance().NowMs());
  if (!q.ok()) return q.status();
  jobs = std::move(*q);
  return OkStatus();
}

// The peer links run before any listener takes requests that forward.
Status NodeService::Impl::StartLinks() {
  IncomingLinkContext incoming;
  incoming.dispatcher = dispatcher.get();
  incoming.view = view.get();
  incoming.counters = &metrics.cluster();
  incoming.refresh = [this](const std::string& addr) { forwarder->RefreshFrom(addr); };
  incoming.pool = peer_work.get();
  incoming.clock = &SystemClock::Instance();
  return links->Start(std::move(incoming));
}

Status NodeService::Impl::StartListeners() {
  if (Status s = StartLinks(); !s.ok()) return s;
  net::RespServerOptions ro;
  ro.bind = options.bind;
  ro.port = options.resp_port;
  ro.threads = options.io_threads;
  if (StatusOr<CpuList> cpus = ParseCpuList(options.io_cpus); cpus.ok()) ro.cpus = *cpus;
  ro.limits = {.max_bulk_len = options.max_bulk_len,
               .max_args = options.max_args,
               .max_inline_len = options.max_inline_len};
  ro.max_query_buffer = options.max_query_buffer;
  ro.maxclients = options.maxclients;
  ro.idle_timeout_s = options.idle_timeout_s;
  ro.client = options.client;
  ro.counters = &state.clients;
  ro.tls = options.tls;
  ro.tls_only = options.resp_tls_only;
  resp = std::make_unique<net::RespServer>(
      ro, [this] { return std::make_unique<NodeConnection>(*dispatcher, next_session++); },
      [this](int64_t open, bool accepted, bool rejected) {
        state.connected_clients = open;
        if (accepted) ++state.total_connections;
        if (rejected) ++state.rejected_connections;
      });
  if (Status s = resp->Start(); !s.ok()) return s;
  state.resp_port = resp->port();
  state.maxclients = resp->maxclients();  // as fitted to the open-file limit
  // Set before any port is published, so no client can read it half-written.
  state.id = options.id.empty() ? "node-" + std::to_string(state.resp_port) : options.id;

  net::HttpServerOptions ho;
  ho.bind = options.bind;
  ho.port = options.http_port;
  ho.body_limit = options.http_body_limit;
  ho.header_limit = options.http_header_limit;
  ho.read_timeout_ms = options.http_read_timeout_ms;
  ho.max_connections = options.http_max_connections;
  if (options.http_tls) ho.tls = options.tls;
  http_api = std::make_unique<NodeHttpApi>(NodeHttpContext{
      *dispatcher, *engine, metrics, state, options.requirepass, view.get(), anti_entropy.get()});
  http = std::make_unique<net::HttpServer>(
      ho, [this](const net::HttpRequest& r) { return http_api->Handle(r); });
  if (Status s = http->Start(); !s.ok()) return s;
  state.http_port = http->port();

  grpc = std::make_unique<net::GrpcServer>(
      net::GrpcServerOptions{.bind = options.cluster_bind,
                             .port = options.grpc_port,
                             .max_message_bytes = PeerMessageBytes(options),
                             .guards = GrpcGuards(options),
                             .max_concurrent_streams = options.grpc_max_concurrent_streams,
                             .keepalive_time_ms = options.grpc_keepalive_ms,
                             .tls = options.cluster_tls});
  peer_service = std::make_unique<PeerService>(*view, *migration, *engine, SystemClock::Instance(),
                                               metrics.cluster(), *peers, state.id);
  registry_relay = std::make_unique<RegistryRelay>(*view, *peers, kJoinTimeoutMs);
  dht = std::make_unique<DhtService>(*dispatcher);
  peer_service->EnableRepair(*anti_entropy);
  grpc->Register(peer_service.get());
  grpc->Register(registry_relay.get());
  grpc->Register(dht.get());
  if (Status s = grpc->Start(); !s.ok()) return s;
  state.grpc_port = grpc->port();
  forwarder->SetSelfGrpc(AdvertisedCluster(state.grpc_port));
  links->SetSelf(state.id, AdvertisedCluster(state.grpc_port));
  peer_service->EnableForwarding(*dispatcher, *forwarder, *links, Advertised(state.resp_port),
                                 Advertised(state.http_port));

  resp->Every(options.expire_interval_ms, [this] {
    engine->ExpireCycle(SystemClock::Instance().NowMs(), options.expire_budget);
  });
  resp->Every(kJobTickMs, [this] { jobs->Tick(SystemClock::Instance().NowMs()); });
  return OkStatus();
}

// Registers through --join (the joiner runs it until it returns false: the
// router accepted or refused; a running migration makes it wait, ABORTED; an
// unreachable address, UNAVAILABLE). A node that is already a member takes
// the map from the answer; a new one gets its map from the router as its
// migration starts.
bool NodeService::Impl::TryJoin(int attempt) {
  ringkv::v1::JoinRequest req;
  req.set_addr(Advertised(state.resp_port));
  req.set_weight(options.weight);
  req.set_id(state.id);
  ringkv::v1::JoinReply reply;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, kJoinTimeoutMs);
  const Status s = net::FromGrpc(peers->RegistryStub(options.join)->Join(&ctx, req, &reply));
  if (s.ok()) {
    spdlog::info("joined through {}: {} at epoch {}{}", options.join, reply.status(), reply.epoch(),
                 reply.migration_id().empty() ? "" : " (migration " + reply.migration_id() + ")");
    if (reply.status() == "member" && !reply.map_json().empty()) {
      if (auto e = view->SetMap(reply.map_json(), reply.registry()); !e.ok()) {
        spdlog::warn("join: map from {}: {}", options.join, e.status().message());
      }
    } else if (!reply.registry().empty()) {
      // Remember the router only; the map comes with the migration.
      view->SetRegistry(reply.registry());
    }
    return false;
  }
  if (s.code() == StatusCode::kInvalidArgument) {
    spdlog::error("join through {} refused: {}; not retrying", options.join, s.message());
    return false;
  }
  if (attempt == 1 || attempt % 10 == 0) {
    spdlog::warn("join through {} (attempt {}): {}; retrying", options.join, attempt, s.message());
  }
  return true;
}

std::string NodeService::Impl::PortsJson() const {
  nlohmann::json j = {{"id", state.id},
                      {"bind", options.bind},
                      {"cluster_bind", options.cluster_bind},
                      {"resp_port", state.resp_port},
                      {"http_port", state.http_port},
                      {"grpc_port", state.grpc_port},
                      {"link_port", links->port()},
                      {"pid", ::getpid()}};
  return j.dump();
}

StatusOr<std::unique_ptr<NodeService>> NodeService::Start(const NodeOptions& options) {
  if (Status s = ValidateNodeOptions(options); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto engine = OpenEngine(options);
  if (!engine.ok()) return engine.status();
  impl->engine = std::move(*engine);
  if (Status s = impl->OpenJobs(); !s.ok()) return s;
  impl->state.version = RINGKV_VERSION;
  impl->state.start_ms = SystemClock::Instance().NowMs();
  impl->state.maxclients = options.maxclients;
  impl->state.client_limits = options.client;
  impl->state.engine_name = options.data_dir.empty() ? "memory" : "rocksdb";
  impl->state.eviction_policy = std::string(settings::EnumName<store::EvictionPolicy>(
      store::kEvictionPolicyNames, options.maxmemory_policy));
  impl->peers = std::make_unique<PeerChannels>(options.peer_timeout_ms, options.cluster_secret,
                                               options.transfer_chunk_bytes, options.max_bulk_len,
                                               options.cluster_tls);
  impl->view = std::make_unique<ClusterView>(SystemClock::Instance(), impl->metrics.cluster(),
                                             impl->state.id, options.max_epoch_step);
  impl->hlc.set_max_drift_ms(options.max_clock_drift_ms);
  impl->hlc.set_refusal_hook([&counters = impl->metrics.cluster()](uint64_t seen) {
    counters.refused.Count(
        Refusal::kClockDrift,
        "a version (" + std::to_string(seen) + ") beyond now + max_clock_drift arrived from a peer",
        SystemClock::Instance().NowMs());
  });
  impl->migration = std::make_unique<MigrationRoles>(
      *impl->view, *impl->engine, SystemClock::Instance(), impl->hlc, impl->metrics.cluster(),
      *impl->peers, std::chrono::microseconds(options.migration_yield_us));
  impl->peer_work = std::make_unique<WorkerPool>(options.peer_workers, "peer-work");
  impl->links = std::make_unique<PeerLinks>(LinkOptions(options), *impl->peers);
  impl->forwarder = std::make_unique<Forwarder>(*impl->links, *impl->peers, *impl->view,
                                                impl->metrics.cluster(), *impl->peer_work);
  impl->replication = std::make_unique<Replication>(
      SystemClock::Instance(), ReplicationOptions{.suspect_ms = options.suspect_ms},
      impl->engine->hints(), impl->metrics.replication());
  if (!options.join.empty()) {
    impl->view->AwaitMap("this node is joining the cluster through " + options.join +
                         " and has no cluster map yet");
  }
  impl->dispatcher = std::make_unique<Dispatcher>(
      *impl->engine, SystemClock::Instance(), impl->hlc, impl->metrics, impl->state,
      DispatcherOptions{.requirepass = options.requirepass,
                        .jobs = impl->jobs.get(),
                        .view = impl->view.get(),
                        .migration = impl->migration.get(),
                        .forward = impl->forwarder.get(),
                        .peer_work = impl->peer_work.get(),
                        .replication = impl->replication.get(),
                        .speculative_read_ms = options.speculative_read_ms});
  impl->anti_entropy = std::make_unique<AntiEntropy>(
      *impl->view, *impl->engine, impl->hlc, *impl->forwarder, *impl->peers, *impl->replication,
      SystemClock::Instance(), impl->state.id,
      AntiEntropyOptions{.interval_s = options.anti_entropy_interval_s,
                         .max_keys_per_sec = options.anti_entropy_max_keys_per_sec,
                         .scan_keys_per_sec = options.anti_entropy_scan_keys_per_sec,
                         .yield = std::chrono::microseconds(options.migration_yield_us),
                         .peer_timeout_ms = options.peer_timeout_ms});
  if (Status s = impl->StartListeners(); !s.ok()) return s;
  impl->replica_maintenance = std::make_unique<ReplicaMaintenance>(
      *impl->view, *impl->engine, *impl->forwarder, *impl->replication, SystemClock::Instance());
  impl->replica_maintenance->Start();
  impl->anti_entropy->Start();
  spdlog::info(
      "ringkv node {} serving: resp={}:{} http={}:{} grpc={}:{} link={}:{} engine={} auth: "
      "clients {}, cluster {}",
      impl->state.id, options.bind, impl->state.resp_port, options.bind, impl->state.http_port,
      options.cluster_bind, impl->state.grpc_port, options.cluster_bind, impl->links->port(),
      impl->state.engine_name, options.requirepass.empty() ? "open" : "requirepass",
      ClusterAuthName(options));
  if (!options.ports_file.empty()) {
    if (Status s = WriteFileAtomically(options.ports_file, impl->PortsJson() + "\n"); !s.ok())
      return s;
  }
  if (!options.join.empty()) {
    Impl* p = impl.get();
    p->joiner.Start([p] { return JoinBackoff(p->join_attempts); },
                    [p] { return p->TryJoin(++p->join_attempts); }, /*run_first=*/true);
  }
  return std::unique_ptr<NodeService>(new NodeService(std::move(impl)));
}

NodeService::NodeService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeService::~NodeService() {
  Stop();
}

void NodeService::Stop() {
  impl_->joiner.Stop();
  if (impl_->replica_maintenance) impl_->replica_maintenance->Stop();
  if (impl_->anti_entropy) impl_->anti_entropy->Stop();
  if (!impl_->resp) return;
  impl_->resp->Stop();
  impl_->http->Stop();
  impl_->grpc->Stop();
  // Forwards in flight finish (their replies are dropped) before the
  // Dispatcher they run on can go: the links fail what they still carry.
  impl_->links->Stop();
  impl_->forwarder->Drain();
  impl_->peer_work->Drain();
  impl_->resp.reset();
}

uint16_t NodeService::resp_port() const {
  return impl_->state.resp_port;
}
uint16_t NodeService::http_port() const {
  return impl_->state.http_port;
}
uint16_t NodeService::grpc_port() const {
  return impl_->state.grpc_port;
}
const std::string& NodeService::id() const {
  return impl_->state.id;
}

}  // namespace ringkv::node
