#include "router/router_options.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <functional>

#include "base/cpus.h"
#include "base/units.h"
#include "cluster/membership.h"
#include "ring/hash.h"
#include "router/map/live_settings.h"

namespace ringkv::router {

namespace {

using Setter = std::function<Status(RouterOptions&, const std::string&)>;

StatusOr<uint64_t> ParseUint(const std::string& v, uint64_t max) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n > max) {
    return InvalidArgument("expected an integer in [0, " + std::to_string(max) + "], got '" + v +
                           "'");
  }
  return n;
}

template <typename T>
Setter Uint(T RouterOptions::*field, uint64_t max) {
  return [field, max](RouterOptions& o, const std::string& v) -> Status {
    auto n = ParseUint(v, max);
    if (!n.ok()) return n.status();
    o.*field = static_cast<T>(*n);
    return OkStatus();
  };
}

Setter HealthUint(uint32_t cluster::HealthOptions::*field) {
  return [field](RouterOptions& o, const std::string& v) -> Status {
    auto n = ParseUint(v, 3600000);
    if (!n.ok()) return n.status();
    o.health.*field = static_cast<uint32_t>(*n);
    return OkStatus();
  };
}

Setter Str(std::string RouterOptions::*field) {
  return [field](RouterOptions& o, const std::string& v) -> Status {
    o.*field = v;
    return OkStatus();
  };
}

Status SetNodes(RouterOptions& o, const std::string& v) {
  o.nodes.clear();
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string addr =
        v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!addr.empty()) {
      if (Status s = cluster::ValidateAddr(addr); !s.ok()) return s;
      o.nodes.push_back(addr);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return OkStatus();
}

struct Setting {
  Setter set;
  const char* help;
};

const std::map<std::string, Setting>& Settings() {
  static const std::map<std::string, Setting> s = {
      {"bind",
       {Str(&RouterOptions::bind),
        "address of the HTTP, RESP and gRPC listeners (default 127.0.0.1)"}},
      {"http_port",
       {Uint(&RouterOptions::http_port, 65535), "HTTP API port, 0 = any free port (default 8080)"}},
      {"resp_port",
       {Uint(&RouterOptions::resp_port, 65535),
        "RESP proxy port, 0 = any free port (default 6379)"}},
      {"grpc_port",
       {Uint(&RouterOptions::grpc_port, 65535),
        "gRPC port of the registry (ringkv.v1.Registry, seed 003's dht.Registry), 0 = any free "
        "port (default 50000; no admin token: keep it on a private interface)"}},
      {"data_dir",
       {Str(&RouterOptions::data_dir),
        "directory of the persisted cluster map (default ./ringkv-router)"}},
      {"nodes",
       {SetNodes,
        "comma-separated node addresses added at start-up: a ringkv node's HTTP address or a redis "
        "host:port"}},
      {"run_dir",
       {Str(&RouterOptions::run_dir),
        "local provider run directory whose running nodes are added at start-up"}},
      {"vnodes",
       {Uint(&RouterOptions::vnodes, 4096),
        "virtual nodes per unit of weight for a new map (default 160; live)"}},
      {"hash", {Str(&RouterOptions::hash), "key hash for a new map: xxh3 | sha256 (default xxh3)"}},
      {"health_interval_ms",
       {HealthUint(&cluster::HealthOptions::interval_ms),
        "health probe period (default 1000; live)"}},
      {"health_timeout_ms",
       {HealthUint(&cluster::HealthOptions::timeout_ms),
        "one probe's deadline (default 500; live)"}},
      {"health_failures",
       {HealthUint(&cluster::HealthOptions::failures),
        "consecutive failures before a node is down (default 3; live)"}},
      {"health_successes",
       {HealthUint(&cluster::HealthOptions::successes),
        "consecutive successes before a down node returns (default 2; live)"}},
      {"admin_token",
       {Str(&RouterOptions::admin_token),
        "Bearer token required by mutating endpoints (default none)"}},
      {"requirepass",
       {Str(&RouterOptions::requirepass), "password RESP clients must AUTH with (default none)"}},
      {"backend_password",
       {Str(&RouterOptions::backend_password), "AUTH password sent to back ends (default none)"}},
      {"backend_timeout_ms",
       {Uint(&RouterOptions::backend_timeout_ms, 3600000),
        "a back end slower than this yields -ERR (default 1000)"}},
      {"discovery_timeout_ms",
       {Uint(&RouterOptions::discovery_timeout_ms, 3600000),
        "deadline to reach a node being added (default 2000)"}},
      {"io_threads",
       {Uint(&RouterOptions::io_threads, 64),
        "RESP proxy I/O threads (default 1; raise on machines with spare cores)"}},
      {"io_cpus",
       {Str(&RouterOptions::io_cpus),
        "CPUs for the threads serving RESP proxy clients, e.g. 0 or 0-3 (default: all)"}},
      {"background_cpus",
       {Str(&RouterOptions::background_cpus),
        "CPUs for every other thread: HTTP, gRPC, migrations, health checks (default: all)"}},
      {"maxclients",
       {Uint(&RouterOptions::maxclients, 1000000), "max RESP client connections (default 10000)"}},
      {"http_body_limit",
       {[](RouterOptions& o, const std::string& v) -> Status {
          auto n = ParseBytes(v);
          if (!n.ok()) return n.status();
          o.http_body_limit = *n;
          return OkStatus();
        },
        "max HTTP request body, larger gets 413 (default 64mb)"}},
      {"config_poll_ms",
       {Uint(&RouterOptions::config_poll_ms, 3600000),
        "how often the config file is checked for changes (default 1000)"}},
      {"log_level",
       {Str(&RouterOptions::log_level),
        "trace, debug, info, warn, error, critical or off (default info; live)"}},
      {"ports_file",
       {Str(&RouterOptions::ports_file), "write the chosen ports here as JSON once serving"}},
      {"job_max_payload",
       {[](RouterOptions& o, const std::string& v) -> Status {
          auto n = ParseBytes(v);
          if (!n.ok()) return n.status();
          o.job_max_payload = *n;
          return OkStatus();
        },
        "largest job payload, larger gets 413 (default 16mb)"}},
      {"job_max_iterations",
       {Uint(&RouterOptions::job_max_iterations, 4294967295u),
        "most iterations a job may ask for (default 10000000)"}},
      {"job_lease_ms",
       {Uint(&RouterOptions::job_lease_ms, 86400000),
        "lease a worker gets with a job; renewed by /renewLease (default 30000)"}},
      {"job_max_wait",
       {[](RouterOptions& o, const std::string& v) -> Status {
          auto n = ParseDurationMs(v);
          if (!n.ok()) return n.status();
          if (*n > 3600000) return InvalidArgument("at most 1h");
          o.job_max_wait_ms = static_cast<uint32_t>(*n);
          return OkStatus();
        },
        "longest getWork long poll (default 30s); job_retention is a node setting"}},
      {"autoscale",
       {[](RouterOptions& o, const std::string& v) -> Status {
          if (v == "true" || v == "yes" || v == "on" || v == "1") {
            o.autoscale = true;
          } else if (v == "false" || v == "no" || v == "off" || v == "0") {
            o.autoscale = false;
          } else {
            return InvalidArgument("expected true or false, got '" + v + "'");
          }
          return OkStatus();
        },
        "launch workers when jobs wait, through the run_dir's provider (default true; needs "
        "run_dir)"}},
      {"max_workers",
       {Uint(&RouterOptions::max_workers, 10000),
        "the autoscaler launches no more workers than this (default 4)"}},
      {"scale_after_ms",
       {Uint(&RouterOptions::scale_after_ms, 86400000),
        "launch a worker when the oldest queued job waited longer (default 15000)"}},
      {"worker_idle_exit",
       {[](RouterOptions& o, const std::string& v) -> Status {
          if (auto n = ParseDurationMs(v); !n.ok()) return n.status();
          o.worker_idle_exit = v;
          return OkStatus();
        },
        "launched workers exit after this long without a job (default 10m)"}},
      {"autoscale_interval_ms",
       {Uint(&RouterOptions::autoscale_interval_ms, 3600000),
        "how often the autoscaler decides (default 1000)"}},
      {"worker_threads",
       {Uint(&RouterOptions::worker_threads, 256),
        "compute threads of each launched worker (default 1)"}},
      {"rebalance_max_keys_per_sec",
       {Uint(&RouterOptions::rebalance_max_keys_per_sec, UINT64_MAX),
        "keys per second each source copies while rebalancing, 0 = unlimited (default 0; "
        "PUT /migrations/rate changes it live)"}},
      {"rebalance_max_bytes_per_sec",
       {[](RouterOptions& o, const std::string& v) -> Status {
          auto n = ParseBytes(v);
          if (!n.ok()) return n.status();
          o.rebalance_max_bytes_per_sec = *n;
          return OkStatus();
        },
        "bytes per second each source copies while rebalancing, 0 = unlimited (default 0)"}},
      {"rebalance_parallel_copies",
       {Uint(&RouterOptions::rebalance_parallel_copies, 1024),
        "sources that copy at the same time while rebalancing; 0 = all of them (default 1: "
        "the copy leaves CPU to the clients)"}},
      {"rebalance_grace_ms",
       {Uint(&RouterOptions::rebalance_grace_ms, 3600000),
        "wait after a map change before copying, and before old owners drop moved keys; 0 = "
        "max(1000, 2 x backend_timeout_ms) (default 0)"}},
      {"rebalance_rpc_timeout_ms",
       {Uint(&RouterOptions::rebalance_rpc_timeout_ms, 3600000),
        "deadline of each gRPC call to a node while rebalancing (default 5000)"}},
  };
  return s;
}

}  // namespace

uint32_t RebalanceGraceMs(const RouterOptions& o) {
  if (o.rebalance_grace_ms != 0) return o.rebalance_grace_ms;
  return std::max<uint32_t>(1000, 2 * o.backend_timeout_ms);
}

Status ApplyRouterSetting(RouterOptions& options, const std::string& name,
                          const std::string& value) {
  auto it = Settings().find(name);
  if (it == Settings().end()) return InvalidArgument("unknown router setting '" + name + "'");
  if (Status s = it->second.set(options, value); !s.ok())
    return InvalidArgument(name + ": " + s.message());
  return OkStatus();
}

const std::map<std::string, std::string>& RouterSettingHelp() {
  static const std::map<std::string, std::string> help = [] {
    std::map<std::string, std::string> h;
    for (const auto& [name, s] : Settings()) h[name] = s.help;
    return h;
  }();
  return help;
}

StatusOr<RouterOptions> LoadRouterConfig(const std::string& path, RouterOptions options) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config " + path + ": " + e.what());
  }
  YAML::Node section = root["router"];
  if (!section) return options;
  if (!section.IsMap()) return InvalidArgument("config " + path + ": 'router' must be a map");
  try {
    for (const auto& kv : section) {
      std::string name = kv.first.as<std::string>();
      std::string value;
      if (name == "nodes" && kv.second.IsSequence()) {
        for (const auto& n : kv.second) value += (value.empty() ? "" : ",") + n.as<std::string>();
      } else if ((name == "health" || name == "rebalance") && kv.second.IsMap()) {
        for (const auto& h : kv.second) {
          std::string hname = name + "_" + h.first.as<std::string>();
          if (Status s = ApplyRouterSetting(options, hname, h.second.as<std::string>()); !s.ok()) {
            return InvalidArgument("config " + path + ": router." + s.message());
          }
        }
        continue;
      } else if (kv.second.IsScalar()) {
        value = kv.second.as<std::string>();
      } else {
        return InvalidArgument("config " + path + ": router." + name + " has the wrong shape");
      }
      if (Status s = ApplyRouterSetting(options, name, value); !s.ok()) {
        return InvalidArgument("config " + path + ": router." + s.message());
      }
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config " + path + ": " + e.what());
  }
  if (Status s = ValidateRouterOptions(options); !s.ok())
    return InvalidArgument("config " + path + ": " + s.message());
  return options;
}

Status ValidateRouterOptions(const RouterOptions& o) {
  if (!ring::ParseHashKind(o.hash))
    return InvalidArgument("hash must be xxh3 or sha256, got '" + o.hash + "'");
  if (o.vnodes == 0) return InvalidArgument("vnodes must be in [1, 4096]");
  if (std::string e = ValidateHealth(o.health); !e.empty()) return InvalidArgument(e);
  if (o.io_threads == 0) return InvalidArgument("io_threads must be >= 1");
  if (Status s = ValidateCpuLists(o.io_cpus, o.background_cpus); !s.ok()) return s;
  if (o.backend_timeout_ms == 0) return InvalidArgument("backend_timeout_ms must be >= 1");
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok = level_ok || o.log_level == l;
  if (!level_ok)
    return InvalidArgument("log_level must be trace, debug, info, warn, error, critical or off");
  if (o.data_dir.empty()) return InvalidArgument("data_dir must not be empty");
  if (o.job_max_iterations == 0) return InvalidArgument("job_max_iterations must be >= 1");
  if (o.job_lease_ms < 100) return InvalidArgument("job_lease_ms must be >= 100");
  if (o.autoscale_interval_ms < 10) return InvalidArgument("autoscale_interval_ms must be >= 10");
  if (o.worker_threads == 0) return InvalidArgument("worker_threads must be >= 1");
  if (o.rebalance_rpc_timeout_ms == 0)
    return InvalidArgument("rebalance.rpc_timeout_ms must be >= 1");
  return OkStatus();
}

}  // namespace ringkv::router
