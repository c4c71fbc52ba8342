// The commands the node serves: the shared command table's spec of each
// (net/command/command_table.h: arity, flags, key positions, merge kind)
// with the node's handler attached, and a fast case-insensitive lookup.
//
// Thread safety: the table is immutable once built (during static
// initialization, before main).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "net/command/command_table.h"

namespace ringkv::node::internal {

struct Context;
using Handler = void (*)(Context&);

using net::command::ArityOk;
using net::command::ForEachKeyIndex;
using net::command::kNoAuth;
using net::command::kReadOnly;
using net::command::kWrite;

// A shared spec with the node's handler.
struct CommandSpec : net::command::CommandSpec {
  Handler handler = nullptr;
  uint8_t index = 0;  // position in Commands(): the metric index
};

// Index 0 is the pseudo-command "unknown" (no handler); the node's commands
// follow, in a fixed order that defines the metric indices.
std::span<const CommandSpec> Commands();

// The command named `name` in any case if the node serves it, or nullptr.
// No allocation.
const CommandSpec* FindCommand(std::string_view name);

inline size_t CommandIndex(const CommandSpec* spec) {
  return spec == nullptr ? 0 : spec->index;
}

}  // namespace ringkv::node::internal
