// The settings table of `ringkv node`: every field of NodeOptions that a flag
// or the `node:` section of the YAML config sets (base/settings.h).
// docs/configuration.md lists each with its default; a test checks it.
#pragma once

#include "base/settings.h"
#include "node/node_service.h"

namespace ringkv::node {

const settings::Table<NodeOptions>& NodeSettings();

}  // namespace ringkv::node
