#include "node/link/incoming_link.h"

#include <vector>

#include "net/command/command_table.h"

namespace ringkv::node {

// Arguments kept past their OnRequest (a batch waiting for a map fetch, a
// command waiting for one on its keys).
struct IncomingLink::OwnedArgs {
  explicit OwnedArgs(std::span<const std::string_view> in) : args(in.begin(), in.end()) {
    views.assign(args.begin(), args.end());
  }
  std::vector<std::string> args;
  std::vector<std::string_view> views;  // into `args`, which never changes again
};

namespace {

// The keys a command names (none when keyless or unknown).
std::vector<std::string> KeysOf(std::span<const std::string_view> args) {
  std::vector<std::string> keys;
  const net::command::CommandSpec* spec = net::command::FindCommand(args[0]);
  if (spec == nullptr || !net::command::ArityOk(*spec, args.size())) return keys;
  net::command::ForEachKeyIndex(*spec, args.size(), [&](size_t i) { keys.emplace_back(args[i]); });
  return keys;
}

// Compares in time independent of where the strings differ.
bool SameToken(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  }
  return diff == 0;
}

}  // namespace

IncomingLink::IncomingLink(const IncomingLinkContext& ctx, const std::string& token)
    : ctx_(ctx), token_(token) {
  session_.authenticated = true;
  session_.forwarded = true;
  // Set once: the command path calls it while RunBatch runs `current_`.
  session_.defer = [this] { return Defer(*current_.conn, current_.seq, current_.batch_epoch); };
}

IncomingLink::~IncomingLink() = default;

void IncomingLink::OnRequest(net::Connection& conn, std::span<const std::string_view> args,
                             std::string_view /*raw*/) {
  if (!hello_) return OnHello(conn, args);
  StatusOr<LinkBatch> batch = ParseLinkBatch(args);
  if (!batch.ok()) return Refuse(conn, batch.status().message());
  // The sender holds a newer map: fetch it before placing these keys, off
  // this thread; the batches behind this one wait with it. An epoch beyond
  // the step bound is not believed (counted; the map held places the keys).
  if (batch->epoch > refreshed_for_ && batch->epoch > ctx_.view->epoch() && !from_grpc_.empty() &&
      ctx_.pool != nullptr && ctx_.refresh && ctx_.view->CheckEpoch(batch->epoch).ok()) {
    refreshed_for_ = batch->epoch;
    conn.Pause();
    auto owned = std::make_shared<OwnedArgs>(args);
    ctx_.pool->Post(
        [refresh = ctx_.refresh, from = from_grpc_, ref = conn.Ref(), self = this, owned] {
          refresh(from);
          // `self` is used only while the connection is open, on its thread.
          ref.Post([self, owned](net::Connection& c) {
            StatusOr<LinkBatch> again = ParseLinkBatch(owned->views);
            if (again.ok()) self->RunBatch(c, *again);
            c.Resume();
          });
        });
    return;
  }
  RunBatch(conn, *batch);
}

void IncomingLink::OnHello(net::Connection& conn, std::span<const std::string_view> args) {
  StatusOr<LinkHello> hello = ParseLinkHello(args);
  if (!hello.ok()) return Refuse(conn, hello.status().message());
  if (!SameToken(hello->token, token_)) {
    return Refuse(conn, "link: wrong token (ringkv.v1.Peer/OpenLink hands out this node's)");
  }
  hello_ = true;
  from_id_ = hello->from_id;
  from_grpc_ = hello->from_grpc;
  conn.SetAuthenticated(true);
  conn.AbandonOnClose();  // the sender fails over what it gave up on
  conn.out().append("+OK\r\n");
}

bool IncomingLink::Late(int64_t deadline_unix_ms) const {
  return deadline_unix_ms > 0 && ctx_.clock != nullptr && ctx_.clock->NowMs() > deadline_unix_ms;
}

std::string IncomingLink::LateReply() const {
  return "-TRYAGAIN forward to node " + (ctx_.self_id ? ctx_.self_id() : "") +
         " failed: it arrived after its deadline (peer_timeout_ms); it did not run\r\n";
}

void IncomingLink::RunBatch(net::Connection& conn, const LinkBatch& batch) {
  const uint64_t epoch = ctx_.view->epoch();
  if (Late(batch.deadline_unix_ms)) {
    const std::string reply = LateReply();
    for (size_t i = 0; i < batch.requests.size(); ++i) {
      AppendLinkReply(conn.out(), batch.first_seq + i, epoch, reply);
    }
    return;
  }
  for (size_t i = 0; i < batch.requests.size(); ++i) {
    const uint64_t seq = batch.first_seq + i;
    std::span<const std::string_view> args = batch.requests[i];
    // Behind a deferred command on one of its keys: wait for it.
    if (!order_.idle() && !order_.Admit(seq, KeysOf(args))) {
      waiting_.emplace(
          seq, Waiting{std::make_unique<OwnedArgs>(args), batch.epoch, batch.deadline_unix_ms});
      continue;
    }
    RunOne(conn, args, seq, batch.epoch, epoch);
  }
}

bool IncomingLink::RunOne(net::Connection& conn, std::span<const std::string_view> args,
                          uint64_t seq, uint64_t batch_epoch, uint64_t epoch) {
  current_ = Running{&conn, seq, batch_epoch, false};
  scratch_.clear();
  ctx_.dispatcher->Execute(args, session_, scratch_);
  current_.conn = nullptr;
  ctx_.counters->forwards_served.fetch_add(1, std::memory_order_relaxed);
  if (current_.deferred) {
    order_.Running(seq, KeysOf(args));  // its keys wait for its answer
    return true;
  }
  AppendFrame(conn.out(), seq, batch_epoch, epoch, scratch_);
  return false;
}

ReplyCompletion IncomingLink::Defer(net::Connection& conn, uint64_t seq, uint64_t batch_epoch) {
  current_.deferred = true;
  ++deferred_;
  return [ref = conn.Ref(), self = this, seq, batch_epoch](std::string reply) {
    // `self` is used only while the connection is open, on its thread.
    ref.Post([self, seq, batch_epoch, reply = std::move(reply)](net::Connection& c) {
      --self->deferred_;
      self->AppendFrame(c.out(), seq, batch_epoch, self->ctx_.view->epoch(), reply);
      self->RunReady(c, self->order_.Done(seq));
      c.FlushSoon();  // with the other replies completed this round
    });
  };
}

// Runs, oldest first, the waiting commands a deferred one's answer freed,
// and those that frees in turn.
void IncomingLink::RunReady(net::Connection& conn, std::vector<uint64_t> ready) {
  for (size_t i = 0; i < ready.size(); ++i) {
    const uint64_t seq = ready[i];
    auto it = waiting_.find(seq);
    if (it == waiting_.end()) continue;
    Waiting w = std::move(it->second);
    waiting_.erase(it);
    bool answered = true;
    if (Late(w.deadline_unix_ms)) {
      AppendLinkReply(conn.out(), seq, ctx_.view->epoch(), LateReply());
    } else {
      answered = !RunOne(conn, w.args->views, seq, w.batch_epoch, ctx_.view->epoch());
    }
    if (answered) {
      std::vector<uint64_t> more = order_.Done(seq);
      ready.insert(ready.end(), more.begin(), more.end());
    }
  }
}

void IncomingLink::AppendFrame(std::string& out, uint64_t seq, uint64_t batch_epoch, uint64_t epoch,
                               std::string_view reply) {
  if (reply.starts_with("-MOVED ")) {
    // The sender places the keys again with this node's map, sent once per
    // epoch on this link (a sender that misses it fetches it).
    std::shared_ptr<const ClusterSnapshot> view = ctx_.view->Snapshot();
    if (view->epoch > batch_epoch && view->epoch > map_sent_epoch_) {
      map_sent_epoch_ = view->epoch;
      return AppendLinkReply(out, seq, view->epoch, reply, view->map_json);
    }
    epoch = view->epoch;
  }
  AppendLinkReply(out, seq, epoch, reply);
}

void IncomingLink::Refuse(net::Connection& conn, std::string_view message) {
  std::string line = "-ERR ";
  for (char c : message) line.push_back(c == '\r' || c == '\n' ? ' ' : c);
  line.append("\r\n");
  conn.out().append(line);
  conn.CloseAfterReplies();
}

}  // namespace ringkv::node
