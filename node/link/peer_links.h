// PeerLinks: a node's peer links (docs/dht.md, "The peer link") — one
// persistent, pipelined connection to each peer it sends to, carrying
// forwarded commands today and replica writes next, and the listener that
// serves the links peers open to it.
//
// Send hands one request (a whole command) to the link of its peer. The
// requests that reach a link within one round of its loop go out together,
// as one batch per map epoch; replies are matched by sequence number and may
// come back in any order. A link has a bounded window (requests and bytes in
// flight) and a bounded queue behind it; beyond both, Send fails at once
// with kResourceExhausted. Requests get no reply after `timeout_ms` fail with
// kDeadlineExceeded; a link that breaks fails what it had in flight and is
// dialled again, with backoff when dialling fails (OutgoingLink).
//
// One thread runs every link, outgoing and incoming: the first (only)
// event loop of the listener's net::ConnectionLoop. Send never blocks: it
// encodes the request on the caller's thread. On another event loop's
// thread (a RESP I/O thread) it keeps the request until the end of that
// loop's round (or SendPending), then writes all the round's requests for a
// peer to its link's socket itself, in one non-blocking send
// (OutgoingLink::SendDirect), when the link is open and nothing of the
// links' thread waits ahead of them. Otherwise, and on any other thread, it
// queues them for the links' thread, waking it (its mailbox) only when the
// queue was empty: a burst of sends costs one wake-up. Requests sent from
// one thread reach a peer in the order they were sent.
//
// With PeerLinkOptions::tls (the cluster's certificates) every link is
// mutual TLS: the listener speaks only TLS and takes only clients whose
// certificate the cluster CA signed; outgoing links verify the peer's
// certificate against the same CA and present this node's. The hello's
// token is checked either way.
//
// Thread safety: Send, SendPending, SetSelf, port() and token() from any
// thread; Start and Stop from one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/cpus.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "net/connection_loop.h"
#include "net/resp/resp_parser.h"
#include "net/tls.h"
#include "node/link/incoming_link.h"
#include "node/link/link_window.h"
#include "node/link/outgoing_link.h"

namespace ringkv::node {

struct PeerLinkOptions {
  std::string bind = "127.0.0.1";  // the link listener; peers reach it at their gRPC host
  uint16_t port = 0;               // 0 = any free port (peers learn it from OpenLink)
  LinkLimits limits;               // per outgoing link
  uint32_t timeout_ms = 2000;      // a request without a reply fails after this long
  CpuList cpus;                    // where the links' thread runs; empty = where Start's caller may
  net::resp::Limits request_limits;        // what an incoming batch may hold
  uint64_t max_query_buffer = 1ull << 30;  // unprocessed bytes per incoming link
  // Mutual TLS with the cluster's certificate, key and CA (PEM files), both
  // ways; an empty ca_cert_file = plaintext.
  net::TlsClientOptions tls;
};

// Who a request goes to: a node of the map.
struct LinkPeer {
  std::string id;
  std::string grpc_addr;  // names the peer's link; OpenLink is asked there
};

class PeerLinks {
 public:
  // `dialer` is not owned and must outlive the links.
  PeerLinks(PeerLinkOptions options, LinkDialer& dialer);
  ~PeerLinks();  // Stop()
  PeerLinks(const PeerLinks&) = delete;
  PeerLinks& operator=(const PeerLinks&) = delete;

  // Starts the listener and the links' thread; incoming links run their
  // commands with `incoming`. Errors: the port is taken, out of fds, a TLS
  // file that does not load (InvalidArgument, naming it).
  Status Start(IncomingLinkContext incoming);
  // Fails every request not answered yet (kUnavailable, "node stopping"),
  // closes the links and joins the thread. Idempotent.
  void Stop();
  // This node's id and gRPC address, sent in the hello of each link.
  void SetSelf(std::string id, std::string grpc_addr) EXCLUDES(mu_);

  // Sends `args` (a whole command, name first), placed with map `epoch`, to
  // `peer`; `done` is called once with the outcome, on the links' thread
  // (or on the caller's, before Send returns, when the links are not
  // running). `done` must not block. `args` need to live for this call only.
  void Send(const LinkPeer& peer, uint64_t epoch, std::span<const std::string_view> args,
            LinkCallback done) EXCLUDES(inbox_mu_, links_mu_);
  // Sends now what this thread's Send calls keep for the end of its event
  // loop's round. A caller about to wait for a reply on such a thread must
  // call it first, or it waits for a request not sent yet.
  void SendPending() EXCLUDES(inbox_mu_, links_mu_);

  // The listener's port (after Start) and the token a hello must carry.
  uint16_t port() const { return port_.load(std::memory_order_acquire); }
  const std::string& token() const { return token_; }

 private:
  // A request on its way to the loop's thread.
  struct Submission {
    LinkPeer peer;
    LinkRequest request;
  };
  struct RoundSends;  // a thread's requests kept for the end of its round
  static RoundSends& ThisThreadsSends();
  // Queues `s` for the links' thread.
  void HandOff(Submission s) EXCLUDES(inbox_mu_);
  void Submit(Submission& s) EXCLUDES(links_mu_);  // on the loop's thread
  void DrainInbox() EXCLUDES(inbox_mu_);           // on the loop's thread (or the stopping one)
  void RunThread(net::EventLoop& loop);
  void FlushDirty();
  std::vector<OutgoingLink*> AllLinks() EXCLUDES(links_mu_);
  void TickAll();
  void ShutdownAll();

  const PeerLinkOptions options_;
  const std::string token_;
  IncomingLinkContext incoming_;
  OutgoingLink::Env env_;
  std::unique_ptr<net::ConnectionLoop> listener_;
  std::atomic<uint16_t> port_{0};

  Mutex mu_;
  std::string self_id_ GUARDED_BY(mu_);
  std::string self_grpc_ GUARDED_BY(mu_);

  // Requests on their way to the loop's thread.
  Mutex inbox_mu_;
  std::shared_ptr<net::Mailbox> mailbox_ GUARDED_BY(inbox_mu_);  // null unless running
  std::vector<Submission> inbox_ GUARDED_BY(inbox_mu_);
  // Requests handed off and not yet submitted to their link: while there
  // are any, no request is sent directly (it could overtake them).
  size_t undrained_ GUARDED_BY(inbox_mu_) = 0;

  // Created on the loop's thread; looked up from others for SendDirect.
  Mutex links_mu_;
  std::unordered_map<std::string, std::unique_ptr<OutgoingLink>> links_
      GUARDED_BY(links_mu_);  // by peer gRPC address
  // The loop's thread only (after it ended: the thread that stopped it).
  std::vector<OutgoingLink*> dirty_;
  std::vector<Submission> draining_;  // DrainInbox's, reused
  bool stopping_ = false;
};

}  // namespace ringkv::node
