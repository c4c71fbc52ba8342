#include "node/peer_service.h"

#include <spdlog/spdlog.h>

#include "base/process.h"
#include "net/grpc_client.h"
#include "node/link/link_frame.h"

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

}  // namespace

PeerService::PeerService(ClusterView& view, MigrationRoles& migration, store::Engine& engine,
                         const Clock& clock, ClusterCounters& counters, PeerChannels& peers,
                         const std::string& self_id)
    : view_(view),
      migration_(migration),
      engine_(engine),
      clock_(clock),
      exporter_(
          engine, clock, counters, [&peers](const std::string& addr) { return peers.Stub(addr); },
          kStallTimeouts * peers.timeout_ms(), migration.bulk_yield()),
      self_id_(self_id),
      counters_(counters) {}

grpc::Status PeerService::BeginMigration(grpc::ServerContext*,
                                         const ringkv::v1::BeginMigrationRequest* req,
                                         ringkv::v1::BeginMigrationReply* reply) {
  StatusOr<MigrationPlan> plan = ToPlan(*req);
  if (!plan.ok()) return net::ToGrpc(plan.status());
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
  ringkv::Status s = exporter_.Run(ctx, *roles, *req, writer);
  if (!s.ok()) spdlog::warn("MoveArcs {}: {}", req->migration_id(), s.message());
  return net::ToGrpc(s);
}

ringkv::Status PeerService::InstallBatch(const ringkv::v1::EntryBatch& batch,
                                         MigrationRoles::Tally& tally, bool recent_ok,
                                         CpuYielder* yielder) {
  ringkv::Status id = recent_ok ? migration_.CheckIdOrRecent(batch.migration_id())
                                : migration_.CheckId(batch.migration_id());
  if (!id.ok()) return id;
  const int64_t now = clock_.NowMs();
  for (const ringkv::v1::Entry& e : batch.entries()) {
    if (yielder != nullptr) yielder->MaybeYield();
    ringkv::Status s = migration_.Install(e.key(), e.value(), e.version(), e.expire_at_ms(),
                                          e.tombstone(), now, tally);
    if (!s.ok()) return s;
  }
  return OkStatus();
}

grpc::Status PeerService::Transfer(grpc::ServerContext*,
                                   grpc::ServerReader<ringkv::v1::EntryBatch>* reader,
                                   ringkv::v1::ApplySummary* reply) {
  MigrationRoles::Tally tally;
  CpuYielder yielder(migration_.bulk_yield());  // arrivals share the CPU with request threads
  ringkv::v1::EntryBatch batch;
  while (reader->Read(&batch)) {
    ringkv::Status s = InstallBatch(batch, tally, /*recent_ok=*/false, &yielder);
    if (!s.ok()) return net::ToGrpc(s);
  }
  reply->set_applied(tally.applied);
  reply->set_skipped(tally.skipped);
  return grpc::Status::OK;
}

grpc::Status PeerService::Apply(grpc::ServerContext*, const ringkv::v1::EntryBatch* req,
                                ringkv::v1::ApplySummary* reply) {
  MigrationRoles::Tally tally;
  if (ringkv::Status s = InstallBatch(*req, tally, /*recent_ok=*/true); !s.ok())
    return net::ToGrpc(s);
  reply->set_applied(tally.applied);
  reply->set_skipped(tally.skipped);
  return grpc::Status::OK;
}

grpc::Status PeerService::Fetch(grpc::ServerContext*, const ringkv::v1::FetchRequest* req,
                                ringkv::v1::FetchReply* reply) {
  if (ringkv::Status s = migration_.CheckIdOrRecent(req->migration_id()); !s.ok()) {
    return net::ToGrpc(s);
  }
  const int64_t now = clock_.NowMs();
  for (const std::string& key : req->keys()) {
    std::optional<WireEntry> w = migration_.Read(key, now);
    if (!w) continue;
    ringkv::v1::Entry* e = reply->add_entries();
    e->set_key(key);
    e->set_value(std::move(w->entry.value));
    e->set_version(w->entry.version);
    e->set_expire_at_ms(w->entry.expire_at_ms);
    e->set_tombstone(w->tombstone);
  }
  return grpc::Status::OK;
}

grpc::Status PeerService::SetMap(grpc::ServerContext*, const ringkv::v1::SetMapRequest* req,
                                 ringkv::v1::SetMapReply* reply) {
  const uint64_t before = view_.epoch();
  StatusOr<uint64_t> epoch = view_.SetMap(req->map_json(), req->registry());
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
  // The sender knows a newer map: take it before placing the keys.
  if (req->epoch() > view_.epoch() && !req->from_grpc().empty()) {
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
  // Forwarding has started but no link listener runs: cluster TLS is on and
  // the link is plaintext. UNIMPLEMENTED sends the peer to Peer/Forward.
  if (links_->port() == 0) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "no peer link here (cluster TLS): use Peer/Forward");
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
