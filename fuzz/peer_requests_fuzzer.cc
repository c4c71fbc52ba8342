// The decoding side of the node's cluster-facing gRPC handlers. An input is
// a sequence of calls, each
//
//   <method: 1 byte> <length: 2 bytes, little-endian> <serialized request>
//
// made on one fresh node (memory engine, no peers reachable): the request is
// parsed from bytes as gRPC would, then handed to the real handler
// (node/peer_service.*, node/cluster_services.*), so map JSON in SetMap and
// BeginMigration, entries in Apply/Transfer and keys in Fetch go through all
// the validation and decoding a peer's call would. Handlers that would reach
// the network or the command path (MoveArcs' stream, a relayed Join,
// Forward's and QueryDht's command) stop at the checks they make first, or
// at the same checks made here (the router's Join and RegisterNode address
// and weight checks). Afterwards the node's map epoch never went backward.
#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/hlc.h"
#include "cluster/membership.h"
#include "dht/dht.pb.h"
#include "fuzz/fuzz_check.h"
#include "node/cluster_services.h"
#include "node/migration/migration_roles.h"
#include "node/peer_channels.h"
#include "node/peer_service.h"
#include "node/view/cluster_view.h"
#include "ringkv/v1/peer.pb.h"
#include "store/memory_engine.h"

namespace {

namespace v1 = ringkv::v1;
using namespace ringkv::node;

// Peers never answer: the migration's pull-on-miss and write-through are
// not reached from these handlers, and nothing may leave the process.
class NoPeers final : public PeerLink {
 public:
  ringkv::StatusOr<std::vector<WireEntry>> Fetch(const std::string&, const std::string&,
                                                 std::span<const std::string_view>) override {
    return ringkv::Unavailable("no peers while fuzzing");
  }
  ringkv::Status Apply(const std::string&, const std::string&, uint64_t,
                       std::span<const WireEntry>) override {
    return ringkv::Unavailable("no peers while fuzzing");
  }
};

// One node's parts the handlers reach.
struct Node {
  std::string id = "fuzz-node";
  ringkv::FakeClock clock;
  ringkv::HybridClock hlc{clock};
  ClusterCounters counters;
  ClusterView view{clock, counters, id};
  std::unique_ptr<ringkv::store::Engine> engine = ringkv::store::NewMemoryEngine({});
  NoPeers link;
  MigrationRoles migration{view, *engine, clock, hlc, counters, link};
  PeerChannels channels{100};
  PeerService peer{view, migration, *engine, clock, counters, channels, id};
  RegistryRelay registry{view, channels, 100};
};

enum Method : uint8_t {
  kBeginMigration,
  kEndMigration,
  kMoveArcs,
  kTransfer,
  kApply,
  kFetch,
  kSetMap,
  kStatus,
  kForward,
  kOpenLink,
  kRepairDigests,
  kRepairKeys,
  kJoin,
  kGetMap,
  kQueryDht,
  kRegisterNode,
  kMethods,
};

template <typename M>
bool Parse(std::string_view bytes, M& msg) {
  return msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

// The router's checks on Join and RegisterNode before it probes the address
// (router/api/join_admission.cc).
void CheckJoin(std::string_view addr, uint32_t weight) {
  (void)ringkv::cluster::ValidateAddr(addr);
  (void)(weight > 65536);
}

// One case per method, each parsing its own request type: a switch reads
// better here than a table of handlers.
void Call(Node& node, uint8_t method, std::string_view bytes) {
  grpc::ServerContext ctx;
  switch (method % kMethods) {
    case kBeginMigration: {
      v1::BeginMigrationRequest req;
      v1::BeginMigrationReply reply;
      if (Parse(bytes, req)) (void)node.peer.BeginMigration(&ctx, &req, &reply);
      break;
    }
    case kEndMigration: {
      v1::EndMigrationRequest req;
      v1::EndMigrationReply reply;
      // A drop scheduled far ahead would outlive the node.
      if (Parse(bytes, req)) {
        req.set_drop_after_ms(0);
        (void)node.peer.EndMigration(&ctx, &req, &reply);
      }
      break;
    }
    case kMoveArcs: {  // the stream itself dials the new owner: only its checks
      v1::MoveRequest req;
      if (Parse(bytes, req)) (void)node.migration.CheckId(req.migration_id());
      break;
    }
    case kTransfer:  // Transfer and Apply: a stream of batches, here of one
    case kApply: {
      v1::EntryBatch req;
      if (!Parse(bytes, req)) break;
      bool read = false;
      PeerService::BatchReader next = [&](v1::EntryBatch& b) {
        if (read) return false;
        read = true;
        b = req;
        return true;
      };
      MigrationRoles::Tally tally;
      (void)node.peer.InstallStream(next, tally, /*recent_ok=*/true, nullptr);
      break;
    }
    case kFetch: {
      v1::FetchRequest req;
      if (Parse(bytes, req)) {
        (void)node.peer.ServeFetch(req, [](const v1::FetchReply&) { return true; });
      }
      break;
    }
    case kSetMap: {
      v1::SetMapRequest req;
      v1::SetMapReply reply;
      const uint64_t before = node.view.epoch();
      if (Parse(bytes, req) && node.peer.SetMap(&ctx, &req, &reply).ok()) {
        FUZZ_CHECK(reply.epoch() >= before);
        FUZZ_CHECK(node.view.epoch() == reply.epoch());
      }
      break;
    }
    case kStatus: {
      v1::StatusRequest req;
      v1::StatusReply reply;
      if (Parse(bytes, req)) {
        FUZZ_CHECK(node.peer.Status(&ctx, &req, &reply).ok());
        FUZZ_CHECK(reply.epoch() == node.view.epoch());
      }
      break;
    }
    case kForward: {  // no dispatcher here: UNAVAILABLE before the command runs
      v1::ForwardRequest req;
      v1::ForwardReply reply;
      if (Parse(bytes, req)) FUZZ_CHECK(!node.peer.Forward(&ctx, &req, &reply).ok());
      break;
    }
    case kOpenLink: {
      v1::OpenLinkRequest req;
      v1::OpenLinkReply reply;
      if (Parse(bytes, req)) (void)node.peer.OpenLink(&ctx, &req, &reply);
      break;
    }
    case kRepairDigests: {
      v1::RepairDigestsRequest req;
      v1::RepairDigestsReply reply;
      if (Parse(bytes, req)) (void)node.peer.RepairDigests(&ctx, &req, &reply);
      break;
    }
    case kRepairKeys: {
      v1::RepairKeysRequest req;
      v1::RepairKeysReply reply;
      if (Parse(bytes, req)) (void)node.peer.RepairKeys(&ctx, &req, &reply);
      break;
    }
    case kJoin: {  // no router learned yet: the relay refuses before dialing
      v1::JoinRequest req;
      v1::JoinReply reply;
      if (!Parse(bytes, req)) break;
      CheckJoin(req.addr(), req.weight());
      if (node.view.registry().empty()) FUZZ_CHECK(!node.registry.Join(&ctx, &req, &reply).ok());
      break;
    }
    case kGetMap: {
      v1::GetMapRequest req;
      v1::GetMapReply reply;
      if (Parse(bytes, req)) {
        FUZZ_CHECK(node.registry.GetMap(&ctx, &req, &reply).ok());
        FUZZ_CHECK(reply.epoch() == node.view.epoch());
      }
      break;
    }
    case kQueryDht: {  // the command itself is the dispatcher's (fuzzed as RESP)
      dht::Query req;
      (void)Parse(bytes, req);
      break;
    }
    case kRegisterNode: {
      dht::ConnectionAddr req;
      if (Parse(bytes, req)) CheckJoin(req.addr(), 0);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Node node;
  uint64_t epoch = 0;
  while (in.size() >= 3) {
    const uint8_t method = static_cast<uint8_t>(in[0]);
    const size_t len = std::min<size_t>(
        in.size() - 3, static_cast<uint8_t>(in[1]) | size_t{static_cast<uint8_t>(in[2])} << 8);
    Call(node, method, in.substr(3, len));
    in.remove_prefix(3 + len);
    FUZZ_CHECK(node.view.epoch() >= epoch);
    epoch = node.view.epoch();
  }
  return 0;
}
