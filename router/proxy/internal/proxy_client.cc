// ClientConn: the client half of the proxy's I/O shell.
#include <algorithm>

#include "net/resp/resp_parser.h"
#include "router/proxy/internal/proxy_io.h"

namespace ringkv::router::internal {

namespace {

// Hold a client (read and run nothing more) while this many of its commands
// await replies, or while this many reply bytes wait for it to read them.
constexpr size_t kMaxPendingSlots = size_t{64} * 1024;
constexpr size_t kMaxPendingOut = 64u << 20;
constexpr std::string_view kDbsizeCommand = "*1\r\n$6\r\nDBSIZE\r\n";

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace

ClientConn::ClientConn(Worker& worker, net::Connection& conn) : worker_(worker), conn_(&conn) {
  const ProxyOptions& o = *worker.ctx->options;
  local_.requirepass = &o.requirepass;
  local_.authenticated = o.requirepass.empty();
  local_.client_id = conn.id();
  local_.port = worker.ctx->clients->port();
  local_.maxclients = o.maxclients;
  conn.SetAuthenticated(local_.authenticated);
}

void ClientConn::OnClose() {
  conn_ = nullptr;
  slots_.clear();
}

void ClientConn::OnBatchStart(net::Connection& /*conn*/) {
  worker_.Refresh();
}

void ClientConn::OnRequest(net::Connection& conn, std::span<const std::string_view> args,
                           std::string_view raw) {
  ++batch_commands_;
  const bool was_authed = local_.authenticated;
  Dispatch(args, raw);
  if (local_.authenticated != was_authed) conn.SetAuthenticated(local_.authenticated);
  if (local_.close_after_reply) conn.CloseAfterReplies();
  if (slots_.size() >= kMaxPendingSlots) conn.Pause();
}

// Publishes the batch's counters; holds the client while too much is outstanding.
void ClientConn::OnBatchEnd(net::Connection& conn) {
  PublishCounts();
  if (slots_.size() >= kMaxPendingSlots || conn.unsent() >= kMaxPendingOut) conn.Pause();
}

void ClientConn::OnLoopError(net::Connection& /*conn*/, std::string_view reply) {
  AddError(reply);
  PublishCounts();
}

void ClientConn::PublishCounts() {
  ProxyStats& stats = *worker_.ctx->stats;
  if (batch_commands_) stats.commands.fetch_add(batch_commands_, std::memory_order_relaxed);
  if (batch_errors_) stats.errors.fetch_add(batch_errors_, std::memory_order_relaxed);
  batch_commands_ = batch_errors_ = 0;
}

// Everything ready was written: a held client is read again once half of
// what held it has drained.
void ClientConn::OnDrained(net::Connection& conn) {
  if (conn.held() && slots_.size() < kMaxPendingSlots / 2) conn.Resume();
}

void ClientConn::Dispatch(std::span<const std::string_view> args, std::string_view raw) {
  const CommandInfo& info = LookupCommand(args[0]);
  if (!local_.authenticated && info.local != LocalCommand::kAuth &&
      info.local != LocalCommand::kQuit) {
    return AddError(kNoAuthReply);
  }
  switch (info.kind) {
    case CommandKind::kSingleKey:
    case CommandKind::kMget:
    case CommandKind::kSumKeys:
      if (args.size() < 2) return AddError(ArityReply(args[0]));
      break;
    case CommandKind::kMset:
      if (args.size() < 3 || args.size() % 2 == 0) return AddError(ArityReply(args[0]));
      break;
    case CommandKind::kDbsize:
      return FanOut(kDbsizeCommand);
    case CommandKind::kLocal: {
      if (info.local == LocalCommand::kInfo) return AddReady(InfoReply(args, Facts()));
      std::string reply = LocalReply(info.local, args, local_);
      return reply[0] == '-' ? AddError(reply) : AddReady(reply);
    }
    case CommandKind::kUnsupported:
      return AddError(UnsupportedReply(args[0], info.reason));
  }
  const RouteTable* t = worker_.table.get();
  if (t == nullptr || t->backends.empty()) return AddError(kNoNodeReply);
  if (t->moves) {
    if (info.read_only && ReadFromOldOwners(info, args, raw)) return;
    if (MoveKeysFirst(info, args)) return;
  }
  Route(info, args, raw, std::nullopt);
}

void ClientConn::Route(const CommandInfo& info, std::span<const std::string_view> args,
                       std::string_view raw, std::optional<uint64_t> seq) {
  const RouteTable* t = worker_.table.get();
  if (t == nullptr || t->backends.empty()) {
    if (seq) return Complete(*seq, kNoNodeReply);
    return AddError(kNoNodeReply);
  }
  if (t->replication > 1) return SendToReplicas(info.kind, args, raw, seq);
  const RingView view{t->ring.get(), nullptr};
  switch (info.kind) {
    case CommandKind::kSingleKey:
      return Forward(worker_.ConnFor(t->ring->OwnerIndexOfKey(args[1])), raw, args, seq);
    case CommandKind::kMset:
      return SplitAndSend(info.kind, args, raw, 2, seq, view);
    default:
      return SplitAndSend(info.kind, args, raw, 1, seq, view);
  }
}

BackendConn& ClientConn::ConnOf(const RingView& v, uint32_t owner) {
  return v.backends == nullptr ? worker_.ConnFor(owner) : worker_.ConnFor((*v.backends)[owner]);
}

bool ClientConn::ReadFromOldOwners(const CommandInfo& info, std::span<const std::string_view> args,
                                   std::string_view raw) {
  const RouteTable& t = *worker_.table;
  const KeyMoves& moves = *t.moves;
  if (!moves.from_ring || moves.from_ring->empty()) return false;
  const size_t last = info.kind == CommandKind::kSingleKey ? 2 : args.size();
  bool moving = false;
  for (size_t i = 1; i < last; ++i) {
    const Backend& to = t.backends[t.ring->OwnerIndexOfKey(args[i])];
    const Backend& from = moves.from_backends[moves.from_ring->OwnerIndexOfKey(args[i])];
    if (to.kind != cluster::BackendKind::kRingkv || from.kind != cluster::BackendKind::kRingkv) {
      return false;
    }
    moving = moving || from.addr != to.addr;
  }
  if (!moving) return false;
  // Old owners hold every acknowledged write while keys move; keys that do
  // not move have the same owner in both rings.
  const RingView old{moves.from_ring.get(), &moves.from_backends};
  if (info.kind == CommandKind::kSingleKey) {
    Forward(ConnOf(old, moves.from_ring->OwnerIndexOfKey(args[1])), raw, args, std::nullopt);
  } else {
    SplitAndSend(info.kind, args, raw, 1, std::nullopt, old);
  }
  return true;
}

void ClientConn::Forward(BackendConn& b, std::string_view raw,
                         std::span<const std::string_view> args, std::optional<uint64_t> seq) {
  const uint64_t slot = seq ? *seq : PushSlot();
  if (!raw.empty() && raw[0] == '*') {
    b.Send(raw, Pending{shared_from_this(), slot, kWholeReply, nullptr});
  } else {  // an inline command (or a deferred one): back ends get RESP
    b.Send(net::resp::EncodeCommand(args), Pending{shared_from_this(), slot, kWholeReply, nullptr});
  }
}

namespace {

// What a failed-over part of a split command adds to the merge once its
// keys were sent again as new parts: nothing.
std::string_view NeutralReply(CommandKind kind) {
  switch (kind) {
    case CommandKind::kMget:
      return "*0\r\n";
    case CommandKind::kMset:
      return "+OK\r\n";
    default:
      return ":0\r\n";
  }
}

}  // namespace

void ClientConn::SendToReplicas(CommandKind kind, std::span<const std::string_view> args,
                                std::string_view raw, std::optional<uint64_t> seq) {
  const RouteTablePtr table = worker_.table;
  const uint64_t slot = seq ? *seq : PushSlot();
  if (kind == CommandKind::kSingleKey) {
    auto retry = std::make_unique<Retry>();
    retry->args.assign(args.begin(), args.end());
    std::string command =
        !raw.empty() && raw[0] == '*' ? std::string(raw) : net::resp::EncodeCommand(args);
    worker_.ConnFor(table->backends[table->Pick(args[1])])
        .Send(command, Pending{shared_from_this(), slot, kWholeReply, std::move(retry)});
    return;
  }
  // Part 0 stands for the dispatch itself until every part is sent, so no
  // part that fails at once can complete the Multi early.
  auto multi = std::make_unique<Multi>();
  multi->kind = kind;
  multi->parts.resize(1);
  multi->remaining = 1;
  const size_t step = kind == CommandKind::kMset ? 2 : 1;
  std::vector<uint32_t> groups;
  if (kind == CommandKind::kMget) {
    for (uint32_t j = 0; j < (args.size() - 1) / step; ++j) groups.push_back(j);
    multi->where.resize(groups.size());
  }
  slots_[slot - base_seq_].multi = std::move(multi);
  SendParts(*table, slot, args, {}, groups);  // with nothing tried, every key has a replica
  OnReply(slot, 0, NeutralReply(kind));
}

bool ClientConn::SendParts(const RouteTable& t, uint64_t seq,
                           std::span<const std::string_view> args,
                           const std::vector<std::string>& tried,
                           std::span<const uint32_t> groups) {
  Multi& m = *slots_[seq - base_seq_].multi;
  bool stranded = false;
  KeySplit split = SplitByOwner(args, m.kind == CommandKind::kMset ? 2 : 1,
                                [&t, &tried, &stranded](std::string_view key) {
                                  uint32_t i = t.Pick(key, tried);
                                  stranded = stranded || i == ring::kNoNode;
                                  return i == ring::kNoNode ? 0u : i;
                                });
  if (stranded) return false;
  const auto base = static_cast<uint32_t>(m.parts.size());
  m.parts.resize(base + split.parts.size());
  m.remaining += static_cast<uint32_t>(split.parts.size());
  if (m.kind == CommandKind::kMget) {
    for (size_t j = 0; j < groups.size() && j < split.where.size(); ++j) {
      m.where[groups[j]] = {base + split.where[j].first, split.where[j].second};
    }
  }
  // A Send may fail over at once and change `m`: use only `split` and `t`
  // (back ends by address: the worker's table may be another one by then).
  for (uint32_t i = 0; i < split.parts.size(); ++i) {
    auto retry = std::make_unique<Retry>();
    retry->args.assign(split.parts[i].args.begin(), split.parts[i].args.end());
    retry->tried = tried;
    worker_.ConnFor(t.backends[split.parts[i].owner])
        .Send(net::resp::EncodeCommand(split.parts[i].args),
              Pending{shared_from_this(), seq, base + i, std::move(retry)});
  }
  return true;
}

void ClientConn::Failover(Pending p, const std::string& failed, const std::string& err) {
  if (conn_ == nullptr || p.seq < base_seq_ || p.seq - base_seq_ >= slots_.size()) return;
  ProxyStats& stats = *worker_.ctx->stats;
  Retry& r = *p.retry;
  r.tried.push_back(failed);
  // The newest table (a down node may have been marked meanwhile), held
  // here: the worker's own is replaced only at a client batch's start.
  const RouteTablePtr t = worker_.ctx->routes->Current();
  auto give_up = [&] {
    stats.errors.fetch_add(1, std::memory_order_relaxed);
    OnReply(p.seq, p.part, err);
  };
  if (t == nullptr || t->backends.empty()) return give_up();
  std::vector<std::string_view> args(r.args.begin(), r.args.end());
  if (p.part == kWholeReply) {
    uint32_t next = t->Pick(args[1], r.tried);
    if (next == ring::kNoNode) return give_up();
    stats.failovers.fetch_add(1, std::memory_order_relaxed);
    std::string command = net::resp::EncodeCommand(args);
    worker_.ConnFor(t->backends[next]).Send(command, std::move(p));
    return;
  }
  Multi* m = slots_[p.seq - base_seq_].multi.get();
  if (m == nullptr) return;
  std::vector<uint32_t> groups;
  if (m->kind == CommandKind::kMget) {
    for (uint32_t k = 0; k < m->where.size(); ++k) {
      if (m->where[k].first == p.part) groups.push_back(k);
    }
  }
  const CommandKind kind = m->kind;
  if (!SendParts(*t, p.seq, args, r.tried, groups)) return give_up();
  stats.failovers.fetch_add(1, std::memory_order_relaxed);
  OnReply(p.seq, p.part, NeutralReply(kind));
}

void ClientConn::SplitAndSend(CommandKind kind, std::span<const std::string_view> args,
                              std::string_view raw, size_t step, std::optional<uint64_t> seq,
                              const RingView& view) {
  const ring::Ring& ring = *view.ring;
  KeySplit split =
      SplitByOwner(args, step, [&ring](std::string_view key) { return ring.OwnerIndexOfKey(key); });
  if (split.parts.size() == 1) {  // one owner: its reply is the whole reply
    return Forward(ConnOf(view, split.parts[0].owner), raw, args, seq);
  }
  const uint64_t slot = seq ? *seq : PushSlot();
  auto multi = std::make_unique<Multi>();
  multi->kind = kind;
  if (kind == CommandKind::kMget) multi->where = std::move(split.where);
  multi->parts.resize(split.parts.size());
  multi->remaining = static_cast<uint32_t>(split.parts.size());
  slots_[slot - base_seq_].multi = std::move(multi);
  for (uint32_t i = 0; i < split.parts.size(); ++i) {
    ConnOf(view, split.parts[i].owner)
        .Send(net::resp::EncodeCommand(split.parts[i].args),
              Pending{shared_from_this(), slot, i, nullptr});
  }
}

void ClientConn::FanOut(std::string_view command) {
  const RouteTable* t = worker_.table.get();
  if (t == nullptr || t->backends.empty()) return AddError(kNoNodeReply);
  // With replicas, down and suspect nodes are left out (their keys have
  // copies elsewhere; the sum counts each copy either way).
  std::vector<uint32_t> targets;
  for (uint32_t i = 0; i < t->backends.size(); ++i) {
    if (t->replication <= 1 || t->Live(i)) targets.push_back(i);
  }
  if (targets.empty()) return AddError(kNoNodeReply);
  uint64_t seq = PushSlot();
  auto multi = std::make_unique<Multi>();
  multi->kind = CommandKind::kSumKeys;
  multi->parts.resize(targets.size());
  multi->remaining = static_cast<uint32_t>(targets.size());
  slots_.back().multi = std::move(multi);
  for (uint32_t i = 0; i < targets.size(); ++i) {
    worker_.ConnFor(targets[i]).Send(command, Pending{shared_from_this(), seq, i, nullptr});
  }
}

bool ClientConn::MoveKeysFirst(const CommandInfo& info, std::span<const std::string_view> args) {
  const RouteTable& t = *worker_.table;
  const KeyMoves& moves = *t.moves;
  if (!moves.from_ring || moves.from_ring->empty()) return false;
  const size_t step = info.kind == CommandKind::kMset ? 2 : 1;
  const size_t last = info.kind == CommandKind::kSingleKey ? 2 : args.size();
  // (old owner, new owner) -> keys, in order of first appearance.
  std::vector<std::pair<std::pair<const Backend*, const Backend*>, std::vector<std::string_view>>>
      groups;
  for (size_t i = 1; i < last; i += step) {
    const Backend& to = t.backends[t.ring->OwnerIndexOfKey(args[i])];
    if (to.kind != cluster::BackendKind::kRedis) continue;
    const Backend& from = moves.from_backends[moves.from_ring->OwnerIndexOfKey(args[i])];
    if (from.addr == to.addr || from.kind != cluster::BackendKind::kRedis) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return g.first.first->addr == from.addr && g.first.second->addr == to.addr;
    });
    if (it == groups.end()) {
      groups.push_back({{&from, &to}, {}});
      it = groups.end() - 1;
    }
    it->second.push_back(args[i]);
  }
  if (groups.empty()) return false;
  const uint64_t seq = PushSlot();
  auto d = std::make_unique<Deferred>();
  d->args.assign(args.begin(), args.end());
  d->remaining = static_cast<uint32_t>(groups.size());
  slots_.back().deferred = std::move(d);
  const ProxyOptions& o = *worker_.ctx->options;
  const std::string timeout = std::to_string(o.backend_timeout_ms);
  for (const auto& [pair, keys] : groups) {
    // MIGRATE host port "" 0 timeout [AUTH pw] KEYS k...: moves each key that
    // exists on the old owner; without REPLACE a key the new owner already
    // holds (written there since the move began) is kept.
    const std::string port = std::to_string(pair.second->port);
    std::vector<std::string_view> cmd = {"MIGRATE", pair.second->host, port, "", "0", timeout};
    if (!o.backend_password.empty()) {
      cmd.push_back("AUTH");
      cmd.push_back(o.backend_password);
    }
    cmd.push_back("KEYS");
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    worker_.ConnFor(*pair.first)
        .Send(net::resp::EncodeCommand(cmd), Pending{shared_from_this(), seq, kMoveStep, nullptr});
  }
  return true;
}

// A MIGRATE answered: +OK (moved), +NOKEY (nothing to move), or BUSYKEY (the
// new owner already holds a newer value) all let the command run.
void ClientConn::OnMoved(uint64_t seq, std::string_view reply) {
  Deferred& d = *slots_[seq - base_seq_].deferred;
  if (!reply.empty() && reply[0] == '-' && reply.find("BUSYKEY") == std::string_view::npos &&
      d.error.empty()) {
    d.error.assign(reply);
  }
  if (--d.remaining > 0) return;
  std::unique_ptr<Deferred> done = std::move(slots_[seq - base_seq_].deferred);
  if (!done->error.empty()) {
    std::string_view e = done->error;
    if (e.size() >= 3 && e.substr(e.size() - 2) == "\r\n") e.remove_suffix(2);
    return Complete(seq, BackendErrorReply("(moving keys)", e.substr(1)));
  }
  worker_.Refresh();
  std::vector<std::string_view> args(done->args.begin(), done->args.end());
  Route(LookupCommand(args[0]), args, {}, seq);
}

void ClientConn::Complete(uint64_t seq, std::string_view reply) {
  ++batch_errors_;
  Slot& s = slots_[seq - base_seq_];
  s.reply.assign(reply);
  s.done = true;
  if (seq != base_seq_) return;
  DrainHead();
  worker_.MarkDirty(shared_from_this());
}

uint64_t ClientConn::PushSlot() {
  slots_.emplace_back();
  return base_seq_ + slots_.size() - 1;
}

void ClientConn::AddReady(std::string_view reply) {
  if (slots_.empty()) {
    conn_->out().append(reply);
    return;
  }
  Slot& s = slots_.emplace_back();
  s.reply.assign(reply);
  s.done = true;
}

void ClientConn::AddError(std::string_view reply) {
  ++batch_errors_;
  AddReady(reply);
}

void ClientConn::OnReply(uint64_t seq, uint32_t part, std::string_view reply) {
  if (conn_ == nullptr || seq < base_seq_ || seq - base_seq_ >= slots_.size()) return;
  size_t idx = seq - base_seq_;
  Slot& s = slots_[idx];
  if (part == kMoveStep) return OnMoved(seq, reply);
  if (s.multi) {
    Multi& m = *s.multi;
    m.parts[part].assign(reply);
    if (--m.remaining > 0) return;
    switch (m.kind) {
      case CommandKind::kMget:
        s.reply = MergeArrays(m.where, m.parts);
        break;
      case CommandKind::kMset:
        s.reply = MergeStatus(m.parts);
        break;
      default:
        s.reply = MergeSum(m.parts);
        break;
    }
    s.multi.reset();
    s.done = true;
  } else if (idx == 0) {  // the common case: straight to the output
    conn_->out().append(reply);
    slots_.pop_front();
    ++base_seq_;
  } else {
    s.reply.assign(reply);
    s.done = true;
    return;
  }
  if (idx != 0) return;
  DrainHead();
  worker_.MarkDirty(shared_from_this());
}

void ClientConn::DrainHead() {
  while (!slots_.empty() && slots_.front().done) {
    conn_->out().append(slots_.front().reply);
    slots_.pop_front();
    ++base_seq_;
  }
}

// Writes what is ready in one send; a rest waits for EPOLLOUT.
void ClientConn::FlushOut() {
  if (conn_ != nullptr) conn_->Flush();
}

InfoFacts ClientConn::Facts() const {
  const ProxyContext& c = *worker_.ctx;
  const ProxyStats& s = *c.stats;
  InfoFacts f;
  f.tcp_port = c.clients->port();
  f.io_threads = c.options->threads;
  f.uptime_s = NowSeconds() - c.start_s;
  f.connected_clients = s.connected_clients.load();
  f.maxclients = c.options->maxclients;
  f.total_connections = s.total_connections.load();
  f.commands = s.commands.load() + batch_commands_;
  f.errors = s.errors.load() + batch_errors_;
  f.backend_timeouts = s.backend_timeouts.load();
  f.backend_failures = s.backend_failures.load();
  if (const RouteTable* t = worker_.table.get()) {
    f.epoch = t->epoch;
    f.backends = t->in_service;
  }
  return f;
}

}  // namespace ringkv::router::internal
