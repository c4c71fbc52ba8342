// ringkv: one binary, one subcommand per process or tool. This is the only
// translation unit that includes CLI11: it turns flags into the plain option
// structs of each command and calls it.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/node_command.h"
#include "cli/ring_commands.h"

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
  l->add_option("--replicas", loc.replicas, "Length of the preference list")->capture_default_str();
  l->add_option("--hash", loc.hash, "Key hash: xxh3 or sha256")->capture_default_str();
  l->add_flag("--json", loc.json, "Print JSON instead of a table");
  l->callback([&] { exit_code = RunRingLocate(loc, std::cout, std::cerr); });
}

void AddNodeCommand(CLI::App& app, int& exit_code) {
  CLI::App* n = app.add_subcommand("node",
                                   "Run a storage node: RESP (Redis protocol), HTTP (/check-alive, "
                                   "/kv/{key}, /metrics, /stats) and gRPC.\n"
                                   "Settings come from --config FILE (section 'node:', same names "
                                   "with underscores) and flags; flags win.");
  static std::string config;
  static std::string log_level = "info";
  static std::map<std::string, std::string> values;
  static std::vector<std::pair<std::string, CLI::Option*>> given;
  n->add_option("--config", config, "YAML config file");
  n->add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str();
  for (const auto& [name, help] : NodeSettingHelp()) {
    std::string flag = "--" + name;
    for (char& c : flag) c = c == '_' ? '-' : c;
    given.emplace_back(name, n->add_option(flag, values[name], help));
  }
  n->callback([&exit_code] {
    FlagValues flags;
    for (const auto& [name, opt] : given) {
      if (opt->count() > 0) flags[name] = values[name];
    }
    exit_code = RunNode(config, flags, log_level, std::cerr);
  });
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
