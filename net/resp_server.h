// RespServer: the node's RESP2 TCP server, a ConnectionLoop (see
// net/connection_loop.h for the threads, batching and limits) whose requests
// run through a ConnectionHandler per connection.
//
// The server knows nothing of commands: a ConnectionHandler, created per
// connection by the factory, executes them. A handler that cannot answer at
// once (e.g. a command forwarded to another node) defers the reply
// (ReplyDeferrer): its place in the reply order is kept while the I/O thread
// goes on with the connection's next requests and with others.
//
// Thread safety: Start/Stop from one thread; handlers run on I/O threads;
// ReplyDeferrer completions from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "net/connection_loop.h"

namespace ringkv::net {

// Lets a handler finish the reply of the command it is executing later.
//
// Contract: during ConnectionHandler::Execute the handler may call Defer()
// once instead of appending the reply to `out`. The reply's place in the
// connection's reply order is kept; the commands after it run at once and
// their replies wait behind it, so pipelined replies stay in order. With
// max_deferred_replies replies queued the connection is parked: it keeps
// reading (the query buffer limit still applies) but runs nothing more until
// the oldest completes. Replies appended to `out` before Defer() precede the
// deferred one. A client that closes its side meanwhile gets every reply
// owed, then the connection closes.
//
// The completion may be called from any thread, at any time, and must be
// called once; its reply (whole RESP2 replies) is queued to the connection's
// I/O thread, which fills the reply's place, sends every complete reply at
// the front, and unparks the connection when there is room. Calling it
// after the connection closed (client gone, idle timeout, limit, Stop) or
// after the server is destroyed does nothing; it holds no pointer to the
// connection.
class ReplyDeferrer {
 public:
  using Completion = std::function<void(std::string reply)>;
  virtual Completion Defer() = 0;

 protected:
  ~ReplyDeferrer() = default;
};

// Per-connection command executor.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // The connection's state after a command (one return value, not two more
  // virtual calls per request).
  struct After {
    bool close = false;             // close once the pending replies are out
    bool authenticated = true;      // false while the client must still AUTH
    bool abandon_on_close = false;  // see Connection::AbandonOnClose
  };
  // Executes one command and appends its reply to `out`, or defers the reply
  // with `deferrer` (see ReplyDeferrer). `args` are valid during the call only.
  virtual After Execute(std::span<const std::string_view> args, std::string& out,
                        ReplyDeferrer& deferrer) = 0;
  // False while the client must still AUTH (before its first command);
  // stricter limits apply.
  virtual bool Authenticated() const = 0;
};

using RespServerOptions = ConnectionLoopOptions;

class RespServer {
 public:
  using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>()>;
  // Called on every accept and close with the new number of open connections.
  using ConnectionObserver = std::function<void(int64_t open, bool accepted, bool rejected)>;

  RespServer(RespServerOptions options, HandlerFactory factory, ConnectionObserver observer = {});
  ~RespServer();
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  // Binds, listens and starts the I/O threads. Errors: address in use, bad address.
  Status Start();
  // Stops accepting, closes connections, joins the threads. Idempotent.
  void Stop();
  uint16_t port() const;
  // After Start: the TLS port (options.tls.port), 0 without TLS.
  uint16_t tls_port() const;
  // After Start: maxclients as fitted to the open-file limit.
  uint64_t maxclients() const;

  // Runs `fn` every `period_ms` on the first I/O thread until Stop (e.g. active expiry).
  void Every(uint32_t period_ms, std::function<void()> fn);

  struct Impl;  // opaque; defined in the .cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::net
