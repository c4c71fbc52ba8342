// ringkv: one binary, one subcommand per process or tool. This is the only
// translation unit that includes CLI11: it turns flags into the plain option
// structs of each command and calls it.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cluster_command.h"
#include "cli/job_command.h"
#include "cli/node_command.h"
#include "cli/rebalance_progress.h"
#include "cli/repair_command.h"
#include "cli/ring_commands.h"
#include "cli/router_command.h"
#include "cli/worker_command.h"
#include "node/node_settings.h"
#include "router/router_options.h"
#include "worker/worker_settings.h"

// jemalloc's options (the binary links it; docs/security.md, "Memory
// limits"): a background thread gives freed pages back to the system within
// a second or so, also while the process is idle, so memory released by
// idle connections shows in RSS. Ignored by other allocators.
extern "C" {
// NOLINTNEXTLINE(readability-identifier-naming): the name jemalloc reads
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}

namespace ringkv::cli {
namespace {

void AddRingCommands(CLI::App& app, int& exit_code) {
  CLI::App* ring =
      app.add_subcommand("ring", "What-if tools for the hash ring (no cluster needed)");
  ring->require_subcommand(1);

  static RingSimulateArgs sim;
  CLI::App* s = ring->add_subcommand(
      "simulate",
      "Place a sample of keys and report balance and the keys moved by adding/removing nodes");
  s->add_option("--nodes", sim.sim.nodes, "Number of nodes (node-0 .. node-N-1)")
      ->capture_default_str();
  s->add_option("--vnodes", sim.sim.vnodes, "Virtual nodes per node (ring only)")
      ->capture_default_str();
  s->add_option("--keys", sim.sim.keys, "Number of sampled keys (key:0 .. key:K-1)")
      ->capture_default_str();
  s->add_option("--algo", sim.algorithm, "Placement: ring, jump, maglev or rendezvous")
      ->capture_default_str();
  s->add_option("--hash", sim.hash, "Key hash: xxh3 or sha256")->capture_default_str();
  s->add_option("--add", sim.sim.add, "Also report the keys moved by adding M nodes")
      ->capture_default_str();
  s->add_option("--remove", sim.sim.remove,
                "Also report the keys moved by removing the last M nodes")
      ->capture_default_str();
  s->add_option("--replication", sim.sim.replication,
                "Replicas per key, 1..5 (ring only): above 1, also report each node's share of "
                "the stored copies and, with --add/--remove, the keys whose replica set changes "
                "and the copies to make")
      ->capture_default_str();
  s->add_flag("--json", sim.json, "Print JSON instead of a table");
  s->callback([&] { exit_code = RunRingSimulate(sim, std::cout, std::cerr); });

  static RingLocateArgs loc;
  CLI::App* l =
      ring->add_subcommand("locate", "Print a key's hash, its owner and its preference list");
  l->add_option("key", loc.key, "The key")->required();
  l->add_option("--nodes", loc.nodes, "Comma-separated node ids or addresses, e.g. a,b,c")
      ->required()
      ->delimiter(',');
  l->add_option("--vnodes", loc.vnodes, "Virtual nodes per node")->capture_default_str();
  l->add_option("--replication,--replicas", loc.replication,
                "Replicas per key, 1..5: print the first N distinct nodes clockwise from the key "
                "(its preference list, owner first)")
      ->capture_default_str();
  l->add_option("--hash", loc.hash, "Key hash: xxh3 or sha256")->capture_default_str();
  l->add_flag("--json", loc.json, "Print JSON instead of a table");
  l->callback([&] { exit_code = RunRingLocate(loc, std::cout, std::cerr); });
}

// --config and one flag per setting of a table (base/settings.h), each with
// its help and default. Objects of this type must outlive parsing: CLI11
// writes into `values`.
struct SettingFlags {
  std::string config;
  std::map<std::string, std::string> values;
  std::vector<std::pair<std::string, CLI::Option*>> options;

  void Add(CLI::App* app, const std::vector<settings::FlagHelp>& flags,
           const std::string& config_help) {
    app->add_option("--config", config, config_help);
    for (const auto& f : flags)
      options.emplace_back(f.name, app->add_option(f.flag, values[f.name], f.help));
  }
  // The flags that were given, by setting name.
  std::map<std::string, std::string> Given() const {
    std::map<std::string, std::string> given;
    for (const auto& [name, opt] : options) {
      if (opt->count() > 0) given[name] = values.at(name);
    }
    return given;
  }
};

void AddNodeCommand(CLI::App& app, int& exit_code) {
  CLI::App* n = app.add_subcommand("node",
                                   "Run a storage node: RESP (Redis protocol), HTTP (/check-alive, "
                                   "/kv/{key}, /metrics, /stats) and gRPC.\n"
                                   "Settings come from --config FILE (section 'node:', same names "
                                   "with underscores) and flags; flags win.");
  static SettingFlags flags;
  flags.Add(n, node::NodeSettings().Flags(), "YAML config file");
  n->callback([&exit_code] { exit_code = RunNode(flags.config, flags.Given(), std::cerr); });
}

void AddRouterCommand(CLI::App& app, int& exit_code) {
  CLI::App* r = app.add_subcommand(
      "router",
      "Run the router: registry of the cluster map, HTTP API (the consistent_hashing_server's "
      "and the FastAPI cache balancer's endpoints, /nodes, /config,\n"
      "/metrics), RESP proxy and health checker. Settings come from --config FILE (section "
      "'router:')\n"
      "and flags; flags win. The config file is re-read when it changes and on SIGHUP.");
  static SettingFlags flags;
  flags.Add(r, router::RouterSettings().Flags(), "YAML config file (re-read live)");
  r->callback([&exit_code] { exit_code = RunRouter(flags.config, flags.Given(), std::cerr); });
}

void AddClusterCommands(CLI::App& app, int& exit_code) {
  CLI::App* c = app.add_subcommand(
      "cluster", "Run and operate a local cluster (router + nodes as local processes)");
  c->require_subcommand(1);
  auto run_dir = [](CLI::App* s, std::string& dir) {
    s->add_option("--run-dir", dir,
                  "Run directory: pids, ports and logs of the cluster's processes")
        ->capture_default_str();
  };

  static ClusterUpArgs up;
  CLI::App* u = c->add_subcommand(
      "up", "Start a router and N nodes, wait until healthy, print the endpoints");
  u->add_option("--nodes", up.nodes, "Number of nodes")->capture_default_str();
  u->add_option("--backend", up.backend, "ringkv (ringkv nodes) or redis (redis-servers)")
      ->capture_default_str();
  run_dir(u, up.run_dir);
  u->add_option("--vnodes", up.vnodes, "Virtual nodes per node (0 = router default, 160)");
  u->add_option("--replication", up.replication,
                "Copies of each key, 1..5: each key lives on the first N distinct nodes "
                "clockwise, and the router fails over to the next one when a node stalls or "
                "dies (ringkv nodes only; at most --nodes)")
      ->capture_default_str();
  u->add_option("--write-consistency", up.write_consistency,
                "Replicas that acknowledge a write: one, quorum (replication/2+1) or all "
                "(default: the router's, quorum)");
  u->add_option("--read-consistency", up.read_consistency,
                "Replicas that answer a read: one, quorum or all (default: the router's, quorum)");
  u->add_option("--log-level", up.log_level, "Log level of the started processes")
      ->capture_default_str();
  u->add_option("--timeout-ms", up.timeout_ms, "How long to wait for the cluster")
      ->capture_default_str();
  u->add_option("--admin-token", up.admin_token, "Admin token the router will require");
  u->add_flag("--tls", up.tls,
              "Make a local CA and certificates in <run-dir>/tls and run the cluster plane "
              "(gRPC) with mutual TLS");
  u->callback([&exit_code] { exit_code = RunClusterUp(up, std::cout, std::cerr); });

  static ClusterStatusArgs st;
  CLI::App* s =
      c->add_subcommand("status", "Show the cluster's processes, nodes, states and ring shares");
  run_dir(s, st.run_dir);
  s->add_flag("--json", st.json, "Print JSON (router HTTP/RESP addresses and every node)");
  s->callback([&exit_code] { exit_code = RunClusterStatus(st, std::cout, std::cerr); });

  static ClusterDownArgs down;
  CLI::App* d = c->add_subcommand("down", "Stop the router, then every node");
  run_dir(d, down.run_dir);
  d->callback([&exit_code] { exit_code = RunClusterDown(down, std::cout, std::cerr); });

  static ClusterAddNodeArgs add;
  CLI::App* a = c->add_subcommand("add-node", "Start one more node and add it to the ring");
  run_dir(a, add.run_dir);
  a->add_option("--backend", add.backend, "ringkv or redis (default: like the running nodes)");
  a->add_option("--timeout-ms", add.timeout_ms, "How long to wait")->capture_default_str();
  a->add_option("--admin-token", add.admin_token, "The router's admin token");
  a->callback([&exit_code] { exit_code = RunClusterAddNode(add, std::cout, std::cerr); });

  static ClusterRemoveNodeArgs rm;
  CLI::App* r =
      c->add_subcommand("remove-node", "Remove a node from the ring, then stop its process");
  r->add_option("node", rm.target, "Node name (node-2), RESP address or HTTP address")->required();
  run_dir(r, rm.run_dir);
  r->add_option("--timeout-ms", rm.timeout_ms, "How long to wait")->capture_default_str();
  r->add_option("--admin-token", rm.admin_token, "The router's admin token");
  r->callback([&exit_code] { exit_code = RunClusterRemoveNode(rm, std::cout, std::cerr); });

  CLI::App* rb = c->add_subcommand("rebalance", "Follow the router's live key moves");
  rb->require_subcommand(1);
  static RebalanceStatusArgs rs;
  CLI::App* rbs = rb->add_subcommand(
      "status",
      "Show the running migration (state, arcs, keys, bytes, rate, ETA) with a progress bar");
  run_dir(rbs, rs.run_dir);
  rbs->add_option("--router", rs.router,
                  "The router's HTTP address (default: the run dir's router)");
  rbs->add_flag("--watch", rs.watch, "Follow the migration until it ends");
  rbs->add_flag("--json", rs.json, "Print the router's GET /migrations answer");
  rbs->add_option("--timeout-ms", rs.timeout_ms, "How long --watch waits")->capture_default_str();
  rbs->callback([&exit_code] { exit_code = RunRebalanceStatus(rs, std::cout, std::cerr); });

  CLI::App* rp = c->add_subcommand(
      "repair", "Anti-entropy: compare replicas and repair what they missed (every node)");
  rp->require_subcommand(1);
  static RepairArgs ra;
  auto repair_flags = [&run_dir](CLI::App* s) {
    run_dir(s, ra.run_dir);
    s->add_option("--router", ra.router,
                  "The router's HTTP address (default: the run dir's router)");
    s->add_flag("--json", ra.json, "Print the router's answer as it is");
  };
  CLI::App* rps = rp->add_subcommand("start", "Start a pass on every node (POST /repair)");
  repair_flags(rps);
  rps->add_option("--admin-token", ra.admin_token, "The router's admin token");
  rps->callback([&exit_code] { exit_code = RunRepairStart(ra, std::cout, std::cerr); });
  CLI::App* rpt = rp->add_subcommand(
      "status", "Show each node's running or last pass: buckets, keys pushed and pulled, bytes");
  repair_flags(rpt);
  rpt->callback([&exit_code] { exit_code = RunRepairStatus(ra, std::cout, std::cerr); });
}

void AddWorkerCommand(CLI::App& app, int& exit_code) {
  CLI::App* c = app.add_subcommand(
      "worker",
      "Pull hash jobs from a router, compute them, renew leases, complete; exit after "
      "--idle-exit.\n"
      "Settings come from --config FILE (section 'worker:') and flags; flags win.");
  static SettingFlags flags;
  flags.Add(c, worker::WorkerSettings().Flags(), "YAML config file");
  c->callback([&exit_code] { exit_code = RunWorker(flags.config, flags.Given(), std::cerr); });
}

void AddJobCommands(CLI::App& app, int& exit_code) {
  CLI::App* j =
      app.add_subcommand("job", "Enqueue hash jobs and read their results through a router");
  j->require_subcommand(1);
  static JobEnqueueArgs e;
  CLI::App* en =
      j->add_subcommand("enqueue", "Enqueue FILE's bytes (- = stdin) as a job; print its work_id");
  en->add_option("file", e.file, "Payload file, - for stdin")->required();
  en->add_option("--iterations", e.iterations, "Times the hash is applied (>= 1)")->required();
  en->add_option("--algorithm", e.algorithm, "sha512 or sha256")->capture_default_str();
  en->add_option("--router", e.router, "The router's HTTP URL")->capture_default_str();
  en->add_flag("--json", e.json, "Print the router's JSON answer");
  en->callback([&exit_code] { exit_code = RunJobEnqueue(e, std::cin, std::cout, std::cerr); });

  static JobStatusArgs st;
  CLI::App* s = j->add_subcommand("status", "Show a job's state and output");
  s->add_option("id", st.id, "The work_id")->required();
  s->add_option("--router", st.router, "The router's HTTP URL")->capture_default_str();
  s->add_flag("--json", st.json, "Print JSON");
  s->callback([&exit_code] { exit_code = RunJobStatus(st, std::cout, std::cerr); });

  static JobPullArgs p;
  CLI::App* pu = j->add_subcommand("pull", "Print completed jobs not pulled before, oldest first");
  pu->add_option("--top", p.top, "At most this many")->capture_default_str();
  pu->add_option("--router", p.router, "The router's HTTP URL")->capture_default_str();
  pu->add_flag("--json", p.json, "Print JSON");
  pu->callback([&exit_code] { exit_code = RunJobPull(p, std::cout, std::cerr); });
}

}  // namespace
}  // namespace ringkv::cli

int main(int argc, char** argv) {
  CLI::App app{"ringkv: a consistent-hashing cache and key-value cluster"};
  app.set_version_flag("--version", std::string("ringkv ") + RINGKV_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  ringkv::cli::AddRingCommands(app, exit_code);
  ringkv::cli::AddNodeCommand(app, exit_code);
  ringkv::cli::AddRouterCommand(app, exit_code);
  ringkv::cli::AddClusterCommands(app, exit_code);
  ringkv::cli::AddWorkerCommand(app, exit_code);
  ringkv::cli::AddJobCommands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
