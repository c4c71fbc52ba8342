// The command path of a node in a cluster: runs one command while the node
// holds a cluster map or migration roles (node/migration.h).
//  - Keys this node neither owns nor holds in a migration role are served by
//    their owner: the command is forwarded there in one hop (ForwardLink),
//    or answered -MOVED <epoch> <owner> when it was itself forwarded here or
//    no ForwardLink is set. MGET, MSET, DEL, UNLINK, EXISTS and TOUCH over
//    keys of several nodes are split by node and their replies merged in
//    order; other commands over several nodes answer -CROSSSLOT.
//  - Keys in IMPORT arcs are pulled from the old owner first; after a write,
//    keys in role arcs are written through to the peer before the reply.
//
// Thread safety: as Dispatcher::Execute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "node/internal/command_table.h"
#include "node/internal/context.h"
#include "node/migration.h"

namespace ringkv::node::internal {

// Runs `spec` (arity and auth already checked; the command names keys).
// `mode` is migration.mode(); `out` holds the reply from `reply_start` on,
// replaced by an error when the write-through fails.
void RunWithMigration(const CommandSpec& spec, Context& ctx, Migration& migration, uint32_t mode,
                      std::string& out, size_t reply_start);

}  // namespace ringkv::node::internal
