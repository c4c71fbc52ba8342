// Migration progress for the operator commands: `ringkv cluster rebalance
// status` and the wait of `cluster add-node` / `remove-node`. Reads the
// router's GET /migrations; renders one line per migration with a bar.
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace ringkv::cli {

// 1536 -> "1.5 KB": bytes for people (B, KB, MB, GB by powers of 1024).
std::string HumanBytes(uint64_t bytes);

// The router's HTTP "host:port": `router` when set, else that of the live
// router of the local cluster in `run_dir`. Empty after writing the reason
// to `err`.
std::string RouterAddr(const std::string& router, const std::string& run_dir, std::ostream& err);

// One migration object of GET /migrations as a line, e.g.
//   add  copying   [##########..........]  50%  arcs 3/7  12034 keys  1.2 MB  8100 keys/s  ETA 2s
// `width` is the bar's width in characters.
std::string RenderMigration(const nlohmann::json& migration, int width = 20);

// Polls GET /migrations on `router` (host:port) until no migration runs,
// drawing progress on `err` (redrawn in place on a terminal, a line per
// second otherwise). Returns the last finished migration (or null JSON when
// there was none); an error if the router fails, the wait exceeds
// `timeout_ms`, or the migration ends in a state other than "done".
StatusOr<nlohmann::json> WaitForMigration(const std::string& router, uint32_t timeout_ms,
                                          const std::string& admin_token, std::ostream& err);

// `ringkv cluster rebalance status [--run-dir DIR] [--router HOST:PORT] [--watch] [--json]`
struct RebalanceStatusArgs {
  std::string run_dir = "./run";      // --run-dir: finds the router of a local cluster
  std::string router;                 // --router: the router's HTTP address (overrides --run-dir)
  bool watch = false;                 // --watch: follow the running migration until it ends
  bool json = false;                  // --json: print GET /migrations as it is
  uint32_t timeout_ms = 3600 * 1000;  // --timeout-ms: how long --watch waits
};
int RunRebalanceStatus(const RebalanceStatusArgs& args, std::ostream& out, std::ostream& err);

}  // namespace ringkv::cli
