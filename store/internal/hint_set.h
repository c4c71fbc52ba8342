// HintSet: the HintStore both engines own (store/hints.h). The hints live in
// memory, ordered by target then key, under one mutex; a durable engine
// passes a HintLog that every change is written to first, under that mutex,
// so the log sees the changes in the order memory does, and a failed write
// changes nothing. Hints are few (a replica that is down), so one lock is
// enough; ForEach and Expire still work in chunks so a callback or a long
// sweep never holds it for long.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/thread_annotations.h"
#include "store/hints.h"

namespace ringkv::store::internal {

// Where a durable engine keeps hints. Called with HintSet's lock held.
class HintLog {
 public:
  virtual ~HintLog() = default;
  virtual Status Put(std::string_view target, std::string_view key, int64_t created_ms) = 0;
  virtual Status Delete(std::string_view target, std::span<const std::string> keys) = 0;
};

class HintSet final : public HintStore {
 public:
  // `log` (may be nullptr: memory only) must outlive the set.
  HintSet(HintLimits limits, HintLog* log) : limits_(limits), log_(log) {}

  // Loads a hint read back from the log at open, without writing it again.
  // Bounds are not checked: hints written under larger limits are kept, and
  // Add refuses until they drop below the new ones.
  void Restore(std::string_view target, std::string_view key, int64_t created_ms);

  Status Add(std::string_view target, std::string_view key, int64_t now_ms) override;
  void ForEach(std::string_view target,
               FunctionRef<bool(std::string_view key, int64_t created_ms)> fn) const override;
  using HintStore::Remove;
  Status Remove(std::string_view target, std::span<const std::string> keys) override;
  StatusOr<size_t> Expire(int64_t now_ms, int64_t max_age_ms) override;
  HintStats Stats() const override;

 private:
  using Keys = std::map<std::string, int64_t, std::less<>>;  // key -> created_ms
  struct Target {
    Keys keys;
    uint64_t bytes = 0;
  };
  using Targets = std::map<std::string, Target, std::less<>>;

  void Insert(std::string_view target, std::string_view key, int64_t created_ms) REQUIRES(mu_);
  // Logs and erases `keys`, which `t` must hold; erases `t` once empty.
  Status EraseHeld(Targets::iterator t, std::span<const std::string> keys) REQUIRES(mu_);
  // Where Expire stands: at `target`, after key `after` (from its first key
  // when nullopt).
  struct ExpireCursor {
    std::string target;
    std::optional<std::string> after;
  };
  // One lock hold of Expire: examines up to a chunk of hints from the
  // cursor on, drops the old ones and counts them into `dropped`. False
  // once every target was seen.
  StatusOr<bool> ExpireChunk(int64_t cutoff_ms, ExpireCursor& cursor, size_t& dropped);

  const HintLimits limits_;
  HintLog* const log_;
  mutable Mutex mu_;
  Targets targets_ GUARDED_BY(mu_);
  HintUsage total_ GUARDED_BY(mu_);
  uint64_t refused_ GUARDED_BY(mu_) = 0;
  uint64_t expired_ GUARDED_BY(mu_) = 0;
};

}  // namespace ringkv::store::internal
