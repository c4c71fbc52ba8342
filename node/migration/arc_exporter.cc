#include "node/migration/arc_exporter.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <list>
#include <thread>
#include <utility>

#include "base/periodic_task.h"
#include "base/process.h"
#include "net/grpc_client.h"
#include "node/migration/entry_chunks.h"

namespace ringkv::node {
namespace {

using ringkv::v1::EntryBatch;
using ringkv::v1::MoveProgress;
using ringkv::v1::MoveRequest;

constexpr uint32_t kDefaultBatchKeys = 1024;
constexpr uint32_t kDefaultBatchBytes = 1 << 20;
constexpr int64_t kProgressEveryMs = 100;  // the protocol asks for at least every 200 ms
constexpr int64_t kMonitorTickMs = 20;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One target of the pass: its arcs and its Transfer call.
struct Target {
  std::string addr;
  std::vector<ring::Arc> arcs;
  std::unique_ptr<ring::ArcSet> set;
  std::shared_ptr<ringkv::v1::Peer::Stub> stub;
  grpc::ClientContext ctx;
  ringkv::v1::ApplySummary summary;
  std::unique_ptr<grpc::ClientWriter<EntryBatch>> writer;
  EntryBatch batch;  // cleared after each send; its entries are reused, not reallocated
  size_t batch_bytes = 0;
  uint64_t batch_keys = 0;  // whole entries in `batch` (a large value is several pieces)
};

// The state of one MoveArcs call.
class Pass {
 public:
  Pass(store::Engine& engine, const Clock& clock, ClusterCounters& counters, const PeerStubs& peers,
       uint32_t stall_ms, uint64_t chunk_bytes, std::chrono::microseconds yield,
       const RoleSnapshot& roles, const MoveRequest& req)
      : engine_(engine),
        clock_(clock),
        counters_(counters),
        stall_ms_(stall_ms),
        splitter_(chunk_bytes),
        roles_(roles),
        req_(req),
        yielder_(yield) {
    batch_keys_ = req.batch_keys() != 0 ? req.batch_keys() : kDefaultBatchKeys;
    batch_bytes_ = req.batch_bytes() != 0 ? req.batch_bytes() : kDefaultBatchBytes;
    // A batch stays within a few chunks, so it fits the bounded gRPC message.
    batch_bytes_ = std::min(batch_bytes_, chunk_bytes);
    // Rate-limited: batches of about 1/10 s of budget, so the pace is smooth.
    if (req.max_keys_per_sec() != 0) {
      batch_keys_ = std::clamp<uint64_t>(req.max_keys_per_sec() / 10, 1, batch_keys_);
    }
    if (req.max_bytes_per_sec() != 0) {
      batch_bytes_ = std::clamp<uint64_t>(req.max_bytes_per_sec() / 10, 1, batch_bytes_);
    }
    for (const RoleSnapshot::Role& r : roles.roles) {
      if (r.role.kind != MigrationRole::Kind::kExport) continue;
      all_arcs_.insert(all_arcs_.end(), r.role.arcs.begin(), r.role.arcs.end());
      Target* t = nullptr;
      for (Target& existing : targets_) {
        if (existing.addr == r.role.peer_grpc) t = &existing;
      }
      if (t == nullptr) {
        t = &targets_.emplace_back();
        t->addr = r.role.peer_grpc;
        t->stub = peers(t->addr);
        t->batch.set_migration_id(roles.migration_id);
        t->batch.set_epoch(roles.migration_epoch);
      }
      t->arcs.insert(t->arcs.end(), r.role.arcs.begin(), r.role.arcs.end());
    }
    for (Target& t : targets_) t.set = std::make_unique<ring::ArcSet>(t.arcs);
    // A replica move sends one arc to each node it gains: scan it once.
    if (roles.replicas) DedupeArcs();
  }

  Status Run(grpc::ServerContext* ctx, grpc::ServerWriter<MoveProgress>* writer);

 private:
  void DedupeArcs() {
    std::sort(all_arcs_.begin(), all_arcs_.end(), [](const ring::Arc& a, const ring::Arc& b) {
      return std::pair(a.lo, a.hi) < std::pair(b.lo, b.hi);
    });
    all_arcs_.erase(std::unique(all_arcs_.begin(), all_arcs_.end(),
                                [](const ring::Arc& a, const ring::Arc& b) {
                                  return a.lo == b.lo && a.hi == b.hi;
                                }),
                    all_arcs_.end());
  }
  bool Visit(std::string_view key, const store::Entry& entry, bool tombstone);
  bool Add(Target& t, std::string_view key, const store::Entry& entry, bool tombstone);
  bool Send(Target& t);
  void Throttle();
  bool MonitorTick(grpc::ServerContext* ctx, grpc::ServerWriter<MoveProgress>* writer);
  void CancelTargets();
  MoveProgress Progress(bool done) const;
  Status Finish();

  store::Engine& engine_;
  const Clock& clock_;
  ClusterCounters& counters_;
  const uint32_t stall_ms_;
  const EntrySplitter splitter_;
  const RoleSnapshot& roles_;
  const MoveRequest& req_;
  uint64_t batch_keys_;
  uint64_t batch_bytes_;
  std::vector<ring::Arc> all_arcs_;
  std::list<Target> targets_;  // stable addresses: the monitor cancels their contexts
  const int64_t start_ms_ = SteadyMs();
  CpuYielder yielder_;  // the scan thread shares the CPU with request threads

  std::atomic<uint64_t> keys_sent_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> keys_scanned_{0};
  std::atomic<bool> stop_{false};  // cancelled by the router, or a target stalled
  std::atomic<bool> stalled_{false};
  std::atomic<int64_t> write_since_{0};  // steady ms a Transfer write started; 0 = none
  Target* failed_ = nullptr;             // the target whose Transfer failed (main thread)
  int64_t last_report_ms_ = start_ms_;   // the monitor's thread only
};

// Engines call this without holding their locks, so it may yield the CPU.
// A replica move may copy one arc to several targets (each node it gains).
bool Pass::Visit(std::string_view key, const store::Entry& entry, bool tombstone) {
  if (stop_.load(std::memory_order_relaxed)) return false;
  yielder_.MaybeYield();
  keys_scanned_.fetch_add(1, std::memory_order_relaxed);
  if (targets_.size() == 1) return Add(targets_.front(), key, entry, tombstone);
  const uint64_t pos = ring::HashKey(roles_.hash, key);
  for (Target& t : targets_) {
    if (t.set->Contains(pos) && !Add(t, key, entry, tombstone)) return false;
  }
  return true;
}

// A value larger than a chunk goes as pieces, a full batch sent between them.
bool Pass::Add(Target& t, std::string_view key, const store::Entry& entry, bool tombstone) {
  const uint64_t pieces = tombstone ? 1 : splitter_.Pieces(entry.value.size());
  for (uint64_t i = 0; i < pieces; ++i) {
    ringkv::v1::Entry* e = t.batch.add_entries();
    splitter_.Piece(key, entry, tombstone, i, *e);
    t.batch_bytes += key.size() + e->value().size();
    if (i + 1 == pieces) ++t.batch_keys;
    if ((static_cast<uint64_t>(t.batch.entries_size()) >= batch_keys_ ||
         t.batch_bytes >= batch_bytes_) &&
        !Send(t)) {
      return false;
    }
  }
  return true;
}

bool Pass::Send(Target& t) {
  if (t.batch.entries_size() == 0) return true;
  if (stop_.load(std::memory_order_relaxed)) return false;
  if (!t.writer) t.writer = t.stub->Transfer(&t.ctx, &t.summary);
  write_since_.store(SteadyMs(), std::memory_order_relaxed);
  const bool ok = t.writer->Write(t.batch);
  write_since_.store(0, std::memory_order_relaxed);
  if (!ok) {
    failed_ = &t;
    return false;
  }
  const uint64_t n = t.batch_keys;
  keys_sent_.fetch_add(n, std::memory_order_relaxed);
  bytes_sent_.fetch_add(t.batch_bytes, std::memory_order_relaxed);
  counters_.sent.fetch_add(n, std::memory_order_relaxed);
  if (t.batch_bytes > 2 * batch_bytes_) {
    // A large value: free it now rather than keep its buffer for reuse.
    ringkv::v1::EntryBatch fresh;
    fresh.set_migration_id(t.batch.migration_id());
    fresh.set_epoch(t.batch.epoch());
    t.batch.Swap(&fresh);
  }
  t.batch.mutable_entries()->Clear();
  t.batch_bytes = 0;
  t.batch_keys = 0;
  Throttle();
  return !stop_.load(std::memory_order_relaxed);
}

// Sleeps until the sent keys and bytes fit the requested rates.
void Pass::Throttle() {
  double need_s = 0;
  if (req_.max_keys_per_sec() != 0) {
    need_s = static_cast<double>(keys_sent_.load()) / static_cast<double>(req_.max_keys_per_sec());
  }
  if (req_.max_bytes_per_sec() != 0) {
    need_s = std::max(need_s, static_cast<double>(bytes_sent_.load()) /
                                  static_cast<double>(req_.max_bytes_per_sec()));
  }
  const int64_t due = start_ms_ + static_cast<int64_t>(need_s * 1000);
  for (int64_t now = SteadyMs(); now < due && !stop_.load(); now = SteadyMs()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(due - now, 20)));
  }
}

void Pass::CancelTargets() {
  for (Target& t : targets_) t.ctx.TryCancel();
}

MoveProgress Pass::Progress(bool done) const {
  MoveProgress p;
  p.set_keys_sent(keys_sent_.load(std::memory_order_relaxed));
  p.set_bytes_sent(bytes_sent_.load(std::memory_order_relaxed));
  p.set_keys_scanned(keys_scanned_.load(std::memory_order_relaxed));
  p.set_done(done);
  return p;
}

// One tick of the monitor: reports progress; stops the pass (and the
// monitor, by returning false) when the router goes away or a target write
// blocks for stall_ms.
bool Pass::MonitorTick(grpc::ServerContext* ctx, grpc::ServerWriter<MoveProgress>* writer) {
  const int64_t now = SteadyMs();
  const int64_t since = write_since_.load(std::memory_order_relaxed);
  const bool stalled = since != 0 && now - since > static_cast<int64_t>(stall_ms_);
  if (ctx->IsCancelled() || stalled) {
    stalled_.store(stalled);
    stop_.store(true);
    CancelTargets();
    return false;
  }
  if (now - last_report_ms_ >= kProgressEveryMs) {
    last_report_ms_ = now;
    if (!writer->Write(Progress(false))) {  // the router is gone
      stop_.store(true);
      CancelTargets();
      return false;
    }
  }
  return true;
}

// Ends every Transfer call; the first failure wins.
Status Pass::Finish() {
  Status result;
  for (Target& t : targets_) {
    if (!t.writer) continue;
    if (&t != failed_ && !stop_.load()) t.writer->WritesDone();
    Status s = net::FromGrpc(t.writer->Finish(), "transfer to " + t.addr + " failed");
    if (s.ok() || !result.ok()) continue;
    // A call this pass cancelled, or one that broke without a code: the target is lost.
    if (s.code() == StatusCode::kCancelled || s.code() == StatusCode::kUnknown) {
      s = Unavailable(s.message());
    }
    result = std::move(s);
  }
  if (result.ok() && failed_ != nullptr) {
    result = Unavailable("transfer to " + failed_->addr + " failed");
  }
  return result;
}

Status Pass::Run(grpc::ServerContext* ctx, grpc::ServerWriter<MoveProgress>* writer) {
  if (targets_.empty()) {
    writer->Write(Progress(true));
    return OkStatus();
  }
  PeriodicTask monitor;
  monitor.Start(std::chrono::milliseconds(kMonitorTickMs),
                [this, ctx, writer] { return MonitorTick(ctx, writer); });
  // Tombstones go too: a gained replica must not take an older value of a
  // deleted key from a source that missed the delete, and a replication-1
  // node back from down must drop what its successor deleted meanwhile.
  Status scan =
      engine_.ForEachVersionedInArcs(all_arcs_, roles_.hash, clock_.NowMs(),
                                     [&](std::string_view key, const store::VersionedEntry& v) {
                                       return Visit(key, v.entry, v.tombstone);
                                     });
  if (scan.ok() && failed_ == nullptr && !stop_.load()) {
    for (Target& t : targets_) {
      if (!Send(t)) break;
    }
  }
  Status finish = Finish();
  monitor.Stop();  // a tick under way ends first: the last progress below comes after it
  if (stalled_.load()) {
    return Unavailable("a target took no data for " + std::to_string(stall_ms_) + " ms");
  }
  if (ctx->IsCancelled()) return Status(StatusCode::kCancelled, "move cancelled");
  if (!scan.ok()) return scan;
  if (!finish.ok()) return finish;
  if (stop_.load()) return Status(StatusCode::kCancelled, "move cancelled");
  writer->Write(Progress(true));
  return OkStatus();
}

}  // namespace

Status ArcExporter::Run(grpc::ServerContext* ctx, const RoleSnapshot& roles,
                        const MoveRequest& request, grpc::ServerWriter<MoveProgress>* writer) {
  Pass pass(engine_, clock_, counters_, peers_, stall_ms_, chunk_bytes_, yield_, roles, request);
  return pass.Run(ctx, writer);
}

}  // namespace ringkv::node
