// Dispatcher: Redis command semantics over a store::Engine. Synchronous and
// free of I/O: the server shell parses a command, calls Execute on its own
// thread, and writes the reply bytes it got back. The exceptions are
// commands that need another node — forwarded to the owner of their keys,
// or (while keys move) pulling a missing key or writing through to a peer —
// for a shell that can finish a reply later (Session::defer): their reply
// then comes through a ReplyCompletion.
//
// Thread safety: Execute may be called concurrently from many threads (one
// Session per connection, never shared between threads at once).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/hlc.h"
#include "node/commands/metrics.h"
#include "store/engine.h"

namespace ringkv {
class WorkerPool;
}  // namespace ringkv

namespace ringkv::jobs {
class QueueShard;
}  // namespace ringkv::jobs

namespace ringkv::node {

class ClusterView;
class ForwardLink;
class MigrationRoles;
class Replication;

// Finishes the reply of a command after Execute returned: called once, from
// any thread, with the whole RESP2 reply.
using ReplyCompletion = std::function<void(std::string reply)>;

// Per-connection state.
struct Session {
  uint64_t id = 0;
  bool authenticated = false;      // true from the start when no password is set
  bool close_after_reply = false;  // QUIT, or a fatal error: flush the reply, then close
  // RINGKV.ABANDON-ON-CLOSE: requests still buffered when the peer closes
  // are not run (net::Connection::AbandonOnClose).
  bool abandon_on_close = false;
  std::string name;  // CLIENT SETNAME
  // A command another node forwarded here: it is never forwarded again (a
  // key this node does not own either answers -MOVED, and the sender retries).
  bool forwarded = false;
  // Set by a shell that can send a reply after Execute returned (a RESP
  // connection, see net::ReplyDeferrer). During Execute the command path may
  // call it once to take the completion of the current command's reply
  // instead of appending to `out`: a single-owner forward, or a command that
  // waits for a migration peer, then does not block the shell's thread.
  // Empty: every reply is produced during Execute.
  std::function<ReplyCompletion()> defer;
};

// Process-wide facts the shell keeps up to date and INFO/CONFIG report.
struct ServerState {
  std::string id;       // node id
  std::string version;  // ringkv version
  uint16_t resp_port = 0;
  uint16_t http_port = 0;
  uint16_t grpc_port = 0;
  int64_t start_ms = 0;
  std::atomic<int64_t> connected_clients{0};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> rejected_connections{0};
  uint64_t maxclients = 10000;
  std::string engine_name = "memory";  // "memory" or "rocksdb"
  std::string eviction_policy = "allkeys-lru";
};

struct DispatcherOptions {
  std::string requirepass;  // empty: no AUTH needed
  // The node's job queue for the JOB.* commands; not owned, must outlive the
  // Dispatcher. Null: JOB.* commands answer an error.
  jobs::QueueShard* jobs = nullptr;
  // The node's view of the cluster (node/view/cluster_view.h): where the keys of
  // a command are served. Not owned; must outlive the Dispatcher. Null: this
  // node owns every key (a standalone node).
  ClusterView* view = nullptr;
  // Live rebalancing (node/migration/migration_roles.h): pull-on-miss and write-through
  // while keys move. Not owned; must outlive the Dispatcher. Null: none.
  // Needs `view`.
  MigrationRoles* migration = nullptr;
  // Forwarding of commands on keys this node does not own (node/commands/forward_link.h).
  // Not owned. Null: such commands answer -MOVED <epoch> <owner>.
  ForwardLink* forward = nullptr;
  // While keys move, a command that must call a peer first (pull-on-miss,
  // write-through) from a shell that can defer its reply runs on this pool,
  // so the shell's thread goes on serving other connections. Not owned.
  // Null: it runs on the calling thread.
  WorkerPool* peer_work = nullptr;
  // Replicas (node/replication/replication.h): suspects, hints, counters.
  // Not owned. Null: replicas are still written, nothing is remembered.
  Replication* replication = nullptr;
  // A replicated read first asks only as many other replicas as its read
  // consistency needs; the rest are asked too when one of those fails, or
  // has not answered after this long. 0: every replica at once.
  uint32_t speculative_read_ms = 5;
};

class Dispatcher {
 public:
  Dispatcher(store::Engine& engine, const Clock& clock, HybridClock& hlc, Metrics& metrics,
             ServerState& state, DispatcherOptions options);

  // Executes one command (args[0] is the name, any case) and appends its
  // RESP2 reply to `out`. Never throws. Unauthenticated sessions may only run
  // AUTH, HELLO, PING (answered -NOAUTH otherwise), QUIT.
  void Execute(std::span<const std::string_view> args, Session& session, std::string& out);

  bool RequiresAuth() const { return !options_.requirepass.empty(); }

 private:
  uint32_t ClusterMode() const;
  store::Engine& engine_;
  const Clock& clock_;
  HybridClock& hlc_;
  Metrics& metrics_;
  ServerState& state_;
  DispatcherOptions options_;
  std::string run_id_;  // 40 random hex digits, as INFO's run_id
};

}  // namespace ringkv::node
