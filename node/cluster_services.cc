#include "node/cluster_services.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "net/grpc_client.h"
#include "net/resp/resp_parser.h"

namespace ringkv::node {

grpc::Status RegistryRelay::GetMap(grpc::ServerContext*, const ringkv::v1::GetMapRequest*,
                                   ringkv::v1::GetMapReply* reply) {
  std::shared_ptr<const ClusterSnapshot> view = view_.Snapshot();
  reply->set_map_json(view->map_json);
  reply->set_epoch(view->epoch);
  reply->set_registry(view_.registry());
  return grpc::Status::OK;
}

grpc::Status RegistryRelay::Join(grpc::ServerContext*, const ringkv::v1::JoinRequest* req,
                                 ringkv::v1::JoinReply* reply) {
  const std::string registry = view_.registry();
  if (registry.empty()) {
    return net::ToGrpc(FailedPrecondition(
        "this node has not learned the router's address yet (no map pushed to it); join "
        "through the router or another member"));
  }
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, join_timeout_ms_);
  grpc::Status s = peers_.RegistryStub(registry)->Join(&ctx, *req, reply);
  spdlog::info("join of {} relayed to the router at {}: {}", req->addr(), registry,
               s.ok() ? reply->status() : s.error_message());
  return s;
}

grpc::Status DhtService::QueryDht(grpc::ServerContext*, const dht::Query* query,
                                  dht::QueryResult* result) {
  std::vector<std::string_view> args;
  switch (query->ty()) {
    case dht::Get:
      args = {"GET", query->key()};
      break;
    case dht::Delete:
      args = {"GETDEL", query->key()};
      break;
    case dht::Set:
      if (!query->has_value()) {
        result->set_error(std::string(kDhtNoValue));
        return grpc::Status::OK;
      }
      args = {"SET", query->key(), query->value(), "GET"};
      break;
    default:
      result->set_error("Unknown operation type " + std::to_string(query->ty()) + ".");
      return grpc::Status::OK;
  }
  Session session;
  session.authenticated = true;
  std::string out;
  dispatcher_.Execute(args, session, out);
  std::optional<net::resp::Reply> r = net::resp::DecodeReply(out);
  if (!r) {
    result->set_error("internal error: malformed reply");
    return grpc::Status::OK;
  }
  using Type = net::resp::Reply::Type;
  if (r->type == Type::kError) {
    result->set_error(r->str);
  } else if (r->type == Type::kBulk) {
    result->set_value(std::move(r->str));
  } else if (query->ty() != dht::Set) {
    result->set_error(std::string(kDhtKeyMissing));  // Set without a previous value: no value
  }
  return grpc::Status::OK;
}

}  // namespace ringkv::node
