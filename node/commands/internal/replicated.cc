#include "node/commands/internal/replicated.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/thread_annotations.h"
#include "cluster/cluster_map.h"
#include "net/event_loop.h"
#include "net/resp/resp_writer.h"
#include "node/commands/forward_link.h"
#include "node/commands/internal/placement.h"
#include "node/commands/internal/replica_sets.h"
#include "node/replication/replica_entry.h"
#include "node/replication/replication.h"
#include "node/view/boundary.h"
#include "node/view/cluster_view.h"

namespace ringkv::node::internal {
namespace {

// A forward that failed in transport (the peer did not answer in time or
// refused the connection) rather than with the command's own error.
bool Unreachable(std::string_view reply) {
  return reply.rfind("-TRYAGAIN forward to node ", 0) == 0;
}

// RINGKV.APPLY refuses some of its keys (docs/security.md, "Validation at
// the boundary"): "-REFUSED <i>[,<j>...] <why>", the 0-based positions of
// the refused keys among the command's keys and the first one's reason. The
// other keys were applied; the sender counts no ack for a refused one.
constexpr std::string_view kRefused = "REFUSED ";

bool IsRefusal(const Status& s) {
  return s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kOutOfRange;
}

std::string RefusedLine(std::span<const size_t> refused, std::string_view why) {
  std::string line(kRefused);
  for (size_t i = 0; i < refused.size(); ++i) {
    if (i > 0) line.push_back(',');
    line.append(std::to_string(refused[i]));
  }
  line.push_back(' ');
  for (char c : why) line.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return line;
}

// The positions a "-REFUSED ..." reply names, sorted; nullopt for any other
// reply.
std::optional<std::vector<size_t>> RefusedKeys(std::string_view reply) {
  if (!reply.starts_with('-') || !reply.substr(1).starts_with(kRefused)) return std::nullopt;
  std::string_view list = reply.substr(1 + kRefused.size());
  list = list.substr(0, list.find_first_of(" \r"));
  std::vector<size_t> out;
  while (!list.empty()) {
    const std::string_view item = list.substr(0, list.find(','));
    size_t at = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), at);
    if (ec != std::errc() || end != item.data() + item.size()) return std::nullopt;
    out.push_back(at);
    list.remove_prefix(std::min(list.size(), item.size() + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A replica write of `key` is refused, counted and logged (rate-limited)
// unless the map or a migration under way places the key here.
Status CheckReplicaWrite(Context& ctx, const ClusterSnapshot& view, const RoleSnapshot* roles,
                         std::string_view key) {
  if (ReplicaWriteAllowed(view, roles, key)) return OkStatus();
  Status s(StatusCode::kPermissionDenied,
           "replica write of key '" + std::string(key.substr(0, 64)) + "': map epoch " +
               std::to_string(view.epoch) +
               " does not place it on this node, nor does a migration under way here; refused");
  ctx.metrics.cluster().refused.Count(Refusal::kOutsideArcs, s.message(), ctx.now_ms);
  return s;
}

std::vector<KeyPlan> PlanKeys(const CommandSpec& spec, std::span<const std::string_view> args,
                              const ClusterSnapshot& view) {
  std::vector<KeyPlan> plans;
  ForEachKeyIndex(spec, args.size(), [&](size_t i) {
    plans.push_back(PlanKey(view, args[i]));
    return true;
  });
  return plans;
}

std::string ErrorLine(std::string_view prefix, std::string_view message) {
  std::string line("-");
  line.append(prefix);
  for (char c : message) line.push_back(c == '\r' || c == '\n' ? ' ' : c);
  line.append("\r\n");
  return line;
}

// Everything a command needs after Execute returned: copies of its
// arguments and session, references to what the Dispatcher owns (it outlives
// every forward: Forwarder::Drain).
struct Job {
  const CommandSpec& spec;
  store::Engine& engine;
  HybridClock& hlc;
  Metrics& metrics;
  ServerState& state;
  const DispatcherOptions& options;
  std::string_view run_id;
  Session session;                      // without `defer`
  std::string bytes;                    // the arguments, back to back
  std::vector<std::string_view> views;  // each argument, into `bytes`
  int64_t now_ms;

  Job(const CommandSpec& s, const Context& ctx)
      : spec(s),
        engine(ctx.engine),
        hlc(ctx.hlc),
        metrics(ctx.metrics),
        state(ctx.state),
        options(ctx.options),
        run_id(ctx.run_id),
        session(ctx.session),
        now_ms(ctx.now_ms) {
    session.defer = nullptr;
    // Two allocations, whatever the number of arguments.
    size_t size = 0;
    for (std::string_view a : ctx.args) size += a.size();
    bytes.reserve(size);
    for (std::string_view a : ctx.args) bytes.append(a);
    views.reserve(ctx.args.size());
    size_t at = 0;
    for (std::string_view a : ctx.args) {
      views.emplace_back(bytes.data() + at, a.size());
      at += a.size();
    }
  }
  Job(const Job&) = delete;  // `views` point into `bytes`
  Job& operator=(const Job&) = delete;

  // Runs the handler here, appending its reply to `out`.
  void RunHere(std::string& out) {
    net::resp::ReplyWriter w(out);
    Context ctx{engine, hlc, metrics, state, options, run_id, session, w, views, now_ms};
    spec.handler(ctx);
  }
};

// Where a reply goes: a deferred completion, or a waiting caller.
class Sink {
 public:
  // A deferred reply: errors are counted here (Execute has returned).
  Sink(ReplyCompletion complete, Metrics& metrics)
      : complete_(std::move(complete)), metrics_(&metrics) {}
  Sink() = default;

  void Finish(std::string reply) EXCLUDES(mu_) {
    if (complete_) {
      if (!reply.empty() && reply[0] == '-') metrics_->CountError();
      complete_(std::move(reply));
      return;
    }
    MutexLock lock(mu_);
    reply_ = std::move(reply);
    done_ = true;
    cv_.NotifyAll();
  }
  std::string Wait() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (!done_) cv_.Wait(mu_);
    return std::move(reply_);
  }

 private:
  ReplyCompletion complete_;
  Metrics* metrics_ = nullptr;
  Mutex mu_;
  CondVar cv_;
  bool done_ GUARDED_BY(mu_) = false;
  std::string reply_ GUARDED_BY(mu_);
};

// RINGKV.APPLY's arguments per key (AppendApplyArgs): key version kind
// expire_at_ms value.
constexpr size_t kApplyArgsPerKey = 5;

class Round;

// The RINGKV.PEEKs and RINGKV.APPLYs that the commands coordinated on one
// event-loop thread send to one peer during one turn of the loop, sent as one
// command per peer and kind at the end of the turn (docs/replication.md,
// "How a request runs"). Each key costs what it did; what a command costs on the
// link (its request and reply on the wire, its dispatch on the peer, the
// reply's decoding and the callback) is paid once per peer and turn instead
// of once per client command. Off an event loop (a worker thread) a call is
// sent at once.
//
// Thread safety: each thread has its own pending calls; replies arrive on
// any thread.
class ReplicaCalls {
 public:
  enum class Kind : uint8_t { kPeek, kApply };

  // Adds `args` (`nkeys` keys, or their RINGKV.APPLY arguments) to this
  // thread's call of `kind` to `peer`. Its part of the reply goes to
  // round->OnPeek or round->OnApplyReply with `pi`. `args` must stay valid
  // while `round` lives.
  static void Add(Kind kind, ForwardLink& link, std::shared_ptr<Round> round,
                  const std::shared_ptr<const ClusterSnapshot>& view, uint32_t peer, size_t pi,
                  std::span<const std::string_view> args, size_t nkeys);
  // Sends what this thread holds (before it waits for a reply itself).
  static void Flush();

 private:
  // A call is sent early when it grows past either bound.
  static constexpr size_t kMaxKeys = 512;
  static constexpr size_t kMaxBytes = 1 << 20;

  struct Part {
    std::shared_ptr<Round> round;
    uint32_t pi = 0;
    uint32_t nkeys = 0;
  };
  struct Call {
    Kind kind = Kind::kPeek;
    ForwardLink* link = nullptr;
    std::shared_ptr<const ClusterSnapshot> view;
    uint32_t peer = 0;
    std::vector<std::string_view> args;  // the command's name first
    std::vector<Part> parts;
    size_t keys = 0;
    size_t bytes = 0;
  };
  // A call on its way: what its reply is handed to.
  struct Sent {
    std::vector<std::string_view> args;
    std::vector<Part> parts;
  };
  struct Pending {
    std::vector<Call> calls;
    bool scheduled = false;  // a Flush waits for the end of the loop's turn
  };

  static Pending& Here() {
    thread_local Pending pending;
    return pending;
  }
  static void Send(Call call);
  // Out of line: GCC 12 sees the reply string moved into std::function's call
  // as maybe-uninitialized when this is inlined into the lambda.
  [[gnu::noinline]] static void Deliver(Kind kind, uint32_t peer, const Sent& sent,
                                        std::string_view reply);
};

// The read rounds of one event-loop thread that asked only some of their
// replicas: once `delay` has passed without their answers, the rest are
// asked (a stalled replica then delays a read by the delay, not by the peer
// link's timeout). A timer of the loop checks them every kTickMs.
//
// Thread safety: each thread has its own list, used on that thread only.
class SpeculativeReads {
 public:
  static void Watch(const std::shared_ptr<Round>& round, uint32_t delay_ms);

 private:
  static constexpr std::chrono::milliseconds kTickMs{5};
  struct Watched {
    std::chrono::steady_clock::time_point due;
    std::weak_ptr<Round> round;
  };
  struct Here {
    std::vector<Watched> rounds;
    bool ticking = false;  // the loop's timer is set
  };
  static Here& Mine() {
    thread_local Here here;
    return here;
  }
  static void Tick();
};

// One coordinated command: optional read round, the command here, optional
// write round. Callbacks arrive on any thread; each phase starts once.
class Round : public std::enable_shared_from_this<Round> {
 public:
  Round(const CommandSpec& spec, const Context& ctx, std::shared_ptr<const ClusterSnapshot> view,
        std::vector<KeyPlan> plans, Access access, std::shared_ptr<Sink> sink)
      : job_(spec, ctx),
        view_(std::move(view)),
        access_(access),
        sink_(std::move(sink)),
        link_(ctx.options.forward),
        replication_(ctx.options.replication) {
    keys_.resize(plans.size());
    for (size_t k = 0; k < plans.size(); ++k) Plan(keys_[k], plans[k], ctx);
    if (access_ != Access::kBlindWrite && NeedsReadRound()) reads_ = GroupByPeer(/*reads=*/true);
    if (access_ != Access::kRead) writes_ = GroupByPeer(/*reads=*/false);
  }

  void Start() {
    // Refuse before anything is applied when too few replicas are believed up.
    for (const KeyState& ks : keys_) {
      for (size_t set = 0; set < 2; ++set) {
        uint32_t need = ks.need_write[set];
        if (set == ks.ReadIndex()) need = std::max(need, ks.need_read);
        uint32_t live = 0;
        for (size_t i = 0; i < ks.npeers; ++i) {
          if ((ks.sets[i] & KeyState::Bit(set)) == 0) continue;
          live += Live(*view_, replication_, ks.peers[i]) ? 1 : 0;
        }
        if (live < need) {
          Count(&ReplicationCounters::no_quorum);
          return Finish(ErrorLine("NOREPLICAS ", NotEnough(ks, set, need, live)));
        }
      }
    }
    if (access_ == Access::kBlindWrite || !NeedsReadRound()) return RunHere();
    ReadRound();
  }

 private:
  // A key's replicas while sets move: the old set and the new one, this
  // node possibly among them.
  static constexpr size_t kMaxPeers = size_t{2} * cluster::kMaxReplication;
  static_assert(kMaxPeers >= std::tuple_size_v<decltype(KeyPlan::replicas)>);

  // Write counters are per replica set: [0] the old one, [1] the new one
  // (the same nodes without a replica move). A write is acknowledged once
  // write_consistency of each set holds it.
  //
  // Fixed-size parts, so that a round allocates little per key: a
  // coordinator runs one per command, and at -P 16 allocations it shares
  // with the links' thread were a fifth of its CPU time.
  struct KeyState {
    std::string_view key;                     // into job_.bytes
    std::array<uint32_t, kMaxPeers> peers{};  // the other replicas, `npeers` of them
    std::array<uint8_t, kMaxPeers> sets{};    // per peer: kOldSet | kNewSet
    uint32_t npeers = 0;
    uint8_t self_sets = 0;  // this node's sets (0: it coordinates from off the lists)
    uint8_t read_set = kNewSet;
    bool moving = false;                   // the old and the new set differ
    std::array<uint32_t, 2> size{};        // replicas in each set, this node included
    uint32_t need_read = 0;                // answers wanted from peers of read_set before running
    std::array<uint32_t, 2> need_write{};  // acknowledgements wanted from peers of each set
    uint32_t read_ok = 0, read_failed = 0;
    std::array<uint32_t, 2> acks{}, write_failed{};
    // (peer, version it holds; 0 = nothing), `nseen` of them
    std::array<std::pair<uint32_t, uint64_t>, kMaxPeers> seen{};
    uint32_t nseen = 0;

    static uint8_t Bit(size_t set) { return set == 0 ? kOldSet : kNewSet; }
    size_t ReadIndex() const { return read_set == kOldSet ? 0 : 1; }
    uint32_t SelfIn(size_t set) const { return (self_sets & Bit(set)) != 0 ? 1 : 0; }
    uint32_t PeersIn(size_t set) const {
      return static_cast<uint32_t>(std::count_if(sets.begin(), sets.begin() + npeers,
                                                 [&](uint8_t s) { return (s & Bit(set)) != 0; }));
    }
    uint8_t SetsOf(uint32_t peer) const {
      for (size_t i = 0; i < npeers; ++i) {
        if (peers[i] == peer) return sets[i];
      }
      return 0;
    }
  };

  // The peers of a round's keys, in ascending order, each with the indices
  // of its keys: keys[first, first + count).
  struct PeerKeys {
    uint32_t peer = 0;
    uint32_t first = 0;
    uint32_t count = 0;
  };
  struct PeerGroups {
    std::vector<PeerKeys> peers;
    std::vector<uint32_t> keys;

    std::span<const uint32_t> KeysOf(size_t pi) const {
      return {keys.data() + peers[pi].first, peers[pi].count};
    }
  };

  void Plan(KeyState& ks, const KeyPlan& p, const Context& ctx) const {
    const cluster::ClusterMap& map = *view_->map;
    ks.key = OwnedKey(ctx, p.key);
    for (uint32_t i = 0; i < p.n; ++i) {
      if (p.replicas[i] == view_->self) {
        ks.self_sets = p.sets[i];
        continue;
      }
      ks.peers[ks.npeers] = p.replicas[i];
      ks.sets[ks.npeers] = p.sets[i];
      ++ks.npeers;
    }
    ks.read_set = p.read_set;
    ks.moving =
        std::any_of(p.sets.begin(), p.sets.begin() + p.n, [](uint8_t s) { return s != kBothSets; });
    ks.size = {p.n_old, p.n_new};
    const uint32_t n_read = ks.size[ks.ReadIndex()];
    const uint32_t w_read = cluster::Required(map.write_consistency, n_read);
    uint32_t r = cluster::Required(map.read_consistency, n_read);
    if (access_ == Access::kReadWrite) r = std::max(r, n_read - w_read + 1);
    ks.need_read = access_ == Access::kBlindWrite ? 0 : r - ks.SelfIn(ks.ReadIndex());
    for (size_t set = 0; set < 2; ++set) {
      const uint32_t w = cluster::Required(map.write_consistency, ks.size[set]);
      ks.need_write[set] = access_ == Access::kRead ? 0 : w - ks.SelfIn(set);
    }
  }

  // `key` (a plan's: it points into the caller's arguments) as job_'s copy.
  std::string_view OwnedKey(const Context& ctx, std::string_view key) const {
    for (size_t i = 0; i < ctx.args.size(); ++i) {
      if (ctx.args[i].data() == key.data()) return job_.views[i];
    }
    for (std::string_view a : job_.views) {
      if (a == key) return a;
    }
    return key;  // not reached: a plan's keys are the command's arguments
  }

  // "'k' needs 2 of its 3 replicas (consistency quorum), 1 reachable", of
  // `set` (a KeyState index) while replica sets move.
  std::string NotEnough(const KeyState& ks, size_t set, uint32_t need, uint32_t got) const {
    const uint32_t self = ks.SelfIn(set);
    return "'" + std::string(ks.key.substr(0, 64)) + "' needs " + std::to_string(need + self) +
           " of its " + std::to_string(ks.size[set]) +
           (ks.moving ? (set == 0 ? " old" : " new") : "") + " replicas (consistency " +
           std::string(cluster::ConsistencyName(access_ == Access::kRead
                                                    ? view_->map->read_consistency
                                                    : view_->map->write_consistency)) +
           "), " + std::to_string(got + self) + " reachable";
  }

  void Count(std::atomic<uint64_t> ReplicationCounters::*c) {
    if (replication_ != nullptr)
      (replication_->counters().*c).fetch_add(1, std::memory_order_relaxed);
  }

  bool NeedsReadRound() const {
    return std::any_of(keys_.begin(), keys_.end(),
                       [](const KeyState& k) { return k.need_read > 0; });
  }

  // The peers of the command's keys, each with the indices of its keys;
  // `reads`: only the peers of each key's read set. Once per phase, in the
  // constructor, in three allocations.
  PeerGroups GroupByPeer(bool reads) const {
    std::vector<std::pair<uint32_t, uint32_t>> pairs;  // (peer, key index)
    size_t total = 0;
    for (const KeyState& ks : keys_) total += ks.npeers;
    pairs.reserve(total);
    for (uint32_t k = 0; k < keys_.size(); ++k) {
      const KeyState& ks = keys_[k];
      for (size_t i = 0; i < ks.npeers; ++i) {
        if (!reads || (ks.sets[i] & ks.read_set) != 0) pairs.emplace_back(ks.peers[i], k);
      }
    }
    std::sort(pairs.begin(), pairs.end());
    PeerGroups g;
    g.keys.reserve(pairs.size());
    for (const auto& [peer, k] : pairs) {
      if (g.peers.empty() || g.peers.back().peer != peer) {
        g.peers.push_back(PeerKeys{peer, static_cast<uint32_t>(g.keys.size()), 0});
      }
      g.keys.push_back(k);
      ++g.peers.back().count;
    }
    return g;
  }

  // --- Read round: RINGKV.PEEK to the replicas each key needs (need_read of
  // its live peers, in preference order), and to the others once one of
  // those fails or is slow (AskTheRest); go on once each key has need_read
  // answers. Without a delay for the rest (or off an event loop, where
  // nothing would wake this round up) every live peer is asked at once.
  void ReadRound() {
    Count(&ReplicationCounters::reads);
    const uint32_t delay_ms = job_.options.speculative_read_ms;
    const bool partial = delay_ms > 0 && net::EventLoop::Current() != nullptr;
    std::vector<uint32_t> now;
    bool rest = false;
    {
      MutexLock lock(mu_);
      asked_.assign(reads_.peers.size(), 0);
      if (partial) {
        for (const KeyState& ks : keys_) {
          uint32_t chosen = 0;
          for (size_t i = 0; i < ks.npeers && chosen < ks.need_read; ++i) {
            if ((ks.sets[i] & ks.read_set) == 0 || !Live(*view_, replication_, ks.peers[i])) {
              continue;
            }
            asked_[ReadGroupOf(ks.peers[i])] = 1;
            ++chosen;
          }
        }
      }
      for (size_t pi = 0; pi < reads_.peers.size(); ++pi) {
        const bool live = Live(*view_, replication_, reads_.peers[pi].peer);
        if (!live || !partial || asked_[pi] != 0) {
          asked_[pi] = 1;
          now.push_back(static_cast<uint32_t>(pi));
        } else {
          rest = true;
        }
      }
    }
    if (rest) SpeculativeReads::Watch(shared_from_this(), delay_ms);
    Ask(now);
  }

  // Sends the read round's RINGKV.PEEK to each group in `groups` (indices of
  // reads_.peers); one not believed live fails at once.
  void Ask(std::span<const uint32_t> groups) {
    std::vector<std::string_view> keys;
    for (uint32_t pi : groups) {
      const uint32_t peer = reads_.peers[pi].peer;
      if (!Live(*view_, replication_, peer)) {
        OnPeek(pi, nullptr);
        continue;
      }
      keys.clear();
      for (uint32_t k : reads_.KeysOf(pi)) keys.push_back(keys_[k].key);
      ReplicaCalls::Add(ReplicaCalls::Kind::kPeek, *link_, shared_from_this(), view_, peer, pi,
                        keys, keys.size());
    }
  }

  // The index of reads_.peers that holds `peer`.
  size_t ReadGroupOf(uint32_t peer) const {
    for (size_t pi = 0; pi < reads_.peers.size(); ++pi) {
      if (reads_.peers[pi].peer == peer) return pi;
    }
    return 0;  // not reached: every read-set peer has a group
  }

 public:
  // What peer `pi` (an index of reads_.peers) holds of its keys, in order:
  // `entries` has one element per key; nullptr when it did not answer.
  void OnPeek(size_t pi, const std::optional<ReplicaEntry>* entries) {
    const uint32_t peer = reads_.peers[pi].peer;
    const std::span<const uint32_t> ks = reads_.KeysOf(pi);
    std::string failure;
    bool more = false;
    {
      MutexLock lock(mu_);
      if (phase_ != Phase::kReading) return;  // late: the command ran already
      // Take what is newer than this node's copy (this node's own read
      // repair), under the lock: nothing lands once the command runs.
      for (size_t i = 0; entries != nullptr && i < ks.size(); ++i) {
        const std::optional<ReplicaEntry>& e = entries[i];
        if (!e) continue;
        bool installed = false;
        if (InstallIfNewer(job_.engine, job_.hlc, keys_[ks[i]].key, *e, job_.now_ms, &installed)
                .ok() &&
            installed) {
          Count(&ReplicationCounters::read_repairs);
        }
      }
      for (size_t i = 0; i < ks.size(); ++i) {
        KeyState& s = keys_[ks[i]];
        if (entries != nullptr) {
          ++s.read_ok;
          const std::optional<ReplicaEntry>& e = entries[i];
          if (s.nseen < s.seen.size()) s.seen[s.nseen++] = {peer, e ? e->version() : 0};
        } else {
          ++s.read_failed;
        }
      }
      bool all = true;
      for (const KeyState& s : keys_) {
        if (s.read_ok >= s.need_read) continue;
        all = false;
        const uint32_t pending = s.PeersIn(s.ReadIndex()) - s.read_ok - s.read_failed;
        if (s.read_ok + pending < s.need_read) {
          failure = NotEnough(s, s.ReadIndex(), s.need_read, s.read_ok);
        }
      }
      if (!all && failure.empty()) {
        more = entries == nullptr;  // an asked replica failed: ask the others now
        if (!more) return;          // more answers to wait for
      } else {
        phase_ = Phase::kRunning;
      }
    }
    if (more) return AskTheRest();
    if (!failure.empty()) {
      Count(&ReplicationCounters::no_quorum);
      return Finish(ErrorLine("TRYAGAIN ", failure));
    }
    RunHere();
  }

  // Asks the read round's peers not asked yet (one asked failed, or is slow).
  void AskTheRest() {
    std::vector<uint32_t> rest;
    {
      MutexLock lock(mu_);
      if (phase_ != Phase::kReading) return;
      for (size_t pi = 0; pi < asked_.size(); ++pi) {
        if (asked_[pi] != 0) continue;
        asked_[pi] = 1;
        rest.push_back(static_cast<uint32_t>(pi));
      }
    }
    if (rest.empty()) return;
    Count(&ReplicationCounters::speculative_reads);
    Ask(rest);
  }

  store::Engine& engine() { return job_.engine; }

  // Peer `peer` failed a call in transport: route around it for a while.
  void PeerFailed(uint32_t peer) {
    Count(&ReplicationCounters::replica_fails);
    if (replication_ != nullptr) replication_->Suspect(view_->NodeId(peer));
  }
  // Peer `peer` answered a call.
  void PeerAnswered(uint32_t peer) {
    if (replication_ != nullptr) replication_->Clear(view_->NodeId(peer));
  }

 private:
  // --- The command, here, once.
  void RunHere() {
    {
      MutexLock lock(mu_);
      phase_ = Phase::kRunning;
    }
    std::string reply;
    job_.RunHere(reply);
    if (access_ == Access::kRead) {
      RepairStale();
      return Finish(std::move(reply));
    }
    if (!reply.empty() && reply[0] == '-') return Finish(std::move(reply));  // nothing written
    reply_ = std::move(reply);
    WriteRound();
  }

  // Sends this node's entry of each key to the replicas that answered an
  // older one. Nobody waits for these.
  void RepairStale() {
    std::map<uint32_t, std::vector<std::string>> to;
    {
      MutexLock lock(mu_);
      for (const KeyState& s : keys_) {
        if (s.nseen == 0) continue;
        std::optional<ReplicaEntry> mine = PeekLocal(job_.engine, s.key, job_.now_ms);
        if (!mine) continue;
        for (uint32_t i = 0; i < s.nseen; ++i) {
          const auto [peer, version] = s.seen[i];
          if (version >= mine->version()) continue;
          std::vector<std::string>& args = to[peer];
          if (args.empty()) args.emplace_back("ringkv.apply");
          AppendApplyArgs(args, s.key, *mine);
          Count(&ReplicationCounters::read_repairs);
        }
      }
    }
    for (auto& [peer, args] : to) {
      std::vector<std::string_view> views(args.begin(), args.end());
      link_->ForwardAsync(*view_, peer, views, [](ForwardLink::Outcome, const std::string&) {});
    }
  }

  // --- Write round: the result of each key to every other replica.
  void WriteRound() {
    Count(&ReplicationCounters::writes);
    // What each key holds now: the command's entry, or its tombstone (a
    // delete leaves one: DeleteKey). A key with neither was absent before and
    // after; there is nothing to send for it.
    std::vector<std::optional<ReplicaEntry>> result(keys_.size());
    for (size_t k = 0; k < keys_.size(); ++k) {
      result[k] = PeekLocal(job_.engine, keys_[k].key, job_.now_ms);
      if (!result[k]) {
        MutexLock lock(mu_);
        keys_[k].need_write = {0, 0};
      }
    }
    {
      MutexLock lock(mu_);
      phase_ = Phase::kWriting;
    }
    if (std::all_of(keys_.begin(), keys_.end(), [](const KeyState& s) {
          return s.need_write[0] == 0 && s.need_write[1] == 0;
        })) {
      Finish(std::move(reply_));  // consistency one: answered now, replicas follow
    }
    // Each key's RINGKV.APPLY arguments, encoded once for all its peers; the
    // calls point into apply_args_ (this round outlives them).
    std::vector<size_t> at(keys_.size(), SIZE_MAX);
    for (size_t k = 0; k < keys_.size(); ++k) {
      if (!result[k]) continue;
      at[k] = apply_args_.size();
      AppendApplyArgs(apply_args_, keys_[k].key, *result[k]);
    }
    std::vector<std::string_view> args;
    for (size_t pi = 0; pi < writes_.peers.size(); ++pi) {
      const uint32_t peer = writes_.peers[pi].peer;
      if (!Live(*view_, replication_, peer)) {
        OnApplied(pi, false);
        continue;
      }
      args.clear();
      for (uint32_t k : writes_.KeysOf(pi)) {
        if (at[k] == SIZE_MAX) continue;
        for (size_t i = at[k]; i < at[k] + kApplyArgsPerKey; ++i) args.push_back(apply_args_[i]);
      }
      if (args.empty()) {
        OnApplied(pi, true);
        continue;
      }
      ReplicaCalls::Add(ReplicaCalls::Kind::kApply, *link_, shared_from_this(), view_, peer, pi,
                        args, args.size() / kApplyArgsPerKey);
    }
  }

 public:
  // Peer `pi` (an index of writes_.peers) answered the RINGKV.APPLY that
  // carried its keys: `ok`, or the failure `why`. `refused`: the peer
  // refused some of them (its map does not place them there), so no ack
  // counts from it and no hint is kept for it: a hint would be refused again.
  void OnApplyReply(size_t pi, bool ok, std::string_view why, bool refused = false) {
    if (!ok) {
      MutexLock lock(mu_);
      if (last_failure_.empty()) last_failure_ = std::string(why);
    }
    OnApplied(pi, ok, /*hint=*/!refused);
  }

 private:
  // `pi`: an index of writes_.peers. `hint`: keep a hint when not `ok`.
  void OnApplied(size_t pi, bool ok, bool hint = true) {
    const uint32_t peer = writes_.peers[pi].peer;
    const std::span<const uint32_t> ks = writes_.KeysOf(pi);
    const std::string& peer_id = view_->NodeId(peer);
    if (ok) {
      Count(&ReplicationCounters::replica_acks);
    } else if (replication_ != nullptr && hint) {
      for (size_t k : ks) replication_->AddHint(peer_id, keys_[k].key);
    }
    std::string failure;
    {
      MutexLock lock(mu_);
      for (size_t k : ks) {
        KeyState& s = keys_[k];
        const uint8_t sets = s.SetsOf(peer);
        for (size_t set = 0; set < 2; ++set) {
          if ((sets & KeyState::Bit(set)) != 0) ++(ok ? s.acks[set] : s.write_failed[set]);
        }
      }
      if (phase_ != Phase::kWriting) return;
      bool all = true;
      for (const KeyState& s : keys_) {
        for (size_t set = 0; set < 2; ++set) {
          if (s.acks[set] >= s.need_write[set]) continue;
          all = false;
          const uint32_t pending = s.PeersIn(set) - s.acks[set] - s.write_failed[set];
          if (s.acks[set] + pending < s.need_write[set]) {
            failure = NotEnough(s, set, s.need_write[set], s.acks[set]);
          }
        }
      }
      if (!all && failure.empty()) return;
      phase_ = Phase::kDone;
    }
    if (!failure.empty()) {
      Count(&ReplicationCounters::no_quorum);
      std::string why;
      {
        MutexLock lock(mu_);
        why = last_failure_;
      }
      return Finish(ErrorLine("NOREPLICAS ", failure + "; the write may be applied on some" +
                                                 (why.empty() ? "" : " (" + why + ")")));
    }
    Finish(std::move(reply_));
  }

  void Finish(std::string reply) {
    if (finished_.exchange(true)) return;
    {
      MutexLock lock(mu_);
      phase_ = Phase::kDone;
    }
    sink_->Finish(std::move(reply));
  }

  enum class Phase : uint8_t { kReading, kRunning, kWriting, kDone };

  Job job_;
  const std::shared_ptr<const ClusterSnapshot> view_;
  const Access access_;
  const std::shared_ptr<Sink> sink_;
  ForwardLink* const link_;
  Replication* const replication_;
  std::atomic<bool> finished_{false};
  Mutex mu_;
  Phase phase_ GUARDED_BY(mu_) = Phase::kReading;
  std::vector<KeyState> keys_;  // counters GUARDED_BY(mu_); the rest fixed after construction
  PeerGroups reads_;            // the read round's peers; fixed after construction
  std::vector<uint8_t> asked_ GUARDED_BY(mu_);  // per reads_ group: its PEEK was sent
  PeerGroups writes_;                           // the write round's peers; fixed after construction
  std::string reply_;                    // the command's reply, held until the write round ends
  std::vector<std::string> apply_args_;  // the write round's RINGKV.APPLY arguments
  std::string last_failure_ GUARDED_BY(mu_);  // the first replica error, for the client
};

void SpeculativeReads::Watch(const std::shared_ptr<Round>& round, uint32_t delay_ms) {
  net::EventLoop* loop = net::EventLoop::Current();
  Here& here = Mine();
  here.rounds.push_back(
      Watched{std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms), round});
  if (!here.ticking) {
    here.ticking = true;
    loop->Every(kTickMs, [] { Tick(); });
  }
}

void SpeculativeReads::Tick() {
  Here& here = Mine();
  if (here.rounds.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Round>> due;
  std::erase_if(here.rounds, [&](const Watched& w) {
    if (w.due > now) return false;
    if (auto r = w.round.lock()) due.push_back(std::move(r));
    return true;
  });
  for (const auto& r : due) r->AskTheRest();
}

void ReplicaCalls::Add(Kind kind, ForwardLink& link, std::shared_ptr<Round> round,
                       const std::shared_ptr<const ClusterSnapshot>& view, uint32_t peer, size_t pi,
                       std::span<const std::string_view> args, size_t nkeys) {
  net::EventLoop* loop = net::EventLoop::Current();
  Pending& here = Here();
  auto it = std::find_if(here.calls.begin(), here.calls.end(), [&](const Call& c) {
    return c.kind == kind && c.link == &link && c.view == view && c.peer == peer;
  });
  if (it == here.calls.end()) {
    Call c;
    c.kind = kind;
    c.link = &link;
    c.view = view;
    c.peer = peer;
    c.args.push_back(kind == Kind::kPeek ? "ringkv.peek" : "ringkv.apply");
    here.calls.push_back(std::move(c));
    it = here.calls.end() - 1;
  }
  Call& call = *it;
  call.args.insert(call.args.end(), args.begin(), args.end());
  for (std::string_view a : args) call.bytes += a.size();
  call.keys += nkeys;
  call.parts.push_back(
      Part{std::move(round), static_cast<uint32_t>(pi), static_cast<uint32_t>(nkeys)});
  if (loop == nullptr || call.keys >= kMaxKeys || call.bytes >= kMaxBytes) {
    Call now = std::move(call);
    here.calls.erase(it);
    return Send(std::move(now));
  }
  if (!here.scheduled) {
    here.scheduled = true;
    loop->AtRoundEnd([] { Flush(); });
  }
}

void ReplicaCalls::Flush() {
  Pending& here = Here();
  here.scheduled = false;
  std::vector<Call> calls;
  calls.swap(here.calls);  // a reply delivered while sending may add calls
  for (Call& c : calls) Send(std::move(c));
}

void ReplicaCalls::Send(Call call) {
  // `sent` keeps the rounds, and so what the arguments point into, alive
  // until the reply has been handed out.
  auto sent = std::make_shared<Sent>(Sent{std::move(call.args), std::move(call.parts)});
  call.link->ForwardAsync(
      *call.view, call.peer, sent->args,
      [kind = call.kind, peer = call.peer, sent](ForwardLink::Outcome, const std::string& reply) {
        Deliver(kind, peer, *sent, reply);
      });
}

void ReplicaCalls::Deliver(Kind kind, uint32_t peer, const Sent& sent, std::string_view reply) {
  const std::vector<Part>& parts = sent.parts;
  Round& first = *parts.front().round;
  if (kind == Kind::kApply) {
    const bool ok = reply.starts_with(':');
    const std::optional<std::vector<size_t>> refused = ok ? std::nullopt : RefusedKeys(reply);
    if (ok || refused) {
      first.PeerAnswered(peer);
    } else if (Unreachable(reply)) {
      first.PeerFailed(peer);
    }
    const std::string_view why = ok ? "" : reply.substr(1, reply.find('\r') - 1);
    if (!refused) {
      for (const Part& p : parts) p.round->OnApplyReply(p.pi, ok, why);
      return;
    }
    // Only the parts holding a refused key fail; the peer applied the rest.
    size_t first_key = 0;
    for (const Part& p : parts) {
      const auto in = std::lower_bound(refused->begin(), refused->end(), first_key);
      const bool part_refused = in != refused->end() && *in < first_key + p.nkeys;
      p.round->OnApplyReply(p.pi, !part_refused, part_refused ? why : "", part_refused);
      first_key += p.nkeys;
    }
    return;
  }
  size_t keys = 0;
  for (const Part& p : parts) keys += p.nkeys;
  auto decoded = DecodePeekReply(reply, keys);
  if (!decoded.ok()) {
    if (Unreachable(reply)) first.PeerFailed(peer);
    for (const Part& p : parts) p.round->OnPeek(p.pi, nullptr);
    return;
  }
  first.PeerAnswered(peer);
  // Each round installs what is newer than its own copy: the keys' lookups
  // here overlap.
  first.engine().Prefetch(std::span(sent.args).subspan(1));
  const std::optional<ReplicaEntry>* at = decoded->data();
  for (const Part& p : parts) {
    p.round->OnPeek(p.pi, at);
    at += p.nkeys;
  }
}

// Coordinates here: deferred when the shell allows (depth 0), else waits.
void Coordinate(const CommandSpec& spec, Context& ctx, std::shared_ptr<const ClusterSnapshot> view,
                std::vector<KeyPlan> plans, int depth) {
  const Access access = AccessOf(spec, ctx.args);
  const bool deferred = depth == 0 && static_cast<bool>(ctx.session.defer);
  auto sink = deferred ? std::make_shared<Sink>(ctx.session.defer(), ctx.metrics)
                       : std::make_shared<Sink>();
  auto round = std::make_shared<Round>(spec, ctx, std::move(view), std::move(plans), access, sink);
  round->Start();
  if (deferred) return;
  ReplicaCalls::Flush();  // before waiting on this thread
  ctx.options.forward->SendPending();
  ctx.w.Raw(sink->Wait());
}

// Sends the command to the first live replica of `plan` and, when that one
// does not answer, to the next (within this request).
class Failover : public std::enable_shared_from_this<Failover> {
 public:
  Failover(const CommandSpec& spec, const Context& ctx, std::shared_ptr<const ClusterSnapshot> view,
           const KeyPlan& plan, std::shared_ptr<Sink> sink)
      : job_(spec, ctx), view_(std::move(view)), plan_(plan), sink_(std::move(sink)) {
    plan_.key = {};  // points into the caller's arguments
  }

  void Start() { TryFrom(0); }

 private:
  void TryFrom(uint32_t from) {
    Replication* replication = job_.options.replication;
    // The first live replica at or after `from` (all believed down: try in order).
    uint32_t at = from;
    while (at < plan_.n && !Live(*view_, replication, plan_.replicas[at])) ++at;
    if (at == plan_.n) at = from;
    const uint32_t target = plan_.replicas[at];
    auto self = shared_from_this();
    job_.options.forward->ForwardAsync(
        *view_, target, job_.views,
        [self, at, target](ForwardLink::Outcome outcome, std::string reply) {
          self->OnReply(at, target, outcome, std::move(reply));
        });
  }

  void OnReply(uint32_t at, uint32_t target, ForwardLink::Outcome outcome, std::string reply) {
    Replication* replication = job_.options.replication;
    if (outcome == ForwardLink::Outcome::kRetry) {
      // A newer map: place again from scratch, here and synchronously.
      std::string out;
      net::resp::ReplyWriter w(out);
      Context ctx{job_.engine,  job_.hlc, job_.metrics, job_.state, job_.options, job_.run_id,
                  job_.session, w,        job_.views,   job_.now_ms};
      RunReplicated(job_.spec, ctx, out, 0, 1);
      return Finish(std::move(out));
    }
    if (Unreachable(reply) && at + 1 < plan_.n) {
      if (replication != nullptr) {
        replication->Suspect(view_->NodeId(target));
        replication->counters().failovers.fetch_add(1, std::memory_order_relaxed);
      }
      return TryFrom(at + 1);
    }
    Finish(std::move(reply));
  }

  void Finish(std::string reply) { sink_->Finish(std::move(reply)); }

  Job job_;
  std::shared_ptr<const ClusterSnapshot> view_;
  KeyPlan plan_;
  std::shared_ptr<Sink> sink_;
};

void Forward(const CommandSpec& spec, Context& ctx, std::shared_ptr<const ClusterSnapshot> view,
             const KeyPlan& plan, int depth) {
  const bool deferred = depth == 0 && static_cast<bool>(ctx.session.defer);
  auto sink = deferred ? std::make_shared<Sink>(ctx.session.defer(), ctx.metrics)
                       : std::make_shared<Sink>();
  std::make_shared<Failover>(spec, ctx, std::move(view), plan, sink)->Start();
  if (deferred) return;
  ctx.options.forward->SendPending();  // before waiting on this thread
  ctx.w.Raw(sink->Wait());
}

// A command whose keys have different coordinators: split by coordinator,
// parts run in order (each synchronously), replies merged in key order.
void Split(const CommandSpec& spec, Context& ctx, const ClusterSnapshot& view, int depth) {
  Replication* replication = ctx.options.replication;
  RunSplitParts(
      spec, ctx,
      [&](std::string_view key) -> uint32_t {
        const KeyPlan p = PlanKey(view, key);
        return p.here ? ring::kNoNode : Coordinator(view, replication, p);
      },
      [&](Context& part_ctx, std::string& part) {
        RunReplicated(spec, part_ctx, part, 0, depth + 1);
      });
}

}  // namespace

void RunReplicated(const CommandSpec& spec, Context& ctx, std::string& /*out*/,
                   size_t /*reply_start*/, int depth) {
  std::shared_ptr<const ClusterSnapshot> view = ctx.options.view->Snapshot();
  if (view->epoch == 0 || view->ring == nullptr || view->ring->empty()) {
    ctx.w.Error("CLUSTERDOWN cluster map epoch " + std::to_string(view->epoch) +
                " has no node in service");
    return;
  }
  std::vector<KeyPlan> plans = PlanKeys(spec, ctx.args, *view);
  if (plans.empty()) {
    spec.handler(ctx);
    return;
  }
  if (std::all_of(plans.begin(), plans.end(), [](const KeyPlan& p) { return p.here; })) {
    if (ctx.options.forward == nullptr) {
      spec.handler(ctx);  // no way to reach the other replicas: a node without peers
      return;
    }
    Coordinate(spec, ctx, std::move(view), std::move(plans), depth);
    return;
  }
  Replication* replication = ctx.options.replication;
  const KeyPlan* first_away = nullptr;
  bool one_coordinator = true;
  uint32_t coordinator = ring::kNoNode;
  for (const KeyPlan& p : plans) {
    const uint32_t c = p.here ? view->self : Coordinator(*view, replication, p);
    if (!p.here && first_away == nullptr) first_away = &p;
    if (coordinator == ring::kNoNode) coordinator = c;
    one_coordinator = one_coordinator && c == coordinator;
  }
  if (ctx.session.forwarded || ctx.options.forward == nullptr) {
    const uint32_t c = Coordinator(*view, replication, *first_away);
    ctx.w.Error("MOVED " + std::to_string(view->epoch) + " " + view->addrs[c]);
    return;
  }
  if (depth > 2) {
    ctx.w.Error("TRYAGAIN the cluster map changed while forwarding; retry the command");
    return;
  }
  if (one_coordinator) {
    Forward(spec, ctx, std::move(view), *first_away, depth);
    return;
  }
  Split(spec, ctx, *view, depth);
}

void ReplicaPeekCommand(Context& ctx) {
  // Read-only, so also a client's local-only read: what this node holds.
  ctx.engine.Prefetch(ctx.args.subspan(1));
  ctx.w.ArrayHeader(ctx.args.size() - 1);
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    WritePeekElement(ctx.w, PeekLocal(ctx.engine, ctx.args[i], ctx.now_ms));
  }
}

void AbandonOnCloseCommand(Context& ctx) {
  ctx.session.abandon_on_close = true;
  ctx.w.Ok();
}

void ReplicaApplyCommand(Context& ctx) {
  if (!ctx.session.forwarded) {
    ctx.w.Error("ERR RINGKV.APPLY is internal to the cluster");
    return;
  }
  std::vector<std::string_view> keys;
  for (size_t i = 1; i < ctx.args.size(); i += kApplyArgsPerKey) keys.push_back(ctx.args[i]);
  ctx.engine.Prefetch(keys);
  std::shared_ptr<const ClusterSnapshot> view;
  std::shared_ptr<const RoleSnapshot> roles;
  if (ctx.options.view != nullptr) view = ctx.options.view->Snapshot();
  if (ctx.options.migration != nullptr) roles = ctx.options.migration->Roles();
  int64_t installed = 0;
  Status failed;
  std::vector<size_t> refused;
  std::string why;  // the first refusal's reason
  size_t index = 0;
  Status parsed =
      ParseApplyArgs(ctx.args.subspan(1), [&](std::string_view key, const ReplicaEntry& e) {
        Status s = view == nullptr ? OkStatus() : CheckReplicaWrite(ctx, *view, roles.get(), key);
        bool did = false;
        if (s.ok()) s = InstallIfNewer(ctx.engine, ctx.hlc, key, e, ctx.now_ms, &did);
        if (IsRefusal(s)) {
          refused.push_back(index);
          if (why.empty()) why = s.message();
        } else if (!s.ok() && failed.ok()) {
          failed = s;
        }
        installed += did ? 1 : 0;
        ++index;
      });
  if (!parsed.ok()) {
    ctx.w.Error("ERR " + parsed.message());
    return;
  }
  if (ReplyIfError(ctx, failed)) return;
  if (!refused.empty()) {
    ctx.w.Error(RefusedLine(refused, why));
    return;
  }
  ctx.w.Integer(installed);
}

}  // namespace ringkv::node::internal
