#include "node/forwarder.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "net/grpc_client.h"

namespace ringkv::node {
namespace {

void AppendError(std::string& out, const std::string& message) {
  out.push_back('-');
  for (char c : message) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
}

}  // namespace

Forwarder::Forwarder(PeerChannels& peers, ClusterView& view, ClusterCounters& counters)
    : peers_(peers), view_(view), counters_(counters) {}

void Forwarder::SetSelfGrpc(std::string addr) {
  MutexLock lock(mu_);
  self_grpc_ = std::move(addr);
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

// One Peer/Forward call: the gRPC objects live here until the owner answers.
struct Forwarder::Call {
  grpc::ClientContext ctx;
  ringkv::v1::ForwardRequest req;
  ringkv::v1::ForwardReply reply;
  std::string id;      // the owner's node id
  std::string addr;    // the owner's gRPC address
  uint64_t epoch = 0;  // of the view the keys were placed with
  std::shared_ptr<ringkv::v1::Peer::Stub> stub;
  Done done;  // ForwardAsync only
};

Forwarder::~Forwarder() {
  Drain();
}

void Forwarder::Drain() {
  MutexLock lock(mu_);
  idle_.Wait(mu_, [&]() REQUIRES(mu_) { return in_flight_ == 0; });
}

std::unique_ptr<Forwarder::Call> Forwarder::Prepare(const ClusterSnapshot& view, uint32_t owner,
                                                    std::span<const std::string_view> args,
                                                    std::string& out) {
  const std::string& id = view.ring->nodes()[owner].id;
  const std::string& addr = view.grpc_addrs[owner];
  if (addr.empty()) {
    AppendError(out, "ERR node " + id + " owns this key but has no gRPC address in map epoch " +
                         std::to_string(view.epoch) + " (a Redis back end?): use the router");
    return nullptr;
  }
  auto call = std::make_unique<Call>();
  call->id = id;
  call->addr = addr;
  call->epoch = view.epoch;
  call->req.set_epoch(view.epoch);
  call->req.set_hops(1);
  {
    MutexLock lock(mu_);
    call->req.set_from_grpc(self_grpc_);
  }
  for (std::string_view a : args) call->req.add_args(a.data(), a.size());
  net::SetDeadline(call->ctx, peers_.timeout_ms());
  call->stub = peers_.Stub(addr);
  counters_.forwarded.fetch_add(1, std::memory_order_relaxed);
  return call;
}

ForwardLink::Outcome Forwarder::Conclude(Call& call, const grpc::Status& s, std::string& out) {
  if (!s.ok()) {
    counters_.forward_errors.fetch_add(1, std::memory_order_relaxed);
    AppendError(out, "TRYAGAIN forward to node " + call.id + " at " + call.addr +
                         " failed: " + s.error_message());
    return Outcome::kDone;
  }
  const ringkv::v1::ForwardReply& reply = call.reply;
  if (reply.moved()) {
    // The owner's map says someone else owns the keys: take the newer map and place them again.
    bool newer = false;
    if (!reply.map_json().empty()) {
      StatusOr<uint64_t> e = view_.SetMap(reply.map_json());
      newer = e.ok() && *e > call.epoch;
    } else {
      newer = RefreshFrom(call.addr) || view_.epoch() > call.epoch;
    }
    if (newer) {
      counters_.forward_retries.fetch_add(1, std::memory_order_relaxed);
      return Outcome::kRetry;
    }
  }
  out.append(reply.reply());
  if (!reply.moved() && reply.epoch() > call.epoch) RefreshFrom(call.addr);
  return Outcome::kDone;
}

ForwardLink::Outcome Forwarder::Forward(const ClusterSnapshot& view, uint32_t owner,
                                        std::span<const std::string_view> args, std::string& out) {
  std::unique_ptr<Call> call = Prepare(view, owner, args, out);
  if (call == nullptr) return Outcome::kDone;
  grpc::Status s = call->stub->Forward(&call->ctx, call->req, &call->reply);
  return Conclude(*call, s, out);
}

void Forwarder::ForwardAsync(const ClusterSnapshot& view, uint32_t owner,
                             std::span<const std::string_view> args, Done done) {
  std::string out;
  std::unique_ptr<Call> call = Prepare(view, owner, args, out);
  if (call == nullptr) return done(Outcome::kDone, std::move(out));
  call->done = std::move(done);
  {
    MutexLock lock(mu_);
    ++in_flight_;
  }
  Call* raw = call.release();  // owned by the callback below
  raw->stub->async()->Forward(&raw->ctx, &raw->req, &raw->reply,
                              [this, raw](const grpc::Status& s) {
                                std::unique_ptr<Call> owned(raw);
                                std::string reply;
                                const Outcome outcome = Conclude(*owned, s, reply);
                                owned->done(outcome, std::move(reply));
                                owned.reset();
                                MutexLock lock(mu_);
                                if (--in_flight_ == 0) idle_.NotifyAll();
                              });
}

}  // namespace ringkv::node
