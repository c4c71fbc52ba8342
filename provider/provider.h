// Provider: where ringkv processes come from. The local provider runs them as
// child processes with a run directory; an AWS ECS provider can implement the
// same interface later (the consistent_hashing_server's launch/stop/list of tasks).
//
// Run directory layout (local provider):
//   <run_dir>/<name>.json   {"name","kind","pid","host","resp_port","http_port","grpc_port","args":[...]}
//   <run_dir>/<name>.log    the process's stdout and stderr
//   <run_dir>/<name>.ports  the ports file the process writes once serving
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace ringkv::provider {

struct Instance {
  std::string name;  // unique in the run directory, e.g. "node-1", "router", "redis-2"
  std::string kind;  // "router" | "node" | "redis" | "worker"
  int pid = 0;
  std::string host = "127.0.0.1";
  uint16_t resp_port = 0;
  uint16_t http_port = 0;
  uint16_t grpc_port = 0;
  bool alive = false;  // the process still runs (List() checks)
};

struct LaunchSpec {
  std::string name;
  std::string kind;               // as Instance::kind
  std::vector<std::string> args;  // extra arguments after the subcommand
  uint32_t ready_timeout_ms = 10000;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Every instance recorded, with `alive` set from the process table.
  virtual StatusOr<std::vector<Instance>> List() = 0;
  // Starts an instance and waits until it serves (its ports are known).
  virtual StatusOr<Instance> Launch(const LaunchSpec& spec) = 0;
  // Stops it (SIGTERM, then SIGKILL after a grace period) and forgets it.
  virtual Status Stop(const std::string& name) = 0;
};

// `ringkv_binary` runs kinds router/node/worker ("ringkv <kind> ... --ports-file ...");
// kind "redis" runs redis-server on a free port.
std::unique_ptr<Provider> NewLocalProvider(const std::string& run_dir, const std::string& ringkv_binary);

}  // namespace ringkv::provider
