// `ringkv cluster repair start|status`: anti-entropy for the operator. Both
// talk to the router's /repair (docs/api.md), which reaches every node.
// RenderRepair is pure: the router's GET /repair answer as a table.
//
// Exit codes: 0 ok, 1 the router failed or is not found.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

namespace ringkv::cli {

// The router's GET /repair as text, e.g.
//   repair: idle; 3 nodes; 9 passes: 450 keys pushed, 600 pulled, 1.2 MB exchanged
//   node  state  last pass          took   buckets differing  pushed  pulled  bytes    errors
//   n1    idle   request 12s ago    0.8s   12 of 8192         300     0       120.0 KB 0
//     -> n2      12 bits            0.4s   0 of 4096          0       0       32.1 KB
// `now_ms` (Unix ms) dates the passes.
std::string RenderRepair(const nlohmann::json& repair, int64_t now_ms);

struct RepairArgs {
  std::string run_dir = "./run";  // --run-dir: finds the router of a local cluster
  std::string router;             // --router: the router's HTTP address (overrides --run-dir)
  std::string admin_token;        // --admin-token: for start
  bool json = false;              // --json: print the router's answer as it is
};
// `ringkv cluster repair start`: POST /repair (a pass on every node).
int RunRepairStart(const RepairArgs& args, std::ostream& out, std::ostream& err);
// `ringkv cluster repair status`: GET /repair.
int RunRepairStatus(const RepairArgs& args, std::ostream& out, std::ostream& err);

}  // namespace ringkv::cli
