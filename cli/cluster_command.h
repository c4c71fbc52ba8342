// `ringkv cluster ...`: operator commands for a local cluster (a router and
// its nodes, run by the local provider in a run directory). Each command is a
// plain function over an args struct; main.cc maps flags onto the fields.
//
// Exit codes: 0 ok, 1 runtime failure (a process or the router failed),
// 2 bad arguments. Results go to `out`, errors and progress notes to `err`.
// The ringkv binary the provider runs is this process's own (/proc/self/exe)
// unless `ringkv_binary` is set.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace ringkv::cli {

// `ringkv cluster up --nodes N [--backend ringkv|redis] [--run-dir DIR] [--vnodes V]
//                   [--replication R] [--write-consistency C] [--read-consistency C]`
// Starts N nodes (node-1..node-N, or redis-1..redis-N) and a router named
// "router" over them; waits until the router lists N active nodes; prints the
// endpoints. Refuses if anything already runs in the run directory, and
// replication >= 2 over redis-servers (they keep no versions).
// Safe by default: it generates requirepass, the admin token and the cluster
// secret into <run_dir>/requirepass, admin-token and cluster-secret (mode
// 0600) and hands the processes those paths, never the values; it prints how
// to connect with them. redis-server back ends run without a password.
struct ClusterUpArgs {
  uint32_t nodes = 3;              // --nodes: number of back ends, >= 1
  std::string backend = "ringkv";  // --backend: "ringkv" (ringkv nodes) or "redis" (redis-server)
  std::string run_dir = "./run";   // --run-dir: records, logs, ports files, router data
  uint32_t vnodes = 0;             // --vnodes: virtual nodes per weight; 0 = router default
  uint32_t replication = 1;        // --replication: copies of each key, 1..5 (ringkv nodes)
  std::string write_consistency;   // --write-consistency: one|quorum|all; empty = router default
  std::string read_consistency;    // --read-consistency: one|quorum|all; empty = router default
  std::string log_level = "info";  // --log-level: passed to every ringkv process
  uint32_t timeout_ms = 30000;     // --timeout-ms: per process start-up and for the router
  std::string admin_token;    // --admin-token: written to <run_dir>/admin-token; empty = random
  std::string ringkv_binary;  // empty = /proc/self/exe (not a user flag)
};
int RunClusterUp(const ClusterUpArgs& args, std::ostream& out, std::ostream& err);

// `ringkv cluster status [--run-dir DIR] [--json]`
// Every instance of the run directory joined with the router's GET /nodes.
// JSON: {"router": {"http", "resp", "pid", "alive"}, "epoch",
//        "nodes": [{"name","kind","pid","alive","addr","http_addr","state","share"}]}
// Exit 1 when no cluster is recorded or the router does not answer (the
// table is printed anyway). The table ends with how to connect.
struct ClusterStatusArgs {
  std::string run_dir = "./run";  // --run-dir
  bool json = false;              // --json: print JSON instead of a table
};
int RunClusterStatus(const ClusterStatusArgs& args, std::ostream& out, std::ostream& err);

// `ringkv cluster down [--run-dir DIR]`
// Stops the router first (so it stops routing), then every other instance.
// Logs stay in the run directory. Nothing to stop is not an error.
struct ClusterDownArgs {
  std::string run_dir = "./run";  // --run-dir
};
int RunClusterDown(const ClusterDownArgs& args, std::ostream& out, std::ostream& err);

// `ringkv cluster add-node [--run-dir DIR] [--backend ringkv|redis]`
// Starts one more back end (next name: node-<max+1> or redis-<max+1>), then
// POST /add-node to the router, waits until the router lists it active, and
// prints the router's answer. If the router refuses, the new process is stopped.
struct ClusterAddNodeArgs {
  std::string run_dir = "./run";   // --run-dir
  std::string backend;             // --backend: "ringkv" or "redis"; empty = as the running nodes
  std::string log_level = "info";  // --log-level: for a ringkv node
  uint32_t timeout_ms = 60000;     // --timeout-ms: start-up, and the wait for "active"
  // --admin-token: sent as "Authorization: Bearer <token>"; empty =
  // RINGKV_ADMIN_TOKEN, else <run_dir>/admin-token.
  std::string admin_token;
  std::string ringkv_binary;  // empty = /proc/self/exe (not a user flag)
};
int RunClusterAddNode(const ClusterAddNodeArgs& args, std::ostream& out, std::ostream& err);

// `ringkv cluster remove-node NAME|ADDR [--run-dir DIR]`
// POST /remove-node/<addr> to the router, prints the transfers, waits until
// the router has moved the node's keys away and dropped it from the map, then
// stops the process. ADDR may be the node's RESP or HTTP address.
struct ClusterRemoveNodeArgs {
  std::string target;             // positional: instance name (node-2) or address (127.0.0.1:6380)
  std::string run_dir = "./run";  // --run-dir
  uint32_t timeout_ms = 120000;   // --timeout-ms: wait for the keys to move before stopping
  std::string admin_token;        // --admin-token: as for add-node
};
int RunClusterRemoveNode(const ClusterRemoveNodeArgs& args, std::ostream& out, std::ostream& err);

}  // namespace ringkv::cli
