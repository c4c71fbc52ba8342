// ConnectionLoop: the one client-connection loop of ringkv's RESP servers.
// The node's RespServer and the router's proxy plug their command handling
// into it as a RequestHandler per connection.
//
// One listening socket, watched by the first EventLoop, hands connections
// round-robin to the loops (one per I/O thread); a connection stays on its
// loop's thread, so its handler needs no lock. A connection reads what has
// arrived until a short read (edge-triggered epoll), parses every complete
// pipelined request (limits from resp::RequestParser; stricter ones until
// the handler reports the client authenticated), hands each to its handler,
// then writes what the handler appended to out() with one send: per batch,
// one recv and one send. A reply that does not fit the socket waits for
// EPOLLOUT and reading waits for it, so a client that does not read its
// replies stops being read. Protocol errors and an over-long query buffer
// answer -ERR, then close once the replies are out. A peer that closes its
// side gets the replies still owed, then the connection closes.
//
// Memory (net/client_limits.h, docs/security.md): a batch stops running
// requests once output_pause_bytes of replies wait, and goes on as the client
// reads; a client over client-output-buffer-limit is cut; a read buffer
// grown by a large request is freed once it is consumed, and an idle
// connection's buffers after a few seconds; above maxmemory-clients the
// largest clients are cut. Accepting out of descriptors (EMFILE) accepts and
// closes with a spare descriptor instead of spinning.
//
// Thread safety: Start/Stop from one thread; handlers run on I/O threads;
// ConnectionRef::Post from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/cpus.h"
#include "base/status.h"
#include "net/client_limits.h"
#include "net/event_loop.h"
#include "net/resp/resp_parser.h"
#include "net/tls.h"

namespace ringkv::net {

struct ConnectionLoopOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;     // 0 = pick a free port; see ConnectionLoop::port()
  uint32_t threads = 2;  // I/O threads, one EventLoop each
  CpuList cpus;          // where the I/O threads run; empty = anywhere
  resp::Limits limits;   // for authenticated connections
  resp::Limits unauth_limits{
      .max_bulk_len = 16 * 1024, .max_args = 10, .max_inline_len = 16 * 1024};
  uint64_t max_query_buffer = 1ull << 30;  // bytes buffered for one connection
  uint64_t maxclients = 10000;             // further connections get an error and are closed
  uint32_t idle_timeout_s = 0;             // 0 = never close idle connections
  uint32_t busy_poll_us = 20;              // see EventLoop; 0 = always sleep in epoll_wait
  // RespServer: replies a connection may owe at once to other nodes (a
  // forward, a replica round) before it stops running further requests.
  uint32_t max_deferred_replies = 1024;
  int backlog = 511;
  ClientLimits client;  // output, total memory, AUTH timeout, descriptors
  // A second listener on tls.port whose connections speak TLS (Redis's
  // tls-port); same threads, handlers and limits.
  TlsOptions tls;
  // The listener on `port` speaks TLS with tls's certificates, and there is
  // no plaintext listener (Redis's port 0 with a tls-port); tls.port must
  // be 0.
  bool tls_only = false;
  // Where the loop counts cut connections and buffer bytes; not owned, must
  // outlive the loop. Null: the loop keeps its own (see counters()).
  ClientCounters* counters = nullptr;
};

class Connection;
namespace internal {
struct LoopShard;
}  // namespace internal

// What a server plugs in: one handler per connection, called on the
// connection's thread. Replies go to conn.out(), in request order; a reply
// not ready during OnRequest is the handler's to append later, followed by
// conn.Flush().
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // One complete request; `args` and `raw` (its bytes as received) are valid
  // during the call only. The handler may Park/Pause the connection, mark it
  // authenticated, or ask it to close after the replies.
  virtual void OnRequest(Connection& conn, std::span<const std::string_view> args,
                         std::string_view raw) = 0;
  // Around each run of requests parsed from one read (or after Resume).
  virtual void OnBatchStart(Connection& /*conn*/) {}
  virtual void OnBatchEnd(Connection& /*conn*/) {}
  // True while replies are owed that are not in out() yet: a connection
  // whose peer closed, or that was asked to close, stays open for them.
  virtual bool AwaitingReplies() const { return false; }
  // A reply the loop itself generates (a protocol error, the query buffer
  // limit) before it closes the connection; by default appended to out().
  virtual void OnLoopError(Connection& conn, std::string_view reply);
  // out() was sent completely.
  virtual void OnDrained(Connection& /*conn*/) {}
  // The connection closed; the handler must not use it any more.
  virtual void OnClose() {}
};

// Names an open connection from any thread without keeping it alive.
class ConnectionRef {
 public:
  // Runs `fn` on the connection's thread if it is still open then; false
  // (fn dropped) once its loop stopped. Never blocks on the loop.
  bool Post(std::function<void(Connection&)> fn) const;

 private:
  friend class Connection;
  ConnectionRef(std::shared_ptr<Mailbox> mailbox, internal::LoopShard* shard, uint64_t id)
      : mailbox_(std::move(mailbox)), shard_(shard), id_(id) {}
  std::shared_ptr<Mailbox> mailbox_;
  internal::LoopShard* shard_;  // dereferenced only on its thread, while it exists
  uint64_t id_;
};

// One client connection, owned by its loop. Every method runs on the
// connection's thread.
class Connection final : private IoHandler {
 public:
  Connection(internal::LoopShard& shard, int fd, uint64_t id);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  size_t thread_index() const;
  EventLoop& loop() const;
  ConnectionRef Ref() const;

  // Replies waiting to be sent (a partly sent buffer included).
  std::string& out() { return out_; }
  size_t unsent() const { return out_.size() - woff_; }
  // Sends out() now (the rest when the socket is writable again), then goes
  // on as the state allows: runs buffered requests, reads, or closes.
  void Flush() { Pump(); }
  // Flush at the end of the loop's current round: replies completed one by
  // one within a round (deferred ones, arriving through the mailbox) then
  // leave in one send.
  void FlushSoon();

  // Park: run no further request until Resume(), but keep reading (the
  // query buffer limit applies) — a reply deferred to another thread.
  void Park() { hold_ = Hold::kPark; }
  // Pause: run no request and read nothing until Resume() — backpressure.
  void Pause() { hold_ = Hold::kPause; }
  bool held() const { return hold_ != Hold::kNone; }
  // Ends a Park or Pause: runs what was buffered, sends, reads again.
  void Resume();
  // Picks the parser limits (options.limits once authenticated, else
  // options.unauth_limits); applies from the next request on.
  void SetAuthenticated(bool authenticated);
  // Reads and runs nothing more; closes once the replies are out.
  void CloseAfterReplies() { closing_ = true; }
  // From now on, when the peer closes, the requests still buffered are not
  // run: the connection closes at once. For peers that resend elsewhere what
  // they gave up on (the router's failover, a node's peer link), so a
  // stalled process that resumes never runs a request twice or late. That
  // includes the rest of a batch already read: a request about to run more
  // than kAbandonCheckMs after its batch was read (the process was stopped,
  // or the batch is long) first checks that the peer is still there.
  void AbandonOnClose() { abandon_on_close_ = true; }
  static constexpr int64_t kAbandonCheckMs = 100;
  // Closes now, dropping unsent replies.
  void Close();

  // For the loop: starts serving with `handler`; over TLS with `tls`
  // (handshake first).
  void Start(std::shared_ptr<RequestHandler> handler, const TlsContext* tls = nullptr);
  bool IdleSince(int64_t cutoff_s) const { return last_active_s_ < cutoff_s; }
  // For the loop's once-a-second sweep: the soft output limit of a client
  // that sends nothing, the AUTH timeout, idle buffers. Returns the buffer
  // bytes it freed.
  size_t Sweep(int64_t now_s);
  // Bytes of this connection's buffers, as last accounted.
  size_t buffer_bytes() const { return accounted_; }

 private:
  enum class Hold : uint8_t { kNone, kPark, kPause };

  void OnIoEvents(uint32_t events) override;
  bool Handshake();  // false while the TLS handshake is not done
  ssize_t RecvSome(char* data, size_t size);
  ssize_t SendSome(const char* data, size_t size);
  void Pump();
  bool CanRead() const;
  bool ReadOnce();  // false once the socket is drained, closed or must wait
  void RunBuffered();
  // AbandonOnClose: whether the next buffered request must not run because
  // it waited too long and the peer has hung up meanwhile.
  bool AbandonStale();
  void Send();
  bool Finished() const;
  void MakeRoom();
  // After a pump: accounts buffer memory, applies the output limits, and
  // runs on a batch stopped for output once the client has read.
  void AfterPump();
  bool OverOutputLimit(int64_t now_s);
  void Account();
  void ReleaseBuffers();

  internal::LoopShard& shard_;
  int fd_;
  uint64_t id_;
  std::shared_ptr<RequestHandler> handler_;
  resp::RequestParser parser_;
  bool authed_ = true;
  bool auth_changed_ = false;
  std::vector<char> rbuf_;
  size_t start_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // end of received bytes
  std::string out_;
  size_t woff_ = 0;  // bytes of out_ already sent
  int64_t last_active_s_;
  Hold hold_ = Hold::kNone;
  bool readable_ = true;  // the socket may hold unread bytes
  bool writable_ = true;  // the last send did not hit EAGAIN since EPOLLOUT
  bool writing_ = false;  // a partly sent out_ waits for EPOLLOUT
  bool hup_ = false;      // EPOLLRDHUP seen: read until the end of the stream
  bool eof_ = false;      // the peer closed its side
  bool closing_ = false;  // close once the replies are out
  bool closed_ = false;
  bool abandon_on_close_ = false;   // see AbandonOnClose
  int64_t read_at_ms_ = 0;          // coarse monotonic ms of the last read (AbandonOnClose)
  bool pumping_ = false;            // Pump is on the stack
  bool repump_ = false;             // Pump was asked again meanwhile
  bool run_buffered_ = false;       // set by Resume: run what was buffered while held
  bool flush_soon_ = false;         // queued for the flush at the end of the round
  bool out_full_ = false;           // output_pause_bytes reached: run and read nothing
  size_t out_stop_;                 // unsent bytes that stop a batch (see ClientLimits)
  int64_t soft_since_s_ = -1;       // since when unsent >= the soft limit; -1 = below
  int64_t opened_s_;                // for the AUTH timeout
  size_t accounted_ = 0;            // buffer bytes counted in ClientCounters::buffer_bytes
  std::unique_ptr<TlsStream> tls_;  // null: plaintext
};

class ConnectionLoop {
 public:
  // Creates the handler of a new connection, on its thread.
  using HandlerFactory = std::function<std::shared_ptr<RequestHandler>(Connection&)>;
  // Called on every accept, refusal and close with the number of open connections.
  using ConnectionObserver = std::function<void(int64_t open, bool accepted, bool rejected)>;
  // Runs I/O thread `index` until its loop quits; by default loop.Run().
  using ThreadBody = std::function<void(EventLoop& loop, size_t index)>;

  ConnectionLoop(ConnectionLoopOptions options, HandlerFactory factory,
                 ConnectionObserver observer = {}, ThreadBody body = {});
  ~ConnectionLoop();
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Binds, listens and starts the I/O threads. Errors: bad address, address
  // in use, out of fds.
  Status Start();
  // Stops accepting, closes every connection, quits the loops and joins the
  // threads. Idempotent.
  void Stop();
  // After Start: the port of the listener on options.port (TLS with tls_only).
  uint16_t port() const;
  // After Start: the TLS port (options.tls.port, or port() with tls_only), 0
  // without TLS.
  uint16_t tls_port() const;
  // After Start: maxclients as fitted to the open-file limit.
  uint64_t maxclients() const;
  const ClientCounters& counters() const;
  // After Start: the loop of I/O thread `index` (< options.threads).
  EventLoop& loop(size_t index);

  struct Impl;  // opaque; defined in the .cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::net
