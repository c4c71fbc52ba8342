// PeerLink: the two calls a node makes to another node while a migration is
// under way (Fetch for pull-on-miss, Apply for write-through), behind an
// interface so the migration logic is tested without a network. The gRPC
// implementation is node/peer_channels.h.
//
// Thread safety: implementations must allow concurrent calls.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/engine.h"

namespace ringkv::node {

// One key's state on the wire (ringkv.v1.Entry).
struct WireEntry {
  std::string key;
  store::Entry entry;  // value and expiry unused for a tombstone
  bool tombstone = false;
};

class PeerLink {
 public:
  virtual ~PeerLink() = default;

  // The peer's entries and tombstones for `keys` (absent keys omitted).
  // Errors carry the peer's gRPC code (kUnavailable, kDeadlineExceeded when
  // it does not answer; kFailedPrecondition for another migration id).
  virtual StatusOr<std::vector<WireEntry>> Fetch(const std::string& peer_grpc,
                                                 const std::string& migration_id,
                                                 std::span<const std::string_view> keys) = 0;

  // Applies `entries` on the peer, keep-newer.
  virtual Status Apply(const std::string& peer_grpc, const std::string& migration_id,
                       uint64_t epoch, std::span<const WireEntry> entries) = 0;
};

}  // namespace ringkv::node
