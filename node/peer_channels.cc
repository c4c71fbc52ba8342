#include "node/peer_channels.h"

#include <grpcpp/grpcpp.h>

namespace ringkv::node {

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

}  // namespace ringkv::node
