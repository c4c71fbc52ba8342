// Splitting a multi-key command by the owner of each key, and merging the
// owners' replies into the reply one server holding every key would give
// (docs/design.md, "Placement and forwarding" and "Protocols"). The node
// splits over its peers, the router over its back ends; both use this.
//
// Pure: no sockets, no threads; the owner is a function of the key.
// Thread safety: free functions over values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/function_ref.h"
#include "net/command/command_table.h"

namespace ringkv::net::command {

// One owner's share of a split command: argv[0] (and any arguments before
// the first key), then this owner's key groups in argument order.
struct SplitPart {
  uint32_t owner = 0;
  std::vector<std::string_view> args;  // views into the command's arguments
};

struct KeySplit {
  std::vector<SplitPart> parts;  // in order of first appearance of their owner
  // For each key group, in argument order: its part and its index in that
  // part (what MergeArrays needs to restore key order).
  std::vector<std::pair<uint32_t, uint32_t>> where;
};

using OwnerOf = FunctionRef<uint32_t(std::string_view key)>;

// Splits `args` by the owner of each key at spec's key positions. A key's
// group is the key and the key_step - 1 arguments after it (MSET's value); a
// trailing incomplete group is kept as it is, for the owner to reject.
// Arguments after the last key are not carried (no splittable command has
// any). Duplicate keys go to the same part, in their order.
KeySplit SplitKeys(const CommandSpec& spec, std::span<const std::string_view> args,
                   OwnerOf owner_of);

// SplitKeys for keys from argv[1] to the end in groups of `step` arguments
// (1 for MGET and DEL, 2 for MSET).
KeySplit SplitByOwner(std::span<const std::string_view> args, size_t step, OwnerOf owner_of);

// What a merge answers when a part's reply has the wrong shape.
inline constexpr std::string_view kUnexpectedReply =
    "-ERR backend returned an unexpected reply\r\n";

// Merge the parts' replies (each one complete RESP reply, in part order)
// into one reply. Any error reply in a part is the whole reply (the first
// one in part order); a reply of the wrong shape yields `bad_shape`.
//  - MergeArrays: one array with the parts' elements in key order; `where`
//    is KeySplit::where.
//  - MergeStatus: +OK if every part answered +OK.
//  - MergeSum: the sum of the parts' integers.
std::string MergeArrays(std::span<const std::pair<uint32_t, uint32_t>> where,
                        std::span<const std::string> parts,
                        std::string_view bad_shape = kUnexpectedReply);
std::string MergeStatus(std::span<const std::string> parts,
                        std::string_view bad_shape = kUnexpectedReply);
std::string MergeSum(std::span<const std::string> parts,
                     std::string_view bad_shape = kUnexpectedReply);

// The merge `kind` names (MergeKind::kNone yields `bad_shape`).
std::string MergeReplies(MergeKind kind, std::span<const std::pair<uint32_t, uint32_t>> where,
                         std::span<const std::string> parts,
                         std::string_view bad_shape = kUnexpectedReply);

}  // namespace ringkv::net::command
