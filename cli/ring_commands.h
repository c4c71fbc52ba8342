// `ringkv ring ...`: what-if tools over the ring library. Each command takes
// parsed options, writes its report to `out` and errors to `err`, and returns
// the process exit code (0 ok, 2 bad arguments).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "ring/simulate.h"

namespace ringkv::cli {

struct RingSimulateArgs {
  ring::SimulateOptions sim;
  std::string algorithm = "ring";
  std::string hash = "xxh3";
  bool json = false;
};

struct RingLocateArgs {
  std::string key;
  std::vector<std::string> nodes;  // ids, e.g. addresses
  uint32_t vnodes = 160;
  uint32_t replication = 1;  // length of the preference list, 1 .. ring::kMaxReplication
  std::string hash = "xxh3";
  bool json = false;
};

int RunRingSimulate(RingSimulateArgs args, std::ostream& out, std::ostream& err);
int RunRingLocate(const RingLocateArgs& args, std::ostream& out, std::ostream& err);

}  // namespace ringkv::cli
