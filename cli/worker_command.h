// `ringkv worker`: pulls hash jobs from a router, computes and reports them
// (worker/worker.h). A plain function over an args struct; main.cc maps the
// flags onto the fields.
//
// Exit codes: 0 after an idle exit or a stop signal (SIGTERM/SIGINT: the job
// in hand is dropped and the router is told at once, POST /notifyKilled),
// 2 bad arguments. Router errors never end the worker: it backs off and
// retries until it has been idle for --idle-exit.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace ringkv::cli {

// `ringkv worker --router URL [--threads N] [--idle-exit DURATION] [--id ID]
//                [--lease-ms MS] [--ports-file F] [--log-level L]`
struct WorkerArgs {
  std::string router = "http://127.0.0.1:8080";  // --router: the router's HTTP URL (or host:port)
  uint32_t threads = 1;                          // --threads: jobs computed at once, 1..1024
  std::string idle_exit = "10m";  // --idle-exit: leave after this long without work ("0" = never)
  std::string id;                 // --id: X-Worker-Id; empty = worker-<hostname>-<pid>
  uint32_t lease_ms = 0;   // --lease-ms: renew every min(this, router's lease)/3; 0 = router's
  std::string ports_file;  // --ports-file: JSON {"pid", "id"} written once running
  std::string log_level = "info";  // --log-level
};
int RunWorker(const WorkerArgs& args, std::ostream& err);

}  // namespace ringkv::cli
