// Loading a settings table (base/settings.h) from a YAML config file and
// from flags: the one path by which `ringkv node`, `ringkv router` and
// `ringkv worker` read their settings. Each process reads its own section
// (`node:`, `router:`, `worker:`); keys are the settings' names. A nested map
// names settings by prefix (`health: {interval_ms: 500}` is
// health_interval_ms) and a sequence gives a list setting its items.
//
// Thread safety: pure functions of the file's contents.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/settings.h"
#include "base/status.h"

namespace ringkv::config {

// One setting as the file spells it.
struct YamlEntry {
  std::string name;   // nested maps joined with '_'
  std::string value;  // a sequence's items joined with ','
  bool sequence = false;
};

// The entries of `section` in the YAML file at `path`, in file order; none
// when the section is absent. Errors: "config <path>: ...".
StatusOr<std::vector<YamlEntry>> ReadYamlSection(const std::string& path, std::string_view section);

// Applies the table's section of the YAML file at `path` onto `options`.
// Errors: "config <path>: <section>.<name>: expected ..., got '...'" and
// "config <path>: unknown setting <section>.<name>".
template <typename O>
StatusOr<O> LoadYaml(const settings::Table<O>& table, const std::string& path, O options) {
  auto entries = ReadYamlSection(path, table.section());
  if (!entries.ok()) return entries.status();
  const std::string where = "config " + path + ": ";
  for (const YamlEntry& e : *entries) {
    const settings::Setting<O>* s = table.Find(e.name);
    if (s == nullptr) {
      return InvalidArgument(where + "unknown setting " + table.section() + "." + e.name);
    }
    if (e.sequence && !s->list) {
      return InvalidArgument(where + table.section() + "." + e.name +
                             " takes one value, not a list");
    }
    if (Status st = table.Apply(options, e.name, e.value); !st.ok()) {
      return InvalidArgument(where + table.section() + "." + st.message());
    }
  }
  return options;
}

// The defaults of O, then the YAML file (when `path` is not empty), then
// `flags` (name -> text; flags win). Errors as LoadYaml's, or
// "<name>: expected ..., got '...'" for a flag.
template <typename O>
StatusOr<O> Load(const settings::Table<O>& table, const std::string& path,
                 const std::map<std::string, std::string>& flags, O options = O{}) {
  if (!path.empty()) {
    auto loaded = LoadYaml(table, path, std::move(options));
    if (!loaded.ok()) return loaded.status();
    options = std::move(*loaded);
  }
  if (Status s = table.ApplyAll(options, flags); !s.ok()) return s;
  return options;
}

}  // namespace ringkv::config
