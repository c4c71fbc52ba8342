#include "router/router_service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/process.h"
#include "cluster/membership.h"
#include "net/grpc_server.h"
#include "net/http_server.h"
#include "provider/provider.h"
#include "router/autoscaler.h"
#include "router/discovery.h"
#include "router/health_checker.h"
#include "router/http_api.h"
#include "router/jobs_api.h"
#include "router/kv_gateway.h"
#include "router/membership.h"
#include "router/migrator.h"
#include "router/peer_client.h"
#include "router/proxy.h"
#include "router/redis_arc_mover.h"
#include "router/registry.h"
#include "router/registry_service.h"

namespace ringkv::router {

namespace {

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Addresses of the running ringkv nodes and redis-servers in a run directory.
std::vector<std::string> ProviderNodes(const std::string& run_dir) {
  std::vector<std::string> out;
  if (run_dir.empty()) return out;
  auto list = provider::NewLocalProvider(run_dir, "")->List();
  if (!list.ok()) {
    spdlog::warn("start-up: cannot list {}: {}", run_dir, list.status().message());
    return out;
  }
  for (const auto& i : *list) {
    if (!i.alive) continue;
    if (i.kind == "node") out.push_back(i.host + ":" + std::to_string(i.http_port));
    if (i.kind == "redis") out.push_back(i.host + ":" + std::to_string(i.resp_port));
  }
  return out;
}

bool Known(const cluster::ClusterMap& map, const std::string& addr) {
  for (const auto& n : map.nodes) {
    if (n.addr == addr || n.http_addr == addr || n.id == addr) return true;
  }
  return false;
}

}  // namespace

struct RouterService::Impl {
  RouterOptions options;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<PeerClient> peers;
  std::unique_ptr<ArcMover> grpc_mover;   // ringkv nodes
  std::unique_ptr<ArcMover> redis_mover;  // redis-servers
  std::unique_ptr<ArcMover> mover;        // picks one of the two by the node's kind
  std::unique_ptr<Migrator> migrator;
  LiveSettings settings;
  std::unique_ptr<KvGateway> kv;
  ProxyStats proxy_stats;
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<RouterHttpContext> http_ctx;
  std::unique_ptr<net::HttpServer> http;
  std::unique_ptr<HealthChecker> health;
  std::unique_ptr<JobsApi> jobs;
  std::unique_ptr<Autoscaler> autoscaler;
  // gRPC: the registry services (Join, seed 003's RegisterNode).
  std::unique_ptr<Membership> membership;
  std::unique_ptr<RegistryService> registry_service;
  std::unique_ptr<net::GrpcServer> grpc;
  // Config watcher.
  std::thread watcher;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  int64_t config_mtime = -1;
  RouterOptions applied;  // the config file + flags as last applied
  // A reload whose ring changes waited for a running migration; retried
  // every config poll until applied.
  std::optional<RouterOptions> pending;

  Status OpenRegistry();
  Status OpenMigrator();
  // Returns false when a change had to wait for a running migration.
  bool AddNodes(const std::vector<std::string>& addrs, const char* source);
  bool RemoveNodes(const std::vector<std::string>& addrs);
  Status StartListeners();
  Status StartGrpc();
  void ApplyLive(const RouterOptions& next);
  void Reload();
  void WatchConfig();
  Status WritePortsFile() const;
};

Status RouterService::Impl::OpenRegistry() {
  cluster::ClusterMap defaults;
  defaults.vnodes = options.vnodes;
  defaults.hash = *ring::ParseHashKind(options.hash);
  auto reg = Registry::Open(cluster::NewFileMapStore(options.data_dir), defaults);
  if (!reg.ok()) return reg.status();
  registry = std::move(*reg);
  cluster::ClusterMap map = registry->Map();
  spdlog::info("registry: epoch {} with {} nodes from {}", map.epoch, map.nodes.size(),
               options.data_dir);
  return OkStatus();
}

namespace {

// Sends `map` to every ringkv node in it that is not down, in parallel, each
// call bounded by `timeout_ms`; a node that misses it gets the next push, or
// fetches the map when a forward shows it a newer epoch.
void PushToNodes(PeerClient& peers, const cluster::ClusterMap& map, uint32_t timeout_ms) {
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
  peers = std::make_unique<PeerClient>(options.rebalance_rpc_timeout_ms);
  // Every new map reaches the nodes before the router routes by it.
  registry->set_pre_publish([this](const cluster::ClusterMap& map) {
    PushToNodes(*peers, map, std::min<uint32_t>(options.backend_timeout_ms, 1000));
  });
  grpc_mover = NewGrpcArcMover(*peers);
  redis_mover =
      NewRedisArcMover(options.backend_password, std::max(options.rebalance_rpc_timeout_ms, 1000u));
  mover = NewKindArcMover(*grpc_mover, *redis_mover);
  MigratorOptions mo;
  mo.data_dir = options.data_dir;
  mo.grace_ms = RebalanceGraceMs(options);
  mo.max_keys_per_sec = options.rebalance_max_keys_per_sec;
  mo.max_bytes_per_sec = options.rebalance_max_bytes_per_sec;
  mo.max_parallel_copies = options.rebalance_parallel_copies;
  migrator = std::make_unique<Migrator>(mo, *registry, *mover, peers.get());
  health->set_migration_hooks({[m = migrator.get()] { return m->Running(); },
                               [m = migrator.get()](const cluster::NodeInfo& n) { m->NodeUp(n); }});
  return migrator->Open();
}

// Adds each unknown address: discovered if it answers, else recorded as down.
// At start-up nodes join at once (the cluster is being assembled); from the
// config file they join through a migration.
bool RouterService::Impl::AddNodes(const std::vector<std::string>& addrs, const char* source) {
  const bool live = std::string_view(source) == "config";
  bool all = true;
  for (const std::string& addr : addrs) {
    if (Known(registry->Map(), addr)) continue;
    if (!live && migrator->Running()) {
      spdlog::warn("{}: migration {} in progress; not adding {} now (add it when it is done)",
                   source, migrator->RunningId(), addr);
      continue;
    }
    auto node =
        DiscoverNode(addr, std::nullopt, options.discovery_timeout_ms, options.backend_password);
    cluster::NodeInfo info;
    if (node.ok()) {
      info = *node;
    } else {
      spdlog::warn("{}: {} does not answer ({}); registered as down", source, addr,
                   node.status().message());
      info = UndiscoveredNode(addr);
    }
    if (live && info.state == cluster::NodeState::kActive) {
      auto r = migrator->Change(cluster::MigrationKind::kAdd, info.addr,
                                [&](const cluster::ClusterMap& m) {
                                  cluster::NodeInfo joining = info;
                                  joining.state = cluster::NodeState::kJoining;
                                  return cluster::AddNode(m, joining);
                                });
      if (!r.ok()) {
        all = all && r.status().code() != StatusCode::kAborted;
        spdlog::warn("{}: cannot add {} now: {}", source, addr, r.status().message());
      } else {
        spdlog::info("{}: adding {} ({}) at epoch {}{}", source, info.id, info.addr, r->after.epoch,
                     r->migration ? " (migration " + r->migration->id + ")" : "");
      }
      continue;
    }
    auto r =
        registry->Apply([&](const cluster::ClusterMap& m) { return cluster::AddNode(m, info); });
    if (!r.ok()) {
      spdlog::warn("{}: cannot add {}: {}", source, addr, r.status().message());
    } else {
      spdlog::info("{}: added {} ({}, {}) at epoch {}", source, info.id, info.addr,
                   cluster::NodeStateName(info.state), r->epoch);
    }
  }
  return all;
}

bool RouterService::Impl::RemoveNodes(const std::vector<std::string>& addrs) {
  bool all = true;
  for (const std::string& addr : addrs) {
    cluster::ClusterMap map = registry->Map();
    std::string target;
    for (const auto& n : map.nodes) {
      if (n.addr == addr || n.http_addr == addr || n.id == addr) target = n.id;
    }
    if (target.empty()) continue;
    auto r = migrator->Change(
        cluster::MigrationKind::kRemove, addr,
        [&](const cluster::ClusterMap& m) { return cluster::MarkLeaving(m, target); });
    if (r.ok()) {
      spdlog::info("config: removing {} at epoch {}{}", addr, r->after.epoch,
                   r->migration ? " (migration " + r->migration->id + ")" : "");
    } else {
      all = all && r.status().code() != StatusCode::kAborted;
      spdlog::warn("config: cannot remove {} now: {}", addr, r.status().message());
    }
  }
  return all;
}

Status RouterService::Impl::StartListeners() {
  ProxyOptions po;
  po.bind = options.bind;
  po.port = options.resp_port;
  po.threads = options.io_threads;
  if (StatusOr<CpuList> cpus = ParseCpuList(options.io_cpus); cpus.ok()) po.cpus = *cpus;
  po.maxclients = options.maxclients;
  po.requirepass = options.requirepass;
  po.backend_password = options.backend_password;
  po.backend_timeout_ms = options.backend_timeout_ms;
  proxy = std::make_unique<Proxy>(po, *registry, proxy_stats);
  if (Status s = proxy->Start(); !s.ok()) return s;

  kv = std::make_unique<KvGateway>(options.backend_password, options.backend_timeout_ms);
  http_ctx = std::make_unique<RouterHttpContext>(RouterHttpContext{
      *registry, settings, *kv, proxy_stats, options.admin_token, options.backend_password,
      options.discovery_timeout_ms, 0, proxy->port(),
      [](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }});
  jobs = std::make_unique<JobsApi>(JobsOptionsFrom(options), *registry, *kv);
  http_ctx->jobs = jobs.get();
  http_ctx->migrator = migrator.get();
  net::HttpServerOptions ho;
  ho.bind = options.bind;
  ho.port = options.http_port;
  ho.threads = 2 + jobs->options().long_poll_slots;  // a getWork long poll holds a thread
  ho.body_limit = options.http_body_limit;
  http = std::make_unique<net::HttpServer>(
      ho, [this](const net::HttpRequest& r) { return HandleRouterHttp(r, *http_ctx); });
  if (Status s = http->Start(); !s.ok()) return s;
  http_ctx->http_port = http->port();
  autoscaler = StartAutoscaler(options, http->port(), *jobs);
  return StartGrpc();
}

Status RouterService::Impl::StartGrpc() {
  membership = std::make_unique<Membership>(
      MembershipOptions{options.discovery_timeout_ms, options.backend_password}, *registry,
      migrator.get(), *peers);
  registry_service = std::make_unique<RegistryService>(*membership, *registry, *peers);
  grpc = std::make_unique<net::GrpcServer>(
      net::GrpcServerOptions{.bind = options.bind, .port = options.grpc_port});
  registry_service->RegisterWith(*grpc);
  if (Status s = grpc->Start(); !s.ok()) return s;
  peers->set_registry(options.bind + ":" + std::to_string(grpc->port()));
  // Nodes added before the gRPC server ran learn its address (and the map).
  PushToNodes(*peers, registry->Map(), std::min<uint32_t>(options.backend_timeout_ms, 1000));
  return OkStatus();
}

// Applies the live settings whose value changed since the last applied
// config, and only those: a reload must not undo a PUT /config, an API
// add/remove or a flag for a setting the file did not change.
void RouterService::Impl::ApplyLive(const RouterOptions& next) {
  cluster::ClusterMap map = registry->Map();
  bool waiting = false;  // a ring change waits for the running migration
  if (next.vnodes != applied.vnodes && next.vnodes != map.vnodes) {
    auto r = migrator->Change(
        cluster::MigrationKind::kVnodes, "vnodes " + std::to_string(next.vnodes),
        [&](const cluster::ClusterMap& m) { return cluster::SetVnodes(m, next.vnodes); });
    if (r.ok()) {
      spdlog::info("config: vnodes {} -> {} at epoch {}{}", map.vnodes, next.vnodes, r->after.epoch,
                   r->migration ? " (migration " + r->migration->id + ")" : "");
    } else if (r.status().code() == StatusCode::kAborted) {
      spdlog::info("config: vnodes {} waits: {}", next.vnodes, r.status().message());
      waiting = true;
    } else {
      spdlog::warn("config: cannot set vnodes {}: {}", next.vnodes, r.status().message());
    }
  }
  const cluster::HealthOptions &h = next.health, &was = applied.health;
  if (h.interval_ms != was.interval_ms || h.timeout_ms != was.timeout_ms ||
      h.failures != was.failures || h.successes != was.successes) {
    settings.set_health(h);
  }
  if (next.log_level != applied.log_level) {
    settings.set_log_level(next.log_level);
    spdlog::set_level(spdlog::level::from_str(next.log_level));
    spdlog::info("config: log level {}", next.log_level);
  }
  std::set<std::string> wanted(next.nodes.begin(), next.nodes.end());
  std::set<std::string> had(applied.nodes.begin(), applied.nodes.end());
  std::vector<std::string> added, dropped;
  for (const auto& a : next.nodes) {
    if (!had.count(a)) added.push_back(a);
  }
  for (const auto& a : applied.nodes) {
    if (!wanted.count(a)) dropped.push_back(a);
  }
  waiting = !AddNodes(added, "config") || waiting;
  waiting = !RemoveNodes(dropped) || waiting;
  if (waiting) {
    // Settings applied so far stay; the ring changes are retried each poll.
    RouterOptions partial = next;
    partial.vnodes = applied.vnodes;
    partial.nodes = applied.nodes;
    applied = partial;
    pending = next;
    return;
  }
  applied = next;
  pending.reset();
}

void RouterService::Impl::Reload() {
  if (options.config_path.empty()) return;
  auto next = LoadRouterConfig(options.config_path, RouterOptions{});
  for (const auto& [name, value] : options.overrides) {
    if (!next.ok()) break;
    if (Status s = ApplyRouterSetting(*next, name, value); !s.ok()) next = s;
  }
  if (next.ok()) {
    if (Status s = ValidateRouterOptions(*next); !s.ok()) next = s;
  }
  if (!next.ok()) {
    spdlog::error("config: {} is invalid, keeping the running config: {}", options.config_path,
                  next.status().message());
    return;
  }
  spdlog::info("config: re-read {}", options.config_path);
  ApplyLive(*next);
}

void RouterService::Impl::WatchConfig() {
  std::unique_lock lock(mu);
  while (!cv.wait_for(lock, std::chrono::milliseconds(options.config_poll_ms),
                      [this] { return stopping; })) {
    int64_t m = MtimeNs(options.config_path);
    if (m == config_mtime && pending && !migrator->Running()) {
      RouterOptions next = *pending;
      lock.unlock();
      ApplyLive(next);
      lock.lock();
      continue;
    }
    if (m == config_mtime) continue;
    config_mtime = m;
    lock.unlock();
    Reload();
    lock.lock();
  }
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
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->settings.set_health(options.health);
  impl->settings.set_log_level(options.log_level);
  if (Status s = impl->OpenRegistry(); !s.ok()) return s;
  impl->health =
      std::make_unique<HealthChecker>(*impl->registry, impl->settings, options.backend_password);
  if (Status s = impl->OpenMigrator(); !s.ok()) return s;
  // Seed 000: learn the nodes, and check every one, before serving.
  impl->AddNodes(options.nodes, "start-up");
  impl->applied = options;
  impl->AddNodes(ProviderNodes(options.run_dir), "provider");
  impl->health->RunOnce();
  if (Status s = impl->StartListeners(); !s.ok()) return s;
  impl->health->Start();
  if (!options.config_path.empty()) {
    impl->config_mtime = MtimeNs(options.config_path);
    impl->watcher = std::thread([p = impl.get()] { p->WatchConfig(); });
  }
  if (Status s = impl->WritePortsFile(); !s.ok()) return s;
  cluster::ClusterMap map = impl->registry->Map();
  spdlog::info(
      "ringkv router serving: http={}:{} resp={}:{} grpc={}:{} epoch={} nodes={} in service={}",
      options.bind, impl->http->port(), options.bind, impl->proxy->port(), options.bind,
      impl->grpc->port(), map.epoch, map.nodes.size(), map.InService());
  return std::unique_ptr<RouterService>(new RouterService(std::move(impl)));
}

RouterService::RouterService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouterService::~RouterService() {
  Stop();
}

void RouterService::ReloadConfig() {
  impl_->Reload();
}

void RouterService::Stop() {
  if (!impl_ || !impl_->http) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->watcher.joinable()) impl_->watcher.join();
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
