// The settings table of `ringkv worker`: the fields of WorkerOptions that a
// flag or the `worker:` section of the YAML config sets (base/settings.h).
// docs/configuration.md lists each with its default; a test checks it.
#pragma once

#include "base/settings.h"
#include "worker/worker.h"

namespace ringkv::worker {

const settings::Table<WorkerOptions>& WorkerSettings();

}  // namespace ringkv::worker
