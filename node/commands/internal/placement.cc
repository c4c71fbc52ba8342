#include "node/commands/internal/placement.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/worker_pool.h"
#include "net/command/key_split.h"
#include "net/resp/resp_writer.h"
#include "node/commands/forward_link.h"
#include "node/commands/internal/replicated.h"
#include "node/migration/migration_roles.h"
#include "node/view/cluster_view.h"

namespace ringkv::node::internal {
namespace {

using Place = ClusterSnapshot::Place;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  return out;
}

// Routing again after a newer map arrived happens at most this often per
// command (each forward is one hop; a map that keeps changing gets TRYAGAIN).
constexpr int kMaxPlaceAttempts = 3;

// Calls fn(key) for each key argument (the shared table's key positions);
// stops when fn returns false.
template <typename Fn>
void ForEachKey(const CommandSpec& spec, std::span<const std::string_view> args, Fn&& fn) {
  ForEachKeyIndex(spec, args.size(), [&](size_t i) { return fn(args[i]); });
}

// A peer's message may hold anything; an error line must not.
std::string ErrorLine(std::string_view prefix, const std::string& message) {
  std::string line(prefix);
  for (char c : message) line.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return line;
}

std::string DownError(const ClusterSnapshot& view) {
  return "CLUSTERDOWN cluster map epoch " + std::to_string(view.epoch) + " has no node in service";
}

std::string MovedError(const ClusterSnapshot& view, uint32_t owner) {
  return "MOVED " + std::to_string(view.epoch) + " " + view.addrs[owner];
}

// Where the keys of a command are served; *owner is set for kOwner, and for
// kSplit to the first key's owner elsewhere (for a -MOVED).
Place PlaceKeys(const CommandSpec& spec, std::span<const std::string_view> args,
                const ClusterSnapshot& view, const HeldArcs* held, uint32_t* owner) {
  Place result = Place::kHere;
  bool first = true;
  bool first_here = false;
  uint32_t first_owner = ring::kNoNode;
  ForEachKey(spec, args, [&](std::string_view key) {
    uint32_t o = ring::kNoNode;
    const Place p = view.PlaceOf(key, held, &o);
    if (p == Place::kDown) {
      result = Place::kDown;
      return false;
    }
    if (first) {
      first = false;
      first_here = p == Place::kHere;
      first_owner = o;
      result = p;
    } else if ((p == Place::kHere) != first_here || (p == Place::kOwner && o != first_owner)) {
      result = Place::kSplit;
    }
    if (p == Place::kOwner && *owner == ring::kNoNode) *owner = o;
    return true;
  });
  if (result == Place::kOwner) *owner = first_owner;
  return result;
}

// The migration roles, when they hold arcs on this node (ClusterView::kRoles);
// null otherwise, and placement follows the map alone.
std::shared_ptr<const RoleSnapshot> HeldRoles(const Context& ctx) {
  MigrationRoles* migration = ctx.options.migration;
  if (migration == nullptr || (ctx.options.view->mode() & ClusterView::kRoles) == 0) return nullptr;
  return migration->Roles();
}

// Replication 1: a node that was down holds keys its successor here does
// not, both while it is down (the successor serves its arcs) and while it
// takes them back (refresh EXPORT roles). A key of such an arc that this
// node neither holds nor has a tombstone of is unknown, not absent: only
// commands that need no current value (blind writes, DEL, UNLINK) run; the
// others get an error naming that node. False when the command may run.
bool RefuseUnknown(const CommandSpec& spec, Context& ctx, const RoleSnapshot* roles) {
  const uint32_t mode = ctx.options.view->mode();
  const bool down = (mode & ClusterView::kTombstones) != 0 && (mode & ClusterView::kReplicas) == 0;
  const bool returning = roles != nullptr && roles->refresh_exports;
  if (!down && !returning) return false;
  if (AccessOf(spec, ctx.args) == Access::kBlindWrite || spec.name == "del" ||
      spec.name == "unlink") {
    return false;
  }
  std::shared_ptr<const ClusterSnapshot> view = ctx.options.view->Snapshot();
  std::string holder;
  ForEachKey(spec, ctx.args, [&](std::string_view key) {
    const std::string* home = down ? view->DownHomeOf(key) : nullptr;
    const RoleSnapshot::Role* role = returning ? roles->RoleOfKey(key) : nullptr;
    if (role != nullptr &&
        (role->role.kind != MigrationRole::Kind::kExport || !role->role.refresh)) {
      role = nullptr;
    }
    if ((home == nullptr && role == nullptr) || ctx.engine.Peek(key, ctx.now_ms)) return true;
    holder = home != nullptr ? *home : role->role.peer_id;
    return false;
  });
  if (holder.empty()) return false;
  ctx.w.Error("TRYAGAIN node " + holder + " holds this key and " +
              (down ? "is down; its value is unknown until the node returns"
                    : "is taking it back; retry"));
  return true;
}

// Runs the command on this node: pull-on-miss and write-through when
// migration roles hold arcs here (docs/design.md "Moving keys").
void RunHere(const CommandSpec& spec, Context& ctx, const RoleSnapshot* roles, std::string& out,
             size_t reply_start) {
  if (RefuseUnknown(spec, ctx, roles)) return;
  if (roles == nullptr || roles->roles.empty()) {
    spec.handler(ctx);
    return;
  }
  MigrationRoles& migration = *ctx.options.migration;
  const bool write = (spec.flags & kWrite) != 0;
  std::vector<std::string_view> keys;
  ForEachKey(spec, ctx.args, [&](std::string_view key) {
    keys.push_back(key);
    return true;
  });
  if (Status s = migration.PullMissing(*roles, keys, ctx.now_ms); !s.ok()) {
    ctx.w.Error(ErrorLine("ERR ", s.message()));
    return;
  }
  spec.handler(ctx);
  if (!write) return;
  if (Status s = migration.WriteThrough(*roles, keys, ctx.now_ms); !s.ok()) {
    // The write stands here but not on the peer: the client must not see success.
    out.resize(reply_start);
    ctx.w.Error(ErrorLine("ERR ", s.message() + " (the write may be applied on this node only)"));
  }
}

void Route(const CommandSpec& spec, Context& ctx, std::string& out, size_t reply_start, int depth,
           int first_attempt = 0);

// Whether RunHere would call a migration peer for this command.
bool NeedsPeer(const CommandSpec& spec, const Context& ctx, const RoleSnapshot* roles) {
  if (roles == nullptr || roles->roles.empty()) return false;
  std::vector<std::string_view> keys;
  ForEachKey(spec, ctx.args, [&](std::string_view key) {
    keys.push_back(key);
    return true;
  });
  return ctx.options.migration->NeedsPeer(*roles, keys, (spec.flags & kWrite) != 0, ctx.now_ms);
}

// Splits a multi-key command by the node of each key (SplitKeys), runs each
// part where it belongs (here or forwarded) and merges the replies in key
// order (MergeReplies). Parts run in order; the first error is the answer,
// so the parts after it do not run.
void RunSplit(const CommandSpec& spec, Context& ctx, const ClusterSnapshot& view,
              const HeldArcs* held, int depth) {
  RunSplitParts(
      spec, ctx,
      [&view, held](std::string_view key) {
        uint32_t owner = ring::kNoNode;
        return view.PlaceOf(key, held, &owner) == Place::kOwner ? owner : ring::kNoNode;
      },
      [&](Context& part_ctx, std::string& part) { Route(spec, part_ctx, part, 0, depth + 1); });
}

// A command whose reply the shell takes later (Session::defer). Holds copies
// of what running it again needs: the connection may close meanwhile. The
// references are the Dispatcher's, which outlives every deferred command
// (Forwarder::Drain, WorkerPool::Drain).
class Deferred {
 public:
  static std::shared_ptr<Deferred> Take(const CommandSpec& spec, Context& ctx) {
    return std::shared_ptr<Deferred>(new Deferred(spec, ctx));
  }

  // Places the keys again and runs the command synchronously (on any
  // thread), appending its reply to `reply`.
  void RouteAgain(std::string& reply, int first_attempt) {
    std::vector<std::string_view> views(args_.begin(), args_.end());
    net::resp::ReplyWriter w(reply);
    Context ctx{engine_, hlc_, metrics_, state_, options_, run_id_, session_, w, views, now_ms_};
    Route(spec_, ctx, reply, 0, 0, first_attempt);
  }

  void Complete(std::string reply) {
    if (!reply.empty() && reply[0] == '-') metrics_.CountError();
    complete_(std::move(reply));
  }

 private:
  const CommandSpec& spec_;
  store::Engine& engine_;
  HybridClock& hlc_;
  Metrics& metrics_;
  ServerState& state_;
  const DispatcherOptions& options_;
  std::string_view run_id_;
  Session session_;  // a copy without `defer`: what runs later runs synchronously
  std::vector<std::string> args_;
  int64_t now_ms_;
  ReplyCompletion complete_;

  Deferred(const CommandSpec& spec, Context& ctx)
      : spec_(spec),
        engine_(ctx.engine),
        hlc_(ctx.hlc),
        metrics_(ctx.metrics),
        state_(ctx.state),
        options_(ctx.options),
        run_id_(ctx.run_id),
        session_(ctx.session),
        args_(ctx.args.begin(), ctx.args.end()),
        now_ms_(ctx.now_ms),
        complete_(ctx.session.defer()) {
    session_.defer = nullptr;
  }
};

// Forwards to `owner` without blocking: the shell parks the connection and
// the reply completes it when the owner answers. A newer map from the owner
// means placing the keys again, synchronously, on the thread that got the
// answer.
void ForwardDeferred(const CommandSpec& spec, Context& ctx, const ClusterSnapshot& view,
                     uint32_t owner, int attempt) {
  std::shared_ptr<Deferred> d = Deferred::Take(spec, ctx);
  ctx.options.forward->ForwardAsync(view, owner, ctx.args,
                                    [d, attempt](ForwardLink::Outcome outcome, std::string reply) {
                                      if (outcome == ForwardLink::Outcome::kRetry)
                                        d->RouteAgain(reply, attempt + 1);
                                      d->Complete(std::move(reply));
                                    });
}

// Runs the command on the peer-work pool: its pull-on-miss or write-through
// waits for a peer there, not on the shell's thread.
void RunOnPeerWork(const CommandSpec& spec, Context& ctx) {
  std::shared_ptr<Deferred> d = Deferred::Take(spec, ctx);
  ctx.options.peer_work->Post([d] {
    std::string reply;
    d->RouteAgain(reply, 0);
    d->Complete(std::move(reply));
  });
}

void Route(const CommandSpec& spec, Context& ctx, std::string& out, size_t reply_start, int depth,
           int first_attempt) {
  for (int attempt = first_attempt;; ++attempt) {
    std::shared_ptr<const ClusterSnapshot> view = ctx.options.view->Snapshot();
    std::shared_ptr<const RoleSnapshot> roles = HeldRoles(ctx);
    const HeldArcs* held = roles != nullptr ? roles->held() : nullptr;
    uint32_t owner = ring::kNoNode;
    const Place place = PlaceKeys(spec, ctx.args, *view, held, &owner);
    if (place == Place::kHere) {
      if (depth == 0 && ctx.session.defer && ctx.options.peer_work != nullptr &&
          NeedsPeer(spec, ctx, roles.get())) {
        RunOnPeerWork(spec, ctx);
        return;
      }
      RunHere(spec, ctx, roles.get(), out, reply_start);
      return;
    }
    if (place == Place::kDown) {
      ctx.w.Error(DownError(*view));
      return;
    }
    ForwardLink* link = ctx.options.forward;
    if (ctx.session.forwarded || link == nullptr) {
      ctx.w.Error(MovedError(*view, owner));
      return;
    }
    if (attempt >= kMaxPlaceAttempts || depth > 1) {
      ctx.w.Error("TRYAGAIN the cluster map changed while forwarding; retry the command");
      return;
    }
    if (place == Place::kSplit) {
      RunSplit(spec, ctx, *view, held, depth);
      return;
    }
    if (depth == 0 && ctx.session.defer) {
      ForwardDeferred(spec, ctx, *view, owner, attempt);
      return;
    }
    if (link->Forward(*view, owner, ctx.args, out) == ForwardLink::Outcome::kDone) return;
  }
}

}  // namespace

Access AccessOf(const CommandSpec& spec, std::span<const std::string_view> args) {
  if ((spec.flags & kWrite) == 0) return Access::kRead;
  if (spec.name == "setex" || spec.name == "psetex" || spec.name == "mset") return Access::kBlindWrite;
  if (spec.name == "set") {
    for (size_t i = 3; i < args.size(); ++i) {
      const std::string o = Lower(args[i]);
      if (o == "nx" || o == "xx" || o == "get" || o == "keepttl") return Access::kReadWrite;
    }
    return Access::kBlindWrite;
  }
  return Access::kReadWrite;
}

void RunSplitParts(const CommandSpec& spec, Context& ctx,
                   FunctionRef<uint32_t(std::string_view key)> where,
                   FunctionRef<void(Context& part_ctx, std::string& part_reply)> run) {
  if (spec.merge == net::command::MergeKind::kNone) {
    ctx.w.Error("CROSSSLOT Keys in request don't hash to the same node (" + std::string(spec.name) +
                " needs all its keys on one node)");
    return;
  }
  const net::command::KeySplit split = net::command::SplitKeys(spec, ctx.args, where);
  std::vector<std::string> replies;
  replies.reserve(split.parts.size());
  for (const net::command::SplitPart& p : split.parts) {
    std::string& part = replies.emplace_back();
    net::resp::ReplyWriter w(part);
    Context part_ctx{ctx.engine, ctx.hlc,     ctx.metrics, ctx.state, ctx.options,
                     ctx.run_id, ctx.session, w,           p.args,    ctx.now_ms};
    run(part_ctx, part);
    if (!part.empty() && part[0] == '-') break;  // the first failure is the answer
  }
  const std::string bad_shape =
      "-ERR unexpected reply from a node serving part of " + std::string(spec.name) + "\r\n";
  ctx.w.Raw(net::command::MergeReplies(spec.merge, split.where, replies, bad_shape));
}

void RunPlaced(const CommandSpec& spec, Context& ctx, uint32_t mode, std::string& out,
               size_t reply_start) {
  if (mode & ClusterView::kAwait) {
    ctx.w.Error(ErrorLine("TRYAGAIN ", ctx.options.view->await_reason()));
    return;
  }
  if (mode & ClusterView::kReplicas) {
    RunReplicated(spec, ctx, out, reply_start, 0);
    return;
  }
  if (mode == ClusterView::kFence) {
    // A map and no migration: the common case costs one hash + ring lookup per key.
    const ClusterView& view = *ctx.options.view;
    bool here = true;
    ForEachKey(spec, ctx.args, [&](std::string_view k) { return here = view.FastHere(k); });
    if (here) {
      spec.handler(ctx);
      return;
    }
  }
  Route(spec, ctx, out, reply_start, 0);
}

}  // namespace ringkv::node::internal
