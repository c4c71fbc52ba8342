#include "router/node_changes.h"

#include <spdlog/spdlog.h>

#include "cluster/membership.h"
#include "provider/provider.h"
#include "router/map/discovery.h"
#include "router/map/map_owner.h"
#include "router/rebalance/migrator.h"

namespace ringkv::router {

namespace {

const char* SourceName(NodeChanges::Source s) {
  switch (s) {
    case NodeChanges::Source::kStartUp:
      return "start-up";
    case NodeChanges::Source::kProvider:
      return "provider";
    case NodeChanges::Source::kConfig:
      return "config";
  }
  return "?";
}

}  // namespace

bool KnowsNode(const cluster::ClusterMap& map, const std::string& addr) {
  for (const auto& n : map.nodes) {
    if (n.addr == addr || n.http_addr == addr || n.id == addr) return true;
  }
  return false;
}

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

bool NodeChanges::Add(const std::vector<std::string>& addrs, Source source) {
  bool all = true;
  for (const std::string& addr : addrs) {
    all = AddOne(addr, source).code() != StatusCode::kAborted && all;
  }
  return all;
}

Status NodeChanges::AddAtStartUp(const std::vector<std::string>& addrs, Source source) {
  for (const std::string& addr : addrs) {
    Status s = AddOne(addr, source);
    if (s.code() == StatusCode::kInvalidArgument) {
      return InvalidArgument("cannot add " + addr + ": " + s.message());
    }
  }
  return OkStatus();
}

Status NodeChanges::AddOne(const std::string& addr, Source source) {
  const char* from = SourceName(source);
  const bool live = source == Source::kConfig;
  if (KnowsNode(map_owner_.Map(), addr)) return OkStatus();
  if (!live && migrator_.Running()) {
    spdlog::warn("{}: migration {} in progress; not adding {} now (add it when it is done)", from,
                 migrator_.RunningId(), addr);
    return OkStatus();
  }
  auto node = DiscoverNode(addr, std::nullopt, options_.discovery_timeout_ms, options_.backend);
  cluster::NodeInfo info;
  if (node.ok()) {
    info = *node;
  } else {
    spdlog::warn("{}: {} does not answer ({}); registered as down", from, addr,
                 node.status().message());
    info = UndiscoveredNode(addr);
  }
  if (live && info.state == cluster::NodeState::kActive) {
    auto r = migrator_.Change(cluster::MigrationKind::kAdd, info.addr,
                              [&](const cluster::ClusterMap& m) {
                                cluster::NodeInfo joining = info;
                                joining.state = cluster::NodeState::kJoining;
                                return cluster::AddNode(m, joining);
                              });
    if (!r.ok()) {
      spdlog::warn("{}: cannot add {} now: {}", from, addr, r.status().message());
      return r.status();
    }
    spdlog::info("{}: adding {} ({}) at epoch {}{}", from, info.id, info.addr, r->after.epoch,
                 r->migration ? " (migration " + r->migration->id + ")" : "");
    return OkStatus();
  }
  auto r =
      map_owner_.Apply([&](const cluster::ClusterMap& m) { return cluster::AddNode(m, info); });
  if (!r.ok()) {
    spdlog::warn("{}: cannot add {}: {}", from, addr, r.status().message());
    return r.status();
  }
  spdlog::info("{}: added {} ({}, {}) at epoch {}", from, info.id, info.addr,
               cluster::NodeStateName(info.state), r->epoch);
  return OkStatus();
}

bool NodeChanges::Remove(const std::vector<std::string>& addrs) {
  bool all = true;
  for (const std::string& addr : addrs) {
    cluster::ClusterMap map = map_owner_.Map();
    std::string target;
    for (const auto& n : map.nodes) {
      if (n.addr == addr || n.http_addr == addr || n.id == addr) target = n.id;
    }
    if (target.empty()) continue;
    auto r = migrator_.Change(
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

}  // namespace ringkv::router
