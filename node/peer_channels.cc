#include "node/peer_channels.h"

#include <grpcpp/grpcpp.h>

namespace ringkv::node {

namespace {

// A peer that restarts is reached again within this long (gRPC's default
// backs off up to 120 s, which would keep its link down as long).
constexpr int kInitialReconnectBackoffMs = 100;
constexpr int kMaxReconnectBackoffMs = 1000;

}  // namespace

PeerChannels::PeerChannels(uint32_t timeout_ms, const std::string& cluster_secret,
                           int max_message_bytes, std::optional<net::GrpcTls> tls)
    : timeout_ms_(timeout_ms),
      channels_(net::GrpcChannelOptions{.max_message_bytes = max_message_bytes,
                                        .initial_reconnect_backoff_ms = kInitialReconnectBackoffMs,
                                        .max_reconnect_backoff_ms = kMaxReconnectBackoffMs,
                                        .metadata = net::ClusterSecretMetadata(cluster_secret),
                                        .tls = std::move(tls)}) {}

std::shared_ptr<ringkv::v1::Peer::Stub> PeerChannels::Stub(const std::string& addr) {
  MutexLock lock(mu_);
  Stubs& stubs = stubs_[addr];
  if (!stubs.peer) stubs.peer = ringkv::v1::Peer::NewStub(channels_.Get(addr));
  return stubs.peer;
}

std::shared_ptr<ringkv::v1::Registry::Stub> PeerChannels::RegistryStub(const std::string& addr) {
  MutexLock lock(mu_);
  Stubs& stubs = stubs_[addr];
  if (!stubs.registry) stubs.registry = ringkv::v1::Registry::NewStub(channels_.Get(addr));
  return stubs.registry;
}

StatusOr<std::vector<WireEntry>> PeerChannels::Fetch(const std::string& peer_grpc,
                                                     const std::string& migration_id,
                                                     std::span<const std::string_view> keys) {
  ringkv::v1::FetchRequest req;
  req.set_migration_id(migration_id);
  for (std::string_view k : keys) req.add_keys(k.data(), k.size());
  ringkv::v1::FetchReply reply;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, timeout_ms_);
  if (Status s = net::FromGrpc(Stub(peer_grpc)->Fetch(&ctx, req, &reply)); !s.ok()) return s;
  std::vector<WireEntry> out;
  out.reserve(static_cast<size_t>(reply.entries_size()));
  for (ringkv::v1::Entry& e : *reply.mutable_entries()) {
    out.push_back(WireEntry{
        std::move(*e.mutable_key()),
        store::Entry{std::move(*e.mutable_value()), e.version(), e.expire_at_ms()}, e.tombstone()});
  }
  return out;
}

Status PeerChannels::Apply(const std::string& peer_grpc, const std::string& migration_id,
                           uint64_t epoch, std::span<const WireEntry> entries) {
  ringkv::v1::EntryBatch batch;
  batch.set_migration_id(migration_id);
  batch.set_epoch(epoch);
  for (const WireEntry& w : entries) {
    ringkv::v1::Entry* e = batch.add_entries();
    e->set_key(w.key);
    if (!w.tombstone) e->set_value(w.entry.value);
    e->set_version(w.entry.version);
    e->set_expire_at_ms(w.entry.expire_at_ms);
    e->set_tombstone(w.tombstone);
  }
  ringkv::v1::ApplySummary summary;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, timeout_ms_);
  return net::FromGrpc(Stub(peer_grpc)->Apply(&ctx, batch, &summary));
}

namespace {

// One OpenLink call: the gRPC objects live here until the peer answers.
struct OpenLinkCall {
  grpc::ClientContext ctx;
  ringkv::v1::OpenLinkRequest req;
  ringkv::v1::OpenLinkReply reply;
  std::shared_ptr<ringkv::v1::Peer::Stub> stub;
  std::string peer_grpc;
  LinkDialer::Done done;
};

}  // namespace

void PeerChannels::Open(const std::string& peer_grpc, uint32_t timeout_ms, Done done) {
  auto* call = new OpenLinkCall;  // owned by the callback below
  call->stub = Stub(peer_grpc);
  call->peer_grpc = peer_grpc;
  call->done = std::move(done);
  net::SetDeadline(call->ctx, timeout_ms);
  call->stub->async()->OpenLink(
      &call->ctx, &call->req, &call->reply, [call](const grpc::Status& s) {
        std::unique_ptr<OpenLinkCall> owned(call);
        if (!s.ok()) return owned->done(net::FromGrpc(s, "OpenLink on " + owned->peer_grpc));
        const std::string& grpc_addr = owned->peer_grpc;
        std::string host = grpc_addr.substr(0, grpc_addr.rfind(':'));
        const std::string addr = host + ":" + std::to_string(owned->reply.port());
        StatusOr<net::SocketAddress> resolved = net::ResolveTcp(addr);
        if (!resolved.ok()) return owned->done(resolved.status());
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
          host = host.substr(1, host.size() - 2);
        }
        owned->done(LinkGrant{*resolved, addr, owned->reply.token(), std::move(host)});
      });
}

}  // namespace ringkv::node
