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
  links_.clear();     // before the loop they were watched by
  listener_.reset();
}

void PeerLinks::Send(const LinkPeer& peer, uint64_t epoch, std::span<const std::string_view> args,
                     LinkCallback done) {
  EncodedLinkRequest encoded = EncodeLinkRequest(args);
  Submission s{peer, LinkRequest{epoch, std::move(encoded.body), encoded.bulks,
                                 SteadyMs() + options_.timeout_ms, std::move(done)}};
  std::shared_ptr<net::Mailbox> wake;
  {
    MutexLock lock(inbox_mu_);
    if (mailbox_ == nullptr) {
      return s.request.done(LinkReply{Unavailable("the peer links are not running")});
    }
    if (inbox_.empty()) wake = mailbox_;
    inbox_.push_back(std::move(s));
  }
  // The first request of a burst wakes the loop; the drain takes them all.
  // Refused once the loop stopped: then nothing will drain, so fail them here.
  if (wake && !wake->Post([this] { DrainInbox(); })) {
    std::vector<Submission> left;
    {
      MutexLock lock(inbox_mu_);
      left.swap(inbox_);
    }
    for (Submission& r : left) r.request.done(Stopping());
  }
}

void PeerLinks::DrainInbox() {
  std::vector<Submission> batch;
  {
    MutexLock lock(inbox_mu_);
    batch.swap(inbox_);
  }
  for (Submission& s : batch) Submit(s);
}

void PeerLinks::Submit(Submission& s) {
  if (stopping_) return s.request.done(Stopping());
  std::unique_ptr<OutgoingLink>& link = links_[s.peer.grpc_addr];
  if (!link) link = std::make_unique<OutgoingLink>(env_, s.peer.id, s.peer.grpc_addr);
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

void PeerLinks::TickAll() {
  const int64_t now = SteadyMs();
  for (auto& [addr, link] : links_) link->Tick(now);
}

void PeerLinks::ShutdownAll() {
  stopping_ = true;
  dirty_.clear();
  for (auto& [addr, link] : links_) link->Shutdown(Unavailable("node stopping"));
}

}  // namespace ringkv::node
