// store::Engine: the storage interface of a ringkv node. Two engines
// implement it: memory (memory_engine.h) and RocksDB (rocksdb_engine.h).
//
// Time is passed in (now_ms, Unix milliseconds) so engines never read a clock
// for expiry decisions and tests can drive time. An entry whose expire_at_ms
// is non-zero and <= now_ms is expired: it is invisible to every read and may
// be reaped at any time.
//
// Tombstones (docs/design.md, "Storage"): a key may hold, instead of an
// entry, a tombstone that records the version of its delete, so that a
// replica or a transfer holding an older entry cannot bring the key back.
// Tombstones are invisible to every read that predates them: Get, Mutate's
// `current`, Scan, RandomKey, ExpireCycle, ForEachInArcs and Stats().keys see
// a tombstoned key as absent. Only Peek, MutateVersioned and
// ForEachVersionedInArcs show them. A tombstone never expires by itself;
// PurgeTombstones removes it once its version's wall-clock ms is ttl_ms old.
// Versions are compared only by callers: Mutate and MutateVersioned apply
// what `fn` returns, so a Put over a tombstone (a SET after a DEL) needs no
// newer version. InstallIfNewer is the keep-newer rule in one call.
//
// Thread safety: every method may be called concurrently from any thread.
// Mutate and MutateVersioned are atomic with respect to every other call on
// the same key.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/function_ref.h"
#include "base/status.h"
#include "ring/diff.h"
#include "ring/hash.h"

namespace ringkv::store {

class HintStore;

struct Entry {
  std::string value;
  uint64_t version = 0;      // HLC timestamp of the write that made it; higher is newer
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = never expires
};

// What a key holds as the versioned reads see it: a live entry, or a
// tombstone (entry.value empty, entry.expire_at_ms 0, entry.version the
// delete's version).
struct VersionedEntry {
  Entry entry;
  bool tombstone = false;
};

// The wall-clock ms of an HLC version `(ms << 16) | counter`.
inline int64_t VersionMs(uint64_t version) {
  return static_cast<int64_t>(version >> 16);
}

// Whether a tombstone of `version` is old enough for PurgeTombstones:
// VersionMs(version) + ttl_ms <= now_ms. A negative ttl counts as 0.
inline bool TombstonePurgeable(uint64_t version, int64_t now_ms, int64_t ttl_ms) {
  if (ttl_ms < 0) ttl_ms = 0;
  return VersionMs(version) <= now_ms - ttl_ms;
}

// What a Mutate callback decides to do with the key.
struct Mutation {
  enum class Kind : uint8_t {
    kKeep,       // change nothing (a live entry counts as recently used)
    kPut,        // store `entry`, replacing an entry or a tombstone
    kDelete,     // remove the entry or tombstone, leaving no trace
    kTombstone,  // replace whatever is there with a tombstone of entry.version
  };
  Kind kind = Kind::kKeep;
  Entry entry;  // used by kPut; kTombstone uses only entry.version

  static Mutation Keep() { return {}; }
  static Mutation Put(Entry e) { return {Kind::kPut, std::move(e)}; }
  static Mutation Delete() { return {Kind::kDelete, {}}; }
  static Mutation Tombstone(uint64_t version) { return {Kind::kTombstone, Entry{{}, version, 0}}; }
};

struct ScanPage {
  uint64_t next_cursor = 0;  // 0 = the scan is complete
  std::vector<std::string> keys;
};

struct EngineStats {
  uint64_t keys = 0;  // entries held, including expired ones not yet reaped; never tombstones
  uint64_t keys_with_expiry = 0;
  uint64_t used_bytes = 0;         // memory engine: accounted bytes; RocksDB: estimate
  uint64_t max_memory = 0;         // 0 = unlimited
  uint64_t evicted_keys = 0;       // total since start
  uint64_t expired_keys = 0;       // total reaped since start (lazy + active)
  uint64_t tombstones = 0;         // tombstones held (in used_bytes too)
  uint64_t purged_tombstones = 0;  // total removed by PurgeTombstones since start
  // RocksDB: a write failed (a full disk, an I/O error) and the engine takes
  // no more writes until RocksDB has recovered; reads go on.
  bool writes_stopped = false;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // The live entry, or nullopt if absent, expired or a tombstone. Marks it
  // recently used.
  virtual std::optional<Entry> Get(std::string_view key, int64_t now_ms) = 0;

  // The live entry or the tombstone, or nullopt if absent or expired. For
  // version comparisons: does not mark the entry recently used.
  virtual std::optional<VersionedEntry> Peek(std::string_view key, int64_t now_ms) = 0;

  // A hint that `keys` are about to be read or written: an engine may start
  // loading where they live so that the lookups that follow overlap their
  // memory waits. Changes nothing; the default does nothing.
  virtual void Prefetch(std::span<const std::string_view> /*keys*/) {}

  // Reads the live entry (nullptr if absent, expired or a tombstone), calls
  // `fn` exactly once with it, and applies the returned decision atomically.
  // Errors: kResourceExhausted when a put would exceed max memory and the
  // policy is noeviction (nothing is changed); I/O errors from persistent
  // engines.
  virtual Status Mutate(std::string_view key, int64_t now_ms,
                        FunctionRef<Mutation(const Entry* current)> fn) = 0;

  // Mutate whose `fn` also sees a tombstone: `current` is the live entry or
  // the tombstone, nullptr if absent or expired. Same atomicity and errors.
  virtual Status MutateVersioned(std::string_view key, int64_t now_ms,
                                 FunctionRef<Mutation(const VersionedEntry* current)> fn) = 0;

  // Removes every entry and every tombstone. Hints are kept.
  virtual Status Clear() = 0;

  // Redis SCAN semantics: start with cursor 0, continue with next_cursor
  // until it is 0. Every key present for the whole scan is returned at least
  // once; `count` is a hint. Expired keys and tombstones are not returned.
  virtual ScanPage Scan(uint64_t cursor, size_t count, int64_t now_ms) = 0;

  // A random live key, or nullopt when there is none.
  virtual std::optional<std::string> RandomKey(int64_t now_ms) = 0;

  // Active expiry: examines at most `budget` entries that have an expiry and
  // deletes the expired ones. Returns the number deleted. Never touches
  // tombstones.
  virtual size_t ExpireCycle(int64_t now_ms, size_t budget) = 0;

  // Removes tombstones for which TombstonePurgeable(version, now_ms, ttl_ms)
  // holds, examining at most about `budget` tombstones (continuing where the
  // previous call stopped). Returns the number removed.
  virtual size_t PurgeTombstones(int64_t now_ms, int64_t ttl_ms, size_t budget) = 0;

  // Calls `fn` for every live entry whose ring position HashKey(hash, key)
  // lies in one of `arcs`; stops early when fn returns false. Used by
  // migration. Must not be called from inside fn.
  virtual Status ForEachInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash,
                               int64_t now_ms,
                               FunctionRef<bool(std::string_view key, const Entry& entry)> fn) = 0;

  // ForEachInArcs that also visits tombstones (anti-entropy, transfer of
  // deletes). Same order, stop and reentrancy rules.
  virtual Status ForEachVersionedInArcs(
      std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
      FunctionRef<bool(std::string_view key, const VersionedEntry& entry)> fn) = 0;

  // The engine's hints (store/hints.h); durable when the engine is.
  virtual HintStore& hints() = 0;

  virtual EngineStats Stats() const = 0;
};

// Whether `a` replaces `b` under last-writer-wins: a newer version does; of
// two equal versions (two nodes may draw the same HLC timestamp) a tombstone
// beats a value and the greater value, then the later expiry, wins, so every
// replica picks the same one whatever the arrival order. Equal entries do not
// replace each other.
bool Supersedes(const VersionedEntry& a, const VersionedEntry& b);

// Keep-newer install (docs/design.md, "Moving keys"): stores `arrival`, an
// entry or a tombstone, unless the key holds a live entry or a tombstone that
// `arrival` does not supersede. Returns whether it was stored. An expired
// entry counts as absent, so an arrival older than it is stored.
StatusOr<bool> InstallIfNewer(Engine& engine, std::string_view key, int64_t now_ms,
                              const VersionedEntry& arrival);

}  // namespace ringkv::store
