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
                           uint64_t chunk_bytes, uint64_t max_value_bytes,
                           std::optional<net::GrpcTls> tls)
    : timeout_ms_(timeout_ms),
      splitter_(chunk_bytes),
      max_value_bytes_(max_value_bytes),
      channels_(net::GrpcChannelOptions{
          .max_message_bytes = static_cast<int>(MessageCapForChunks(chunk_bytes)),
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
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, timeout_ms_);
  std::unique_ptr<grpc::ClientReader<ringkv::v1::FetchReply>> reader =
      Stub(peer_grpc)->Fetch(&ctx, req);
  EntryAssembler assembler(max_value_bytes_);
  std::vector<WireEntry> out;
  Status refused;
  ringkv::v1::FetchReply reply;
  while (refused.ok() && reader->Read(&reply)) {
    for (ringkv::v1::Entry& e : *reply.mutable_entries()) {
      StatusOr<std::optional<WireEntry>> got = assembler.Add(e);
      if (!got.ok()) {
        refused = got.status();
        ctx.TryCancel();
        break;
      }
      if (*got) out.push_back(std::move(**got));
    }
  }
  Status s = net::FromGrpc(reader->Finish());
  if (!refused.ok()) return refused;
  if (!s.ok()) return s;
  if (Status whole = assembler.Finish(); !whole.ok()) return whole;
  return out;
}

Status PeerChannels::Apply(const std::string& peer_grpc, const std::string& migration_id,
                           uint64_t epoch, std::span<const WireEntry> entries) {
  ringkv::v1::EntryBatch batch;
  batch.set_migration_id(migration_id);
  batch.set_epoch(epoch);
  ringkv::v1::ApplySummary summary;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, timeout_ms_);
  std::unique_ptr<grpc::ClientWriter<ringkv::v1::EntryBatch>> writer =
      Stub(peer_grpc)->Apply(&ctx, &summary);
  // A broken stream says why in Finish.
  if (SendInPieces(splitter_, entries, batch,
                   [&](const ringkv::v1::EntryBatch& b) { return writer->Write(b); })) {
    writer->WritesDone();
  }
  return net::FromGrpc(writer->Finish());
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
