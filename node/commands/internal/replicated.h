// Placement when the map's replication is above 1 (ClusterView::kReplicas;
// docs/replication.md). A key lives on its preference list: the first
// `replication` distinct ring nodes clockwise from its position.
//  - A node on the list of every key of a command coordinates it:
//    - reads ask the other replicas for their versions (RINGKV.PEEK) until
//      read_consistency of them (this node included) answered, take any
//      newer entry, run the command here and send the newest entry to each
//      replica that answered an older one (read repair);
//    - writes that depend on the current value (INCR, APPEND, SET NX, DEL,
//      EXPIRE, ...) first read like that, at least enough replicas to
//      overlap every acknowledged write; blind writes (SET, SETEX, PSETEX,
//      MSET) do not;
//    - then the command runs here, once, and its result — the key's entry,
//      or a tombstone when the key is gone — goes to every other replica
//      (RINGKV.APPLY, keep newer); the client is answered once
//      write_consistency of them (this node included) hold it. A replica
//      that fails or is believed down gets a hint instead.
//  - While replica sets move (a migration with replication > 1; the view
//    holds the old ring, docs/replication.md "Moves") a key whose set
//    changes has two: any node of either coordinates it; reads ask the old
//    set until the migration switched them to the new one; writes go to
//    both and are acknowledged once write_consistency of EACH set holds
//    them.
//  - Otherwise the command goes to the first live replica (neither marked
//    down in the map nor suspect here) and, when that one fails, to the
//    next, within the same request; a command whose keys have different
//    coordinators is split (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) or
//    answered -CROSSSLOT.
//
// Thread safety: as Dispatcher::Execute.
#pragma once

#include <cstddef>
#include <string>

#include "node/commands/internal/command_table.h"
#include "node/commands/internal/context.h"

namespace ringkv::node::internal {

// Runs `spec` (arity and auth checked; it names keys; ctx.options.view holds
// a map with replication > 1). `depth` > 0 for a part of a split command,
// which runs synchronously.
void RunReplicated(const CommandSpec& spec, Context& ctx, std::string& out, size_t reply_start,
                   int depth);

// The RINGKV.PEEK and RINGKV.APPLY handlers (replica_entry.h). APPLY only
// runs for commands another node sent (Session::forwarded); PEEK, read-only,
// is also a client's local-only read of what this node holds. APPLY installs
// a key only where the map or a migration under way places it here
// (ReplicaWriteAllowed) and within max_clock_drift; it answers the count of
// keys installed, or "-REFUSED <i>[,<j>...] <why>" naming the refused keys by
// position when any was refused (the others are installed all the same).
void ReplicaPeekCommand(Context& ctx);
// RINGKV.ABANDON-ON-CLOSE: the router's back-end connections say so once;
// see Session::abandon_on_close.
void AbandonOnCloseCommand(Context& ctx);
void ReplicaApplyCommand(Context& ctx);

}  // namespace ringkv::node::internal
