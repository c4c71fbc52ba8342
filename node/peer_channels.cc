#include "node/peer_channels.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

namespace ringkv::node {
namespace {

// Matches the listener's limit (net/grpc_server.h).
constexpr int kMaxMessageBytes = 64 << 20;

void SetDeadline(grpc::ClientContext& ctx, uint32_t timeout_ms) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
}

}  // namespace

PeerChannels::Link& PeerChannels::LinkOf(const std::string& addr) {
  Link& link = links_[addr];
  if (!link.channel) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    args.SetMaxSendMessageSize(kMaxMessageBytes);
    link.channel = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
  }
  return link;
}

std::shared_ptr<ringkv::v1::Peer::Stub> PeerChannels::Stub(const std::string& addr) {
  std::lock_guard lock(mu_);
  Link& link = LinkOf(addr);
  if (!link.peer) link.peer = ringkv::v1::Peer::NewStub(link.channel);
  return link.peer;
}

std::shared_ptr<ringkv::v1::Registry::Stub> PeerChannels::RegistryStub(const std::string& addr) {
  std::lock_guard lock(mu_);
  Link& link = LinkOf(addr);
  if (!link.registry) link.registry = ringkv::v1::Registry::NewStub(link.channel);
  return link.registry;
}

StatusOr<std::vector<WireEntry>> PeerChannels::Fetch(const std::string& peer_grpc,
                                                     const std::string& migration_id,
                                                     std::span<const std::string_view> keys) {
  ringkv::v1::FetchRequest req;
  req.set_migration_id(migration_id);
  for (std::string_view k : keys) req.add_keys(k.data(), k.size());
  ringkv::v1::FetchReply reply;
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_ms_);
  if (Status s = FromGrpc(Stub(peer_grpc)->Fetch(&ctx, req, &reply)); !s.ok()) return s;
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
  SetDeadline(ctx, timeout_ms_);
  return FromGrpc(Stub(peer_grpc)->Apply(&ctx, batch, &summary));
}

}  // namespace ringkv::node
