// `ringkv node`: builds NodeOptions from the YAML config file and flags
// (flags win), starts the node and serves until SIGINT or SIGTERM.
#pragma once

#include <iosfwd>
#include <map>
#include <string>

#include "base/status.h"
#include "node/node_service.h"

namespace ringkv::cli {

// Flag values as typed by the user, keyed by config name (e.g. "resp_port",
// "max_memory"); only the flags that were given.
using FlagValues = std::map<std::string, std::string>;

// Applies one setting by config name; errors name the setting and the value.
Status ApplyNodeSetting(node::NodeOptions& options, const std::string& name,
                        const std::string& value);

// Reads the `node:` section of a YAML config file onto `options`.
StatusOr<node::NodeOptions> LoadNodeConfig(const std::string& path, node::NodeOptions options);

// The config names `ringkv node` understands, for --help and docs.
const std::map<std::string, std::string>& NodeSettingHelp();

int RunNode(const std::string& config_path, const FlagValues& flags, const std::string& log_level,
            std::ostream& err);

}  // namespace ringkv::cli
