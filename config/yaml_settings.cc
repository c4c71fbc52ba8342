#include "config/yaml_settings.h"

#include <yaml-cpp/yaml.h>

namespace ringkv::config {

namespace {

// Appends the entries under `node`, named with `prefix`; false when a value
// has a shape no setting takes (a map inside a sequence, a null).
bool Flatten(const YAML::Node& node, const std::string& prefix, std::vector<YamlEntry>& out) {
  if (node.IsScalar()) {
    out.push_back({prefix, node.as<std::string>(), false});
    return true;
  }
  if (node.IsSequence()) {
    YamlEntry e{prefix, "", true};
    for (const auto& item : node) {
      if (!item.IsScalar()) return false;
      e.value += (e.value.empty() ? "" : ",") + item.as<std::string>();
    }
    out.push_back(std::move(e));
    return true;
  }
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!Flatten(kv.second, prefix + "_" + kv.first.as<std::string>(), out)) return false;
    }
    return true;
  }
  return false;
}

}  // namespace

StatusOr<std::vector<YamlEntry>> ReadYamlSection(const std::string& path,
                                                 std::string_view section) {
  const std::string where = "config " + path + ": ";
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node s = root[std::string(section)];
    std::vector<YamlEntry> out;
    if (!s) return out;
    if (!s.IsMap()) return InvalidArgument(where + "'" + std::string(section) + "' must be a map");
    for (const auto& kv : s) {
      const std::string name = kv.first.as<std::string>();
      if (!Flatten(kv.second, name, out)) {
        std::string message = where;
        message.append(section).append(".").append(name).append(" has the wrong shape");
        return InvalidArgument(std::move(message));
      }
    }
    return out;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(where + e.what());
  }
}

}  // namespace ringkv::config
