// `ringkv router`: builds RouterOptions from the YAML config file and flags
// (flags win), starts the router and serves until SIGINT or SIGTERM; SIGHUP
// re-reads the config file.
#pragma once

#include <iosfwd>
#include <map>
#include <string>

namespace ringkv::cli {

// Flag values keyed by setting name (only flags that were given).
int RunRouter(const std::string& config_path, const std::map<std::string, std::string>& flags,
              std::ostream& err);

}  // namespace ringkv::cli
