#include "node/forwarder.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace ringkv::node {
namespace {

void AppendError(std::string& out, const std::string& message) {
  out.push_back('-');
  for (char c : message) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
}

void SetDeadline(grpc::ClientContext& ctx, uint32_t timeout_ms) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
}

}  // namespace

Forwarder::Forwarder(PeerChannels& peers, Migration& migration, Metrics& metrics)
    : peers_(peers), migration_(migration), metrics_(metrics) {}

void Forwarder::SetSelfGrpc(std::string addr) {
  std::lock_guard lock(mu_);
  self_grpc_ = std::move(addr);
}

bool Forwarder::RefreshFrom(const std::string& addr) {
  const uint64_t before = migration_.epoch();
  ringkv::v1::GetMapReply reply;
  grpc::ClientContext ctx;
  SetDeadline(ctx, peers_.timeout_ms());
  grpc::Status s = peers_.RegistryStub(addr)->GetMap(&ctx, {}, &reply);
  if (!s.ok()) {
    spdlog::warn("cluster map: cannot fetch from {}: {}", addr, s.error_message());
    return false;
  }
  if (reply.map_json().empty() || reply.epoch() <= before) return false;
  StatusOr<uint64_t> after = migration_.SetMap(reply.map_json(), reply.registry());
  if (!after.ok()) {
    spdlog::warn("cluster map from {}: {}", addr, after.status().message());
    return false;
  }
  if (*after > before) {
    metrics_.migration().map_refreshes.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("cluster map: epoch {} -> {} (fetched from {})", before, *after, addr);
  }
  return *after > before;
}

ForwardLink::Outcome Forwarder::Forward(const MigrationView& view, uint32_t owner,
                                        std::span<const std::string_view> args, std::string& out) {
  const std::string& id = view.ring->nodes()[owner].id;
  const std::string& addr = view.grpc_addrs[owner];
  if (addr.empty()) {
    AppendError(out, "ERR node " + id + " owns this key but has no gRPC address in map epoch " +
                         std::to_string(view.epoch) + " (a Redis back end?): use the router");
    return Outcome::kDone;
  }
  ringkv::v1::ForwardRequest req;
  req.set_epoch(view.epoch);
  req.set_hops(1);
  {
    std::lock_guard lock(mu_);
    req.set_from_grpc(self_grpc_);
  }
  for (std::string_view a : args) req.add_args(a.data(), a.size());
  ringkv::v1::ForwardReply reply;
  grpc::ClientContext ctx;
  SetDeadline(ctx, peers_.timeout_ms());
  metrics_.migration().forwarded.fetch_add(1, std::memory_order_relaxed);
  grpc::Status s = peers_.Stub(addr)->Forward(&ctx, req, &reply);
  if (!s.ok()) {
    metrics_.migration().forward_errors.fetch_add(1, std::memory_order_relaxed);
    AppendError(out,
                "TRYAGAIN forward to node " + id + " at " + addr + " failed: " + s.error_message());
    return Outcome::kDone;
  }
  if (reply.moved()) {
    // The owner's map says someone else owns the keys: take the newer map and place them again.
    bool newer = false;
    if (!reply.map_json().empty()) {
      StatusOr<uint64_t> e = migration_.SetMap(reply.map_json());
      newer = e.ok() && *e > view.epoch;
    } else {
      newer = RefreshFrom(addr) || migration_.epoch() > view.epoch;
    }
    if (newer) {
      metrics_.migration().forward_retries.fetch_add(1, std::memory_order_relaxed);
      return Outcome::kRetry;
    }
  }
  out.append(reply.reply());
  if (!reply.moved() && reply.epoch() > view.epoch) RefreshFrom(addr);
  return Outcome::kDone;
}

}  // namespace ringkv::node
