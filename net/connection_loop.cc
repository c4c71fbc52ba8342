#include "net/connection_loop.h"

// Client sockets are not Asio sockets: Boost 1.74's reactor tries a read after
// every read (an EAGAIN recv per unpipelined request) or re-arms epoll per
// wait. Each loop keeps its clients in its own edge-triggered epoll set
// instead. Asio only parses the address and sets up the listening socket
// (for its error messages).

#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>  // before asio: Boost 1.74 with g++ 12 needs std::exchange declared
// clang-format off
#include <boost/asio.hpp>
// clang-format on
#include <spdlog/spdlog.h>

namespace ringkv::net {
namespace {

// CLOCK_MONOTONIC_COARSE: a few ns per read, a few ms of resolution.
int64_t CoarseMonotonicMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = size_t{16} * 1024;
// A read buffer larger than this is freed once it is consumed: only a large
// request grows it so far, and the next one may never come.
constexpr size_t kKeepReadBuffer = 4 * kReadChunk;
// A connection idle this long gives its (empty) buffers back.
constexpr int64_t kIdleBufferS = 2;
// Freed buffers go back to the kernel (malloc_trim) once a sweep freed this
// much: small buffers freed one by one stay in the allocator otherwise.
constexpr size_t kTrimAfterBytes = size_t{1} << 20;
constexpr int64_t kEmfileLogEveryS = 10;
constexpr char kMaxClientsReply[] = "-ERR max number of clients reached\r\n";
constexpr char kNoFdsReply[] = "-ERR server out of file descriptors, try again later\r\n";

// Unsent reply bytes that stop a batch: the pause threshold, else the hard
// limit (the connection is cut there), else never.
size_t OutputStop(const ClientLimits& c) {
  if (c.output_pause_bytes > 0) return c.output_pause_bytes;
  if (c.output.hard_bytes > 0) return c.output.hard_bytes;
  return SIZE_MAX;
}

}  // namespace

namespace internal {

// One I/O thread: its loop and the connections it owns.
struct LoopShard {
  ConnectionLoop::Impl& server;
  size_t index;
  std::unique_ptr<EventLoop> loop;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections;
  std::vector<std::unique_ptr<Connection>> closed;  // freed after the current round
  std::vector<uint64_t> flush_soon;                 // flushed after the current round
  std::thread thread;
  bool stopping = false;  // connections handed over from now on are closed

  Connection* Find(uint64_t id) {
    auto it = connections.find(id);
    return it == connections.end() ? nullptr : it->second.get();
  }
  void FlushMarked() {
    std::vector<uint64_t> ids;
    ids.swap(flush_soon);
    for (uint64_t id : ids) {
      if (Connection* c = Find(id)) c->Flush();
    }
  }
  void CloseAll() {
    std::vector<Connection*> all;
    all.reserve(connections.size());
    for (auto& [id, c] : connections) all.push_back(c.get());
    for (Connection* c : all) c->Close();
  }
};

}  // namespace internal

using internal::LoopShard;

namespace internal {

// One listening socket (the plain port, or the TLS port), watched by the
// first loop.
struct Listener final : IoHandler {
  ConnectionLoop::Impl* server = nullptr;
  const TlsContext* tls = nullptr;  // null: plaintext
  std::optional<tcp::acceptor> acceptor;
  int fd = -1;
  uint16_t port = 0;

  void OnIoEvents(uint32_t /*events*/) override;
};

}  // namespace internal

using internal::Listener;

struct ConnectionLoop::Impl final {
  ConnectionLoopOptions options;
  HandlerFactory factory;
  ConnectionObserver observer;
  ThreadBody body;
  std::vector<std::unique_ptr<LoopShard>> shards;
  asio::io_context setup_io{1};  // owns the acceptor objects only; never run
  Listener plain;
  Listener secure;  // options.tls.port; fd -1 without TLS
  std::shared_ptr<const TlsContext> tls;
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> next_id{1};
  size_t next_shard = 0;
  bool started = false;
  ClientCounters own_counters;
  ClientCounters* counters = &own_counters;
  int spare_fd = -1;             // closed to accept-and-close when out of descriptors
  bool listen_paused = false;    // out of descriptors and no spare: re-watched by the sweep
  int64_t emfile_logged_s = -1;  // rate limit of the EMFILE warning
  uint64_t emfile_unlogged = 0;

  ~Impl() {
    if (spare_fd >= 0) ::close(spare_fd);
  }
  Status Listen(Listener& l, uint16_t port);
  void Watch() {
    for (Listener* l : {&plain, &secure}) {
      if (l->fd >= 0) shards[0]->loop->Watch(l->fd, EPOLLIN, l);
    }
  }
  void Unwatch() {
    for (Listener* l : {&plain, &secure}) {
      if (l->fd >= 0) shards[0]->loop->Unwatch(l->fd);
    }
  }
  void AcceptAll(Listener& l);
  bool OnOutOfFds(Listener& l);
  void OnAccepted(int fd, LoopShard& shard, const TlsContext* tls);
  void Sweep(LoopShard& shard);
  void EvictClients(LoopShard& shard);
  void Notify(bool accepted, bool rejected) {
    if (observer) observer(open.load(), accepted, rejected);
  }
};

// --- RequestHandler, ConnectionRef ---

void RequestHandler::OnLoopError(Connection& conn, std::string_view reply) {
  conn.out().append(reply);
}

bool ConnectionRef::Post(std::function<void(Connection&)> fn) const {
  return mailbox_->Post([shard = shard_, id = id_, fn = std::move(fn)] {
    if (Connection* c = shard->Find(id)) fn(*c);
  });
}

// --- Connection ---

Connection::Connection(LoopShard& shard, int fd, uint64_t id)
    : shard_(shard),
      fd_(fd),
      id_(id),
      last_active_s_(shard.loop->now_s()),
      out_stop_(OutputStop(shard.server.options.client)),
      opened_s_(last_active_s_) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

size_t Connection::thread_index() const {
  return shard_.index;
}

EventLoop& Connection::loop() const {
  return *shard_.loop;
}

ConnectionRef Connection::Ref() const {
  return ConnectionRef(shard_.loop->mailbox(), &shard_, id_);
}

void Connection::Start(std::shared_ptr<RequestHandler> handler, const TlsContext* tls) {
  handler_ = std::move(handler);
  if (tls != nullptr) tls_ = std::make_unique<TlsStream>(*tls, fd_);
  const ConnectionLoopOptions& o = shard_.server.options;
  parser_ = resp::RequestParser(authed_ ? o.limits : o.unauth_limits);
  auth_changed_ = false;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!shard_.loop->Watch(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this)) return Close();
  if (Handshake()) Pump();
}

// TLS: advances the handshake; true once it is done (always without TLS).
bool Connection::Handshake() {
  if (tls_ == nullptr || tls_->handshaken()) return true;
  switch (tls_->Handshake()) {
    case TlsStream::Step::kDone:
      readable_ = writable_ = true;
      return true;
    case TlsStream::Step::kAgain:
      return false;
    case TlsStream::Step::kFailed:
      break;
  }
  Close();
  return false;
}

ssize_t Connection::RecvSome(char* data, size_t size) {
  return tls_ ? tls_->Read(data, size) : ::recv(fd_, data, size, 0);
}

ssize_t Connection::SendSome(const char* data, size_t size) {
  return tls_ ? tls_->Write(data, size) : ::send(fd_, data, size, MSG_NOSIGNAL);
}

void Connection::SetAuthenticated(bool authenticated) {
  if (authenticated == authed_) return;
  authed_ = authenticated;
  auth_changed_ = true;
}

void Connection::Resume() {
  if (closed_) return;
  hold_ = Hold::kNone;
  last_active_s_ = shard_.loop->now_s();
  run_buffered_ = true;
  Pump();
}

void Connection::FlushSoon() {
  if (flush_soon_ || closed_) return;
  flush_soon_ = true;
  shard_.flush_soon.push_back(id_);
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  shard_.loop->Unwatch(fd_);
  tls_.reset();
  ::shutdown(fd_, SHUT_RDWR);
  ::close(fd_);
  fd_ = -1;
  auto it = shard_.connections.find(id_);
  if (it != shard_.connections.end()) {
    shard_.closed.push_back(std::move(it->second));  // events of this round may still name it
    shard_.connections.erase(it);
  }
  shard_.server.counters->buffer_bytes.fetch_sub(static_cast<int64_t>(accounted_));
  accounted_ = 0;
  if (handler_) handler_->OnClose();
  shard_.server.open.fetch_sub(1);
  shard_.server.Notify(false, false);
}

void Connection::OnIoEvents(uint32_t events) {
  if (closed_) return;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) writable_ = true;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) readable_ = true;
  if (events & EPOLLRDHUP) hup_ = true;
  // OpenSSL may need to read to write and the reverse: any event may unblock either.
  if (tls_ != nullptr) {
    if (!Handshake()) return;
    writable_ = readable_ = true;
  }
  if (abandon_on_close_ && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return Close();
  Pump();
}

// The one place that moves a connection on: sends a pending rest, runs
// buffered requests, reads while allowed, sends, and closes when done. A
// handler hook that calls back (Resume, Flush) makes it go round again
// instead of nesting.
void Connection::Pump() {
  if (pumping_) {
    repump_ = true;
    return;
  }
  pumping_ = true;
  flush_soon_ = false;  // this round's flush happens here
  do {
    repump_ = false;
    if (writing_ && writable_) Send();
    if (run_buffered_) {
      run_buffered_ = false;
      if (!closed_ && hold_ == Hold::kNone && !closing_ && start_ < end_) RunBuffered();
    }
    while (!closed_ && CanRead() && ReadOnce()) {
    }
    if (!closed_ && !writing_ && unsent() > 0) Send();
    if (!closed_ && Finished()) Close();
    if (!closed_) AfterPump();
  } while (repump_ && !closed_);
  pumping_ = false;
}

void Connection::AfterPump() {
  Account();
  if (closed_) return;  // the largest client over maxmemory-clients
  if (unsent() > 0 || soft_since_s_ >= 0) {
    if (OverOutputLimit(shard_.loop->now_s())) {
      shard_.server.counters->output_limit_disconnects.fetch_add(1);
      return Close();
    }
  }
  if (out_full_ && unsent() < out_stop_) {  // the client read: go on with the batch
    out_full_ = false;
    run_buffered_ = true;
    repump_ = true;
  }
}

// Redis's rule: at or above hard, or at or above soft for soft_seconds.
bool Connection::OverOutputLimit(int64_t now_s) {
  const OutputBufferLimit& l = shard_.server.options.client.output;
  const size_t u = unsent();
  if (l.hard_bytes > 0 && u >= l.hard_bytes) return true;
  if (l.soft_bytes == 0 || u < l.soft_bytes) {
    soft_since_s_ = -1;
    return false;
  }
  if (soft_since_s_ < 0) soft_since_s_ = now_s;
  return now_s - soft_since_s_ >= static_cast<int64_t>(l.soft_seconds);
}

// Keeps ClientCounters::buffer_bytes up to date (capacities change only when
// a buffer grows, shrinks or is freed) and applies maxmemory-clients.
void Connection::Account() {
  const size_t now = rbuf_.capacity() + out_.capacity();
  if (now == accounted_) return;
  const int64_t delta = static_cast<int64_t>(now) - static_cast<int64_t>(accounted_);
  accounted_ = now;
  ConnectionLoop::Impl& server = shard_.server;
  const int64_t total = server.counters->buffer_bytes.fetch_add(delta) + delta;
  const uint64_t cap = server.options.client.maxmemory_clients;
  if (delta > 0 && cap > 0 && total > static_cast<int64_t>(cap)) server.EvictClients(shard_);
}

void Connection::ReleaseBuffers() {
  std::vector<char>().swap(rbuf_);
  start_ = end_ = 0;
  std::string().swap(out_);
  woff_ = 0;
  Account();
}

size_t Connection::Sweep(int64_t now_s) {
  if (closed_ || pumping_) return 0;
  ClientCounters& counters = *shard_.server.counters;
  const ClientLimits& c = shard_.server.options.client;
  const bool shaking = tls_ != nullptr && !tls_->handshaken();
  if ((!authed_ || shaking) && c.auth_timeout_s > 0 && now_s - opened_s_ >= c.auth_timeout_s) {
    counters.auth_timeouts.fetch_add(1);
    Close();
    return 0;
  }
  // A client that stopped reading raises no event: its soft limit runs out here.
  if (unsent() > 0 && OverOutputLimit(now_s)) {
    counters.output_limit_disconnects.fetch_add(1);
    Close();
    return 0;
  }
  if (now_s - last_active_s_ >= kIdleBufferS && start_ == end_ && unsent() == 0 && accounted_ > 0) {
    const size_t held = accounted_;
    ReleaseBuffers();
    return held - accounted_;
  }
  return 0;
}

bool Connection::CanRead() const {
  return readable_ && !eof_ && !closing_ && !writing_ && !out_full_ && hold_ != Hold::kPause;
}

// Reads once and runs what completed; true if the socket may hold more now.
// A short read drains it: with an edge-triggered set, the next bytes raise a
// new event (after EPOLLRDHUP, reading goes on to the end of the stream).
bool Connection::ReadOnce() {
  if (rbuf_.size() - end_ < kReadChunk) MakeRoom();
  const size_t space = rbuf_.size() - end_;
  ssize_t n = RecvSome(rbuf_.data() + end_, space);
  if (n < 0) {
    if (errno == EINTR) return true;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable_ = false;
      return false;
    }
    Close();
    return false;
  }
  if (n == 0) {
    if (abandon_on_close_) {
      Close();
      return false;
    }
    eof_ = true;  // replies owed are still sent; then Finished() closes
    return false;
  }
  end_ += static_cast<size_t>(n);
  last_active_s_ = shard_.loop->now_s();
  if (abandon_on_close_) read_at_ms_ = CoarseMonotonicMs();
  if (hold_ == Hold::kNone) RunBuffered();
  const uint64_t limit = shard_.server.options.max_query_buffer;
  if (!closed_ && !closing_ && end_ - start_ > limit) {
    shard_.server.counters->query_limit_disconnects.fetch_add(1);
    handler_->OnLoopError(*this, "-ERR Protocol error: query buffer of " +
                                     std::to_string(end_ - start_) +
                                     " bytes exceeds the limit\r\n");
    closing_ = true;
  }
  // A short read drains a plain socket; TLS reads one record at a time.
  if (static_cast<size_t>(n) < space && !hup_ && tls_ == nullptr) {
    readable_ = false;
    return false;
  }
  return true;
}

// Runs every complete request in the buffer until one holds the connection.
bool Connection::AbandonStale() {
  const int64_t now = CoarseMonotonicMs();
  if (now - read_at_ms_ < kAbandonCheckMs) return false;
  read_at_ms_ = now;  // checked: the next check is due kAbandonCheckMs later
  pollfd p{fd_, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void Connection::RunBuffered() {
  handler_->OnBatchStart(*this);
  while (start_ < end_ && hold_ == Hold::kNone && !out_full_ && !closing_ && !closed_) {
    if (abandon_on_close_ && AbandonStale()) {
      Close();
      return;
    }
    std::string_view pending(rbuf_.data() + start_, end_ - start_);
    resp::ParseStatus st = parser_.Parse(pending);
    if (st == resp::ParseStatus::kIncomplete) break;
    if (st == resp::ParseStatus::kError) {
      handler_->OnLoopError(*this, "-ERR " + parser_.error() + "\r\n");
      closing_ = true;
      break;
    }
    const size_t consumed = parser_.consumed();
    if (!parser_.args().empty()) {
      handler_->OnRequest(*this, parser_.args(), pending.substr(0, consumed));
    }
    start_ += consumed;
    if (unsent() >= out_stop_) out_full_ = true;  // see ClientLimits::output_pause_bytes
    if (auth_changed_) {
      auth_changed_ = false;
      const ConnectionLoopOptions& o = shard_.server.options;
      parser_ = resp::RequestParser(authed_ ? o.limits : o.unauth_limits);
    }
  }
  if (start_ == end_) {
    start_ = end_ = 0;
    if (rbuf_.size() > kKeepReadBuffer) std::vector<char>().swap(rbuf_);
  }
  if (!closed_) handler_->OnBatchEnd(*this);
}

// Sends what is left of out_; on EAGAIN the rest waits for EPOLLOUT. A reply
// that fits the socket buffer (the usual case) goes out here.
void Connection::Send() {
  while (woff_ < out_.size()) {
    ssize_t n = SendSome(out_.data() + woff_, out_.size() - woff_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        writing_ = true;
        writable_ = false;
        return;
      }
      return Close();
    }
    woff_ += static_cast<size_t>(n);
  }
  writing_ = false;
  woff_ = 0;
  out_.clear();
  if (out_.capacity() > (1u << 20)) out_.shrink_to_fit();
  handler_->OnDrained(*this);
}

// Nothing left to do but close: asked to (or the peer closed), every reply
// sent and none owed.
bool Connection::Finished() const {
  return (closing_ || eof_) && !writing_ && unsent() == 0 && !handler_->AwaitingReplies();
}

// Compacts the unconsumed bytes to the front, then grows by doubling: the
// buffer tracks what has arrived, never what a header claims.
void Connection::MakeRoom() {
  if (start_ > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (rbuf_.size() - end_ < kReadChunk) rbuf_.resize(std::max(rbuf_.size() * 2, end_ + kReadChunk));
}

// --- ConnectionLoop ---

void Listener::OnIoEvents(uint32_t /*events*/) {
  server->AcceptAll(*this);
}

void ConnectionLoop::Impl::AcceptAll(Listener& l) {
  for (;;) {
    int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && OnOutOfFds(l)) continue;
      return;  // EAGAIN, or paused until the sweep
    }
    LoopShard& shard = *shards[next_shard];
    next_shard = (next_shard + 1) % shards.size();
    OnAccepted(fd, shard, l.tls);
  }
}

// Out of descriptors, the listener stays readable: waiting would spin. The
// spare descriptor makes room to accept the next connection and close it
// with an error (the client learns at once, the queue drains); without a
// spare the listener pauses until the next sweep. True: accept again.
bool ConnectionLoop::Impl::OnOutOfFds(Listener& l) {
  counters->emfile_events.fetch_add(1);
  const int64_t now = shards[0]->loop->now_s();
  ++emfile_unlogged;
  if (emfile_logged_s < 0 || now - emfile_logged_s >= kEmfileLogEveryS) {
    spdlog::warn(
        "out of file descriptors accepting on port {} ({} times since the last warning); "
        "connections are refused: raise ulimit -n or lower maxclients",
        l.port, emfile_unlogged);
    emfile_logged_s = now;
    emfile_unlogged = 0;
  }
  if (spare_fd >= 0) {
    ::close(spare_fd);
    spare_fd = -1;
    int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      // Over TLS the client expects a handshake: it sees a closed connection.
      ssize_t r = l.tls ? 0 : ::send(fd, kNoFdsReply, sizeof kNoFdsReply - 1, MSG_NOSIGNAL);
      (void)r;
      ::close(fd);
    }
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && spare_fd >= 0) return true;
  }
  Unwatch();
  listen_paused = true;
  return false;
}

void ConnectionLoop::Impl::OnAccepted(int fd, LoopShard& shard, const TlsContext* tls) {
  if (static_cast<uint64_t>(open.load()) >= options.maxclients) {
    ssize_t r = tls ? 0 : ::send(fd, kMaxClientsReply, sizeof kMaxClientsReply - 1, MSG_NOSIGNAL);
    (void)r;
    ::close(fd);
    Notify(false, true);
    return;
  }
  open.fetch_add(1);
  Notify(true, false);
  const uint64_t id = next_id.fetch_add(1);
  auto start = [this, &shard, id, fd, tls] {
    if (shard.stopping) {  // handed over while stopping
      ::close(fd);
      open.fetch_sub(1);
      Notify(false, false);
      return;
    }
    auto owned = std::make_unique<Connection>(shard, fd, id);
    Connection& c = *owned;
    shard.connections.emplace(id, std::move(owned));
    c.Start(factory(c), tls);
  };
  if (&shard == shards[0].get()) {
    start();  // the accepting thread
  } else {
    shard.loop->Post(std::move(start));  // the connection lives on its loop's thread
  }
}

// Once a second on every loop: idle timeout, AUTH timeout, soft output
// limits, idle buffers, maxmemory-clients; on the first loop, a listener
// paused out of descriptors listens again.
void ConnectionLoop::Impl::Sweep(LoopShard& shard) {
  const int64_t now = shard.loop->now_s();
  const int64_t cutoff = now - options.idle_timeout_s;
  std::vector<Connection*> all;
  all.reserve(shard.connections.size());
  for (auto& [id, c] : shard.connections) all.push_back(c.get());
  size_t freed = 0;
  for (Connection* c : all) {
    if (options.idle_timeout_s > 0 && c->IdleSince(cutoff)) {
      c->Close();
    } else {
      freed += c->Sweep(now);
    }
  }
  if (freed >= kTrimAfterBytes) ::malloc_trim(0);
  const uint64_t cap = options.client.maxmemory_clients;
  if (cap > 0 && counters->buffer_bytes.load() > static_cast<int64_t>(cap)) EvictClients(shard);
  if (shard.index == 0 && listen_paused && !shard.stopping) {
    listen_paused = false;
    if (spare_fd < 0) spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    Watch();
  }
}

// Cuts this loop's largest clients until the total is under
// maxmemory-clients (other loops do the same at their next sweep).
void ConnectionLoop::Impl::EvictClients(LoopShard& shard) {
  const auto cap = static_cast<int64_t>(options.client.maxmemory_clients);
  while (counters->buffer_bytes.load() > cap) {
    Connection* largest = nullptr;
    for (auto& [id, c] : shard.connections) {
      if (largest == nullptr || c->buffer_bytes() > largest->buffer_bytes()) largest = c.get();
    }
    if (largest == nullptr || largest->buffer_bytes() == 0) return;
    counters->memory_evictions.fetch_add(1);
    largest->Close();
  }
}

Status ConnectionLoop::Impl::Listen(Listener& l, uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.bind, ec);
  if (ec) return InvalidArgument("bad bind address '" + options.bind + "': " + ec.message());
  tcp::endpoint endpoint(address, port);
  l.server = this;
  std::optional<tcp::acceptor>& acceptor = l.acceptor;
  acceptor.emplace(setup_io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(options.backlog, ec);
  if (!ec) acceptor->non_blocking(true, ec);
  if (ec) {
    acceptor.reset();
    return Unavailable("cannot listen on " + options.bind + ":" + std::to_string(port) + ": " +
                       ec.message());
  }
  l.port = acceptor->local_endpoint().port();
  l.fd = acceptor->native_handle();
  return OkStatus();
}

ConnectionLoop::ConnectionLoop(ConnectionLoopOptions options, HandlerFactory factory,
                               ConnectionObserver observer, ThreadBody body)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->factory = std::move(factory);
  impl_->observer = std::move(observer);
  impl_->body = std::move(body);
  if (impl_->options.counters != nullptr) impl_->counters = impl_->options.counters;
}

ConnectionLoop::~ConnectionLoop() {
  Stop();
}

Status ConnectionLoop::Start() {
  Impl& s = *impl_;
  if (s.started) return FailedPrecondition("already started");
  StatusOr<uint64_t> maxclients =
      FitMaxClients(s.options.maxclients, s.options.client.reserved_fds);
  if (!maxclients.ok()) return maxclients.status();
  s.options.maxclients = *maxclients;
  if (s.options.tls_only && s.options.tls.enabled()) {
    return InvalidArgument("a TLS-only listener takes its port from port; tls.port must be 0");
  }
  if (s.options.tls.enabled() || s.options.tls_only) {
    StatusOr<std::shared_ptr<const TlsContext>> tls = TlsContext::CreateServer(s.options.tls);
    if (!tls.ok()) return tls.status();
    s.tls = *tls;
    s.secure.tls = s.tls.get();
  }
  if (s.options.tls_only) {
    if (Status st = s.Listen(s.secure, s.options.port); !st.ok()) return st;
  } else if (Status st = s.Listen(s.plain, s.options.port); !st.ok()) {
    return st;
  }
  if (s.options.tls.enabled()) {
    if (Status st = s.Listen(s.secure, s.options.tls.port); !st.ok()) return st;
  }
  if (s.spare_fd < 0) s.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const uint32_t threads = std::max<uint32_t>(1, s.options.threads);
  s.shards.clear();
  for (uint32_t i = 0; i < threads; ++i) {
    StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(s.options.busy_poll_us);
    if (!loop.ok()) return loop.status();
    auto shard = std::unique_ptr<LoopShard>(new LoopShard{s, i, std::move(*loop), {}, {}, {}});
    LoopShard* sp = shard.get();
    sp->loop->OnRoundEnd([sp] {
      sp->FlushMarked();
      sp->closed.clear();
    });
    sp->loop->Every(std::chrono::seconds(1), [&s, sp] { s.Sweep(*sp); });
    s.shards.push_back(std::move(shard));
  }
  s.Watch();
  for (auto& shard : s.shards) {
    shard->thread = std::thread([&s, sp = shard.get()] {
      // Validated with the options; a failure leaves the thread unpinned.
      (void)PinThisThread(s.options.cpus);
      if (s.body) {
        s.body(*sp->loop, sp->index);
      } else {
        sp->loop->Run();
      }
    });
  }
  s.started = true;
  return OkStatus();
}

void ConnectionLoop::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  s.shards[0]->loop->Post([&s] {
    s.Unwatch();
    s.listen_paused = false;
    boost::system::error_code ec;
    for (Listener* l : {&s.plain, &s.secure}) {
      if (l->acceptor) l->acceptor->close(ec);
    }
  });
  for (auto& shard : s.shards) {
    shard->loop->Post([sp = shard.get()] {
      sp->stopping = true;
      sp->CloseAll();
      sp->loop->Quit();
    });
  }
  for (auto& shard : s.shards) {
    if (shard->thread.joinable()) shard->thread.join();
  }
  // What was posted after a loop quit: connections handed over (closed
  // there) and completions (dropped). Posts from now on are refused.
  for (auto& shard : s.shards) {
    shard->stopping = true;
    shard->loop->CloseMailbox();
    shard->CloseAll();
    shard->closed.clear();
  }
  if (s.spare_fd >= 0) ::close(s.spare_fd);
  s.spare_fd = -1;
}

uint16_t ConnectionLoop::port() const {
  return impl_->options.tls_only ? impl_->secure.port : impl_->plain.port;
}

uint16_t ConnectionLoop::tls_port() const {
  return impl_->secure.port;
}

uint64_t ConnectionLoop::maxclients() const {
  return impl_->options.maxclients;
}

const ClientCounters& ConnectionLoop::counters() const {
  return *impl_->counters;
}

EventLoop& ConnectionLoop::loop(size_t index) {
  return *impl_->shards[index]->loop;
}

}  // namespace ringkv::net
