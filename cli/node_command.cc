#include "cli/node_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <ostream>

#include "base/cpus.h"
#include "base/process.h"
#include "config/yaml_settings.h"
#include "node/node_settings.h"

namespace ringkv::cli {

int RunNode(const std::string& config_path, const FlagValues& flags, std::ostream& err) {
  auto loaded = config::Load(node::NodeSettings(), config_path, flags);
  if (!loaded.ok()) {
    err << "error: " << loaded.status().message() << "\n";
    return 2;
  }
  auto with_secrets = node::LoadNodeSecrets(*loaded);
  if (!with_secrets.ok()) {
    err << "error: " << with_secrets.status().message() << "\n";
    return 2;
  }
  const node::NodeOptions& options = *with_secrets;
  spdlog::set_level(spdlog::level::from_str(options.log_level));
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
