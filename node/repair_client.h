// RepairClient: the far side of an anti-entropy exchange (RepairPeer,
// node/repair/pair_repair.h) as a real peer — digests and key lists over
// ringkv.v1.Peer (RepairDigests, RepairKeys), entries over the peer link
// (RINGKV.APPLY to push, RINGKV.PEEK to pull, as hint replay and quorum
// reads send them). Counts the bytes of every request and reply.
//
// Thread safety: one exchange at a time; the stub and the link allow
// concurrent use by others.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "node/commands/forward_link.h"
#include "node/repair/pair_repair.h"
#include "node/view/cluster_view.h"
#include "ringkv/v1/peer.grpc.pb.h"

namespace ringkv::node {

struct RepairClientOptions {
  uint32_t timeout_ms = 2000;        // deadline of a key list, a push or a pull
  uint32_t scan_timeout_ms = 60000;  // deadline of a digest call (the peer scans its store)
};

class RepairClient final : public RepairPeer {
 public:
  // `view` must hold `peer`; `self_id` is this node's id. Not owned; all
  // must outlive the client.
  RepairClient(std::shared_ptr<ringkv::v1::Peer::Stub> stub, ForwardLink& link,
               const ClusterSnapshot& view, uint32_t peer, const std::string& self_id,
               RepairClientOptions options);

  StatusOr<PairDigests> Digests(uint32_t bits) override;
  StatusOr<std::vector<KeyVersion>> Keys(uint32_t bits, std::span<const uint32_t> buckets) override;
  StatusOr<uint64_t> Push(std::span<const std::pair<std::string, ReplicaEntry>> entries) override;
  StatusOr<std::vector<std::optional<ReplicaEntry>>> Pull(
      std::span<const std::string> keys) override;
  uint64_t bytes() const override { return bytes_; }

 private:
  // Runs one command on the peer over the link; Unavailable for an error reply.
  StatusOr<std::string> Run(const std::vector<std::string>& args);

  std::shared_ptr<ringkv::v1::Peer::Stub> stub_;
  ForwardLink& link_;
  const ClusterSnapshot& view_;
  const uint32_t peer_;
  const std::string& self_id_;
  const RepairClientOptions options_;
  uint64_t bytes_ = 0;
};

}  // namespace ringkv::node
