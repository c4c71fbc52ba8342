// Placement on the command path: runs one command that names keys where its
// keys are served, while the node holds a cluster map, waits for one, or
// takes part in a migration (docs/design.md "Placement and forwarding").
//  - With a map and no migration (mode() == kFence), a command whose keys
//    this node owns runs at once: one hash and one ring lookup per key.
//  - Keys this node neither owns nor holds in a migration role are served by
//    their owner: the command is forwarded there in one hop (ForwardLink),
//    or answered -MOVED <epoch> <owner> when it was itself forwarded here or
//    no ForwardLink is set. MGET, MSET, DEL, UNLINK, EXISTS and TOUCH over
//    keys of several nodes are split by node and their replies merged in
//    order; other commands over several nodes answer -CROSSSLOT.
//  - Only while migration roles hold arcs here (kRoles) are they asked: keys
//    in IMPORT arcs are pulled from the old owner first, and after a write,
//    keys in role arcs are written through to the peer before the reply
//    (docs/design.md "Moving keys").
//
// Thread safety: as Dispatcher::Execute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/function_ref.h"
#include "node/commands/internal/command_table.h"
#include "node/commands/internal/context.h"

namespace ringkv::node::internal {

// How a command uses the current values of its keys.
enum class Access : uint8_t {
  kRead,        // reads only
  kBlindWrite,  // replaces the value whatever it was: SET (no NX/XX/GET/KEEPTTL), SETEX, PSETEX, MSET
  kReadWrite,   // depends on the current value
};
Access AccessOf(const CommandSpec& spec, std::span<const std::string_view> args);

// Runs `spec` (arity and auth already checked; the command names keys;
// ctx.options.view is set). `mode` is ctx.options.view->mode(), non-zero;
// `out` holds the reply from `reply_start` on, replaced by an error when the
// write-through fails.
void RunPlaced(const CommandSpec& spec, Context& ctx, uint32_t mode, std::string& out,
               size_t reply_start);

// A multi-key command whose keys are served in several places: splits it by
// `where(key)` (ring::kNoNode = here), runs each part with `run(part_ctx)`
// in order — the first error is the answer, later parts do not run — and
// writes the replies merged in key order. -CROSSSLOT for a command that
// cannot be split.
void RunSplitParts(const CommandSpec& spec, Context& ctx,
                   FunctionRef<uint32_t(std::string_view key)> where,
                   FunctionRef<void(Context& part_ctx, std::string& part_reply)> run);

}  // namespace ringkv::node::internal
