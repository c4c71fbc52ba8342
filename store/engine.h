// store::Engine: the storage interface of a ringkv node. Two engines
// implement it: memory (memory_engine.h) and RocksDB (rocksdb_engine.h).
//
// Time is passed in (now_ms, Unix milliseconds) so engines never read a clock
// for expiry decisions and tests can drive time. An entry whose expire_at_ms
// is non-zero and <= now_ms is expired: it is invisible to every read and may
// be reaped at any time.
//
// Thread safety: every method may be called concurrently from any thread.
// Mutate is atomic with respect to every other call on the same key.
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

struct Entry {
  std::string value;
  uint64_t version = 0;      // HLC timestamp of the write that made it; higher is newer
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = never expires
};

// What a Mutate callback decides to do with the key.
struct Mutation {
  enum class Kind : uint8_t { kKeep, kPut, kDelete };
  Kind kind = Kind::kKeep;
  Entry entry;  // used by kPut

  static Mutation Keep() { return {}; }
  static Mutation Put(Entry e) { return {Kind::kPut, std::move(e)}; }
  static Mutation Delete() { return {Kind::kDelete, {}}; }
};

struct ScanPage {
  uint64_t next_cursor = 0;  // 0 = the scan is complete
  std::vector<std::string> keys;
};

struct EngineStats {
  uint64_t keys = 0;              // entries held, including expired ones not yet reaped
  uint64_t keys_with_expiry = 0;
  uint64_t used_bytes = 0;        // memory engine: accounted bytes; RocksDB: estimate
  uint64_t max_memory = 0;        // 0 = unlimited
  uint64_t evicted_keys = 0;      // total since start
  uint64_t expired_keys = 0;      // total reaped since start (lazy + active)
};

class Engine {
 public:
  virtual ~Engine() = default;

  // The live entry, or nullopt if absent or expired. Marks it recently used.
  virtual std::optional<Entry> Get(std::string_view key, int64_t now_ms) = 0;

  // Reads the live entry (nullptr if absent or expired), calls `fn` exactly
  // once with it, and applies the returned decision atomically. Errors:
  // kResourceExhausted when a put would exceed max memory and the policy is
  // noeviction (nothing is changed); I/O errors from persistent engines.
  virtual Status Mutate(std::string_view key, int64_t now_ms,
                        FunctionRef<Mutation(const Entry* current)> fn) = 0;

  // Removes every entry.
  virtual Status Clear() = 0;

  // Redis SCAN semantics: start with cursor 0, continue with next_cursor
  // until it is 0. Every key present for the whole scan is returned at least
  // once; `count` is a hint. Expired keys are not returned.
  virtual ScanPage Scan(uint64_t cursor, size_t count, int64_t now_ms) = 0;

  // A random live key, or nullopt when there is none.
  virtual std::optional<std::string> RandomKey(int64_t now_ms) = 0;

  // Active expiry: examines at most `budget` entries that have an expiry and
  // deletes the expired ones. Returns the number deleted.
  virtual size_t ExpireCycle(int64_t now_ms, size_t budget) = 0;

  // Calls `fn` for every live entry whose ring position HashKey(hash, key)
  // lies in one of `arcs`; stops early when fn returns false. Used by
  // migration. Must not be called from inside fn.
  virtual Status ForEachInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash,
                               int64_t now_ms,
                               FunctionRef<bool(std::string_view key, const Entry& entry)> fn) = 0;

  virtual EngineStats Stats() const = 0;
};

}  // namespace ringkv::store
