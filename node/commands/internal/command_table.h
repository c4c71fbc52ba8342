// The command table: every command the node serves, with Redis's arity
// convention and key positions, and a fast case-insensitive lookup.
//
// Thread safety: the table is immutable after static initialisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringkv::node::internal {

struct Context;
using Handler = void (*)(Context&);

enum CommandFlags : uint32_t {
  kNoAuth = 1u << 0,    // may run before AUTH
  kWrite = 1u << 1,     // may modify the keyspace
  kReadOnly = 1u << 2,  // reads the keyspace only
};

struct CommandSpec {
  std::string_view name;  // lower case
  int arity;              // > 0: exact argc; < 0: at least -arity
  uint32_t flags;
  int first_key, last_key, key_step;  // as in COMMAND INFO; 0 = no keys
  Handler handler;
};

// Index 0 is the pseudo-command "unknown" (no handler); real commands follow.
std::span<const CommandSpec> Commands();

// The command named `name` in any case, or nullptr. No allocation.
const CommandSpec* FindCommand(std::string_view name);

inline size_t CommandIndex(const CommandSpec* spec) {
  return spec == nullptr ? 0 : static_cast<size_t>(spec - Commands().data());
}

inline bool ArityOk(const CommandSpec& spec, size_t argc) {
  return spec.arity > 0 ? argc == static_cast<size_t>(spec.arity)
                        : argc >= static_cast<size_t>(-spec.arity);
}

}  // namespace ringkv::node::internal
