// The work of a job (cloud-ex2): out = H(payload), then out = H(out) until H
// has been applied `iterations` times; the result is lowercase hex. H is
// SHA-512 (default) or SHA-256.
//
// After the first round every input is one digest (64 bytes for SHA-512), so
// the chained rounds are a fixed-size single-block compression: the fast path
// pre-pads that block once and runs the compression function directly,
// avoiding per-call EVP overhead.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.h"

namespace ringkv::jobs {

// Lowercase hex of the chained digest; iterations >= 1.
std::string IterateHash(HashAlgorithm algorithm, std::string_view payload, uint64_t iterations);

// The same through OpenSSL's one-shot EVP digest per round: the reference the
// fast path is tested and benchmarked against.
std::string IterateHashReference(HashAlgorithm algorithm, std::string_view payload,
                                 uint64_t iterations);

// Several jobs with the same algorithm and iterations at once: result[i] ==
// IterateHash(algorithm, payloads[i], iterations). Their chains run side by
// side (multi-buffer), so a worker holding several jobs gets more hashes per
// second per core than from one chain, which is latency-bound.
std::vector<std::string> IterateHashBatch(HashAlgorithm algorithm,
                                          std::span<const std::string_view> payloads,
                                          uint64_t iterations);

}  // namespace ringkv::jobs
