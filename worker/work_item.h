// The pure pieces of `ringkv worker`: what a GET /getWork answer means, the
// router URL a user types, base64 payloads, and the hash work computed in
// slices so a worker can give a job up between slices (lease lost, SIGTERM).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "jobs/job.h"

namespace ringkv::worker {

// One leased job, as GET /getWork answers it (docs/jobs.md).
struct WorkItem {
  std::string work_id;
  std::string payload;  // raw bytes (decoded from base64)
  uint64_t iterations = 1;
  jobs::HashAlgorithm algorithm = jobs::HashAlgorithm::kSha512;
  uint32_t lease_ms = 0;  // 0 if the router did not say
  uint32_t attempts = 0;
};

// Parses a 200 answer of GET /getWork; InvalidArgument names what is wrong.
StatusOr<WorkItem> ParseWorkItem(std::string_view json_body);

// "http://host:port", "host:port" or ":port" (trailing "/" allowed) -> "host:port".
// https and paths are refused: the router's API is plain HTTP at the root.
StatusOr<std::string> RouterAddrFromUrl(std::string_view url);

// jobs::IterateHash in slices of at most `slice` iterations (>= 1). Because
// every round after the first hashes the previous raw digest, a slice resumes
// from the hex-decoded output of the one before. `keep_going` is asked
// between slices; nullopt if it said no.
std::optional<std::string> IterateHashSliced(jobs::HashAlgorithm algorithm,
                                             std::string_view payload, uint64_t iterations,
                                             uint64_t slice,
                                             const std::function<bool()>& keep_going);

}  // namespace ringkv::worker
