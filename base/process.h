// Small process-level helpers shared by the ringkv subcommands.
#pragma once

#include <signal.h>

#include <functional>
#include <string>

#include "base/status.h"

namespace ringkv {

// Replaces `path` with `content` by writing `<path>.tmp` and renaming it, so
// a reader (e.g. a test waiting for a ports file) never sees half a file.
Status WriteFileAtomically(const std::string& path, const std::string& content);

// Blocks SIGINT and SIGTERM (and SIGHUP when `with_hup`) in the calling
// thread and every thread it starts later, so the main thread can sigwait on
// the returned set. Call before starting any thread.
sigset_t BlockStopSignals(bool with_hup = false);

// Runs `fn` on a new thread with the lowest CPU priority (nice 19) and waits
// for it: background bulk work (streaming a migration's keys) then yields
// the CPU to request-serving threads instead of raising their latency.
void RunInBackgroundThread(const std::function<void()>& fn);

}  // namespace ringkv
