// The ArcMovers the router runs migrations with: RedisArcMover carries out a
// migration's steps on redis-servers (router/rebalance/redis_mover.h: SCAN + MIGRATE),
// and NewKindArcMover sends each step to the mover of the node's kind.
//
// Thread safety: as ArcMover.
#pragma once

#include <memory>
#include <string>

#include "net/resp_client.h"
#include "router/rebalance/arc_mover.h"

namespace ringkv::router {

// Redis steps: Begin reports DBSIZE; Move copies the source's pairs with
// MoveRedisArcs (pacing to the limits, stopping on `stop`); End(completed)
// deletes the copies the source kept (keys the new owner held newer) —
// nothing else is left on it, MIGRATE moved the rest. Cancel is not possible
// (Migrator refuses it for Redis moves); End(cancelled) does nothing.
std::unique_ptr<ArcMover> NewRedisArcMover(net::RespCredentials backend, uint32_t timeout_ms);

// Routes each call to `ringkv` or `redis` by the kind of the node it names.
// Neither is owned.
std::unique_ptr<ArcMover> NewKindArcMover(ArcMover& ringkv, ArcMover& redis);

}  // namespace ringkv::router
