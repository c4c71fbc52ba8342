// `ringkv worker`: builds WorkerOptions from the YAML config file and flags
// (flags win; worker/worker_settings.h), then pulls hash jobs from a router,
// computes and reports them (worker/worker.h).
//
// Exit codes: 0 after an idle exit or a stop signal (SIGTERM/SIGINT: the job
// in hand is dropped and the router is told at once, POST /notifyKilled),
// 2 bad arguments. Router errors never end the worker: it backs off and
// retries until it has been idle for --idle-exit.
#pragma once

#include <iosfwd>
#include <map>
#include <string>

namespace ringkv::cli {

// `flags`: the flags that were given, keyed by setting name ("idle_exit").
int RunWorker(const std::string& config_path, const std::map<std::string, std::string>& flags,
              std::ostream& err);

}  // namespace ringkv::cli
