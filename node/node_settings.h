// The settings table of `ringkv node`: every field of NodeOptions that a flag
// or the `node:` section of the YAML config sets (base/settings.h).
// docs/configuration.md lists each with its default; a test checks it.
#pragma once

#include "base/settings.h"
#include "node/node_service.h"

namespace ringkv::node {

const settings::Table<NodeOptions>& NodeSettings();

// `options` with its secrets loaded: requirepass from requirepass_file, else
// RINGKV_REQUIREPASS, else the setting; cluster_secret from
// cluster_secret_file, else RINGKV_CLUSTER_SECRET. Errors (InvalidArgument)
// name the file and why it is refused (base/secret.h).
StatusOr<NodeOptions> LoadNodeSecrets(NodeOptions options);

}  // namespace ringkv::node
