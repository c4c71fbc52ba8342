// The command path of live rebalancing: runs one command while the node holds
// a cluster map or migration roles (node/migration.h). Writes of keys owned
// elsewhere are fenced with -MOVED; keys in IMPORT arcs are pulled from the
// old owner first; after a write, keys in role arcs are written through to
// the peer before the reply is returned.
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
