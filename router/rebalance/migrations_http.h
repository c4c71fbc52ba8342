// The router's HTTP endpoints of live rebalancing (docs/api.md):
//   GET  /migrations                        running and recent migrations
//   POST /migrations/pause|resume|cancel    operator controls
//   PUT  /migrations/rate                   {"max_keys_per_sec": N, "max_bytes_per_sec": M}
// and StartChange, through which every ring change of the HTTP API goes.
//
// Thread safety: called concurrently from HTTP threads; the Migrator
// serializes.
#pragma once

#include <string>

#include "cluster/migration.h"
#include "net/http.h"
#include "router/map/map_owner.h"
#include "router/rebalance/migrator.h"

namespace ringkv::router {

inline constexpr std::string_view kMigrationsPath = "/migrations";

// True for /migrations and /migrations/...
bool IsMigrationsPath(const std::string& path);
// True for the paths and methods that change something (they need the admin token).
bool IsMigrationsMutation(const net::HttpRequest& request);
net::HttpResponse HandleMigrationsHttp(const net::HttpRequest& request, Migrator* migrator);

// Runs `change` through the migrator, or (no migrator) applies its settled
// map at once.
StatusOr<Migrator::Started> StartChange(Migrator* migrator, MapOwner& map_owner,
                                        cluster::MigrationKind kind, std::string subject,
                                        Migrator::MapChange change);

}  // namespace ringkv::router
