// The job commands a ringkv node answers over RESP (router -> node). They are
// internal to ringkv: the router places a job on the node that owns its id on
// the ring and drives the node's QueueShard with these commands.
//
//   JOB.ENQUEUE <id> <iterations> <algorithm> <payload>
//       +OK | -ERR ... (-EXISTS job <id> already exists | -OOM too many jobs)
//   JOB.LEASE <worker> <lease_ms>
//       nil (no queued job) | array [id, iterations, algorithm, payload,
//                                    enqueued_ms, lease_expires_ms, attempts]
//   JOB.RENEW <id> <worker> <lease_ms>
//       +OK | -NOTFOUND no job <id> | -ERR not leased by <worker>
//   JOB.COMPLETE <id> <worker> <output>
//       +STORED | +DUPLICATE | +CONFLICT | -NOTFOUND no job <id>
//   JOB.GET <id>
//       nil | flat array of field/value pairs: id, state, iterations,
//       algorithm, enqueued_ms, leased_ms, lease_expires_ms, completed_ms,
//       worker, output, attempts, pulled (numbers as decimal bulk strings)
//   JOB.PULL <top>
//       flat array [id, output, completed_ms, id, output, completed_ms, ...],
//       oldest completion first; the jobs are marked pulled
//   JOB.RELEASE <worker>
//       :<number of leases released>
//   JOB.STATS
//       array [queued, leased, done, oldest_queued_ms] as integers
//
// Numbers in requests are decimal. Jobs live in a separate engine from the
// node's keys (memory, or RocksDB under <data-dir>/jobs), so DBSIZE, SCAN and
// FLUSHALL never see or touch them.
#pragma once

#include <string_view>

namespace ringkv::jobs::protocol {

inline constexpr std::string_view kEnqueue = "JOB.ENQUEUE";
inline constexpr std::string_view kLease = "JOB.LEASE";
inline constexpr std::string_view kRenew = "JOB.RENEW";
inline constexpr std::string_view kComplete = "JOB.COMPLETE";
inline constexpr std::string_view kGet = "JOB.GET";
inline constexpr std::string_view kPull = "JOB.PULL";
inline constexpr std::string_view kRelease = "JOB.RELEASE";
inline constexpr std::string_view kStats = "JOB.STATS";

}  // namespace ringkv::jobs::protocol
