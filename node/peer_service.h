// PeerService: ringkv.v1.Peer (proto/ringkv/v1/peer.proto) on the node's gRPC
// listener — a thin shell that converts messages and calls the cluster view
// (maps), the migration roles (roles, keep-newer installs), the ArcExporter
// (MoveArcs) and the engine (docs/design.md "Protocols").
//
// Thread safety: gRPC calls the handlers concurrently; every handler is safe
// to run concurrently with the others and with the command path.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/clock.h"
#include "base/process.h"
#include "node/anti_entropy.h"
#include "node/commands/dispatcher.h"
#include "node/forwarder.h"
#include "node/link/peer_links.h"
#include "node/migration/arc_exporter.h"
#include "node/migration/migration_roles.h"
#include "node/peer_channels.h"
#include "node/view/cluster_counters.h"
#include "node/view/cluster_view.h"
#include "ringkv/v1/peer.grpc.pb.h"
#include "store/engine.h"

namespace ringkv::node {

class PeerService final : public ringkv::v1::Peer::Service {
 public:
  // Not owned; all must outlive the service. `self_id` is the node id.
  PeerService(ClusterView& view, MigrationRoles& migration, store::Engine& engine,
              const Clock& clock, ClusterCounters& counters, PeerChannels& peers,
              const std::string& self_id);

  grpc::Status BeginMigration(grpc::ServerContext* ctx,
                              const ringkv::v1::BeginMigrationRequest* req,
                              ringkv::v1::BeginMigrationReply* reply) override;
  grpc::Status EndMigration(grpc::ServerContext* ctx, const ringkv::v1::EndMigrationRequest* req,
                            ringkv::v1::EndMigrationReply* reply) override;
  grpc::Status MoveArcs(grpc::ServerContext* ctx, const ringkv::v1::MoveRequest* req,
                        grpc::ServerWriter<ringkv::v1::MoveProgress>* writer) override;
  grpc::Status Transfer(grpc::ServerContext* ctx,
                        grpc::ServerReader<ringkv::v1::EntryBatch>* reader,
                        ringkv::v1::ApplySummary* reply) override;
  grpc::Status Apply(grpc::ServerContext* ctx, grpc::ServerReader<ringkv::v1::EntryBatch>* reader,
                     ringkv::v1::ApplySummary* reply) override;
  grpc::Status Fetch(grpc::ServerContext* ctx, const ringkv::v1::FetchRequest* req,
                     grpc::ServerWriter<ringkv::v1::FetchReply>* writer) override;
  grpc::Status SetMap(grpc::ServerContext* ctx, const ringkv::v1::SetMapRequest* req,
                      ringkv::v1::SetMapReply* reply) override;
  grpc::Status Status(grpc::ServerContext* ctx, const ringkv::v1::StatusRequest* req,
                      ringkv::v1::StatusReply* reply) override;
  // Runs a command another node forwarded (never forwarded again). A reply
  // over the gRPC message cap becomes an error naming transfer_chunk_bytes.
  grpc::Status Forward(grpc::ServerContext* ctx, const ringkv::v1::ForwardRequest* req,
                       ringkv::v1::ForwardReply* reply) override;
  // Where this node's peer link listener is, and the token of its hello.
  grpc::Status OpenLink(grpc::ServerContext* ctx, const ringkv::v1::OpenLinkRequest* req,
                        ringkv::v1::OpenLinkReply* reply) override;

  // Anti-entropy: a peer's digests and key lists of the keys this node
  // replicates with it (UNAVAILABLE before EnableRepair).
  grpc::Status RepairDigests(grpc::ServerContext* ctx, const ringkv::v1::RepairDigestsRequest* req,
                             ringkv::v1::RepairDigestsReply* reply) override;
  grpc::Status RepairKeys(grpc::ServerContext* ctx, const ringkv::v1::RepairKeysRequest* req,
                          ringkv::v1::RepairKeysReply* reply) override;
  // The body of Transfer and Apply: installs, keep-newer into `tally`, the
  // entries of the batches `next` reads (false at the end of the stream),
  // joining the pieces of large values (node/migration/entry_chunks.h). A
  // value not whole when the stream ends is dropped, and refused.
  // recent_ok: also for a migration this node ended recently (Apply; see
  // CheckIdOrRecent). yielder: bulk streams (Transfer) yield the CPU between
  // entries; null on request paths.
  using BatchReader = std::function<bool(ringkv::v1::EntryBatch&)>;
  ringkv::Status InstallStream(const BatchReader& next, MigrationRoles::Tally& tally,
                               bool recent_ok, CpuYielder* yielder);
  // The body of Fetch: the requested keys' entries, a large value in pieces,
  // as messages `write` sends (false: the stream broke).
  using FetchWriter = std::function<bool(const ringkv::v1::FetchReply&)>;
  ringkv::Status ServeFetch(const ringkv::v1::FetchRequest& req, const FetchWriter& write);

  // Call before serving: the repair calls go to `repair`.
  void EnableRepair(AntiEntropy& repair) { repair_ = &repair; }

  // Call before serving: Forward runs commands on `dispatcher` and fetches
  // newer maps with `forwarder`; OpenLink names `links`; Status reports the
  // advertised addresses.
  void EnableForwarding(Dispatcher& dispatcher, Forwarder& forwarder, const PeerLinks& links,
                        std::string resp_addr, std::string http_addr);

 private:
  // Boundary checks (docs/security.md, "Validation at the boundary"); each
  // refusal is counted in counters_.refused.
  // BeginMigration: the target epoch and the old map within the epoch step.
  ringkv::Status CheckPlanEpochs(const MigrationPlan& plan);
  // MoveArcs: each target is where the map puts it or, not in the map yet,
  // is the node its role names and has begun this migration.
  ringkv::Status CheckMoveTargets(const RoleSnapshot& roles);
  // Why `role`'s target (asked over Peer/Status) is not the node the role
  // names in migration `migration_id`; empty when it is.
  std::string TargetMismatch(const MigrationRole& role, const std::string& migration_id);
  // Whether a newer map may be fetched from `grpc_addr`: a node of the map
  // held, or the registry (anyone while no map is held).
  bool MayServeMap(const std::string& grpc_addr);

  ClusterView& view_;
  MigrationRoles& migration_;
  store::Engine& engine_;
  const Clock& clock_;
  ArcExporter exporter_;
  const std::string& self_id_;
  ClusterCounters& counters_;
  PeerChannels& peers_;
  Dispatcher* dispatcher_ = nullptr;
  Forwarder* forwarder_ = nullptr;
  const PeerLinks* links_ = nullptr;
  AntiEntropy* repair_ = nullptr;
  std::string resp_addr_;
  std::string http_addr_;
};

}  // namespace ringkv::node
