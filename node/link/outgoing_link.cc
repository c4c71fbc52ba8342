#include "node/link/outgoing_link.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>
#include <memory>

#include "node/link/link_frame.h"

namespace ringkv::node {
namespace {

// After a failed dial, connect or hello, new requests fail at once for a
// while: 50 ms, doubling up to 1 s.
constexpr int64_t kMinBackoffMs = 50;
constexpr int64_t kMaxBackoffMs = 1000;
// A peer without a link listener is asked again after this long.
constexpr int64_t kNoLinkRetryMs = 30000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Unix ms minus steady ms: a deadline on the steady clock as the receiver reads it.
int64_t UnixOffsetMs() {
  const int64_t unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  return unix_ms - SteadyMs();
}

Status NoReply(uint32_t timeout_ms, std::string_view tail) {
  return Status(StatusCode::kDeadlineExceeded, "no reply within " + std::to_string(timeout_ms) +
                                                   " ms (peer_timeout_ms)" + std::string(tail));
}

std::string FirstLine(std::string_view reply) {
  std::string line(reply.substr(0, std::min<size_t>(reply.find('\r'), 200)));
  if (!line.empty() && (line[0] == '-' || line[0] == '+')) line.erase(0, 1);
  return line;
}

}  // namespace

OutgoingLink::OutgoingLink(const Env& env, std::string peer_id, std::string peer_grpc)
    : env_(env),
      peer_id_(std::move(peer_id)),
      peer_grpc_(std::move(peer_grpc)),
      conn_(*env.loop, *this),
      window_(env.limits) {}

OutgoingLink::~OutgoingLink() {
  MutexLock lock(mu_);
  CloseDirect();
}

void OutgoingLink::Due(LinkCallback done, LinkReply reply) {
  due_.emplace_back(std::move(done), std::move(reply));
}

void OutgoingLink::RunDue() {
  std::vector<std::pair<LinkCallback, LinkReply>> due;
  {
    MutexLock lock(mu_);
    if (due_.empty()) return;
    due.swap(due_);
  }
  for (auto& [done, reply] : due) done(std::move(reply));
}

bool OutgoingLink::DirectOk() const {
  return state_ == State::kOpen && hello_answered_ && direct_fd_ >= 0 && !conn_busy_ &&
         spill_.empty() && window_.queued() == 0;
}

void OutgoingLink::CloseDirect() {
  if (direct_fd_ >= 0) ::close(direct_fd_);
  direct_fd_ = -1;
  spill_.clear();
  conn_busy_ = false;
}

void OutgoingLink::CloseConn() {
  CloseDirect();
  conn_.Close();
}

void OutgoingLink::Submit(LinkRequest r, int64_t now_ms) {
  {
    MutexLock lock(mu_);
    now_ms_ = now_ms;
    if ((state_ == State::kBackoff || state_ == State::kNoLink) && now_ms >= retry_at_ms_) {
      state_ = State::kIdle;
    }
    if (state_ == State::kBackoff) {
      Due(std::move(r.done), LinkReply{last_error_});
    } else if (state_ == State::kNoLink) {
      GiveBack(std::move(r));
    } else if (!window_.Admit(r)) {
      Due(std::move(r.done),
          LinkReply{ResourceExhausted("the link to node " + peer_id_ +
                                      " is full: " + std::to_string(window_.inflight()) +
                                      " requests in flight, " + std::to_string(window_.queued()) +
                                      " queued (peer_link_window, peer_link_queue)")});
    } else if (state_ == State::kIdle) {
      Dial();
    } else if (state_ == State::kOpen) {
      env_.mark_dirty(*this);
    }
  }
  RunDue();
}

bool OutgoingLink::SendDirect(std::vector<LinkRequest>& requests) {
  thread_local std::string frame;  // reused: no allocation per round
  MutexLock lock(mu_);
  if (!DirectOk()) return false;
  uint64_t bytes = 0;
  for (const LinkRequest& r : requests) bytes += r.body.size();
  if (!window_.Fits(requests.size(), bytes)) return false;
  for (LinkRequest& r : requests) (void)window_.Admit(r);  // fits: nothing is refused
  requests.clear();
  if (window_.inflight() == 0) direct_started_ = true;
  frame.clear();
  window_.Fill(frame, UnixOffsetMs());
  size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t n =
        ::send(direct_fd_, frame.data() + sent, frame.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the socket is full, or failing (the links' thread hears of that)
    sent += static_cast<size_t>(n);
  }
  if (sent < frame.size()) {
    // The links' thread sends the rest, before anything else (DirectOk is
    // false until then).
    spill_.append(frame, sent, std::string::npos);
    env_.loop->Post([this] { env_.mark_dirty(*this); });
  }
  return true;
}

void OutgoingLink::Dial() {
  state_ = State::kDialing;
  const uint64_t dial = ++dials_;
  env_.dialer->Open(peer_grpc_, env_.timeout_ms,
                    [mailbox = env_.loop->mailbox(), this, dial](StatusOr<LinkGrant> grant) {
                      auto held = std::make_shared<StatusOr<LinkGrant>>(std::move(grant));
                      // `this` is used on the loop's thread only, which the link outlives.
                      mailbox->Post([this, dial, held] { OnGrant(dial, std::move(*held)); });
                    });
}

void OutgoingLink::OnGrant(uint64_t dial, StatusOr<LinkGrant> grant) {
  {
    MutexLock lock(mu_);
    if (dial != dials_ || state_ != State::kDialing) return;
    if (!grant.ok() && grant.status().code() == StatusCode::kUnimplemented) {
      spdlog::info("node {} at {} has no peer link; forwarding to it over gRPC", peer_id_,
                   peer_grpc_);
      state_ = State::kNoLink;
      retry_at_ms_ = SteadyMs() + kNoLinkRetryMs;
      last_error_ = Status(StatusCode::kUnimplemented, grant.status().message());
      for (LinkRequest& r : window_.TakeQueued()) GiveBack(std::move(r));
    } else if (!grant.ok()) {
      Fail(Unavailable("cannot open the link: " + grant.status().message()), true);
    } else if (Status s = conn_.Connect(grant->addr, env_.tls, grant->host); !s.ok()) {
      Fail(Unavailable("link to " + grant->addr_text + ": " + s.message()), true);
    } else {
      link_addr_ = grant->addr_text;
      state_ = State::kOpen;
      hello_answered_ = false;
      CloseDirect();
      seen_bytes_ = conn_.bytes_read();
      quiet_since_ms_ = SteadyMs();
      const auto [id, grpc] = env_.self();
      conn_.out().append(EncodeLinkHello(LinkHello{grant->token, id, grpc}));
      env_.mark_dirty(*this);
    }
  }
  RunDue();
}

void OutgoingLink::Flush() {
  dirty = false;
  {
    MutexLock lock(mu_);
    if (state_ != State::kOpen) return;
    // What SendDirect could not send goes first: it is in flight already.
    conn_.out().append(spill_);
    spill_.clear();
    const bool was_idle = window_.inflight() == 0;
    window_.Fill(conn_.out(), UnixOffsetMs());
    if (was_idle && window_.inflight() > 0) {
      quiet_since_ms_ = SteadyMs();
      seen_bytes_ = conn_.bytes_read();
    }
    if (conn_.unsent() == 0) return;
    conn_busy_ = true;  // SendDirect keeps off the socket while this sends
  }
  conn_.Flush();  // unlocked: a failure calls OnClosed
  {
    MutexLock lock(mu_);
    conn_busy_ = conn_.unsent() > 0;
  }
  RunDue();
}

void OutgoingLink::OnReply(std::string_view frame) {
  LinkCallback done;
  LinkReply reply;
  {
    MutexLock lock(mu_);
    if (!hello_answered_) {
      if (frame == "+OK\r\n") {
        hello_answered_ = true;
        if (failures_ > 0) spdlog::info("link to node {} at {} is up again", peer_id_, link_addr_);
        failures_ = 0;
        // SendDirect writes to a dup of the socket: closing ours never
        // hands its number to another file while a sender holds it. Not
        // over TLS: only the TLS session may write to its socket.
        if (conn_.unsent() == 0) conn_busy_ = false;
        if (!conn_.tls()) direct_fd_ = ::dup(conn_.fd());
      } else {
        Fail(Unavailable("node " + peer_id_ + " refused the link: " + FirstLine(frame)), true);
      }
    } else if (StatusOr<LinkReplyFrame> f = ParseLinkReply(frame); !f.ok()) {
      Fail(Unavailable(f.status().message()), true);
    } else {
      LinkWindow::Completed c = window_.Complete(f->seq);
      done = std::move(c.done);
      if (done && SteadyMs() > c.deadline_ms) {
        // Read after the deadline (this node stalled, its timer not run
        // yet): the caller gave up then, as with an expired gRPC call, and
        // must not act on an answer that old.
        reply = LinkReply{NoReply(env_.timeout_ms, "")};
      } else if (done) {
        reply = LinkReply{OkStatus(), std::string(f->reply), f->epoch, std::string(f->map_json)};
      }
      if (window_.queued() > 0 || !spill_.empty()) env_.mark_dirty(*this);
      if (conn_busy_ && conn_.unsent() == 0) conn_busy_ = false;
    }
  }
  if (done) done(std::move(reply));
  RunDue();
}

void OutgoingLink::OnClosed(const std::string& reason) {
  {
    MutexLock lock(mu_);
    // A link the peer took and later closed is dialled again at once for
    // what is queued; one that failed before the hello was answered backs off.
    Fail(Unavailable("link to " + link_addr_ + ": " + reason), !hello_answered_);
  }
  RunDue();
}

void OutgoingLink::Fail(const Status& why, bool backoff, bool keep_inflight) {
  CloseConn();
  ++dials_;
  hello_answered_ = false;
  std::vector<LinkCallback> inflight;
  if (!keep_inflight) inflight = window_.TakeInflight();
  std::vector<LinkRequest> queued;
  if (backoff) {
    ++failures_;
    const int64_t delay = std::min(kMaxBackoffMs, kMinBackoffMs << std::min(failures_ - 1, 10));
    state_ = State::kBackoff;
    retry_at_ms_ = SteadyMs() + delay;
    last_error_ = why;
    queued = window_.TakeQueued();
    if (failures_ == 1 || failures_ % 20 == 0) {
      spdlog::warn("link to node {} at {}: {} (failure {} in a row; retry in {} ms)", peer_id_,
                   peer_grpc_, why.message(), failures_, delay);
    }
  } else {
    state_ = State::kIdle;
  }
  FailAll(std::move(inflight), why);
  for (LinkRequest& r : queued) Due(std::move(r.done), LinkReply{why});
  if (state_ == State::kIdle && window_.queued() > 0) Dial();
}

void OutgoingLink::FailAll(std::vector<LinkCallback> callbacks, const Status& why) {
  for (LinkCallback& done : callbacks) Due(std::move(done), LinkReply{why});
}

void OutgoingLink::Tick(int64_t now_ms) {
  {
    MutexLock lock(mu_);
    now_ms_ = now_ms;
    if ((state_ == State::kBackoff || state_ == State::kNoLink) && now_ms >= retry_at_ms_) {
      state_ = State::kIdle;
    }
    if (direct_started_) {
      // SendDirect put requests in flight on an idle window: the quiet
      // period starts now (at most one tick late, never early).
      direct_started_ = false;
      seen_bytes_ = conn_.bytes_read();
      quiet_since_ms_ = now_ms;
    }
    // First what is due (requests a reset kept in flight included: they were
    // sent before this connection opened, so none outlives its quiet period).
    std::vector<LinkCallback> expired = window_.Expire(now_ms);
    if (!expired.empty()) FailAll(std::move(expired), NoReply(env_.timeout_ms, ""));
    if (state_ == State::kOpen && window_.inflight() > 0) {
      if (conn_.bytes_read() != seen_bytes_) {
        seen_bytes_ = conn_.bytes_read();
        quiet_since_ms_ = now_ms;
      } else if (now_ms - quiet_since_ms_ >= env_.timeout_ms) {
        // The peer hangs: whatever is on this connection will not be
        // answered. What was sent may still run if the peer wakes up before
        // the deadlines (it drops what arrives later), so those requests
        // fail at their deadlines, not now: a caller that retries elsewhere
        // never races a late copy.
        Fail(NoReply(env_.timeout_ms, "; the link is reset"), true, /*keep_inflight=*/true);
      }
    }
  }
  RunDue();
}

void OutgoingLink::Shutdown(const Status& why) {
  {
    MutexLock lock(mu_);
    CloseConn();
    ++dials_;
    state_ = State::kBackoff;
    retry_at_ms_ = std::numeric_limits<int64_t>::max();
    last_error_ = why;
    FailAll(window_.TakeInflight(), why);
    for (LinkRequest& r : window_.TakeQueued()) Due(std::move(r.done), LinkReply{why});
  }
  RunDue();
}

void OutgoingLink::GiveBack(LinkRequest r) {
  LinkReply reply{last_error_};
  reply.unsent = std::move(r.body);
  Due(std::move(r.done), std::move(reply));
}

}  // namespace ringkv::node
