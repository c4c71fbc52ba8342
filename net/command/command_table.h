// The Redis command table shared by the node and the router: every command
// the node serves and every command the router knows (including those it
// answers itself or refuses), with Redis's arity convention, flags, key
// positions (COMMAND INFO's first_key / last_key / key_step) and how the
// replies of a multi-key command split by owner are merged (key_split.h).
//
// The node attaches its handlers by name; the router derives its routing
// from these specs plus its own table of local and refused commands
// (router/proxy/internal/proxy_commands.h). Values are redis-server 7's
// COMMAND INFO for the commands the node does not serve; for the node's own
// commands they are what the node reports (docs/design.md, "Protocols").
//
// Pure: no sockets, no threads; FindCommand does not allocate.
// Thread safety: the table is immutable (constant-initialised).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace ringkv::net::command {

enum CommandFlags : uint32_t {
  kNoAuth = 1u << 0,       // may run before AUTH
  kWrite = 1u << 1,        // may modify the keyspace
  kReadOnly = 1u << 2,     // reads the keyspace only
  kMovableKeys = 1u << 3,  // some keys are found by parsing (numkeys, STORE, ...), not by the
                           // positions below, which then name only the fixed ones, if any
};

// How the replies of the parts of a command split by owner become one reply.
enum class MergeKind : uint8_t {
  kNone,   // the command cannot be split (all its keys must live on one owner)
  kArray,  // one array, elements in key order (MGET)
  kSum,    // the sum of the integer replies (DEL, UNLINK, EXISTS, TOUCH)
  kOk,     // +OK if every part answered +OK (MSET; not atomic across owners)
};

struct CommandSpec {
  std::string_view name;  // lower case
  int arity;              // > 0: exact argc; < 0: at least -arity (argc counts the name)
  uint32_t flags;         // CommandFlags
  // Key positions as in COMMAND INFO: keys at first_key, first_key +
  // key_step, ... up to last_key (negative: counted from the end, -1 = the
  // last argument). first_key == 0: no keys at fixed positions.
  int first_key, last_key, key_step;
  MergeKind merge;
};

// Every command, in a fixed order (by family); indices are stable within a
// build only, so persist names, not indices.
std::span<const CommandSpec> Commands();

// An upper bound on Commands().size(), for tables indexed by CommandIndex.
inline constexpr size_t kMaxCommands = 256;

// The command named `name` in any case, or nullptr. No allocation.
const CommandSpec* FindCommand(std::string_view name);

// The index of `spec` (which must come from Commands() or FindCommand) in Commands().
inline size_t CommandIndex(const CommandSpec& spec) {
  return static_cast<size_t>(&spec - Commands().data());
}

// Whether a command of `argc` arguments (the name included) has the right arity.
inline bool ArityOk(const CommandSpec& spec, size_t argc) {
  return spec.arity > 0 ? argc == static_cast<size_t>(spec.arity)
                        : argc >= static_cast<size_t>(-spec.arity);
}

// Calls fn(i) for the index i of each key argument of a command of `argc`
// arguments, in argument order. fn may return bool: false stops the walk.
// Nothing is called for a command without fixed key positions.
template <typename Fn>
void ForEachKeyIndex(const CommandSpec& spec, size_t argc, Fn&& fn) {
  if (spec.first_key <= 0) return;
  const auto n = static_cast<int64_t>(argc);
  const int64_t last = spec.last_key < 0 ? n + spec.last_key : spec.last_key;
  const int64_t step = spec.key_step > 0 ? spec.key_step : 1;
  for (int64_t i = spec.first_key; i <= last && i < n; i += step) {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&, size_t>>) {
      fn(static_cast<size_t>(i));
    } else if (!fn(static_cast<size_t>(i))) {
      return;
    }
  }
}

// The number of key arguments ForEachKeyIndex visits.
inline size_t KeyCount(const CommandSpec& spec, size_t argc) {
  size_t n = 0;
  ForEachKeyIndex(spec, argc, [&n](size_t) { ++n; });
  return n;
}

}  // namespace ringkv::net::command
