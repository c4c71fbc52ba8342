#include "net/resp_server.h"

#include <utility>

namespace ringkv::net {

namespace {

// Runs the node's ConnectionHandler on a Connection: a deferred reply parks
// the connection until its completion arrives on the connection's thread.
class NodeSession final : public RequestHandler, private ReplyDeferrer {
 public:
  NodeSession(Connection& conn, std::unique_ptr<ConnectionHandler> handler)
      : conn_(conn), handler_(std::move(handler)), authed_(handler_->Authenticated()) {
    conn.SetAuthenticated(authed_);
  }

  void OnRequest(Connection& conn, std::span<const std::string_view> args,
                 std::string_view /*raw*/) override {
    const ConnectionHandler::After after = handler_->Execute(args, conn.out(), *this);
    if (after.close) conn.CloseAfterReplies();
    if (after.abandon_on_close) conn.AbandonOnClose();
    if (after.authenticated != authed_) {
      authed_ = after.authenticated;
      conn.SetAuthenticated(authed_);
    }
  }

  // After a protocol error or the query buffer limit the connection closes
  // once the error is sent, without the deferred reply.
  void OnLoopError(Connection& conn, std::string_view reply) override {
    conn.out().append(reply);
    abandoned_ = true;
  }

  bool AwaitingReplies() const override { return parked_ && !abandoned_; }

 private:
  // Parks the connection until the completion is called (see the header).
  Completion Defer() override {
    parked_ = true;
    conn_.Park();
    const uint64_t seq = ++park_seq_;
    return [ref = conn_.Ref(), session = this, seq](std::string reply) {
      // `session` is used only if the connection is still open on its thread.
      ref.Post([session, seq, reply = std::move(reply)](Connection& c) {
        session->Resume(c, seq, reply);
      });
    };
  }

  // The completion of deferral `seq`: appends the reply, runs what was
  // buffered meanwhile and sends.
  void Resume(Connection& c, uint64_t seq, const std::string& reply) {
    if (!parked_ || seq != park_seq_) return;  // a second call of one completion
    parked_ = false;
    c.out().append(reply);
    c.Resume();
  }

  Connection& conn_;
  std::unique_ptr<ConnectionHandler> handler_;
  bool authed_;
  bool parked_ = false;     // a deferred reply is outstanding
  bool abandoned_ = false;  // closing on an error: the deferred reply is not awaited
  uint64_t park_seq_ = 0;   // names the latest deferral
};

}  // namespace

struct RespServer::Impl {
  Impl(RespServerOptions options, HandlerFactory factory, ConnectionObserver observer)
      : loop(
            std::move(options),
            [factory = std::move(factory)](Connection& c) -> std::shared_ptr<RequestHandler> {
              return std::make_shared<NodeSession>(c, factory());
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

void RespServer::Every(uint32_t period_ms, std::function<void()> fn) {
  if (!impl_->started) return;
  impl_->loop.loop(0).Every(std::chrono::milliseconds(period_ms), std::move(fn));
}

}  // namespace ringkv::net
