// The pure half of the router's jobs API (docs/jobs.md): parsing of HTTP
// requests and of the nodes' JOB.* replies (jobs/protocol.h), and rendering of
// the JSON answers. No I/O, no clocks: jobs_api.cc is the thin shell that
// sends the commands.
//
// Errors are Status values, answered through net::HttpStatusOf:
// kInvalidArgument -> 400, kOutOfRange (payload too large) -> 413, kUnknown
// (a node's reply this codec cannot read) -> 502.
//
// Thread safety: plain functions and values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/base64.h"
#include "base/status.h"
#include "jobs/job.h"
#include "net/http.h"
#include "net/resp/resp_parser.h"

namespace ringkv::router::jobs_codec {

struct JobLimits {
  uint64_t max_payload = 16ull << 20;    // bytes, after JSON decoding
  uint32_t max_iterations = 10'000'000;  // inclusive
};

struct EnqueueRequest {
  std::string payload;
  uint32_t iterations = 0;
  jobs::HashAlgorithm algorithm = jobs::HashAlgorithm::kSha512;
};

// PUT /enqueue?iterations=N[&algorithm=..]. A body sent with a JSON content
// type must be a JSON string and is decoded; any other body is the payload.
StatusOr<EnqueueRequest> ParseEnqueue(const net::HttpRequest& req, const JobLimits& limits);

struct CompleteRequest {
  std::string work_id;
  std::string output;
};

// {"work_id": id, "output": out} or cloud-ex2's [output, work_id].
StatusOr<CompleteRequest> ParseCompleteWork(std::string_view body);
// {"work_id": id} (renewLease).
StatusOr<std::string> ParseWorkIdBody(std::string_view body);
// {"worker": id}; an empty body yields "" (the caller's own id is used).
StatusOr<std::string> ParseNotifyKilled(std::string_view body);
// {"ips": ["host:port", ...]}.
StatusOr<std::vector<std::string>> ParseIps(std::string_view body);

// ?wait=S (seconds, fractions allowed) as ms, capped at max_wait_ms; 0 when absent.
StatusOr<uint32_t> ParseWaitMs(const net::HttpRequest& req, uint32_t max_wait_ms);
// ?top=N: default kDefaultTop when absent, capped at kMaxTop.
inline constexpr size_t kDefaultTop = 100;
inline constexpr size_t kMaxTop = 10000;
StatusOr<size_t> ParseTop(const net::HttpRequest& req);

// X-Worker-Id, else ?worker=, else the peer's IP address (without the port).
StatusOr<std::string> WorkerIdOf(const net::HttpRequest& req);

// The pid in a worker id of the form "<name>-<host>-<pid>" (ringkv worker's default id is
// worker-<host>-<pid>); 0 when there is none.
int PidFromWorkerId(std::string_view id);

// --- node replies ---

struct LeasedJob {
  std::string work_id;
  uint32_t iterations = 0;
  std::string algorithm;
  std::string payload;  // raw bytes
  int64_t enqueued_ms = 0;
  int64_t lease_expires_ms = 0;
  uint32_t attempts = 0;
};
// JOB.LEASE: nullopt for nil (nothing queued); an error for a malformed reply.
StatusOr<std::optional<LeasedJob>> ParseLeaseReply(const net::resp::Reply& r);

struct ShardStats {
  uint64_t queued = 0;
  uint64_t leased = 0;
  uint64_t done = 0;
  int64_t oldest_queued_ms = 0;  // enqueue time of the oldest queued job; 0 if none
};
StatusOr<ShardStats> ParseStatsReply(const net::resp::Reply& r);
// Sums shards; oldest_queued_ms is the smallest non-zero one.
ShardStats SumStats(const std::vector<ShardStats>& shards);

struct Completed {
  std::string work_id;
  std::string output;
  int64_t completed_ms = 0;
};
// JOB.PULL: [id, output, completed_ms, ...].
StatusOr<std::vector<Completed>> ParsePullReply(const net::resp::Reply& r);

// JOB.GET: nullopt for nil; else the field/value pairs.
StatusOr<std::optional<std::map<std::string, std::string>>> ParseGetReply(
    const net::resp::Reply& r);

// --- JSON answers ---

std::string RenderLease(const LeasedJob& job, uint32_t lease_ms);
std::string RenderJob(const std::map<std::string, std::string>& fields);
std::string RenderCompleted(const std::vector<Completed>& items);
std::string RenderQueueLen(const ShardStats& s, int64_t now_ms, size_t workers,
                           uint32_t max_workers);

}  // namespace ringkv::router::jobs_codec
