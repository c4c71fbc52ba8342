#include "router/router_service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/process.h"
#include "cluster/membership.h"
#include "net/grpc_auth.h"
#include "net/grpc_server.h"
#include "net/http_server.h"
#include "provider/provider.h"
#include "router/api/join_admission.h"
#include "router/api/registry_service.h"
#include "router/api/router_http.h"
#include "router/config_watcher.h"
#include "router/jobs/autoscaler.h"
#include "router/jobs/jobs_api.h"
#include "router/map/discovery.h"
#include "router/map/health_checker.h"
#include "router/map/map_owner.h"
#include "router/node_changes.h"
#include "router/proxy/kv_gateway.h"
#include "router/proxy/proxy.h"
#include "router/rebalance/migrator.h"
#include "router/rebalance/node_client.h"
#include "router/rebalance/redis_arc_mover.h"

namespace ringkv::router {

namespace {

std::string SelfExe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, size_t(n)) : std::string("ringkv");
}

// Where local clients reach a listener bound to `bind`.
std::string ReachableHost(const std::string& bind) {
  if (bind.empty() || bind == "0.0.0.0" || bind == "::") return "127.0.0.1";
  if (bind.find(':') != std::string::npos) return "[" + bind + "]";
  return bind;
}

// The jobs API's settings from the router's.
JobsOptions JobsOptionsFrom(const RouterOptions& o) {
  JobsOptions j;
  j.limits.max_payload = o.job_max_payload;
  j.limits.max_iterations = o.job_max_iterations;
  j.lease_ms = o.job_lease_ms;
  j.max_wait_ms = o.job_max_wait_ms;
  j.max_workers = o.max_workers;
  j.require_worker_tokens = !o.requirepass.empty();
  // Room for every thread of max_workers workers to long-poll, within reason.
  j.long_poll_slots = std::clamp<uint32_t>(2 * o.max_workers * o.worker_threads, 8, 64);
  return j;
}

// Wires the jobs API to this router's HTTP port (for /ip and the workers'
// --router) and starts the autoscaler over the local provider of
// o.run_dir (running this same binary); idle unless o.autoscale and run_dir.
std::unique_ptr<Autoscaler> StartAutoscaler(const RouterOptions& o, uint16_t http_port,
                                            JobsApi& jobs) {
  std::string addr = ReachableHost(o.bind) + ":" + std::to_string(http_port);
  jobs.set_http_addr(addr);
  AutoscalerOptions a;
  a.enabled = o.autoscale && !o.run_dir.empty();
  a.interval_ms = o.autoscale_interval_ms;
  a.scale_after_ms = o.scale_after_ms;
  a.max_workers = o.max_workers;
  a.worker_idle_exit = o.worker_idle_exit;
  a.worker_threads = o.worker_threads;
  a.router_url = "http://" + addr;
  a.password_file = o.requirepass_file;
  if (o.http_tls) {
    a.router_url = addr;
    a.router_tls_ca_cert_file = o.tls.ca_cert_file;
    a.router_tls_cert_file = o.tls.cert_file;
    a.router_tls_key_file = o.tls.key_file;
    if (a.enabled && o.tls.ca_cert_file.empty()) {
      spdlog::warn(
          "autoscale: the HTTP API is HTTPS without tls_ca_cert_file, so the workers launched "
          "here have no CA to verify the router with and cannot reach it");
    }
  }
  std::unique_ptr<provider::Provider> p;
  if (a.enabled) p = provider::NewLocalProvider(o.run_dir, SelfExe());
  auto scaler = std::make_unique<Autoscaler>(std::move(a), jobs, std::move(p));
  jobs.set_autoscaler_status([s = scaler.get()] { return s->status(); });
  scaler->Start();
  return scaler;
}

}  // namespace

struct RouterService::Impl {
  RouterOptions options;
  std::unique_ptr<MapOwner> map_owner;
  std::unique_ptr<NodeClient> peers;
  std::unique_ptr<ArcMover> grpc_mover;   // ringkv nodes
  std::unique_ptr<ArcMover> redis_mover;  // redis-servers
  std::unique_ptr<ArcMover> mover;        // picks one of the two by the node's kind
  std::unique_ptr<Migrator> migrator;
  LiveSettings settings;
  std::unique_ptr<KvGateway> kv;
  ProxyStats proxy_stats;
  std::unique_ptr<Proxy> proxy;
  cluster::LimitRefusals membership_refusals;  // before the services that count into it
  std::unique_ptr<RouterHttpContext> http_ctx;
  std::unique_ptr<net::HttpServer> http;
  std::unique_ptr<HealthChecker> health;
  std::unique_ptr<JobsApi> jobs;
  std::unique_ptr<Autoscaler> autoscaler;
  // gRPC: the registry services (Join, crustyring's RegisterNode).
  std::unique_ptr<JoinAdmission> admission;
  std::unique_ptr<RegistryService> registry_service;
  std::unique_ptr<net::GrpcServer> grpc;
  std::unique_ptr<NodeChanges> node_changes;
  std::unique_ptr<ConfigWatcher> config;

  Status OpenMapOwner();
  Status OpenMigrator();
  Status StartListeners();
  Status StartGrpc();
  Status WritePortsFile() const;
};

Status RouterService::Impl::OpenMapOwner() {
  // Like vnodes, the replication settings shape a new map only; a persisted
  // map keeps its own (PUT /config and the YAML file change them live).
  const cluster::ClusterMap defaults = ReplicationSettings(options);
  auto reg = MapOwner::Open(cluster::NewFileMapStore(options.data_dir), defaults);
  if (!reg.ok()) return reg.status();
  map_owner = std::move(*reg);
  cluster::ClusterMap map = map_owner->Map();
  spdlog::info("registry: epoch {} with {} nodes from {} (replication {})", map.epoch,
               map.nodes.size(), options.data_dir, map.replication);
  if (map.epoch > 0 && map.replication != defaults.replication) {
    spdlog::warn(
        "registry: the persisted map keeps replication {}; --replication {} applies to a "
        "new cluster only",
        map.replication, defaults.replication);
  }
  return cluster::CheckReplication(map);
}

namespace {

// Sends `map` to every ringkv node in it that is not down, in parallel, each
// call bounded by `timeout_ms`; a node that misses it gets the next push, or
// fetches the map when a forward shows it a newer epoch.
void PushToNodes(NodeClient& peers, const cluster::ClusterMap& map, uint32_t timeout_ms) {
  const std::string json = cluster::ToJson(map);
  std::vector<std::pair<std::string, std::future<StatusOr<uint64_t>>>> calls;
  for (const cluster::NodeInfo& n : map.nodes) {
    if (n.kind != cluster::BackendKind::kRingkv || n.grpc_addr.empty() ||
        n.state == cluster::NodeState::kDown) {
      continue;
    }
    calls.emplace_back(
        n.id, std::async(std::launch::async, [&peers, &json, timeout_ms, addr = n.grpc_addr] {
          return peers.SetMap(addr, json, timeout_ms);
        }));
  }
  for (auto& [id, call] : calls) {
    if (auto r = call.get(); !r.ok()) {
      spdlog::warn("registry: map epoch {} not delivered to {}: {}", map.epoch, id,
                   r.status().message());
    }
  }
}

}  // namespace

// Resumes an unfinished migration from <data_dir>/migration.json.
Status RouterService::Impl::OpenMigrator() {
  peers = std::make_unique<NodeClient>(options.rebalance_rpc_timeout_ms, options.cluster_secret,
                                       options.cluster_tls);
  // Every new map reaches the nodes before the router routes by it.
  map_owner->set_pre_publish([this](const cluster::ClusterMap& map) {
    PushToNodes(*peers, map, std::min<uint32_t>(options.backend_timeout_ms, 1000));
  });
  grpc_mover = NewGrpcArcMover(*peers);
  redis_mover = NewRedisArcMover(BackendCredentials(options),
                                 std::max(options.rebalance_rpc_timeout_ms, 1000u));
  mover = NewKindArcMover(*grpc_mover, *redis_mover);
  MigratorOptions mo;
  mo.data_dir = options.data_dir;
  mo.grace_ms = RebalanceGraceMs(options);
  mo.max_keys_per_sec = options.rebalance_max_keys_per_sec;
  mo.max_bytes_per_sec = options.rebalance_max_bytes_per_sec;
  mo.max_parallel_copies = options.rebalance_parallel_copies;
  migrator = std::make_unique<Migrator>(mo, *map_owner, *mover, peers.get());
  health->set_migration_hooks(
      {.running = [m = migrator.get()] { return m->Running(); },
       .node_up = [m = migrator.get()](const cluster::NodeInfo& n) { m->NodeUp(n); },
       .rejoin =
           [m = migrator.get()](const cluster::NodeInfo& fresh) {
             return m
                 ->Change(cluster::MigrationKind::kReturn, fresh.id,
                          [&](const cluster::ClusterMap& map) {
                            return cluster::Reinstate(map, fresh, cluster::NodeState::kJoining);
                          })
                 .status();
           },
       .replace =
           [m = migrator.get()](const cluster::NodeInfo& node) {
             return m
                 ->Change(cluster::MigrationKind::kRemove, node.id,
                          [&](const cluster::ClusterMap& map) {
                            return cluster::MarkLeaving(map, node.id);
                          })
                 .status();
           }});
  return migrator->Open();
}

Status RouterService::Impl::StartListeners() {
  ProxyOptions po;
  po.bind = options.bind;
  po.port = options.resp_port;
  po.threads = options.io_threads;
  if (StatusOr<CpuList> cpus = ParseCpuList(options.io_cpus); cpus.ok()) po.cpus = *cpus;
  po.maxclients = options.maxclients;
  po.client = options.client;
  po.tls = options.tls;
  po.requirepass = options.requirepass;
  po.backend_password = options.backend_password;
  po.backend_tls = options.backend_tls;
  po.backend_timeout_ms = options.backend_timeout_ms;
  proxy = std::make_unique<Proxy>(po, *map_owner, proxy_stats);
  if (Status s = proxy->Start(); !s.ok()) return s;

  kv = std::make_unique<KvGateway>(BackendCredentials(options), options.backend_timeout_ms);
  http_ctx = std::make_unique<RouterHttpContext>(RouterHttpContext{
      *map_owner, settings, *kv, proxy_stats, options.admin_token, BackendCredentials(options),
      options.discovery_timeout_ms, 0, proxy->port(),
      [](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }});
  jobs = std::make_unique<JobsApi>(JobsOptionsFrom(options), *map_owner, *kv);
  http_ctx->jobs = jobs.get();
  http_ctx->requirepass = options.requirepass;
  http_ctx->migrator = migrator.get();
  http_ctx->limits = options.limits;
  http_ctx->refusals = &membership_refusals;
  net::HttpServerOptions ho;
  ho.bind = options.bind;
  ho.port = options.http_port;
  ho.threads = 2 + jobs->options().long_poll_slots;  // a getWork long poll holds a thread
  ho.body_limit = options.http_body_limit;
  ho.max_connections = options.http_max_connections;
  if (options.http_tls) ho.tls = options.tls;
  http = std::make_unique<net::HttpServer>(
      ho, [this](const net::HttpRequest& r) { return HandleRouterHttp(r, *http_ctx); });
  if (Status s = http->Start(); !s.ok()) return s;
  http_ctx->http_port = http->port();
  autoscaler = StartAutoscaler(options, http->port(), *jobs);
  return StartGrpc();
}

Status RouterService::Impl::StartGrpc() {
  admission = std::make_unique<JoinAdmission>(
      JoinAdmissionOptions{options.discovery_timeout_ms, BackendCredentials(options),
                           options.limits, &membership_refusals},
      *map_owner, migrator.get(), *peers);
  registry_service = std::make_unique<RegistryService>(*admission, *map_owner, *peers);
  // Every registry (ringkv's and crustyring's) changes the membership: the
  // cluster secret guards them all.
  net::GrpcServerOptions go{.bind = options.cluster_bind,
                            .port = options.grpc_port,
                            .max_concurrent_streams = options.grpc_max_concurrent_streams,
                            .keepalive_time_ms = options.grpc_keepalive_ms,
                            .tls = options.cluster_tls};
  for (const char* service : {"ringkv.v1.Registry", "dht.Registry", "registry.Registry"}) {
    if (auto g = net::ClusterGuard(service, options.cluster_secret)) go.guards.push_back(*g);
  }
  grpc = std::make_unique<net::GrpcServer>(std::move(go));
  registry_service->RegisterWith(*grpc);
  if (Status s = grpc->Start(); !s.ok()) return s;
  peers->set_registry(options.cluster_bind + ":" + std::to_string(grpc->port()));
  // Nodes added before the gRPC server ran learn its address (and the map).
  PushToNodes(*peers, map_owner->Map(), std::min<uint32_t>(options.backend_timeout_ms, 1000));
  return OkStatus();
}

Status RouterService::Impl::WritePortsFile() const {
  if (options.ports_file.empty()) return OkStatus();
  nlohmann::json j = {{"http_port", http->port()},
                      {"resp_port", proxy->port()},
                      {"grpc_port", grpc->port()},
                      {"pid", ::getpid()}};
  return WriteFileAtomically(options.ports_file, j.dump() + "\n");
}

StatusOr<std::unique_ptr<RouterService>> RouterService::Start(const RouterOptions& options) {
  if (Status s = ValidateRouterOptions(options); !s.ok()) return s;
  if (Status s = CheckRouterExposure(options); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->settings.set_health(options.health);
  impl->settings.set_log_level(options.log_level);
  if (Status s = impl->OpenMapOwner(); !s.ok()) return s;
  impl->health = std::make_unique<HealthChecker>(*impl->map_owner, impl->settings,
                                                 BackendCredentials(options));
  if (Status s = impl->OpenMigrator(); !s.ok()) return s;
  // The consistent_hashing_server: learn the nodes, and check every one, before serving.
  impl->node_changes = std::make_unique<NodeChanges>(
      NodeChangesOptions{options.discovery_timeout_ms, BackendCredentials(options)},
      *impl->map_owner, *impl->migrator);
  // A node the cluster cannot hold (a redis back end at replication >= 2)
  // stops the start-up: serving without it would hide the mistake.
  for (auto [addrs, source] :
       {std::pair{options.nodes, NodeChanges::Source::kStartUp},
        std::pair{ProviderNodes(options.run_dir), NodeChanges::Source::kProvider}}) {
    if (Status s = impl->node_changes->AddAtStartUp(addrs, source); !s.ok()) return s;
  }
  impl->health->RunOnce();
  if (Status s = impl->StartListeners(); !s.ok()) return s;
  impl->health->Start();
  impl->config = std::make_unique<ConfigWatcher>(options, *impl->map_owner, *impl->migrator,
                                                 *impl->node_changes, impl->settings);
  impl->config->Start();
  if (Status s = impl->WritePortsFile(); !s.ok()) return s;
  cluster::ClusterMap map = impl->map_owner->Map();
  spdlog::info(
      "ringkv router serving: http={}:{} resp={}:{} grpc={}:{} epoch={} nodes={} in service={} "
      "auth: clients {}, admin {}, cluster {}",
      options.bind, impl->http->port(), options.bind, impl->proxy->port(), options.cluster_bind,
      impl->grpc->port(), map.epoch, map.nodes.size(), map.InService(),
      options.requirepass.empty() ? "open" : "requirepass",
      options.admin_token.empty() ? "open" : "token",
      !options.cluster_tls ? (options.cluster_secret.empty() ? "open" : "cluster secret")
      : options.cluster_secret.empty() ? "mutual TLS"
                                       : "mutual TLS + cluster secret");
  return std::unique_ptr<RouterService>(new RouterService(std::move(impl)));
}

RouterService::RouterService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouterService::~RouterService() {
  Stop();
}

void RouterService::ReloadConfig() {
  impl_->config->Reload();
}

void RouterService::Stop() {
  if (!impl_ || !impl_->http) return;
  impl_->config->Stop();
  if (impl_->grpc) impl_->grpc->Stop();  // its handlers use the migrator
  impl_->jobs->Shutdown();
  impl_->autoscaler->Stop();
  impl_->health->Stop();
  impl_->http->Stop();
  impl_->migrator->Stop();
  impl_->proxy->Stop();
  impl_->http.reset();
}

uint16_t RouterService::http_port() const {
  return impl_->http->port();
}
uint16_t RouterService::resp_port() const {
  return impl_->proxy->port();
}
uint16_t RouterService::grpc_port() const {
  return impl_->grpc->port();
}

}  // namespace ringkv::router
