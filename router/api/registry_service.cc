#include "router/api/registry_service.h"

#include <grpcpp/grpcpp.h>

#include "dht/dht.grpc.pb.h"
#include "dht/registry.grpc.pb.h"
#include "net/grpc_client.h"
#include "ringkv/v1/peer.grpc.pb.h"
#include "router/map/map_owner.h"
#include "router/rebalance/node_client.h"

namespace ringkv::router {
namespace {

namespace pb = ::ringkv::v1;

using net::ToGrpc;

void Fill(::dht::Node& out, const RingNode& n) {
  out.set_id(n.id);
  out.set_addr(n.addr);
}

// What dht.Registry and registry.Registry share.
class SeedRegistryCore {
 public:
  SeedRegistryCore(JoinAdmission& admission, MapOwner& map_owner)
      : admission_(admission), map_owner_(map_owner) {}

  grpc::Status RegisterNode(const ::dht::ConnectionAddr& req, ::dht::RegisterInfo* reply) {
    auto joined = admission_.RegisterNode(req.addr());
    if (!joined.ok()) return ToGrpc(joined.status());
    auto placed = PlacementOf(joined->map, joined->node_id);
    if (!placed) {
      return ToGrpc(
          FailedPrecondition("node " + joined->node_id + " is in the map but not in service"));
    }
    reply->set_id(placed->self.id);
    Fill(*reply->mutable_neighbor(), placed->previous);
    return grpc::Status::OK;
  }

  grpc::Status GetConnectedNodes(::dht::Nodes* reply) {
    for (const RingNode& n : ConnectedNodes(map_owner_.Map())) Fill(*reply->add_nodes(), n);
    return grpc::Status::OK;
  }

 private:
  JoinAdmission& admission_;
  MapOwner& map_owner_;
};

// One shell per package name of crustyring's registry service.
template <typename Base>
class SeedRegistry final : public Base {
 public:
  explicit SeedRegistry(SeedRegistryCore& core) : core_(core) {}

  grpc::Status RegisterNode(grpc::ServerContext*, const ::dht::ConnectionAddr* req,
                            ::dht::RegisterInfo* reply) override {
    return core_.RegisterNode(*req, reply);
  }
  grpc::Status GetConnectedNodes(grpc::ServerContext*, const google::protobuf::Empty*,
                                 ::dht::Nodes* reply) override {
    return core_.GetConnectedNodes(reply);
  }

 private:
  SeedRegistryCore& core_;
};

class RingkvRegistry final : public pb::Registry::Service {
 public:
  RingkvRegistry(JoinAdmission& admission, MapOwner& map_owner, NodeClient& peers)
      : admission_(admission), map_owner_(map_owner), peers_(peers) {}

  grpc::Status Join(grpc::ServerContext*, const pb::JoinRequest* req,
                    pb::JoinReply* reply) override {
    auto joined = admission_.Join({req->addr(), req->weight(), req->id()});
    if (!joined.ok()) return ToGrpc(joined.status());
    reply->set_status(joined->status);
    reply->set_epoch(joined->map.epoch);
    reply->set_migration_id(joined->migration_id);
    reply->set_map_json(cluster::ToJson(joined->map));
    reply->set_registry(peers_.registry());
    return grpc::Status::OK;
  }

  grpc::Status GetMap(grpc::ServerContext*, const pb::GetMapRequest*,
                      pb::GetMapReply* reply) override {
    cluster::ClusterMap map = map_owner_.Map();
    reply->set_map_json(cluster::ToJson(map));
    reply->set_epoch(map.epoch);
    reply->set_registry(peers_.registry());
    return grpc::Status::OK;
  }

 private:
  JoinAdmission& admission_;
  MapOwner& map_owner_;
  NodeClient& peers_;
};

}  // namespace

struct RegistryService::Impl {
  Impl(JoinAdmission& admission, MapOwner& map_owner, NodeClient& peers)
      : ringkv(admission, map_owner, peers),
        core(admission, map_owner),
        dht(core),
        seed_registry(core) {}

  RingkvRegistry ringkv;
  SeedRegistryCore core;
  SeedRegistry<::dht::Registry::Service> dht;
  SeedRegistry<::registry::Registry::Service> seed_registry;
};

RegistryService::RegistryService(JoinAdmission& admission, MapOwner& map_owner, NodeClient& peers)
    : impl_(std::make_unique<Impl>(admission, map_owner, peers)) {}

RegistryService::~RegistryService() = default;

void RegistryService::RegisterWith(net::GrpcServer& server) {
  server.Register(&impl_->ringkv);
  server.Register(&impl_->dht);
  server.Register(&impl_->seed_registry);
}

}  // namespace ringkv::router
