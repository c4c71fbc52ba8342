#include "node/forwarder.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "net/grpc_client.h"
#include "node/link/link_frame.h"

namespace ringkv::node {
namespace {

// How long a peer without a link listener is sent Forward calls before its
// link is tried again.
constexpr int64_t kGrpcOnlyMs = 30000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void AppendError(std::string& out, const std::string& message) {
  out.push_back('-');
  for (char c : message) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
}

bool IsMoved(const LinkReply& r) {
  return r.status.ok() && r.reply.starts_with("-MOVED ");
}

// The lane of a command: by its first key (FNV-1a), so commands on one key share one.
size_t LaneOf(std::span<const std::string_view> args, size_t lanes) {
  uint64_t h = 14695981039346656037ull;
  if (args.size() > 1) {
    for (char c : args[1]) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return static_cast<size_t>(h % lanes);
}

}  // namespace

Forwarder::Forwarder(PeerLinks& links, PeerChannels& peers, ClusterView& view,
                     ClusterCounters& counters, WorkerPool& slow)
    : links_(links), peers_(peers), view_(view), counters_(counters), slow_(slow) {}

Forwarder::~Forwarder() {
  Drain();
}

void Forwarder::SetSelfGrpc(std::string addr) {
  MutexLock lock(mu_);
  self_grpc_ = std::move(addr);
}

void Forwarder::Drain() {
  MutexLock lock(mu_);
  idle_.Wait(mu_, [&] { return in_flight_.load(std::memory_order_acquire) == 0; });
}

void Forwarder::Begin() {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
}

void Forwarder::Finish(const Done& done, Outcome outcome, std::string reply) {
  done(outcome, std::move(reply));
  End();
}

void Forwarder::End() {
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  MutexLock lock(mu_);  // a Drain between its check and its wait still hears this
  idle_.NotifyAll();
}

bool Forwarder::RefreshFrom(const std::string& addr) {
  const uint64_t before = view_.epoch();
  ringkv::v1::GetMapReply reply;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, peers_.timeout_ms());
  grpc::Status s = peers_.RegistryStub(addr)->GetMap(&ctx, {}, &reply);
  if (!s.ok()) {
    spdlog::warn("cluster map: cannot fetch from {}: {}", addr, s.error_message());
    return false;
  }
  if (reply.map_json().empty() || reply.epoch() <= before) return false;
  StatusOr<uint64_t> after = view_.SetMap(reply.map_json(), reply.registry());
  if (!after.ok()) {
    spdlog::warn("cluster map from {}: {}", addr, after.status().message());
    return false;
  }
  if (*after > before) {
    counters_.map_refreshes.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("cluster map: epoch {} -> {} (fetched from {})", before, *after, addr);
  }
  return *after > before;
}

// A reply showed a newer map than this node's: fetch it on the slow pool,
// once for a burst of such replies.
void Forwarder::RefreshSoon(const std::string& addr, uint64_t epoch) {
  uint64_t started = refreshing_.load(std::memory_order_relaxed);
  do {
    if (epoch <= started) return;
  } while (!refreshing_.compare_exchange_weak(started, epoch, std::memory_order_relaxed));
  slow_.Post([this, addr] { RefreshFrom(addr); });
}

void Forwarder::PostInOrder(size_t lane_index, std::function<void()> task) {
  Lane& lane = lanes_[lane_index];
  {
    MutexLock lock(lane.mu);
    lane.tasks.push_back(std::move(task));
    if (lane.running) return;
    lane.running = true;
  }
  slow_.Post([this, &lane] { RunLane(lane); });
}

void Forwarder::RunLane(Lane& lane) {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(lane.mu);
      if (lane.tasks.empty()) {
        lane.running = false;
        return;
      }
      task = std::move(lane.tasks.front());
      lane.tasks.pop_front();
    }
    task();
  }
}

std::optional<Forwarder::Target> Forwarder::Aim(const ClusterSnapshot& view, uint32_t owner,
                                                std::string& out) {
  const std::string& id = view.NodeId(owner);
  const std::string& addr = view.grpc_addrs[owner];
  if (addr.empty()) {
    AppendError(out, "ERR node " + id + " owns this key but has no gRPC address in map epoch " +
                         std::to_string(view.epoch) + " (a Redis back end?): use the router");
    return std::nullopt;
  }
  counters_.forwarded.fetch_add(1, std::memory_order_relaxed);
  return Target{id, addr, view.epoch};
}

ForwardLink::Outcome Forwarder::Conclude(const Target& t, const LinkReply& r, std::string& out,
                                         bool may_block) {
  if (!r.status.ok()) {
    counters_.forward_errors.fetch_add(1, std::memory_order_relaxed);
    AppendError(out, "TRYAGAIN forward to node " + t.id + " at " + t.grpc +
                         " failed: " + r.status.message());
    return Outcome::kDone;
  }
  if (IsMoved(r)) {
    // The owner's map says someone else owns the keys: take the newer map and place them again.
    if (!r.map_json.empty()) (void)view_.SetMap(r.map_json);
    bool newer = view_.epoch() > t.epoch;
    if (!newer && r.epoch > t.epoch) newer = RefreshFrom(t.grpc) || view_.epoch() > t.epoch;
    if (newer) {
      counters_.forward_retries.fetch_add(1, std::memory_order_relaxed);
      return Outcome::kRetry;
    }
  }
  out.append(r.reply);
  if (r.epoch > t.epoch) {
    if (may_block) {
      RefreshFrom(t.grpc);
    } else {
      RefreshSoon(t.grpc, r.epoch);
    }
  }
  return Outcome::kDone;
}

ForwardLink::Outcome Forwarder::Forward(const ClusterSnapshot& view, uint32_t owner,
                                        std::span<const std::string_view> args, std::string& out) {
  std::optional<Target> t = Aim(view, owner, out);
  if (!t) return Outcome::kDone;
  if (GrpcOnly(t->grpc)) return ForwardGrpc(*t, args, out);
  struct Wait {
    Mutex mu;
    CondVar answered;
    std::optional<LinkReply> reply GUARDED_BY(mu);
  };
  auto wait = std::make_shared<Wait>();
  links_.Send(LinkPeer{t->id, t->grpc}, t->epoch, args, [wait](LinkReply r) {
    MutexLock lock(wait->mu);
    wait->reply = std::move(r);
    wait->answered.NotifyAll();
  });
  links_.SendPending();  // this thread waits: nothing may stay for the end of its round
  LinkReply r;
  {
    MutexLock lock(wait->mu);
    wait->answered.Wait(wait->mu, [&]() REQUIRES(wait->mu) { return wait->reply.has_value(); });
    r = std::move(*wait->reply);
  }
  if (r.status.code() == StatusCode::kUnimplemented) {
    MarkGrpcOnly(t->grpc);
    return ForwardGrpc(*t, args, out);
  }
  return Conclude(*t, r, out, /*may_block=*/true);
}

void Forwarder::ForwardAsync(const ClusterSnapshot& view, uint32_t owner,
                             std::span<const std::string_view> args, Done done) {
  std::string out;
  std::optional<Target> t = Aim(view, owner, out);
  if (!t) return done(Outcome::kDone, std::move(out));
  if (GrpcOnly(t->grpc)) return ForwardGrpcAsync(*t, args, std::move(done));
  Begin();
  // Runs on the links' thread: nothing here may block.
  links_.Send(
      LinkPeer{t->id, t->grpc}, t->epoch, args,
      [this, t = *t, done = std::move(done), lane = LaneOf(args, lanes_.size())](LinkReply r) {
        if (r.status.code() == StatusCode::kUnimplemented) {
          MarkGrpcOnly(t.grpc);
          StatusOr<std::vector<std::string_view>> args = DecodeLinkRequest(r.unsent);
          if (args.ok()) {
            ForwardGrpcAsync(t, *args, done);
            return End();
          }
        }
        if (IsMoved(r)) {
          PostInOrder(lane, [this, t, r = std::move(r), done]() mutable {
            std::string reply;
            const Outcome outcome = Conclude(t, r, reply, true);
            Finish(done, outcome, std::move(reply));
          });
          return;
        }
        std::string reply;
        const Outcome outcome = Conclude(t, r, reply, false);
        Finish(done, outcome, std::move(reply));
      });
}

// --- The gRPC fallback ---

bool Forwarder::GrpcOnly(const std::string& grpc) {
  if (grpc_only_.load(std::memory_order_relaxed) == 0) return false;
  MutexLock lock(mu_);
  auto it = grpc_only_until_.find(grpc);
  if (it == grpc_only_until_.end()) return false;
  if (it->second > SteadyMs()) return true;
  grpc_only_until_.erase(it);  // try its link again
  grpc_only_.store(grpc_only_until_.size(), std::memory_order_relaxed);
  return false;
}

void Forwarder::MarkGrpcOnly(const std::string& grpc) {
  MutexLock lock(mu_);
  grpc_only_until_[grpc] = SteadyMs() + kGrpcOnlyMs;
  grpc_only_.store(grpc_only_until_.size(), std::memory_order_relaxed);
}

namespace {

// A Peer/Forward call is one message, capped between nodes (docs/dht.md,
// "Large values on the wire"): a command beyond the cap's chunk share is
// refused here with an error naming the setting, before it is sent.
std::optional<std::string> OverForwardCap(std::span<const std::string_view> args,
                                          uint64_t cap_bytes) {
  uint64_t bytes = 0;
  for (std::string_view a : args) bytes += a.size();
  if (bytes <= cap_bytes) return std::nullopt;
  return "-ERR command of " + std::to_string(bytes) +
         " bytes is over what one Peer/Forward message between nodes carries (4 x "
         "transfer_chunk_bytes); send it to the node that owns the key, or use the peer "
         "link\r\n";
}

}  // namespace

// One Peer/Forward call: the gRPC objects live here until the owner answers.
struct Forwarder::GrpcCall {
  grpc::ClientContext ctx;
  ringkv::v1::ForwardRequest req;
  ringkv::v1::ForwardReply reply;
  Target target;
  std::shared_ptr<ringkv::v1::Peer::Stub> stub;
  Done done;  // ForwardGrpcAsync only
};

std::unique_ptr<Forwarder::GrpcCall> Forwarder::PrepareGrpc(
    const Target& t, std::span<const std::string_view> args) {
  auto call = std::make_unique<GrpcCall>();
  call->target = t;
  call->req.set_epoch(t.epoch);
  call->req.set_hops(1);
  {
    MutexLock lock(mu_);
    call->req.set_from_grpc(self_grpc_);
  }
  for (std::string_view a : args) call->req.add_args(a.data(), a.size());
  net::SetDeadline(call->ctx, peers_.timeout_ms());
  call->stub = peers_.Stub(t.grpc);
  return call;
}

LinkReply Forwarder::FromGrpc(const GrpcCall& call, const grpc::Status& s) {
  if (!s.ok()) return LinkReply{Unavailable(s.error_message())};
  return LinkReply{OkStatus(), call.reply.reply(), call.reply.epoch(), call.reply.map_json()};
}

ForwardLink::Outcome Forwarder::ForwardGrpc(const Target& t, std::span<const std::string_view> args,
                                            std::string& out) {
  if (std::optional<std::string> refused = OverForwardCap(args, ForwardCapBytes())) {
    out.append(*refused);
    return Outcome::kDone;
  }
  std::unique_ptr<GrpcCall> call = PrepareGrpc(t, args);
  grpc::Status s = call->stub->Forward(&call->ctx, call->req, &call->reply);
  return Conclude(t, FromGrpc(*call, s), out, /*may_block=*/true);
}

void Forwarder::ForwardGrpcAsync(const Target& t, std::span<const std::string_view> args,
                                 Done done) {
  if (std::optional<std::string> refused = OverForwardCap(args, ForwardCapBytes())) {
    return done(Outcome::kDone, std::move(*refused));
  }
  std::unique_ptr<GrpcCall> call = PrepareGrpc(t, args);
  call->done = std::move(done);
  Begin();
  GrpcCall* raw = call.release();  // owned by the callback below
  raw->stub->async()->Forward(
      &raw->ctx, &raw->req, &raw->reply, [this, raw](const grpc::Status& s) {
        std::unique_ptr<GrpcCall> owned(raw);
        std::string reply;
        const Outcome outcome = Conclude(owned->target, FromGrpc(*owned, s), reply, true);
        Finish(owned->done, outcome, std::move(reply));
      });
}

}  // namespace ringkv::node
