// Job: one unit of hash work (cloud-ex2). A job is placed on the ring by its
// id, like a key, and lives in the queue shard of the node that owns it.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ringkv::jobs {

enum class HashAlgorithm : uint8_t { kSha512, kSha256 };
std::string_view HashAlgorithmName(HashAlgorithm a);  // "sha512", "sha256"
std::optional<HashAlgorithm> ParseHashAlgorithm(std::string_view name);

enum class JobState : uint8_t { kQueued, kLeased, kDone };
std::string_view JobStateName(JobState s);  // "queued", "leased", "done"

struct Job {
  std::string id;        // UUID v4, lower-case, 36 chars
  std::string payload;   // raw bytes
  uint32_t iterations = 1;
  HashAlgorithm algorithm = HashAlgorithm::kSha512;
  JobState state = JobState::kQueued;
  int64_t enqueued_ms = 0;
  int64_t leased_ms = 0;         // last lease start; 0 if never leased
  int64_t lease_expires_ms = 0;  // while leased
  int64_t completed_ms = 0;      // when done
  std::string worker;            // holder of the lease / who completed it
  std::string output;            // lowercase hex, when done
  uint32_t attempts = 0;         // leases handed out
  bool pulled = false;           // returned by pullCompleted at least once

  bool operator==(const Job&) const = default;
};

// Compact binary encoding for storage; Decode rejects malformed input.
std::string EncodeJob(const Job& job);
StatusOr<Job> DecodeJob(std::string_view bytes);

// A random UUID v4 string.
std::string NewJobId();
bool IsJobId(std::string_view s);

}  // namespace ringkv::jobs
