// What replicas exchange about one key: its entry or its tombstone, with the
// hybrid-logical-clock version that orders them (docs/replication.md). The
// newer version wins everywhere (last writer wins), so sending an entry
// twice, late, or to a replica that already has it changes nothing.
//
// On the wire, between nodes (internal commands, never from clients):
//   RINGKV.PEEK key [key ...]
//     -> one element per key: nil (nothing here), or
//        *4 :version :kind(0 value, 1 tombstone) :expire_at_ms $value
//   RINGKV.APPLY key version kind expire_at_ms value [key ...]
//     -> :installed (how many were newer than what the replica held)
//
// Thread safety: pure functions, plus PeekLocal/InstallIfNewer,
// which are atomic per key on the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/function_ref.h"
#include "base/hlc.h"
#include "base/status.h"
#include "net/resp/resp_writer.h"
#include "store/engine.h"

namespace ringkv::node {

struct ReplicaEntry {
  bool tombstone = false;
  store::Entry entry;  // value and expiry unused for a tombstone

  uint64_t version() const { return entry.version; }
  bool operator==(const ReplicaEntry& o) const {
    return tombstone == o.tombstone && entry.version == o.version() &&
           (tombstone || (entry.value == o.entry.value && entry.expire_at_ms == o.entry.expire_at_ms));
  }
};

// Whether `a` should replace `b` (nothing held counts as version 0).
inline bool Newer(const ReplicaEntry& a, const std::optional<ReplicaEntry>& b) {
  return !b || a.version() > b->version();
}

// RINGKV.PEEK's reply element for one key.
void WritePeekElement(net::resp::ReplyWriter& w, const std::optional<ReplicaEntry>& e);
// Decodes a RINGKV.PEEK reply for `keys` keys. InvalidArgument for another shape.
StatusOr<std::vector<std::optional<ReplicaEntry>>> DecodePeekReply(std::string_view reply,
                                                                   size_t keys);
// Appends one key's five RINGKV.APPLY arguments to `args`.
void AppendApplyArgs(std::vector<std::string>& args, std::string_view key, const ReplicaEntry& e);
// Parses RINGKV.APPLY's arguments after the name; calls fn(key, entry) per
// key. InvalidArgument (nothing called) for a malformed list.
Status ParseApplyArgs(std::span<const std::string_view> args,
                      FunctionRef<void(std::string_view, const ReplicaEntry&)> fn);

// --- This node's store ---

// The live entry or the tombstone of `key` here, or nullopt.
std::optional<ReplicaEntry> PeekLocal(store::Engine& engine, std::string_view key, int64_t now_ms);
// Installs `e` if it is newer than what is here (entry or tombstone); the
// clock observes its version. Sets *installed. Errors: the engine's, and
// HybridClock::Admit's when the clock refuses the version (nothing installed).
Status InstallIfNewer(store::Engine& engine, HybridClock& hlc, std::string_view key,
                      const ReplicaEntry& e, int64_t now_ms, bool* installed);

}  // namespace ringkv::node
