#include "cli/worker_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "base/process.h"
#include "base/secret.h"
#include "config/yaml_settings.h"
#include "worker/worker.h"
#include "worker/worker_settings.h"

namespace ringkv::cli {
namespace {

// After a stop signal, how long the threads get to end; one may sit in a long
// poll for seconds, and nothing it could still do matters.
constexpr uint32_t kStopGraceMs = 1000;

// Waits for the idle exit or a stop signal; returns the exit code.
int Supervise(worker::Worker& w, const sigset_t& stop_signals) {
  const timespec tick{0, 100L * 1000 * 1000};
  while (!w.Done()) {
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig <= 0) continue;
    spdlog::info("worker {}: signal {}, leaving now", w.id(), sig);
    w.Stop();
    if (Status s = w.NotifyKilled("signal"); !s.ok()) spdlog::warn("{}", s.message());
    if (!w.JoinFor(kStopGraceMs)) {
      // A thread is still in a call that cannot be cut short: end here rather
      // than run static destructors under it.
      spdlog::default_logger()->flush();
      std::fflush(nullptr);
      std::_Exit(0);
    }
    return 0;
  }
  w.Wait();
  return 0;
}

}  // namespace

int RunWorker(const std::string& config_path, const std::map<std::string, std::string>& flags,
              std::ostream& err) {
  auto options = config::Load(worker::WorkerSettings(), config_path, flags);
  if (options.ok() && options->id.empty()) options->id = worker::DefaultWorkerId();
  if (options.ok()) {
    if (Status s = worker::ValidateWorkerOptions(*options); !s.ok()) options = s;
  }
  if (options.ok()) {
    auto password = ResolveSecret("password", "", options->password_file, "RINGKV_REQUIREPASS");
    if (password.ok()) {
      options->password = *password;
    } else {
      options = password.status();
    }
  }
  if (!options.ok()) {
    err << "error: " << options.status().message() << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(options->log_level));
  sigset_t stop_signals = BlockStopSignals();  // before any thread starts
  worker::Worker w(*options);
  // Before the first poll, so whoever launched us knows our pid by the time
  // the router first hears from us (the autoscaler matches workers by pid).
  if (!options->ports_file.empty()) {
    if (Status s = WriteFileAtomically(
            options->ports_file,
            nlohmann::json{{"pid", getpid()}, {"id", w.id()}, {"kind", "worker"}}.dump() + "\n");
        !s.ok()) {
      err << "error: --ports-file: " << s.message() << "\n";
      return 1;
    }
  }
  w.Start();
  int code = Supervise(w, stop_signals);
  auto st = w.stats();
  spdlog::info("worker {}: exiting; {} leased, {} completed, {} abandoned, {} router errors",
               w.id(), st.leased, st.completed, st.abandoned, st.errors);
  return code;
}

}  // namespace ringkv::cli
