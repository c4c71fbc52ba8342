// `ringkv node`: builds NodeOptions from the YAML config file and flags
// (flags win; node/node_settings.h), starts the node and serves until SIGINT
// or SIGTERM.
#pragma once

#include <iosfwd>
#include <map>
#include <string>

namespace ringkv::cli {

// Flag values as typed by the user, keyed by setting name (e.g. "resp_port",
// "max_memory"); only the flags that were given.
using FlagValues = std::map<std::string, std::string>;

int RunNode(const std::string& config_path, const FlagValues& flags, std::ostream& err);

}  // namespace ringkv::cli
