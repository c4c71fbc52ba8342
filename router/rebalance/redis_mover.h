// Moving ring arcs between two redis-servers, for migrations over Redis back
// ends (docs/design.md, "Moving keys"). A redis-server cannot stream arcs or fetch missing keys,
// so the router does it: SCAN the old owner, and MIGRATE (no COPY, no
// REPLACE) each batch of keys whose ring position lies in the arcs. MIGRATE
// is atomic per key: a key is on the old owner or on the new one, never lost;
// a key the new owner already holds (written there since the move began) is
// never replaced — the old copy stays behind and DropRedisArcs deletes it
// once the move is over.
//
// Weaker than between ringkv nodes (documented in docs/rebalancing.md):
// values carry no version, so "newer" means "written on the new owner since
// the move began"; cancel cannot hand moved keys back; bytes are counted with
// STRLEN (string values only).
//
// Thread safety: free functions; each call uses its own connections.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/function_ref.h"
#include "base/status.h"
#include "net/tls.h"
#include "ring/diff.h"
#include "ring/hash.h"

namespace ringkv::router {

struct RedisMoveOptions {
  std::string from;     // "host:port" of the old owner
  std::string to_host;  // the new owner
  uint16_t to_port = 0;
  std::vector<ring::Arc> arcs;
  ring::HashKind hash = ring::HashKind::kXxh3;
  std::string password;                        // AUTH for both servers; empty = none
  std::shared_ptr<const net::TlsContext> tls;  // TLS to the old owner; null = TCP
  uint32_t timeout_ms = 5000;
  uint32_t scan_count = 1000;  // SCAN COUNT per call
};

struct RedisMoveProgress {
  uint64_t keys_scanned = 0;
  uint64_t keys_moved = 0;
  uint64_t bytes_moved = 0;  // key + string value bytes
  uint64_t keys_kept = 0;    // the new owner already held a newer value
};

// Moves every key of `arcs` from `from` to the new owner. After each batch
// `pace` sees the running totals; returning false stops the move
// (kCancelled-like kAborted status) — calling again continues safely, since
// moved keys are no longer on the old owner.
Status MoveRedisArcs(const RedisMoveOptions& options,
                     FunctionRef<bool(const RedisMoveProgress&)> pace, RedisMoveProgress* progress);

// Deletes the keys of `arcs` still on `from` (copies the new owner did not
// take because it held a newer value). Sets *dropped.
Status DropRedisArcs(const RedisMoveOptions& options, uint64_t* dropped);

}  // namespace ringkv::router
