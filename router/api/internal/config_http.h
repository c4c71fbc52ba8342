// The HTTP API's shared JSON helpers and its /config handlers (GET and PUT
// /config: the cluster map's settings and the router's live settings;
// docs/api.md). Private to router/api.
//
// Thread safety: the handlers run concurrently on HTTP threads; changes go
// through MapOwner and the Migrator.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "net/http.h"
#include "router/api/router_http.h"
#include "router/rebalance/migrator.h"

namespace ringkv::router::internal {

// Parses a JSON object body; nullopt (and `error`) when it is not one.
std::optional<nlohmann::json> ParseObject(const std::string& body, std::string& error);
// The migration part of a change's answer (null when nothing moves).
nlohmann::json MigrationField(const Migrator::Started& started);

net::HttpResponse GetConfig(RouterHttpContext& ctx);
// Validates every field before applying any (docs/api.md, "PUT /config").
net::HttpResponse PutConfig(const net::HttpRequest& req, RouterHttpContext& ctx);

}  // namespace ringkv::router::internal
