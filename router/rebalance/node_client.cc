#include "router/rebalance/node_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "net/grpc_client.h"
#include "ringkv/v1/peer.grpc.pb.h"

namespace ringkv::router {
namespace {

namespace pb = ::ringkv::v1;
using Clock = std::chrono::steady_clock;

using net::FromGrpc;
using net::SetDeadline;

const cluster::NodeInfo* FindNode(const cluster::Migration& m, const std::string& id) {
  for (const cluster::ClusterMap* map : {&m.to_map, &m.from_map}) {
    if (auto i = map->Find(id)) return &map->nodes[*i];
  }
  return nullptr;
}

void AddArcs(pb::MigrationRole& role, const cluster::MigrationPair& p) {
  for (const ring::Arc& a : p.arcs) {
    pb::Arc* arc = role.add_arcs();
    arc->set_lo(a.lo);
    arc->set_hi(a.hi);
  }
}

// `node_id`'s roles in `m`: IMPORT from each old owner it takes arcs from,
// EXPORT to each new owner it gives arcs to; for a replica move also the
// old map, and whether reads have switched to the new replica sets.
pb::BeginMigrationRequest BeginRequest(const cluster::Migration& m, const std::string& node_id) {
  pb::BeginMigrationRequest req;
  req.set_migration_id(m.id);
  req.set_epoch(m.to_map.epoch);
  req.set_hash(std::string(ring::HashKindName(m.to_map.hash)));
  if (cluster::ReplicaMove(m.from_map, m.to_map)) {
    req.set_from_map_json(cluster::ToJson(m.from_map));
    req.set_switched(m.state == cluster::MigrationState::kSwitching);
  }
  for (const cluster::MigrationPair& p : m.pairs) {
    if (p.target == node_id) {
      pb::MigrationRole* role = req.add_roles();
      role->set_kind(pb::MigrationRole::IMPORT);
      role->set_peer_id(p.source);
      role->set_peer_grpc(p.source_grpc);
      role->set_refresh(m.kind == cluster::MigrationKind::kReturn);
      AddArcs(*role, p);
    }
    if (p.source == node_id) {
      pb::MigrationRole* role = req.add_roles();
      role->set_kind(pb::MigrationRole::EXPORT);
      role->set_peer_id(p.target);
      role->set_peer_grpc(p.target_grpc);
      role->set_refresh(m.kind == cluster::MigrationKind::kReturn);
      AddArcs(*role, p);
    }
  }
  return req;
}

class GrpcArcMover final : public ArcMover {
 public:
  GrpcArcMover(NodeClient& client, uint32_t stall_ms) : client_(client), stall_ms_(stall_ms) {}

  StatusOr<uint64_t> Begin(const cluster::Migration& m, const std::string& node_id) override {
    auto stub = Stub(m, node_id);
    if (!stub.ok()) return stub.status();
    grpc::ClientContext ctx;
    SetDeadline(ctx, client_.rpc_timeout_ms());
    pb::BeginMigrationReply reply;
    grpc::Status s = (*stub)->BeginMigration(&ctx, BeginRequest(m, node_id), &reply);
    if (!s.ok()) return FromGrpc(s, "BeginMigration on " + node_id);
    return reply.keys();
  }

  StatusOr<bool> HasPart(const cluster::Migration& m, const std::string& node_id) override {
    const cluster::NodeInfo* n = FindNode(m, node_id);
    if (!n) return NotFound("node " + node_id + " is not in the migration's maps");
    auto st = client_.GetStatus(n->grpc_addr);
    if (!st.ok()) return st.status();
    return st->migration_id == m.id;
  }

  Status Move(const cluster::Migration& m, const std::string& source_id, MoveLimits limits,
              const std::function<void(const MoveCounts&)>& progress,
              const std::atomic<bool>& stop) override {
    auto stub = Stub(m, source_id);
    if (!stub.ok()) return stub.status();
    pb::MoveRequest req;
    req.set_migration_id(m.id);
    req.set_max_keys_per_sec(limits.max_keys_per_sec);
    req.set_max_bytes_per_sec(limits.max_bytes_per_sec);
    grpc::ClientContext ctx;
    std::atomic<int64_t> last_ms{NowMs()};
    std::atomic<bool> finished{false};
    std::atomic<bool> stalled{false};
    // Cancels the call when asked to stop or when the stream goes silent.
    std::thread watchdog([&] {
      while (!finished.load()) {
        if (stop.load() || NowMs() - last_ms.load() > stall_ms_) {
          stalled = !stop.load();
          ctx.TryCancel();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    auto reader = (*stub)->MoveArcs(&ctx, req);
    pb::MoveProgress p;
    bool done = false;
    while (reader->Read(&p)) {
      last_ms = NowMs();
      progress({p.keys_sent(), p.bytes_sent(), p.keys_scanned()});
      done = done || p.done();
    }
    grpc::Status s = reader->Finish();
    finished = true;
    watchdog.join();
    if (stop.load()) return Status(StatusCode::kCancelled, "copy from " + source_id + " stopped");
    if (stalled.load()) {
      return Unavailable("MoveArcs on " + source_id + ": no progress for " +
                         std::to_string(stall_ms_) + " ms");
    }
    if (!s.ok()) return FromGrpc(s, "MoveArcs on " + source_id);
    if (!done) return Unavailable("MoveArcs on " + source_id + " ended before done");
    return OkStatus();
  }

  Status End(const cluster::Migration& m, const std::string& node_id, bool cancelled,
             uint32_t drop_after_ms) override {
    auto stub = Stub(m, node_id);
    if (!stub.ok()) return stub.status();
    pb::EndMigrationRequest req;
    req.set_migration_id(m.id);
    req.set_cancelled(cancelled);
    req.set_drop_after_ms(drop_after_ms);
    grpc::ClientContext ctx;
    SetDeadline(ctx, client_.rpc_timeout_ms());
    pb::EndMigrationReply reply;
    return FromGrpc((*stub)->EndMigration(&ctx, req, &reply), "EndMigration on " + node_id);
  }

  Status PushMap(const cluster::NodeInfo& node, const std::string& map_json) override {
    if (node.kind != cluster::BackendKind::kRingkv || node.grpc_addr.empty()) return OkStatus();
    return client_.SetMap(node.grpc_addr, map_json).status();
  }

 private:
  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
        .count();
  }

  StatusOr<std::unique_ptr<pb::Peer::Stub>> Stub(const cluster::Migration& m,
                                                 const std::string& node_id) {
    const cluster::NodeInfo* n = FindNode(m, node_id);
    if (!n) return NotFound("node " + node_id + " is not in the migration's maps");
    if (n->grpc_addr.empty()) return FailedPrecondition("node " + node_id + " has no gRPC address");
    return pb::Peer::NewStub(client_.Channel(n->grpc_addr));
  }

  NodeClient& client_;
  const uint32_t stall_ms_;
};

}  // namespace

std::shared_ptr<grpc::Channel> NodeClient::Channel(const std::string& grpc_addr) {
  return channels_.Get(grpc_addr);
}

StatusOr<PeerStatus> NodeClient::GetStatus(const std::string& grpc_addr, uint32_t timeout_ms) {
  auto stub = pb::Peer::NewStub(Channel(grpc_addr));
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_ms != 0 ? timeout_ms : rpc_timeout_ms_);
  pb::StatusReply reply;
  grpc::Status s = stub->Status(&ctx, pb::StatusRequest(), &reply);
  if (!s.ok()) return FromGrpc(s, "Status on " + grpc_addr);
  return PeerStatus{reply.id(),   reply.epoch(),     reply.migration_id(),
                    reply.keys(), reply.resp_addr(), reply.http_addr()};
}

void NodeClient::set_registry(std::string grpc_addr) {
  MutexLock lock(mu_);
  registry_ = std::move(grpc_addr);
}

std::string NodeClient::registry() const {
  MutexLock lock(mu_);
  return registry_;
}

StatusOr<uint64_t> NodeClient::SetMap(const std::string& grpc_addr, const std::string& map_json,
                                      uint32_t timeout_ms) {
  auto stub = pb::Peer::NewStub(Channel(grpc_addr));
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_ms != 0 ? timeout_ms : rpc_timeout_ms_);
  pb::SetMapRequest req;
  req.set_map_json(map_json);
  req.set_registry(registry());
  pb::SetMapReply reply;
  grpc::Status s = stub->SetMap(&ctx, req, &reply);
  if (!s.ok()) return FromGrpc(s, "SetMap on " + grpc_addr);
  return reply.epoch();
}

std::unique_ptr<ArcMover> NewGrpcArcMover(NodeClient& client, uint32_t stall_ms) {
  return std::make_unique<GrpcArcMover>(client, stall_ms);
}

}  // namespace ringkv::router
