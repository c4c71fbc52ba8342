#include "cli/node_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <functional>
#include <ostream>

#include "base/cpus.h"
#include "base/process.h"
#include "base/units.h"

namespace ringkv::cli {

namespace {

using node::NodeOptions;

StatusOr<uint64_t> ParseUint(const std::string& name, const std::string& v, uint64_t max) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n > max) {
    return InvalidArgument(name + ": expected an integer in [0, " + std::to_string(max) +
                           "], got '" + v + "'");
  }
  return n;
}

using Setter =
    std::function<Status(NodeOptions&, const std::string& name, const std::string& value)>;

template <typename T>
Setter Uint(T NodeOptions::*field, uint64_t max) {
  return [field, max](NodeOptions& o, const std::string& name, const std::string& v) -> Status {
    auto n = ParseUint(name, v, max);
    if (!n.ok()) return n.status();
    o.*field = static_cast<T>(*n);
    return OkStatus();
  };
}

template <typename T>
Setter Bytes(T NodeOptions::*field) {
  return [field](NodeOptions& o, const std::string& name, const std::string& v) -> Status {
    auto n = ParseBytes(v);
    if (!n.ok()) return InvalidArgument(name + ": " + n.status().message());
    o.*field = static_cast<T>(*n);
    return OkStatus();
  };
}

template <typename T>
Setter Duration(T NodeOptions::*field) {
  return [field](NodeOptions& o, const std::string& name, const std::string& v) -> Status {
    auto n = ParseDurationMs(v);
    if (!n.ok()) return InvalidArgument(name + ": " + n.status().message());
    o.*field = static_cast<T>(*n);
    return OkStatus();
  };
}

Setter Str(std::string NodeOptions::*field) {
  return [field](NodeOptions& o, const std::string&, const std::string& v) -> Status {
    o.*field = v;
    return OkStatus();
  };
}

struct Setting {
  Setter set;
  const char* help;
};

const std::map<std::string, Setting>& Settings() {
  static const std::map<std::string, Setting> settings = {
      {"id", {Str(&NodeOptions::id), "node id (default node-<resp port>)"}},
      {"bind", {Str(&NodeOptions::bind), "address of every listener (default 127.0.0.1)"}},
      {"resp_port",
       {Uint(&NodeOptions::resp_port, 65535), "RESP port, 0 = any free port (default 6380)"}},
      {"http_port",
       {Uint(&NodeOptions::http_port, 65535), "HTTP port, 0 = any free port (default 7000)"}},
      {"grpc_port",
       {Uint(&NodeOptions::grpc_port, 65535), "gRPC port, 0 = any free port (default 50051)"}},
      {"data_dir",
       {Str(&NodeOptions::data_dir), "RocksDB directory; empty = memory engine (default)"}},
      {"fsync",
       {Str(&NodeOptions::fsync), "RocksDB durability: always | everysec | no (default everysec)"}},
      {"max_memory",
       {Bytes(&NodeOptions::max_memory), "memory engine limit, e.g. 100mb; 0 = none (default 0)"}},
      {"maxmemory_policy",
       {Str(&NodeOptions::maxmemory_policy), "allkeys-lru | noeviction (default allkeys-lru)"}},
      {"requirepass", {Str(&NodeOptions::requirepass), "password for AUTH and /kv (default none)"}},
      {"io_threads", {Uint(&NodeOptions::io_threads, 64), "RESP I/O threads (default 1)"}},
      {"io_cpus",
       {Str(&NodeOptions::io_cpus),
        "CPUs for the threads serving client requests, e.g. 0 or 0-3 (default: all)"}},
      {"background_cpus",
       {Str(&NodeOptions::background_cpus),
        "CPUs for every other thread: copying keys, gRPC, HTTP (default: all)"}},
      {"maxclients",
       {Uint(&NodeOptions::maxclients, 1000000), "max RESP connections (default 10000)"}},
      {"idle_timeout",
       {Uint(&NodeOptions::idle_timeout_s, 1000000),
        "close RESP clients idle this many seconds; 0 = never (default 0)"}},
      {"max_bulk_len",
       {Bytes(&NodeOptions::max_bulk_len), "max bytes of one argument (default 512mb)"}},
      {"max_args",
       {Uint(&NodeOptions::max_args, 1u << 30), "max arguments of one command (default 1048576)"}},
      {"max_inline_len",
       {Bytes(&NodeOptions::max_inline_len), "max inline command line (default 64kb)"}},
      {"max_query_buffer",
       {Bytes(&NodeOptions::max_query_buffer), "max unprocessed bytes per client (default 1gb)"}},
      {"http_body_limit",
       {Bytes(&NodeOptions::http_body_limit), "max HTTP body, larger gets 413 (default 512mb)"}},
      {"http_header_limit",
       {Bytes(&NodeOptions::http_header_limit),
        "max HTTP header bytes, larger gets 431 (default 16kb)"}},
      {"http_read_timeout_ms",
       {Uint(&NodeOptions::http_read_timeout_ms, 3600000),
        "a request slower than this gets 408 (default 10000)"}},
      {"expire_interval_ms",
       {Uint(&NodeOptions::expire_interval_ms, 60000), "active expiry period (default 100)"}},
      {"expire_budget",
       {Uint(&NodeOptions::expire_budget, 1000000),
        "keys examined per expiry period (default 200)"}},
      {"job_retention",
       {Duration(&NodeOptions::job_retention_ms),
        "how long completed jobs stay readable, e.g. 30m (default 1h)"}},
      {"max_jobs",
       {Uint(&NodeOptions::max_jobs, uint64_t{1} << 40),
        "queued + leased + retained jobs; enqueue fails beyond (default 1000000)"}},
      {"peer_timeout_ms",
       {Uint(&NodeOptions::peer_timeout_ms, 3600000),
        "deadline of each call to another node while keys move (default 2000)"}},
      {"peer_workers",
       {Uint(&NodeOptions::peer_workers, 1024),
        "threads running commands that wait for a migration peer; more queue (default 16)"}},
      {"migration_yield_us",
       {Uint(&NodeOptions::migration_yield_us, 1000000),
        "while keys move, copy/install/drop loops offer the CPU to request threads every this "
        "many us; 0 = never (default 50)"}},
      {"join",
       {Str(&NodeOptions::join),
        "gRPC host:port of the router or of any node: register with the cluster and receive "
        "this node's keys before serving them (default none)"}},
      {"advertise_host",
       {Str(&NodeOptions::advertise_host),
        "host other processes reach this node at (default: --bind)"}},
      {"weight",
       {Uint(&NodeOptions::weight, 65536), "ring weight asked for with --join (default 1)"}},
      {"ports_file",
       {Str(&NodeOptions::ports_file), "write the chosen ports here as JSON once serving"}},
  };
  return settings;
}

}  // namespace

Status ApplyNodeSetting(NodeOptions& options, const std::string& name, const std::string& value) {
  auto it = Settings().find(name);
  if (it == Settings().end()) return InvalidArgument("unknown node setting '" + name + "'");
  return it->second.set(options, name, value);
}

const std::map<std::string, std::string>& NodeSettingHelp() {
  static const std::map<std::string, std::string> help = [] {
    std::map<std::string, std::string> h;
    for (const auto& [name, s] : Settings()) h[name] = s.help;
    return h;
  }();
  return help;
}

StatusOr<NodeOptions> LoadNodeConfig(const std::string& path, NodeOptions options) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config " + path + ": " + e.what());
  }
  YAML::Node section = root["node"];
  if (!section) return options;
  if (!section.IsMap()) return InvalidArgument("config " + path + ": 'node' must be a map");
  for (const auto& kv : section) {
    std::string name = kv.first.as<std::string>();
    if (!kv.second.IsScalar())
      return InvalidArgument("config " + path + ": node." + name + " must be a scalar");
    if (Status s = ApplyNodeSetting(options, name, kv.second.as<std::string>()); !s.ok()) {
      return InvalidArgument("config " + path + ": node." + s.message());
    }
  }
  return options;
}

int RunNode(const std::string& config_path, const FlagValues& flags, const std::string& log_level,
            std::ostream& err) {
  NodeOptions options;
  if (!config_path.empty()) {
    auto loaded = LoadNodeConfig(config_path, options);
    if (!loaded.ok()) {
      err << "error: " << loaded.status().message() << "\n";
      return 2;
    }
    options = *loaded;
  }
  for (const auto& [name, value] : flags) {
    if (Status s = ApplyNodeSetting(options, name, value); !s.ok()) {
      err << "error: --" << name << ": " << s.message() << "\n";
      return 2;
    }
  }
  auto level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    err << "error: --log-level must be trace, debug, info, warn, error, critical or off\n";
    return 2;
  }
  spdlog::set_level(level);
  if (Status s = node::ValidateNodeOptions(options); !s.ok()) {
    err << "error: " << s.message() << "\n";
    return 2;
  }
  StatusOr<std::string> pinned = PinBackgroundThreads(options.io_cpus, options.background_cpus);
  if (!pinned.ok()) {
    err << "error: " << pinned.status().message() << "\n";
    return 2;
  }
  if (!pinned->empty()) spdlog::info("{}", *pinned);
  sigset_t stop_signals = BlockStopSignals();
  auto node = node::NodeService::Start(options);
  if (!node.ok()) {
    err << "error: " << node.status().message() << "\n";
    return node.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("ringkv node {}: signal {}, shutting down", (*node)->id(), sig);
  (*node)->Stop();
  return 0;
}

}  // namespace ringkv::cli
