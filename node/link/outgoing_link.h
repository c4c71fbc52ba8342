// OutgoingLink: this node's side of its link to one peer (docs/dht.md, "The
// peer link"): one TCP connection to the peer's link listener, carrying the
// requests PeerLinks::Send hands it as pipelined batches, with replies
// matched by sequence number (LinkWindow).
//
//   idle ──request──► dialing ──grant──► open ──hello +OK, batches, replies──┐
//     ▲                  │                 │ peer closed (hello answered):   │
//     │                  │                 │   in flight fail, queued redial │
//     └── retry time ── backoff ◄──────────┴── dial, connect or hello failed,│
//                        (new requests       or no reply within the timeout ◄┘
//                         fail at once)
//
// Dialing asks the peer over gRPC (LinkDialer) where its link listener is
// and for the token of the hello; a peer without one (an older ringkv)
// answers kUnimplemented and the link fails its requests so, for a while,
// and the caller uses gRPC instead. Every request has a deadline (the
// timeout from PeerLinks::Send): it fails with kDeadlineExceeded then, and
// the receiver does not start it later (the batch carries the deadline). A
// connection with requests in flight that receives nothing for the timeout
// is closed (the peer hangs); its requests still fail at their deadlines,
// never earlier, so a caller that retries elsewhere cannot race a late copy.
// A connection the peer closed fails what it carried at once: the peer
// dropped it unread.
//
// Over TLS (Env::tls: the cluster's certificates) the connection is mutual
// TLS: the peer's certificate must chain to the cluster CA and name the
// host of its gRPC address, and this node presents its own.
//
// Sending from other threads: an event-loop thread (a RESP I/O thread)
// that forwarded commands in its round hands them to SendDirect at the end
// of the round, which writes them to the socket itself, with one
// non-blocking send, when the link is open, nothing waits ahead of them and
// the window takes them all; a rest the socket does not take is sent by the
// links' thread. Otherwise the requests go the usual way (Submit). Over TLS
// SendDirect always declines: the TLS session is the links' thread's, and a
// second writer on the socket would corrupt it.
//
// Thread safety: lives on the links' loop thread, where every method but
// SendDirect runs. SendDirect may run on any thread; the state both touch
// is under mu_, and callbacks are called on the links' thread, never with
// mu_ held.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "net/event_loop.h"
#include "net/outbound_connection.h"
#include "net/tls.h"
#include "node/link/link_window.h"

namespace ringkv::node {

// Where a peer's link listener is, and the token its hello must carry.
struct LinkGrant {
  net::SocketAddress addr;
  std::string addr_text;  // "host:port", for messages
  std::string token;
  std::string host;  // its host (no brackets): the name its TLS certificate must carry
};

// Asks a peer for a LinkGrant (ringkv.v1.Peer/OpenLink).
class LinkDialer {
 public:
  using Done = std::function<void(StatusOr<LinkGrant> grant)>;
  virtual ~LinkDialer() = default;
  // Calls `done` once, on any thread, within `timeout_ms`. Errors:
  // kUnimplemented when the peer has no link listener; others when it
  // cannot be reached.
  virtual void Open(const std::string& peer_grpc, uint32_t timeout_ms, Done done) = 0;
};

class OutgoingLink final : private net::OutboundConnection::Handler {
 public:
  // What every outgoing link of a node shares. Not owned.
  struct Env {
    net::EventLoop* loop = nullptr;
    LinkDialer* dialer = nullptr;
    LinkLimits limits;
    uint32_t timeout_ms = 2000;
    // Client side of the link's mutual TLS; null: plaintext.
    std::shared_ptr<const net::TlsContext> tls;
    // This node's id and gRPC address, for the hello.
    std::function<std::pair<std::string, std::string>()> self;
    // Marks a link to Flush at the end of the loop's round.
    std::function<void(OutgoingLink&)> mark_dirty;
  };

  OutgoingLink(const Env& env, std::string peer_id, std::string peer_grpc);
  ~OutgoingLink();
  OutgoingLink(const OutgoingLink&) = delete;
  OutgoingLink& operator=(const OutgoingLink&) = delete;

  // Takes a request (or fails it at once: backoff, no link, queue full).
  void Submit(LinkRequest r, int64_t now_ms) EXCLUDES(mu_);
  // From any thread: sends `requests` (in order) now, taking them, and
  // returns true; or returns false, leaving them, when the link is not
  // open, requests wait ahead of them here, or the window cannot take them
  // all. Never blocks on the peer and never calls a callback.
  bool SendDirect(std::vector<LinkRequest>& requests) EXCLUDES(mu_);
  // Moves what the window allows into flight and sends it; once per round.
  void Flush() EXCLUDES(mu_);
  // Deadlines, a silent peer, the end of a backoff.
  void Tick(int64_t now_ms) EXCLUDES(mu_);
  // Fails everything with `why` and closes; the link stays usable.
  void Shutdown(const Status& why) EXCLUDES(mu_);

  bool dirty = false;  // queued for Flush this round (the links' thread's)

 private:
  enum class State : uint8_t { kIdle, kDialing, kOpen, kBackoff, kNoLink };

  void Dial() REQUIRES(mu_);
  void OnGrant(uint64_t dial, StatusOr<LinkGrant> grant) EXCLUDES(mu_);
  // Closes and fails what is queued when `backoff`, and what is in flight
  // unless `keep_inflight` (then it fails at its deadlines).
  void Fail(const Status& why, bool backoff, bool keep_inflight = false) REQUIRES(mu_);
  void FailAll(std::vector<LinkCallback> callbacks, const Status& why) REQUIRES(mu_);
  // Fails a request that never left (kNoLink) and hands its body back.
  void GiveBack(LinkRequest r) REQUIRES(mu_);
  // A callback to call once mu_ is released (RunDue).
  void Due(LinkCallback done, LinkReply reply) REQUIRES(mu_);
  void RunDue() EXCLUDES(mu_);
  // Whether SendDirect may write to the socket now.
  bool DirectOk() const REQUIRES(mu_);
  void CloseDirect() REQUIRES(mu_);
  void CloseConn() REQUIRES(mu_);
  // net::OutboundConnection::Handler
  void OnReply(std::string_view frame) override EXCLUDES(mu_);
  void OnClosed(const std::string& reason) override EXCLUDES(mu_);

  const Env& env_;
  const std::string peer_id_;
  const std::string peer_grpc_;
  Mutex mu_;
  std::string link_addr_;  // the peer's link listener, once granted
  // Its socket and buffer are the links' thread's, except that out() and
  // Close() are used under mu_ (SendDirect checks conn_busy_ instead).
  net::OutboundConnection conn_;
  LinkWindow window_ GUARDED_BY(mu_);
  State state_ GUARDED_BY(mu_) = State::kIdle;
  uint64_t dials_ GUARDED_BY(mu_) = 0;           // names the current dial; a stale grant is dropped
  bool hello_answered_ GUARDED_BY(mu_) = false;  // the peer took this connection's hello
  int failures_ GUARDED_BY(mu_) = 0;             // in a row, for the backoff
  int64_t now_ms_ GUARDED_BY(mu_) = 0;           // of the last Submit or Tick
  int64_t retry_at_ms_ GUARDED_BY(mu_) = 0;      // kBackoff, kNoLink: when to dial again
  Status last_error_ GUARDED_BY(mu_);            // why the link is in kBackoff or kNoLink
  uint64_t seen_bytes_ GUARDED_BY(mu_) = 0;      // conn_.bytes_read() at the last Tick
  int64_t quiet_since_ms_ GUARDED_BY(mu_) =
      0;  // since then nothing arrived while requests were in flight
  // SendDirect's: a dup of the open connection's socket (-1: none), what
  // the socket did not take (sent by the links' thread next), and that the
  // window went from idle to busy (Tick starts the quiet period then).
  int direct_fd_ GUARDED_BY(mu_) = -1;
  std::string spill_ GUARDED_BY(mu_);
  bool direct_started_ GUARDED_BY(mu_) = false;
  // conn_ holds bytes not sent yet (or is sending them now, unlocked).
  bool conn_busy_ GUARDED_BY(mu_) = false;
  std::vector<std::pair<LinkCallback, LinkReply>> due_ GUARDED_BY(mu_);
};

}  // namespace ringkv::node
