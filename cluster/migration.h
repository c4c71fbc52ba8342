// Migration: the persisted record of one live rebalancing (docs/design.md, "Moving keys",
// docs/rebalancing.md) and the pure rules over it — the plan from two maps,
// the state machine, progress figures, and the JSON codec of the record file.
// The router's Migrator (router/rebalance/migrator.h) executes it; nothing here does
// I/O or reads a clock (times come in as arguments).
//
//   planned ──► copying ──► switching ──► cleaning ──► done
//      │           │
//      └───────────┴──► cancelling ──► cancelled
//
// `cancelling` is persisted too, so a router killed while it returns the
// cluster to the old ring finishes the return after its restart.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cluster/cluster_map.h"
#include "ring/diff.h"

namespace ringkv::cluster {

enum class MigrationState : uint8_t {
  kPlanned,
  kCopying,
  kSwitching,
  kCleaning,
  kDone,
  kCancelling,
  kCancelled,
};

// What the operator asked for. Reported; only kReturn changes how keys move:
// a replication-1 node that was down comes back to the arcs its successors
// served meanwhile, and its own entries there may be older than theirs, so
// it asks the old owner for each key it touches (keep newer), not only for
// the keys it lacks.
enum class MigrationKind : uint8_t { kAdd, kRemove, kWeight, kVnodes, kReturn, kReplication };

std::string_view MigrationStateName(MigrationState s);  // "planned", ..., "cancelled"
std::optional<MigrationState> ParseMigrationState(std::string_view s);
std::string_view MigrationKindName(MigrationKind k);  // "add", ..., "vnodes", "return", "replication"
std::optional<MigrationKind> ParseMigrationKind(std::string_view s);

// done or cancelled: nothing left to do.
bool IsFinished(MigrationState s);

// The arcs that move from one old owner to one new owner.
struct MigrationPair {
  std::string source;       // node id, owner in from_map's ring
  std::string source_grpc;  // its peer-protocol address (empty for redis)
  std::string target;       // node id, owner in to_map's ring
  std::string target_grpc;
  std::vector<ring::Arc> arcs;  // only lo/hi are meaningful (from/to are the ids above)
  bool done = false;

  bool operator==(const MigrationPair&) const = default;
};

// Progress of one old owner. One copy call per source covers all of its
// targets, so keys and bytes are counted per source, not per pair.
struct MigrationSource {
  std::string id;
  double moving_share = 0;  // fraction of the ring this source gives away
  double owned_share = 0;   // fraction of the ring it owned in from_map
  uint64_t keys_held = 0;   // entries it held when told its part (0 = unknown)
  uint64_t keys_moved = 0;  // highest count one copy call reported (a restart re-sends)
  uint64_t bytes_moved = 0;
  bool done = false;

  // Keys expected to move: keys_held x moving_share / owned_share.
  uint64_t KeysExpected() const;
  bool operator==(const MigrationSource&) const = default;
};

struct Migration {
  std::string id;
  MigrationKind kind = MigrationKind::kAdd;
  std::string subject;  // the node or setting changed, e.g. "127.0.0.1:7003" or "vnodes 64"
  MigrationState state = MigrationState::kPlanned;
  bool paused = false;
  ClusterMap from_map;  // the cluster before (ring R)
  ClusterMap to_map;    // the routing map while keys move (ring R'; epoch = from.epoch + 1)
  std::vector<MigrationPair> pairs;
  std::vector<MigrationSource> sources;
  uint64_t max_keys_per_sec = 0;  // 0 = unlimited
  uint64_t max_bytes_per_sec = 0;
  uint32_t grace_ms = 1000;      // wait after a map change, and before old owners drop arcs
  int64_t created_ms = 0;        // Unix ms
  int64_t finished_ms = 0;       // 0 while running
  int64_t clean_until_ms = 0;    // cleaning: done once this time has passed
  int64_t copy_started_ms = 0;   // the sources' copy began (after the grace), Unix ms
  int64_t copy_finished_ms = 0;  // every source had copied its arcs
  std::string last_error;        // the last failure of a step (the step is retried)

  size_t ArcsTotal() const;
  size_t ArcsDone() const;
  uint64_t KeysMoved() const;
  uint64_t BytesMoved() const;
  uint64_t KeysExpected() const;
  // Node ids of every source and target, each once, in plan order.
  std::vector<std::string> InvolvedNodes() const;
  // True when a pair's source or target is a redis-server.
  bool InvolvesRedis() const;

  bool operator==(const Migration&) const = default;
};

// Whether a move between the two maps moves replica sets (either keeps more
// than one copy of each key) rather than single owners.
bool ReplicaMove(const ClusterMap& from, const ClusterMap& to);

// Plans the move from `from` to `to`: the arcs of ring::Diff of their rings,
// grouped per (old owner, new owner) pair, and the per-source shares. Returns
// a record in state planned with no pairs when nothing moves (either ring
// empty, or the same ring).
//
// A ReplicaMove plans from ring::ReplicaDiff instead (docs/replication.md,
// "Moves"): for every arc whose preference list changes and every node it
// gains, one pair from each old replica of the arc that is not down in
// `from` to that node. When the replication shrinks no node is gained; then
// every node that keeps the arc receives it from each other old replica,
// so the fewer copies still include every acknowledged write. A source's moving_share counts each
// arc once per node it gains; owned_share is the share it replicates. Errors: kFailedPrecondition
// when an arc gains a node but every old replica of it is down (nothing could be copied).
StatusOr<Migration> PlanMigration(const ClusterMap& from, const ClusterMap& to, MigrationKind kind,
                                  std::string id, std::string subject, int64_t now_ms);

// Checks and applies one state change; kFailedPrecondition for a transition
// the machine does not have (e.g. done -> copying, cleaning -> cancelling).
Status Transition(Migration& m, MigrationState next, int64_t now_ms);
// Whether `m` may still be cancelled: planned or copying (paused or not).
bool Cancellable(const Migration& m);

// The membership once keys have moved: joining nodes become active, leaving
// nodes are removed. Keeps the epoch (the caller sets it) and the ring.
ClusterMap Settled(const ClusterMap& map);
// True when the maps have the same nodes, ring parameters and states (their
// epochs may differ).
bool SameMembership(const ClusterMap& a, const ClusterMap& b);

// The record file: {"current": <migration> | null, "history": [<migration>...]},
// history oldest first. A migration's JSON is also what GET /migrations shows,
// less the maps (see MigrationSummaryJson).
struct MigrationLog {
  std::optional<Migration> current;
  std::vector<Migration> history;

  bool operator==(const MigrationLog&) const = default;
};

std::string MigrationToJson(const Migration& m);
StatusOr<Migration> MigrationFromJson(std::string_view json);
std::string MigrationLogToJson(const MigrationLog& log);
StatusOr<MigrationLog> MigrationLogFromJson(std::string_view json);

}  // namespace ringkv::cluster
