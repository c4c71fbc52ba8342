// proxy_harness: a test-only process that runs a Proxy over a fixed set of
// back ends, until the router service exists to wire one to the registry.
//
//   proxy_harness --backend 127.0.0.1:6380[,redis] [--backend ...] [--port 0]
//                 [--ports-file F] [--threads N] [--requirepass P]
//                 [--backend-password P] [--backend-timeout-ms N] [--vnodes N]
//                 [--replication N]
//
// --replication builds the table with N replicas of each key without the
// cluster map's check (redis back ends keep replication 1 in a real
// cluster): tests drive the proxy's failover over plain redis-servers.
//
// Writes {"resp_port": N} to --ports-file once serving; stops on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "cluster/cluster_map.h"
#include "router/proxy/proxy.h"
#include "router/proxy/route_table.h"

namespace {

using ringkv::cluster::BackendKind;

int Usage(const std::string& why) {
  std::cerr << "proxy_harness: " << why
            << "\nusage: proxy_harness --backend host:port[,ringkv|redis] ... [--port N]"
               " [--ports-file F] [--threads N] [--requirepass P] [--backend-password P]"
               " [--backend-timeout-ms N] [--vnodes N] [--replication N]\n";
  return 2;
}

bool ParseBackend(std::string_view spec, ringkv::cluster::NodeInfo& node) {
  size_t comma = spec.find(',');
  node.addr = std::string(spec.substr(0, comma));
  node.id = node.addr;
  node.kind = BackendKind::kRedis;
  if (comma == std::string_view::npos) return true;
  auto kind = ringkv::cluster::ParseBackendKind(spec.substr(comma + 1));
  if (!kind) return false;
  node.kind = *kind;
  return true;
}

bool WritePortsFile(const std::string& path, uint16_t port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << "{\"resp_port\": " << port << "}\n";
    if (!f) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  ringkv::cluster::ClusterMap map;
  map.epoch = 1;
  ringkv::router::ProxyOptions options;
  options.port = 0;
  std::string ports_file;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) return Usage("missing value for " + std::string(flag));
    std::string value = argv[++i];
    if (flag == "--backend") {
      ringkv::cluster::NodeInfo node;
      if (!ParseBackend(value, node)) return Usage("bad --backend " + value);
      map.nodes.push_back(std::move(node));
    } else if (flag == "--port") {
      options.port = static_cast<uint16_t>(std::stoul(value));
    } else if (flag == "--ports-file") {
      ports_file = value;
    } else if (flag == "--threads") {
      options.threads = static_cast<uint32_t>(std::stoul(value));
    } else if (flag == "--requirepass") {
      options.requirepass = value;
    } else if (flag == "--backend-password") {
      options.backend_password = value;
    } else if (flag == "--backend-timeout-ms") {
      options.backend_timeout_ms = static_cast<uint32_t>(std::stoul(value));
    } else if (flag == "--replication") {
      map.replication = static_cast<uint32_t>(std::stoul(value));
    } else if (flag == "--vnodes") {
      map.vnodes = static_cast<uint32_t>(std::stoul(value));
    } else {
      return Usage("unknown flag " + std::string(flag));
    }
  }

  auto table = ringkv::router::MakeRouteTable(map);
  if (!table.ok()) return Usage(table.status().ToString());
  ringkv::router::AtomicRouteSource routes;
  routes.Publish(*table);
  ringkv::router::ProxyStats stats;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the I/O threads start

  ringkv::router::Proxy proxy(options, routes, stats);
  if (auto st = proxy.Start(); !st.ok()) {
    std::cerr << "proxy_harness: " << st.ToString() << "\n";
    return 1;
  }
  if (!ports_file.empty() && !WritePortsFile(ports_file, proxy.port())) {
    std::cerr << "proxy_harness: cannot write " << ports_file << "\n";
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  proxy.Stop();
  return 0;
}
