#include "node/link/peer_links.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "node/link/link_frame.h"

namespace ringkv::node {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// 128 random bits, hex: the token of this process's hellos.
std::string RandomToken() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string token(32, '0');
  for (char& c : token) c = kHex[rd() & 15];
  return token;
}

LinkReply Stopping() {
  return LinkReply{Unavailable("node stopping")};
}

}  // namespace

PeerLinks::PeerLinks(PeerLinkOptions options, LinkDialer& dialer)
    : options_(std::move(options)), token_(RandomToken()) {
  env_.dialer = &dialer;
  env_.limits = options_.limits;
  env_.timeout_ms = options_.timeout_ms;
  env_.self = [this] {
    MutexLock lock(mu_);
    return std::make_pair(self_id_, self_grpc_);
  };
  env_.mark_dirty = [this](OutgoingLink& link) {
    if (link.dirty) return;
    link.dirty = true;
    dirty_.push_back(&link);
  };
}

PeerLinks::~PeerLinks() {
  Stop();
}

void PeerLinks::SetSelf(std::string id, std::string grpc_addr) {
  MutexLock lock(mu_);
  self_id_ = std::move(id);
  self_grpc_ = std::move(grpc_addr);
}

Status PeerLinks::Start(IncomingLinkContext incoming) {
  if (listener_) return FailedPrecondition("peer links already started");
  incoming_ = std::move(incoming);
  incoming_.self_id = [this] {
    MutexLock lock(mu_);
    return self_id_;
  };
  net::ConnectionLoopOptions o;
  o.bind = options_.bind;
  o.port = options_.port;
  o.threads = 1;
  o.cpus = options_.cpus;
  o.limits = options_.request_limits;
  o.max_query_buffer = options_.max_query_buffer;
  if (options_.tls.enabled()) {
    StatusOr<std::shared_ptr<const net::TlsContext>> client =
        net::TlsContext::CreateClient(options_.tls);
    if (!client.ok()) return client.status();
    env_.tls = *client;
    o.tls_only = true;
    o.tls = net::TlsOptions{.cert_file = options_.tls.cert_file,
                            .key_file = options_.tls.key_file,
                            .ca_cert_file = options_.tls.ca_cert_file,
                            .auth_clients = net::TlsAuthClients::kYes};
  }
  listener_ = std::make_unique<net::ConnectionLoop>(
      o,
      [this](net::Connection&) -> std::shared_ptr<net::RequestHandler> {
        return std::make_shared<IncomingLink>(incoming_, token_);
      },
      net::ConnectionLoop::ConnectionObserver{},
      [this](net::EventLoop& loop, size_t /*index*/) { RunThread(loop); });
  if (Status s = listener_->Start(); !s.ok()) {
    listener_.reset();
    return s;
  }
  env_.loop = &listener_->loop(0);
  port_.store(listener_->port(), std::memory_order_release);
  MutexLock lock(inbox_mu_);
  mailbox_ = env_.loop->mailbox();
  return OkStatus();
}

void PeerLinks::RunThread(net::EventLoop& loop) {
  loop.OnRoundEnd([this] { FlushDirty(); });
  loop.OnQuit([this] { ShutdownAll(); });
  const auto tick =
      std::chrono::milliseconds(std::clamp<uint32_t>(options_.timeout_ms / 8, 5, 100));
  loop.Every(tick, [this] { TickAll(); });
  loop.Run();
}

void PeerLinks::Stop() {
  if (!listener_) return;
  {
    MutexLock lock(inbox_mu_);
    mailbox_.reset();  // Send fails at once from now on
  }
  listener_->Stop();  // quits the loop (ShutdownAll), joins, runs what was posted late
  {
    MutexLock lock(links_mu_);
    links_.clear();  // before the loop they were watched by
  }
  listener_.reset();
}

// The requests one thread sent in the current round of its event loop.
struct PeerLinks::RoundSends {
  PeerLinks* owner = nullptr;  // whose SendPending takes `pending`
  std::vector<Submission> pending;
  std::vector<Submission> spare;   // SendPending's, reused
  std::vector<LinkRequest> group;  // one peer's, for SendDirect
};

PeerLinks::RoundSends& PeerLinks::ThisThreadsSends() {
  thread_local RoundSends sends;
  return sends;
}

void PeerLinks::Send(const LinkPeer& peer, uint64_t epoch, std::span<const std::string_view> args,
                     LinkCallback done) {
  EncodedLinkRequest encoded = EncodeLinkRequest(args);
  const int64_t deadline =
      SteadyMs() + static_cast<int64_t>(LinkTimeoutMs(options_.timeout_ms, encoded.body.size()));
  Submission s{
      peer, LinkRequest{epoch, std::move(encoded.body), encoded.bulks, deadline, std::move(done)}};
  net::EventLoop* here = net::EventLoop::Current();
  if (here == nullptr || here == env_.loop) return HandOff(std::move(s));
  // An event loop's thread: keep it for the end of the round.
  RoundSends& sends = ThisThreadsSends();
  if (sends.owner != this) {
    // Another node's links in this process (tests): theirs go first. With
    // nothing pending the old owner may be gone.
    if (!sends.pending.empty()) sends.owner->SendPending();
    sends.owner = this;
  }
  if (sends.pending.empty()) here->AtRoundEnd([this] { SendPending(); });
  sends.pending.push_back(std::move(s));
}

void PeerLinks::SendPending() {
  RoundSends& sends = ThisThreadsSends();
  if (sends.owner != this || sends.pending.empty()) return;
  // Taken out first: a callback run here (a hand-off refused while
  // stopping) may Send again, into a new round's `pending`.
  std::vector<Submission> batch;
  batch.swap(sends.spare);
  batch.swap(sends.pending);
  // Over TLS only the links' thread writes to a link (SendDirect declines).
  bool direct = env_.tls == nullptr;
  if (direct) {
    MutexLock lock(inbox_mu_);
    direct = undrained_ == 0;
  }
  // Peer by peer, in the order of their first request; each peer's in order.
  for (size_t first = 0; first < batch.size(); ++first) {
    if (!batch[first].request.done) continue;  // taken with an earlier peer
    const std::string& addr = batch[first].peer.grpc_addr;
    bool sent = false;
    if (direct) {
      sends.group.clear();
      for (size_t i = first; i < batch.size(); ++i) {
        Submission& p = batch[i];
        if (p.request.done && p.peer.grpc_addr == addr) {
          sends.group.push_back(std::move(p.request));
          p.request.done = nullptr;  // marks it taken
        }
      }
      {
        MutexLock lock(links_mu_);
        auto it = links_.find(addr);
        sent = it != links_.end() && it->second->SendDirect(sends.group);
      }
      if (!sent) {
        // Handed back untouched: put them back for the hand-off below.
        size_t g = 0;
        for (size_t i = first; i < batch.size(); ++i) {
          Submission& p = batch[i];
          if (!p.request.done && p.peer.grpc_addr == addr) p.request = std::move(sends.group[g++]);
        }
      }
    }
    if (sent) continue;
    for (size_t i = first; i < batch.size(); ++i) {
      Submission& p = batch[i];
      if (p.request.done && p.peer.grpc_addr == addr) {
        HandOff(std::move(p));
        p.request.done = nullptr;
      }
    }
  }
  batch.clear();
  sends.spare.swap(batch);  // keeps its capacity for the next round
  sends.group.clear();
}

void PeerLinks::HandOff(Submission s) {
  std::shared_ptr<net::Mailbox> wake;
  {
    MutexLock lock(inbox_mu_);
    if (mailbox_ == nullptr) {
      return s.request.done(LinkReply{Unavailable("the peer links are not running")});
    }
    if (inbox_.empty()) wake = mailbox_;
    inbox_.push_back(std::move(s));
    ++undrained_;
  }
  // The first request of a burst wakes the loop; the drain takes them all.
  // Refused once the loop stopped: then nothing will drain, so fail them here.
  if (wake && !wake->Post([this] { DrainInbox(); })) {
    std::vector<Submission> left;
    {
      MutexLock lock(inbox_mu_);
      left.swap(inbox_);
      undrained_ = 0;
    }
    for (Submission& r : left) r.request.done(Stopping());
  }
}

void PeerLinks::DrainInbox() {
  draining_.clear();
  {
    MutexLock lock(inbox_mu_);
    draining_.swap(inbox_);  // both keep their capacity
  }
  for (Submission& s : draining_) Submit(s);
  {
    MutexLock lock(inbox_mu_);
    undrained_ -= std::min(undrained_, draining_.size());
  }
  draining_.clear();
}

void PeerLinks::Submit(Submission& s) {
  if (stopping_) return s.request.done(Stopping());
  OutgoingLink* link;
  {
    MutexLock lock(links_mu_);
    std::unique_ptr<OutgoingLink>& slot = links_[s.peer.grpc_addr];
    if (!slot) slot = std::make_unique<OutgoingLink>(env_, s.peer.id, s.peer.grpc_addr);
    link = slot.get();
  }
  link->Submit(std::move(s.request), SteadyMs());
}

// After every round of the loop: each link touched sends once.
void PeerLinks::FlushDirty() {
  while (!dirty_.empty()) {
    std::vector<OutgoingLink*> dirty;
    dirty.swap(dirty_);
    for (OutgoingLink* link : dirty) link->Flush();
  }
}

std::vector<OutgoingLink*> PeerLinks::AllLinks() {
  std::vector<OutgoingLink*> all;
  MutexLock lock(links_mu_);
  all.reserve(links_.size());
  for (auto& [addr, link] : links_) all.push_back(link.get());
  return all;
}

// Links are removed only by Stop, on this thread: the pointers stay valid,
// and callbacks run without links_mu_ held.
void PeerLinks::TickAll() {
  const int64_t now = SteadyMs();
  for (OutgoingLink* link : AllLinks()) link->Tick(now);
}

void PeerLinks::ShutdownAll() {
  stopping_ = true;
  dirty_.clear();
  for (OutgoingLink* link : AllLinks()) link->Shutdown(Unavailable("node stopping"));
}

}  // namespace ringkv::node
