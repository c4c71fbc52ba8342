// JOB.ENQUEUE JOB.LEASE JOB.RENEW JOB.COMPLETE JOB.GET JOB.PULL JOB.RELEASE
// JOB.STATS: the node's QueueShard over RESP. The reply shapes are the
// contract with the router and are documented in jobs/protocol.h.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "jobs/job.h"
#include "jobs/queue_shard.h"
#include "node/commands/internal/handlers.h"
#include "node/commands/internal/parse.h"

namespace ringkv::node::internal {
namespace {

constexpr size_t kMaxWorkerBytes = 256;
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

// Client bytes echoed in an error line: no CR/LF, bounded length.
std::string Quoted(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 128)) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

jobs::QueueShard* ShardOrReply(Context& ctx) {
  if (ctx.options.jobs == nullptr) ctx.w.Error("ERR jobs are not enabled on this node");
  return ctx.options.jobs;
}

// args[i] as an integer in [min, max], or an error reply naming `what`.
std::optional<int64_t> IntArg(Context& ctx, size_t i, std::string_view what, int64_t min,
                              int64_t max) {
  std::optional<int64_t> n = ParseInt64(ctx.args[i]);
  if (n && *n >= min && *n <= max) return n;
  std::string msg = "ERR " + std::string(what) + " must be an integer ";
  msg += max == kMaxInt64 ? ">= " + std::to_string(min)
                          : "in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  ctx.w.Error(msg + ", got '" + Quoted(ctx.args[i]) + "'");
  return std::nullopt;
}

bool IdArgOk(Context& ctx, size_t i) {
  if (jobs::IsJobId(ctx.args[i])) return true;
  ctx.w.Error("ERR invalid job id '" + Quoted(ctx.args[i]) + "': expected a lower-case UUID");
  return false;
}

bool WorkerArgOk(Context& ctx, size_t i) {
  const size_t n = ctx.args[i].size();
  if (n >= 1 && n <= kMaxWorkerBytes) return true;
  ctx.w.Error("ERR worker must be 1 to " + std::to_string(kMaxWorkerBytes) + " bytes");
  return false;
}

// The protocol's error replies for a failed shard call on job `id`.
void ReplyJobError(Context& ctx, const Status& s, std::string_view id, std::string_view worker) {
  switch (s.code()) {
    case StatusCode::kAlreadyExists:
      return ctx.w.Error("EXISTS job " + std::string(id) + " already exists");
    case StatusCode::kResourceExhausted:
      return ctx.w.Error("OOM too many jobs");
    case StatusCode::kNotFound:
      return ctx.w.Error("NOTFOUND no job " + std::string(id));
    case StatusCode::kFailedPrecondition:
      return ctx.w.Error("ERR not leased by " + Quoted(worker));
    default:
      ctx.w.Error("ERR " + Quoted(s.ToString()));
  }
}

void ReplyNumberBulk(Context& ctx, int64_t v) {
  ctx.w.Bulk(std::to_string(v));
}

}  // namespace

// JOB.ENQUEUE <id> <iterations> <algorithm> <payload>
void JobEnqueueCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr || !IdArgOk(ctx, 1)) return;
  std::optional<int64_t> iterations =
      IntArg(ctx, 2, "iterations", 1, std::numeric_limits<uint32_t>::max());
  if (!iterations) return;
  std::optional<jobs::HashAlgorithm> algorithm = jobs::ParseHashAlgorithm(ctx.args[3]);
  if (!algorithm) {
    return ctx.w.Error("ERR algorithm must be sha512 or sha256, got '" + Quoted(ctx.args[3]) + "'");
  }
  jobs::Job job;
  job.id = std::string(ctx.args[1]);
  job.payload = std::string(ctx.args[4]);
  job.iterations = static_cast<uint32_t>(*iterations);
  job.algorithm = *algorithm;
  job.enqueued_ms = ctx.now_ms;
  Status s = shard->Enqueue(std::move(job));
  if (!s.ok()) return ReplyJobError(ctx, s, ctx.args[1], {});
  ctx.w.Ok();
}

// JOB.LEASE <worker> <lease_ms>
void JobLeaseCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr || !WorkerArgOk(ctx, 1)) return;
  std::optional<int64_t> lease_ms = IntArg(ctx, 2, "lease_ms", 1, kMaxInt64);
  if (!lease_ms) return;
  std::optional<jobs::Job> job = shard->Lease(std::string(ctx.args[1]), *lease_ms, ctx.now_ms);
  if (!job) return ctx.w.Null();
  ctx.w.ArrayHeader(7);
  ctx.w.Bulk(job->id);
  ctx.w.Integer(job->iterations);
  ctx.w.Bulk(jobs::HashAlgorithmName(job->algorithm));
  ctx.w.Bulk(job->payload);
  ctx.w.Integer(job->enqueued_ms);
  ctx.w.Integer(job->lease_expires_ms);
  ctx.w.Integer(job->attempts);
}

// JOB.RENEW <id> <worker> <lease_ms>
void JobRenewCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr || !IdArgOk(ctx, 1) || !WorkerArgOk(ctx, 2)) return;
  std::optional<int64_t> lease_ms = IntArg(ctx, 3, "lease_ms", 1, kMaxInt64);
  if (!lease_ms) return;
  Status s =
      shard->Renew(std::string(ctx.args[1]), std::string(ctx.args[2]), *lease_ms, ctx.now_ms);
  if (!s.ok()) return ReplyJobError(ctx, s, ctx.args[1], ctx.args[2]);
  ctx.w.Ok();
}

// JOB.COMPLETE <id> <worker> <output>
void JobCompleteCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr || !IdArgOk(ctx, 1) || !WorkerArgOk(ctx, 2)) return;
  if (ctx.args[3].empty()) return ctx.w.Error("ERR output must not be empty");
  StatusOr<jobs::CompleteResult> r = shard->Complete(
      std::string(ctx.args[1]), std::string(ctx.args[3]), std::string(ctx.args[2]), ctx.now_ms);
  if (!r.ok()) return ReplyJobError(ctx, r.status(), ctx.args[1], ctx.args[2]);
  switch (*r) {
    case jobs::CompleteResult::kStored:
      return ctx.w.Simple("STORED");
    case jobs::CompleteResult::kDuplicate:
      return ctx.w.Simple("DUPLICATE");
    case jobs::CompleteResult::kConflict:
      return ctx.w.Simple("CONFLICT");
  }
}

// JOB.GET <id>: field/value pairs, numbers as decimal bulk strings.
void JobGetCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr || !IdArgOk(ctx, 1)) return;
  std::optional<jobs::Job> job = shard->Get(std::string(ctx.args[1]), ctx.now_ms);
  if (!job) return ctx.w.Null();
  ctx.w.ArrayHeader(24);
  auto field = [&ctx](std::string_view name, std::string_view value) {
    ctx.w.Bulk(name);
    ctx.w.Bulk(value);
  };
  auto number = [&ctx](std::string_view name, int64_t value) {
    ctx.w.Bulk(name);
    ReplyNumberBulk(ctx, value);
  };
  field("id", job->id);
  field("state", jobs::JobStateName(job->state));
  number("iterations", job->iterations);
  field("algorithm", jobs::HashAlgorithmName(job->algorithm));
  number("enqueued_ms", job->enqueued_ms);
  number("leased_ms", job->leased_ms);
  number("lease_expires_ms", job->lease_expires_ms);
  number("completed_ms", job->completed_ms);
  field("worker", job->worker);
  field("output", job->output);
  number("attempts", job->attempts);
  field("pulled", job->pulled ? "1" : "0");
}

// JOB.PULL <top>
void JobPullCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr) return;
  std::optional<int64_t> top = IntArg(ctx, 1, "top", 1, kMaxInt64);
  if (!top) return;
  std::vector<jobs::Job> done = shard->PullCompleted(static_cast<size_t>(*top), ctx.now_ms);
  ctx.w.ArrayHeader(done.size() * 3);
  for (const jobs::Job& job : done) {
    ctx.w.Bulk(job.id);
    ctx.w.Bulk(job.output);
    ctx.w.Integer(job.completed_ms);
  }
}

// JOB.RELEASE <worker>
void JobReleaseCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr || !WorkerArgOk(ctx, 1)) return;
  size_t released = shard->ReleaseWorker(std::string(ctx.args[1]), ctx.now_ms);
  ctx.w.Integer(static_cast<int64_t>(released));
}

// JOB.STATS
void JobStatsCommand(Context& ctx) {
  jobs::QueueShard* shard = ShardOrReply(ctx);
  if (shard == nullptr) return;
  jobs::QueueStats st = shard->Stats(ctx.now_ms);
  ctx.w.ArrayHeader(4);
  ctx.w.Integer(static_cast<int64_t>(st.queued));
  ctx.w.Integer(static_cast<int64_t>(st.leased));
  ctx.w.Integer(static_cast<int64_t>(st.done));
  ctx.w.Integer(st.oldest_queued_ms);
}

}  // namespace ringkv::node::internal
