#include "cli/router_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <ostream>

#include "base/cpus.h"
#include "base/process.h"
#include "router/router_service.h"

namespace ringkv::cli {

int RunRouter(const std::string& config_path, const std::map<std::string, std::string>& flags,
              std::ostream& err) {
  router::RouterOptions options;
  if (!config_path.empty()) {
    auto loaded = router::LoadRouterConfig(config_path, options);
    if (!loaded.ok()) {
      err << "error: " << loaded.status().message() << "\n";
      return 2;
    }
    options = *loaded;
    options.config_path = config_path;
  }
  options.overrides = flags;
  for (const auto& [name, value] : flags) {
    if (Status s = router::ApplyRouterSetting(options, name, value); !s.ok()) {
      err << "error: " << s.message() << "\n";
      return 2;
    }
  }
  if (Status s = router::ValidateRouterOptions(options); !s.ok()) {
    err << "error: " << s.message() << "\n";
    return 2;
  }
  auto with_secrets = router::LoadRouterSecrets(options);
  if (!with_secrets.ok()) {
    err << "error: " << with_secrets.status().message() << "\n";
    return 2;
  }
  options = *std::move(with_secrets);
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  StatusOr<std::string> pinned = PinBackgroundThreads(options.io_cpus, options.background_cpus);
  if (!pinned.ok()) {
    err << "error: " << pinned.status().message() << "\n";
    return 2;
  }
  if (!pinned->empty()) spdlog::info("{}", *pinned);
  sigset_t set = BlockStopSignals(/*with_hup=*/true);  // before any thread starts
  auto service = router::RouterService::Start(options);
  if (!service.ok()) {
    err << "error: " << service.status().message() << "\n";
    return service.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  while (true) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGHUP) {
      (*service)->ReloadConfig();
      continue;
    }
    spdlog::info("ringkv router: signal {}, shutting down", sig);
    break;
  }
  (*service)->Stop();
  return 0;
}

}  // namespace ringkv::cli
