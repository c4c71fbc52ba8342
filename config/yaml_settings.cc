#include "config/yaml_settings.h"

#include <yaml-cpp/yaml.h>

namespace ringkv::config {

namespace {

// Settings nest two or three maps deep. These bounds stop an alias that
// refers to its own anchor (a cycle: unbounded recursion) and aliases that
// multiply one another (a "billion laughs" file) from growing without end.
constexpr int kMaxNesting = 8;
constexpr size_t kMaxEntries = 4096;

// Appends the entries under `node`, named with `prefix`. Returns "" or, for a
// value of a shape no setting takes (a map inside a sequence, a null) or past
// the bounds above, what is wrong with it.
std::string Flatten(const YAML::Node& node, const std::string& prefix, int depth,
                    std::vector<YamlEntry>& out) {
  if (out.size() >= kMaxEntries) {
    return "makes more than " + std::to_string(kMaxEntries) + " settings";
  }
  if (node.IsScalar()) {
    out.push_back({prefix, node.as<std::string>(), false});
    return "";
  }
  if (node.IsSequence()) {
    YamlEntry e{prefix, "", true};
    for (const auto& item : node) {
      if (!item.IsScalar()) return "has the wrong shape";
      e.value += (e.value.empty() ? "" : ",") + item.as<std::string>();
    }
    out.push_back(std::move(e));
    return "";
  }
  if (node.IsMap()) {
    if (depth >= kMaxNesting) {
      return "nests maps deeper than " + std::to_string(kMaxNesting) + " levels";
    }
    for (const auto& kv : node) {
      std::string wrong =
          Flatten(kv.second, prefix + "_" + kv.first.as<std::string>(), depth + 1, out);
      if (!wrong.empty()) return wrong;
    }
    return "";
  }
  return "has the wrong shape";
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
      if (std::string wrong = Flatten(kv.second, name, 1, out); !wrong.empty()) {
        std::string message = where;
        message.append(section).append(".").append(name).append(" ").append(wrong);
        return InvalidArgument(std::move(message));
      }
    }
    return out;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(where + e.what());
  }
}

}  // namespace ringkv::config
