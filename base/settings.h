// Settings tables: one typed table per options struct (NodeOptions,
// RouterOptions, WorkerOptions) names each setting, binds it to a field and
// says how text becomes a value and a value becomes text. Flags
// (`--max-memory`), the YAML config section (config/yaml_settings.h), --help
// and the docs test all read the same table, so a default is written once: in
// the struct's initializer, rendered through the binder.
//
//   const Table<Opts> table("node", {
//       Bind("max_memory", &Opts::max_memory, Bytes{}, "memory engine limit; 0 = none"),
//       Bind("fsync", &Opts::fsync, Enum<FsyncPolicy>{kFsyncNames}, "RocksDB durability"),
//   });
//   Status s = table.Apply(options, "max_memory", "64mb");
//
// Binders: Uint (with a max), Bytes ("64mb"), Duration ("10s", "500ms"),
// Bool, String, Enum (named values of an enum), OneOf (named values kept as a
// string), List (comma-separated; a YAML sequence). Each binder has
//   Status Set(T& field, std::string_view text) const;  // error: "expected ..."
//   std::string Render(const T& value) const;
// A parse error reads "<name>: expected <what>, got '<text>'".
//
// Thread safety: a Table is immutable after construction; share it freely.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ringkv::settings {

// "max_memory" -> "--max-memory".
std::string FlagName(std::string_view name);

// Text forms shared by the binders, exposed for tests and for callers that
// pass a setting on (e.g. to a launched process).
StatusOr<uint64_t> ParseUint(std::string_view text, uint64_t max);  // "expected an integer ..."
std::string RenderBytes(uint64_t bytes);                            // 65536 -> "64kb"
std::string RenderDurationMs(uint64_t ms);                          // 30000 -> "30s"
// "a, b or c".
std::string Alternatives(std::span<const std::string_view> names);

struct Uint {
  uint64_t max = std::numeric_limits<uint64_t>::max();

  template <typename T>
  Status Set(T& field, std::string_view text) const {
    auto n = ParseUint(text, std::min<uint64_t>(max, std::numeric_limits<T>::max()));
    if (!n.ok()) return n.status();
    field = static_cast<T>(*n);
    return OkStatus();
  }
  template <typename T>
  std::string Render(const T& value) const {
    return std::to_string(value);
  }
};

// Sizes: a number with b, kb, mb or gb (powers of 1024, as Redis); plain
// numbers are bytes. Rendered in the largest unit that divides the value.
struct Bytes {
  uint64_t max = std::numeric_limits<uint64_t>::max();

  StatusOr<uint64_t> Parse(std::string_view text, uint64_t limit) const;
  template <typename T>
  Status Set(T& field, std::string_view text) const {
    auto n = Parse(text, std::min<uint64_t>(max, std::numeric_limits<T>::max()));
    if (!n.ok()) return n.status();
    field = static_cast<T>(*n);
    return OkStatus();
  }
  template <typename T>
  std::string Render(const T& value) const {
    return RenderBytes(value);
  }
};

// Durations: a number with ms, s, m or h (a bare number is seconds). An
// integer field holds milliseconds; a string field keeps the text as given
// (for settings passed on to another process as a flag).
struct Duration {
  uint64_t max_ms = std::numeric_limits<uint64_t>::max();

  StatusOr<uint64_t> Parse(std::string_view text, uint64_t limit_ms) const;
  template <typename T>
  Status Set(T& field, std::string_view text) const {
    if constexpr (std::is_same_v<T, std::string>) {
      auto n = Parse(text, max_ms);
      if (!n.ok()) return n.status();
      field = std::string(text);
    } else {
      auto n = Parse(text, std::min<uint64_t>(max_ms, std::numeric_limits<T>::max()));
      if (!n.ok()) return n.status();
      field = static_cast<T>(*n);
    }
    return OkStatus();
  }
  template <typename T>
  std::string Render(const T& value) const {
    if constexpr (std::is_same_v<T, std::string>) {
      return value;
    } else {
      return RenderDurationMs(value);
    }
  }
};

// true/yes/on/1 and false/no/off/0; rendered "true" or "false".
struct Bool {
  Status Set(bool& field, std::string_view text) const;
  std::string Render(bool value) const { return value ? "true" : "false"; }
};

// Any text. `normalize`, when set, checks the text and returns the value to
// store (e.g. a URL reduced to host:port).
struct String {
  std::function<StatusOr<std::string>(std::string_view)> normalize;

  Status Set(std::string& field, std::string_view text) const;
  std::string Render(const std::string& value) const { return value; }
};

// A list of names and the enum values they stand for; the first name of a
// value is the one rendered.
template <typename E>
using EnumNames = std::span<const std::pair<std::string_view, E>>;

template <typename E>
struct Enum {
  EnumNames<E> names;

  Status Set(E& field, std::string_view text) const {
    for (const auto& [name, value] : names) {
      if (name == text) {
        field = value;
        return OkStatus();
      }
    }
    std::vector<std::string_view> all;
    for (const auto& entry : names) all.push_back(entry.first);
    return InvalidArgument("expected " + Alternatives(all));
  }
  std::string Render(E value) const {
    for (const auto& [name, v] : names) {
      if (v == value) return std::string(name);
    }
    return "?";
  }
};

// The name of `value` in `names` ("" if absent), for logs and INFO replies.
template <typename E>
std::string_view EnumName(EnumNames<E> names, E value) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return {};
}

// One of a fixed list of names, kept as text (e.g. a log level that is
// handed to spdlog and shown by the API as a string).
struct OneOf {
  std::span<const std::string_view> names;

  bool Contains(std::string_view text) const;
  Status Set(std::string& field, std::string_view text) const;
  std::string Render(const std::string& value) const { return value; }
};

// spdlog's level names, for every process's log_level setting.
inline constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};

// Comma-separated text or a YAML sequence; empty items are skipped. `check`,
// when set, validates each item.
struct List {
  std::function<Status(std::string_view)> check;

  Status Set(std::vector<std::string>& field, std::string_view text) const;
  std::string Render(const std::vector<std::string>& value) const;
};

// One row of a table. Built with Bind().
template <typename O>
struct Setting {
  std::string name;   // config name, underscores; the flag is FlagName(name)
  std::string help;   // without the default: Table::Help adds it
  bool list = false;  // takes a YAML sequence
  std::function<Status(O&, std::string_view)> set;
  std::function<std::string(const O&)> render;
};

template <typename O, typename T, typename B>
Setting<O> Bind(std::string name, T O::*field, B binder, std::string help) {
  return {std::move(name), std::move(help), std::is_same_v<B, List>,
          [field, binder](O& o, std::string_view v) { return binder.Set(o.*field, v); },
          [field, binder](const O& o) { return binder.Render(o.*field); }};
}

// A field of a member struct, e.g. RouterOptions::health.interval_ms.
template <typename O, typename M, typename T, typename B>
Setting<O> Bind(std::string name, M O::*outer, T M::*inner, B binder, std::string help) {
  return {
      std::move(name), std::move(help), std::is_same_v<B, List>,
      [outer, inner, binder](O& o, std::string_view v) { return binder.Set(o.*outer.*inner, v); },
      [outer, inner, binder](const O& o) { return binder.Render(o.*outer.*inner); }};
}

// What --help shows for one setting.
struct FlagHelp {
  std::string name;  // config name
  std::string flag;  // "--max-memory"
  std::string help;  // with "(default X)" from a default-built options struct
};

// "<help> (default <value>)", or just the help when the default renders empty.
std::string HelpWithDefault(const std::string& help, const std::string& rendered_default);
// "<name>: <message>, got '<text>'".
Status NameError(std::string_view name, const Status& error, std::string_view text);

// The settings of one options struct O; O must be default-constructible (its
// defaults are the settings' defaults).
template <typename O>
class Table {
 public:
  // `section`: the YAML section and the word in "unknown <section> setting".
  Table(std::string section, std::vector<Setting<O>> settings)
      : section_(std::move(section)), settings_(std::move(settings)) {}

  const std::string& section() const { return section_; }
  const std::vector<Setting<O>>& settings() const { return settings_; }

  const Setting<O>* Find(std::string_view name) const {
    for (const auto& s : settings_) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }

  // Sets one setting from text. Errors: "unknown <section> setting '<name>'",
  // "<name>: expected ..., got '<text>'".
  Status Apply(O& options, std::string_view name, std::string_view text) const {
    const Setting<O>* s = Find(name);
    if (s == nullptr) {
      return InvalidArgument("unknown " + section_ + " setting '" + std::string(name) + "'");
    }
    if (Status st = s->set(options, text); !st.ok()) return NameError(name, st, text);
    return OkStatus();
  }

  // Applies name -> text pairs (e.g. the flags that were given) in order.
  Status ApplyAll(O& options, const std::map<std::string, std::string>& values) const {
    for (const auto& [name, text] : values) {
      if (Status s = Apply(options, name, text); !s.ok()) return s;
    }
    return OkStatus();
  }

  // The setting's value in a default-built O, as text.
  std::string Default(const Setting<O>& s) const { return s.render(O{}); }

  std::vector<FlagHelp> Flags() const {
    std::vector<FlagHelp> out;
    const O defaults{};
    for (const auto& s : settings_) {
      out.push_back({s.name, FlagName(s.name), HelpWithDefault(s.help, s.render(defaults))});
    }
    return out;
  }

 private:
  std::string section_;
  std::vector<Setting<O>> settings_;
};

}  // namespace ringkv::settings
