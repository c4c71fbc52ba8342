#include "net/resp_server.h"

#include <algorithm>
#include <deque>
#include <utility>

namespace ringkv::net {

namespace {

// Runs the node's ConnectionHandler on a Connection. A deferred reply does
// not hold the connection: its place in the reply order is kept in a queue,
// and the requests after it run at once (a router multiplexes many clients
// over one connection, so parking would serialize them behind one peer round
// trip). Replies leave in request order: the queue's front is sent once it is
// complete. With max_deferred replies queued the connection is parked
// until the front completes, so one connection's memory stays bounded.
class NodeSession final : public RequestHandler, private ReplyDeferrer {
 public:
  NodeSession(Connection& conn, std::unique_ptr<ConnectionHandler> handler, size_t max_deferred)
      : conn_(conn),
        handler_(std::move(handler)),
        authed_(handler_->Authenticated()),
        max_deferred_(max_deferred) {
    conn.SetAuthenticated(authed_);
  }

  void OnRequest(Connection& conn, std::span<const std::string_view> args,
                 std::string_view /*raw*/) override {
    // With replies waiting ahead, this one queues behind them.
    const bool queued = !slots_.empty();
    std::string& out = queued ? scratch_ : conn.out();
    const size_t start = out.size();
    deferred_now_ = false;
    const ConnectionHandler::After after = handler_->Execute(args, out, *this);
    if (deferred_now_) {
      // Bytes appended before Defer() precede the deferred reply.
      slots_.back().reply.assign(out, start, std::string::npos);
      out.resize(start);
    } else if (queued) {
      slots_.push_back(Slot{++next_seq_, true, std::move(scratch_)});
      scratch_.clear();
    }
    if (slots_.size() >= max_deferred_) conn.Park();  // resumed as the front completes
    if (after.close) conn.CloseAfterReplies();
    if (after.abandon_on_close) conn.AbandonOnClose();
    if (after.authenticated != authed_) {
      authed_ = after.authenticated;
      conn.SetAuthenticated(authed_);
    }
  }

  // After a protocol error or the query buffer limit the connection closes
  // once the error is sent, without the deferred replies.
  void OnLoopError(Connection& conn, std::string_view reply) override {
    conn.out().append(reply);
    abandoned_ = true;
  }

  bool AwaitingReplies() const override { return !slots_.empty() && !abandoned_; }

 private:
  struct Slot {
    uint64_t seq;
    bool ready;
    std::string reply;
  };

  // Keeps this command's place in the reply order (see the header).
  Completion Defer() override {
    deferred_now_ = true;
    const uint64_t seq = ++next_seq_;
    slots_.push_back(Slot{seq, false, {}});
    return [ref = conn_.Ref(), session = this, seq](std::string reply) {
      // `session` is used only if the connection is still open on its thread.
      ref.Post([session, seq, reply = std::move(reply)](Connection& c) {
        session->Complete(c, seq, reply);
      });
    };
  }

  // The completion of deferral `seq`: fills its slot, sends the complete
  // front of the queue, and unparks a connection that waited for room.
  void Complete(Connection& c, uint64_t seq, const std::string& reply) {
    Slot* slot = nullptr;
    for (Slot& s : slots_) {
      if (s.seq == seq) slot = &s;
    }
    if (slot == nullptr || slot->ready) return;  // a second call of one completion
    slot->reply.append(reply);
    slot->ready = true;
    while (!slots_.empty() && slots_.front().ready) {
      c.out().append(slots_.front().reply);
      slots_.pop_front();
    }
    if (c.held() && slots_.size() < max_deferred_) {
      c.Resume();
    } else {
      c.FlushSoon();  // with the other completions of this round
    }
  }

  Connection& conn_;
  std::unique_ptr<ConnectionHandler> handler_;
  bool authed_;
  const size_t max_deferred_;
  std::deque<Slot> slots_;  // replies owed, in request order
  std::string scratch_;     // a reply queued behind deferred ones
  uint64_t next_seq_ = 0;
  bool deferred_now_ = false;  // the request being run called Defer()
  bool abandoned_ = false;     // closing on an error: deferred replies are not awaited
};

}  // namespace

struct RespServer::Impl {
  Impl(RespServerOptions options, HandlerFactory factory, ConnectionObserver observer)
      : loop(
            options,
            [factory = std::move(factory),
             max_deferred = std::max<size_t>(1, options.max_deferred_replies)](
                Connection& c) -> std::shared_ptr<RequestHandler> {
              return std::make_shared<NodeSession>(c, factory(), max_deferred);
            },
            std::move(observer)) {}

  ConnectionLoop loop;
  bool started = false;
};

RespServer::RespServer(RespServerOptions options, HandlerFactory factory,
                       ConnectionObserver observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(factory), std::move(observer))) {}

RespServer::~RespServer() {
  Stop();
}

Status RespServer::Start() {
  Status s = impl_->loop.Start();
  impl_->started = s.ok();
  return s;
}

void RespServer::Stop() {
  impl_->loop.Stop();
  impl_->started = false;
}

uint16_t RespServer::port() const {
  return impl_->loop.port();
}

uint16_t RespServer::tls_port() const {
  return impl_->loop.tls_port();
}

uint64_t RespServer::maxclients() const {
  return impl_->loop.maxclients();
}

void RespServer::Every(uint32_t period_ms, std::function<void()> fn) {
  if (!impl_->started) return;
  impl_->loop.loop(0).Every(std::chrono::milliseconds(period_ms), std::move(fn));
}

}  // namespace ringkv::net
