#include "node/peer_service.h"

#include <spdlog/spdlog.h>

#include "base/process.h"
#include "net/grpc_client.h"
#include "node/link/link_frame.h"
#include "node/migration/entry_chunks.h"

namespace ringkv::node {
namespace {

using ringkv::v1::MigrationRole_Kind_EXPORT;

// A target write blocked this many peer timeouts fails MoveArcs.
constexpr uint32_t kStallTimeouts = 5;

StatusOr<MigrationPlan> ToPlan(const ringkv::v1::BeginMigrationRequest& req) {
  MigrationPlan plan;
  plan.id = req.migration_id();
  plan.epoch = req.epoch();
  if (!req.hash().empty()) {
    std::optional<ring::HashKind> hash = ring::ParseHashKind(req.hash());
    if (!hash) return InvalidArgument("hash must be xxh3 or sha256, got '" + req.hash() + "'");
    plan.hash = *hash;
  }
  for (const ringkv::v1::MigrationRole& r : req.roles()) {
    MigrationRole role;
    role.kind = r.kind() == MigrationRole_Kind_EXPORT ? MigrationRole::Kind::kExport
                                                      : MigrationRole::Kind::kImport;
    role.peer_id = r.peer_id();
    role.peer_grpc = r.peer_grpc();
    role.refresh = r.refresh();
    for (const ringkv::v1::Arc& a : r.arcs()) role.arcs.push_back(ring::Arc{a.lo(), a.hi()});
    plan.roles.push_back(std::move(role));
  }
  if (!req.from_map_json().empty()) {
    StatusOr<cluster::ClusterMap> from = cluster::ClusterMapFromJson(req.from_map_json());
    if (!from.ok()) return InvalidArgument("bad from_map_json: " + from.status().message());
    plan.from_map = std::make_shared<const cluster::ClusterMap>(*std::move(from));
    plan.switched = req.switched();
  }
  return plan;
}

// The gRPC address the map (or, while replica sets move, the old map) gives
// node `id`, or nullopt when neither holds it.
std::optional<std::string> MapAddrOf(const ClusterSnapshot& view, const std::string& id) {
  for (const cluster::ClusterMap* map :
       {view.map.get(), view.move ? view.move->from_map.get() : nullptr}) {
    if (map == nullptr) continue;
    if (std::optional<size_t> i = map->Find(id)) return map->nodes[*i].grpc_addr;
  }
  return std::nullopt;
}

}  // namespace

bool PeerService::MayServeMap(const std::string& grpc_addr) {
  std::shared_ptr<const ClusterSnapshot> view = view_.Snapshot();
  if (view->epoch == 0 || grpc_addr == view_.registry()) return true;
  for (const std::string& a : view->grpc_addrs) {
    if (a == grpc_addr) return true;
  }
  counters_.refused.Count(Refusal::kMapSource,
                          "a map offered by " + grpc_addr +
                              ", which is neither a node of the map held nor the registry",
                          clock_.NowMs());
  return false;
}

PeerService::PeerService(ClusterView& view, MigrationRoles& migration, store::Engine& engine,
                         const Clock& clock, ClusterCounters& counters, PeerChannels& peers,
                         const std::string& self_id)
    : view_(view),
      migration_(migration),
      engine_(engine),
      clock_(clock),
      exporter_(
          engine, clock, counters, [&peers](const std::string& addr) { return peers.Stub(addr); },
          kStallTimeouts * peers.timeout_ms(), peers.chunk_bytes(), migration.bulk_yield()),
      self_id_(self_id),
      counters_(counters),
      peers_(peers) {}

grpc::Status PeerService::BeginMigration(grpc::ServerContext*,
                                         const ringkv::v1::BeginMigrationRequest* req,
                                         ringkv::v1::BeginMigrationReply* reply) {
  StatusOr<MigrationPlan> plan = ToPlan(*req);
  if (!plan.ok()) return net::ToGrpc(plan.status());
  if (ringkv::Status s = CheckPlanEpochs(*plan); !s.ok()) return net::ToGrpc(s);
  const size_t roles = plan->roles.size();
  if (ringkv::Status s = migration_.Begin(std::move(*plan)); !s.ok()) return net::ToGrpc(s);
  spdlog::info("migration {} (epoch {}): {} role(s){}", req->migration_id(), req->epoch(), roles,
               req->from_map_json().empty() ? ""
               : req->switched()            ? ", replica sets moving, reads switched"
                                            : ", replica sets moving");
  reply->set_keys(engine_.Stats().keys);
  return grpc::Status::OK;
}

grpc::Status PeerService::EndMigration(grpc::ServerContext*,
                                       const ringkv::v1::EndMigrationRequest* req,
                                       ringkv::v1::EndMigrationReply*) {
  spdlog::info("migration {} ends ({}), drop after {} ms", req->migration_id(),
               req->cancelled() ? "cancelled" : "completed", req->drop_after_ms());
  migration_.End(req->migration_id(), req->cancelled(), req->drop_after_ms());
  return grpc::Status::OK;
}

grpc::Status PeerService::MoveArcs(grpc::ServerContext* ctx, const ringkv::v1::MoveRequest* req,
                                   grpc::ServerWriter<ringkv::v1::MoveProgress>* writer) {
  if (ringkv::Status s = migration_.CheckId(req->migration_id()); !s.ok()) return net::ToGrpc(s);
  std::shared_ptr<const RoleSnapshot> roles = migration_.Roles();
  if (roles->migration_id != req->migration_id()) {
    return net::ToGrpc(migration_.CheckId(req->migration_id()));  // ended meanwhile
  }
  if (ringkv::Status s = CheckMoveTargets(*roles); !s.ok()) return net::ToGrpc(s);
  ringkv::Status s = exporter_.Run(ctx, *roles, *req, writer);
  if (!s.ok()) spdlog::warn("MoveArcs {}: {}", req->migration_id(), s.message());
  return net::ToGrpc(s);
}

ringkv::Status PeerService::CheckPlanEpochs(const MigrationPlan& plan) {
  if (ringkv::Status s = view_.CheckEpoch(plan.epoch); !s.ok()) {
    return FailedPrecondition("migration " + plan.id + ": " + s.message());
  }
  if (plan.from_map != nullptr) {
    if (ringkv::Status s = view_.CheckEpoch(plan.from_map->epoch); !s.ok()) {
      return FailedPrecondition("migration " + plan.id + " (from_map_json): " + s.message());
    }
  }
  return OkStatus();
}

// A target the map holds must be at the address the map gives it; one it
// does not hold yet (a joining node) must be the node the role names and
// must have begun this migration, which only the registry begins.
ringkv::Status PeerService::CheckMoveTargets(const RoleSnapshot& roles) {
  std::shared_ptr<const ClusterSnapshot> view = view_.Snapshot();
  for (const RoleSnapshot::Role& r : roles.roles) {
    if (r.role.kind != MigrationRole::Kind::kExport) continue;
    std::optional<std::string> addr = MapAddrOf(*view, r.role.peer_id);
    std::string why;
    if (addr && *addr != r.role.peer_grpc) {
      why = "the map places node " + r.role.peer_id + " at " + *addr + ", not " + r.role.peer_grpc;
    } else if (!addr) {
      why = TargetMismatch(r.role, roles.migration_id);
    }
    if (why.empty()) continue;
    ringkv::Status s(StatusCode::kPermissionDenied, "migration " + roles.migration_id +
                                                        ": will not copy arcs to " +
                                                        r.role.peer_grpc + ": " + why);
    counters_.refused.Count(Refusal::kMoveTarget, s.message(), clock_.NowMs());
    return s;
  }
  return OkStatus();
}

std::string PeerService::TargetMismatch(const MigrationRole& role,
                                        const std::string& migration_id) {
  ringkv::v1::StatusReply status;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, peers_.timeout_ms());
  grpc::Status s = peers_.Stub(role.peer_grpc)->Status(&ctx, {}, &status);
  if (!s.ok()) return "it does not answer Peer/Status (" + s.error_message() + ")";
  if (status.id() != role.peer_id) {
    return "it is node '" + status.id() + "', not '" + role.peer_id + "'";
  }
  if (status.migration_id() != migration_id) {
    return "it has not begun this migration (its migration: '" + status.migration_id() + "')";
  }
  return "";
}

ringkv::Status PeerService::InstallStream(const BatchReader& next, MigrationRoles::Tally& tally,
                                          bool recent_ok, CpuYielder* yielder) {
  EntryAssembler assembler(peers_.max_value_bytes());
  ringkv::v1::EntryBatch batch;
  while (next(batch)) {
    ringkv::Status id = recent_ok ? migration_.CheckIdOrRecent(batch.migration_id())
                                  : migration_.CheckId(batch.migration_id());
    if (!id.ok()) return id;
    const int64_t now = clock_.NowMs();
    for (ringkv::v1::Entry& piece : *batch.mutable_entries()) {
      if (yielder != nullptr) yielder->MaybeYield();
      StatusOr<std::optional<WireEntry>> e = assembler.Add(piece);
      if (!e.ok()) return e.status();
      if (!*e) continue;  // a piece: the value is not whole yet
      WireEntry& w = **e;
      ringkv::Status s = migration_.Install(w.key, std::move(w.entry.value), w.entry.version,
                                            w.entry.expire_at_ms, w.tombstone, now, tally);
      if (!s.ok()) return s;
    }
  }
  return assembler.Finish();
}

grpc::Status PeerService::Transfer(grpc::ServerContext*,
                                   grpc::ServerReader<ringkv::v1::EntryBatch>* reader,
                                   ringkv::v1::ApplySummary* reply) {
  MigrationRoles::Tally tally;
  CpuYielder yielder(migration_.bulk_yield());  // arrivals share the CPU with request threads
  ringkv::Status s = InstallStream([reader](ringkv::v1::EntryBatch& b) { return reader->Read(&b); },
                                   tally, /*recent_ok=*/false, &yielder);
  if (!s.ok()) return net::ToGrpc(s);
  reply->set_applied(tally.applied);
  reply->set_skipped(tally.skipped);
  return grpc::Status::OK;
}

grpc::Status PeerService::Apply(grpc::ServerContext*,
                                grpc::ServerReader<ringkv::v1::EntryBatch>* reader,
                                ringkv::v1::ApplySummary* reply) {
  MigrationRoles::Tally tally;
  ringkv::Status s = InstallStream([reader](ringkv::v1::EntryBatch& b) { return reader->Read(&b); },
                                   tally, /*recent_ok=*/true, nullptr);
  if (!s.ok()) return net::ToGrpc(s);
  reply->set_applied(tally.applied);
  reply->set_skipped(tally.skipped);
  return grpc::Status::OK;
}

ringkv::Status PeerService::ServeFetch(const ringkv::v1::FetchRequest& req,
                                       const FetchWriter& write) {
  if (ringkv::Status s = migration_.CheckIdOrRecent(req.migration_id()); !s.ok()) return s;
  const int64_t now = clock_.NowMs();
  std::vector<WireEntry> entries;
  for (const std::string& key : req.keys()) {
    if (std::optional<WireEntry> w = migration_.Read(key, now)) entries.push_back(std::move(*w));
  }
  ringkv::v1::FetchReply reply;
  if (!SendInPieces(EntrySplitter(peers_.chunk_bytes()), entries, reply, write)) {
    return ringkv::Status(StatusCode::kCancelled, "the Fetch stream broke");
  }
  return OkStatus();
}

grpc::Status PeerService::Fetch(grpc::ServerContext*, const ringkv::v1::FetchRequest* req,
                                grpc::ServerWriter<ringkv::v1::FetchReply>* writer) {
  return net::ToGrpc(
      ServeFetch(*req, [writer](const ringkv::v1::FetchReply& r) { return writer->Write(r); }));
}

grpc::Status PeerService::SetMap(grpc::ServerContext*, const ringkv::v1::SetMapRequest* req,
                                 ringkv::v1::SetMapReply* reply) {
  const uint64_t before = view_.epoch();
  StatusOr<uint64_t> epoch =
      view_.SetMap(req->map_json(), req->registry(), ClusterView::MapFrom::kPush);
  if (!epoch.ok()) return net::ToGrpc(epoch.status());
  if (*epoch > before) spdlog::info("cluster map: epoch {} -> {}", before, *epoch);
  reply->set_epoch(*epoch);
  return grpc::Status::OK;
}

grpc::Status PeerService::Status(grpc::ServerContext*, const ringkv::v1::StatusRequest*,
                                 ringkv::v1::StatusReply* reply) {
  reply->set_id(self_id_);
  reply->set_epoch(view_.epoch());
  reply->set_migration_id(migration_.migration_id());
  reply->set_keys(engine_.Stats().keys);
  reply->set_resp_addr(resp_addr_);
  reply->set_http_addr(http_addr_);
  return grpc::Status::OK;
}

void PeerService::EnableForwarding(Dispatcher& dispatcher, Forwarder& forwarder,
                                   const PeerLinks& links, std::string resp_addr,
                                   std::string http_addr) {
  dispatcher_ = &dispatcher;
  forwarder_ = &forwarder;
  links_ = &links;
  resp_addr_ = std::move(resp_addr);
  http_addr_ = std::move(http_addr);
}

grpc::Status PeerService::Forward(grpc::ServerContext*, const ringkv::v1::ForwardRequest* req,
                                  ringkv::v1::ForwardReply* reply) {
  if (dispatcher_ == nullptr) return net::ToGrpc(Unavailable("node is starting"));
  if (req->hops() != 1) {
    return net::ToGrpc(FailedPrecondition("a forwarded command takes exactly one hop (got hops=" +
                                          std::to_string(req->hops()) + ")"));
  }
  if (req->args_size() == 0) return net::ToGrpc(InvalidArgument("no command in args"));
  // The sender knows a newer map: take it before placing the keys (from a
  // member of the map held, within the epoch step).
  if (req->epoch() > view_.epoch() && !req->from_grpc().empty() &&
      view_.CheckEpoch(req->epoch()).ok() && MayServeMap(req->from_grpc())) {
    forwarder_->RefreshFrom(req->from_grpc());
  }
  std::vector<std::string_view> args;
  args.reserve(static_cast<size_t>(req->args_size()));
  for (const std::string& a : req->args()) args.emplace_back(a);
  Session session;
  session.authenticated = true;
  session.forwarded = true;
  std::string out;
  dispatcher_->Execute(args, session, out);
  counters_.forwards_served.fetch_add(1, std::memory_order_relaxed);
  if (out.size() > peers_.max_message_bytes() - kMessageHeadroomBytes) {
    out = "-ERR reply of " + std::to_string(out.size()) +
          " bytes is over what one Peer/Forward message between nodes carries (4 x "
          "transfer_chunk_bytes); read it from the node that holds the key, or over the peer "
          "link\r\n";
  }
  std::shared_ptr<const ClusterSnapshot> view = view_.Snapshot();
  reply->set_epoch(view->epoch);
  if (out.rfind("-MOVED ", 0) == 0) {
    reply->set_moved(true);
    if (view->epoch > req->epoch()) reply->set_map_json(view->map_json);
  }
  reply->set_reply(std::move(out));
  return grpc::Status::OK;
}

grpc::Status PeerService::OpenLink(grpc::ServerContext*, const ringkv::v1::OpenLinkRequest*,
                                   ringkv::v1::OpenLinkReply* reply) {
  if (links_ == nullptr) return net::ToGrpc(Unavailable("node is starting"));
  // Forwarding has started but no link listener runs. UNIMPLEMENTED sends
  // the peer to Peer/Forward.
  if (links_->port() == 0) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no peer link here: use Peer/Forward");
  }
  reply->set_port(links_->port());
  reply->set_token(links_->token());
  reply->set_version(kLinkVersion);
  return grpc::Status::OK;
}

grpc::Status PeerService::RepairDigests(grpc::ServerContext*,
                                        const ringkv::v1::RepairDigestsRequest* req,
                                        ringkv::v1::RepairDigestsReply* reply) {
  if (repair_ == nullptr) return net::ToGrpc(Unavailable("node is starting"));
  return net::ToGrpc(repair_->ServeDigests(*req, *reply));
}

grpc::Status PeerService::RepairKeys(grpc::ServerContext*, const ringkv::v1::RepairKeysRequest* req,
                                     ringkv::v1::RepairKeysReply* reply) {
  if (repair_ == nullptr) return net::ToGrpc(Unavailable("node is starting"));
  return net::ToGrpc(repair_->ServeKeys(*req, *reply));
}

}  // namespace ringkv::node
