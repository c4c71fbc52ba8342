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
// Thread safety: lives on the links' loop thread; every method runs there.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "net/event_loop.h"
#include "net/outbound_connection.h"
#include "node/link/link_window.h"

namespace ringkv::node {

// Where a peer's link listener is, and the token its hello must carry.
struct LinkGrant {
  net::SocketAddress addr;
  std::string addr_text;  // "host:port", for messages
  std::string token;
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
    // This node's id and gRPC address, for the hello.
    std::function<std::pair<std::string, std::string>()> self;
    // Marks a link to Flush at the end of the loop's round.
    std::function<void(OutgoingLink&)> mark_dirty;
  };

  OutgoingLink(const Env& env, std::string peer_id, std::string peer_grpc);
  OutgoingLink(const OutgoingLink&) = delete;
  OutgoingLink& operator=(const OutgoingLink&) = delete;

  // Takes a request (or fails it at once: backoff, no link, queue full).
  void Submit(LinkRequest r, int64_t now_ms);
  // Moves what the window allows into flight and sends it; once per round.
  void Flush();
  // Deadlines, a silent peer, the end of a backoff.
  void Tick(int64_t now_ms);
  // Fails everything with `why` and closes; the link stays usable.
  void Shutdown(const Status& why);

  bool dirty = false;  // queued for Flush this round

 private:
  enum class State : uint8_t { kIdle, kDialing, kOpen, kBackoff, kNoLink };

  void Dial();
  void OnGrant(uint64_t dial, StatusOr<LinkGrant> grant);
  // Closes and fails what is queued when `backoff`, and what is in flight
  // unless `keep_inflight` (then it fails at its deadlines).
  void Fail(const Status& why, bool backoff, bool keep_inflight = false);
  void FailAll(const std::vector<LinkCallback>& callbacks, const Status& why);
  // Fails a request that never left (kNoLink) and hands its body back.
  void GiveBack(LinkRequest r);
  // net::OutboundConnection::Handler
  void OnReply(std::string_view frame) override;
  void OnClosed(const std::string& reason) override;

  const Env& env_;
  const std::string peer_id_;
  const std::string peer_grpc_;
  std::string link_addr_;  // the peer's link listener, once granted
  net::OutboundConnection conn_;
  LinkWindow window_;
  State state_ = State::kIdle;
  uint64_t dials_ = 0;           // names the current dial; a stale grant is dropped
  bool hello_answered_ = false;  // the peer took this connection's hello
  int failures_ = 0;             // in a row, for the backoff
  int64_t now_ms_ = 0;           // of the last Submit or Tick
  int64_t retry_at_ms_ = 0;      // kBackoff, kNoLink: when to dial again
  Status last_error_;            // why the link is in kBackoff or kNoLink
  uint64_t seen_bytes_ = 0;      // conn_.bytes_read() at the last Tick
  int64_t quiet_since_ms_ = 0;   // since then nothing arrived while requests were in flight
};

}  // namespace ringkv::node
