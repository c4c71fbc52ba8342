// PeerChannels: a node's client side of ringkv.v1.Peer — the channels of
// net::GrpcChannels (one per peer gRPC address) with the stubs on them kept
// per address, a deadline on every call — the PeerLink (Fetch, Apply)
// the migration's command path uses, and the LinkDialer (OpenLink) of the
// peer links. Fetch and Apply are streams: a value larger than a chunk goes
// in pieces (node/migration/entry_chunks.h), so every message fits the
// channels' bounded message cap.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/thread_annotations.h"
#include "net/grpc_client.h"
#include "node/link/outgoing_link.h"
#include "node/migration/entry_chunks.h"
#include "node/migration/peer_link.h"
#include "ringkv/v1/peer.grpc.pb.h"

namespace ringkv::node {

class PeerChannels final : public PeerLink, public LinkDialer {
 public:
  // `timeout_ms`: the deadline of each Fetch and Apply call.
  // `cluster_secret`: sent with every call (net/grpc_auth.h); empty = none.
  // `chunk_bytes`: the most value bytes in one Entry (transfer_chunk_bytes);
  // the channels' message cap is MessageCapForChunks of it.
  // `max_value_bytes`: the largest value a Fetch takes (max_bulk_len). `tls`:
  // the cluster's mutual TLS for every channel; nullopt = plaintext.
  explicit PeerChannels(uint32_t timeout_ms, const std::string& cluster_secret = "",
                        uint64_t chunk_bytes = 1 << 20, uint64_t max_value_bytes = 512ull << 20,
                        std::optional<net::GrpcTls> tls = std::nullopt);

  // The stub for `addr` ("host:port"), created on first use and kept.
  std::shared_ptr<ringkv::v1::Peer::Stub> Stub(const std::string& addr) EXCLUDES(mu_);
  // The ringkv.v1.Registry stub for `addr` (a router or a node), likewise.
  std::shared_ptr<ringkv::v1::Registry::Stub> RegistryStub(const std::string& addr) EXCLUDES(mu_);
  uint32_t timeout_ms() const { return timeout_ms_; }
  uint64_t chunk_bytes() const { return splitter_.chunk_bytes(); }
  uint64_t max_value_bytes() const { return max_value_bytes_; }
  // The largest gRPC message sent or received between nodes.
  uint64_t max_message_bytes() const { return MessageCapForChunks(chunk_bytes()); }

  StatusOr<std::vector<WireEntry>> Fetch(const std::string& peer_grpc,
                                         const std::string& migration_id,
                                         std::span<const std::string_view> keys) override;
  Status Apply(const std::string& peer_grpc, const std::string& migration_id, uint64_t epoch,
               std::span<const WireEntry> entries) override;
  // Peer/OpenLink on gRPC's callback API; `done` runs on a gRPC thread,
  // after resolving the link's address (the peer's gRPC host, its port;
  // that host is also the name the link's TLS certificate must carry).
  void Open(const std::string& peer_grpc, uint32_t timeout_ms, Done done) override;

 private:
  const uint32_t timeout_ms_;
  const EntrySplitter splitter_;
  const uint64_t max_value_bytes_;
  net::GrpcChannels channels_;
  Mutex mu_;
  struct Stubs {
    std::shared_ptr<ringkv::v1::Peer::Stub> peer;
    std::shared_ptr<ringkv::v1::Registry::Stub> registry;
  };
  std::map<std::string, Stubs> stubs_ GUARDED_BY(mu_);
};

}  // namespace ringkv::node
