// BackendConn and Worker: the back-end half of the proxy's I/O shell.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/resp/resp_parser.h"
#include "router/proxy/internal/proxy_io.h"

namespace ringkv::router::internal {

namespace {

constexpr size_t kBackendReadChunk = size_t{64} * 1024;
// After a failure, commands for that back end fail at once for this long
// instead of each paying for a connect attempt.
constexpr auto kRetryDelay = std::chrono::milliseconds(100);

}  // namespace

BackendConn::BackendConn(Worker& worker, const Backend& backend)
    : worker_(worker),
      addr_(backend.addr),
      host_(backend.host),
      port_(backend.port),
      kind_(backend.kind),
      socket_(worker.io),
      resolver_(worker.io),
      timer_(worker.io) {}

void BackendConn::Send(std::string_view command, Pending pending) {
  if (state_ == State::kIdle) {
    if (Clock::now() < retry_after_) return Reject(std::move(pending), last_error_);
    Connect();
  }
  if (inflight_.empty() && swallow_ == 0) {
    last_progress_ = Clock::now();
    if (state_ == State::kReady) ArmTimer();
  }
  out_.append(command);
  inflight_.push_back(std::move(pending));
  worker_.MarkDirty(*this);
}

// Writes directly when the socket takes it all (the usual case), else the
// rest asynchronously.
void BackendConn::Flush() {
  if (state_ != State::kReady || writing_ || out_.empty()) return;
  if (tls_) return FlushTls();
  boost::system::error_code ec;
  size_t n = socket_.write_some(asio::buffer(out_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    n = 0;
  } else if (ec) {
    return Fail("write failed: " + ec.message(), true);
  }
  if (n == out_.size()) {
    out_.clear();
    if (out_.capacity() > (4u << 20)) out_.shrink_to_fit();
    return;
  }
  out_.erase(0, n);
  std::swap(out_, wbuf_);
  writing_ = true;
  asio::async_write(
      socket_, asio::buffer(wbuf_),
      [this, gen = gen_](const boost::system::error_code& ec, size_t) { OnWritten(gen, ec); });
}

// OpenSSL retries a blocked record from the same bytes: out_ keeps them at
// its front (only what was written is erased, new commands append).
void BackendConn::FlushTls() {
  size_t done = 0;
  while (done < out_.size()) {
    ssize_t n = tls_->Write(out_.data() + done, out_.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EAGAIN) break;
    return Fail(
        "write failed: " + (n == 0 ? std::string("closed") : net::IoFailure(tls_.get(), errno)),
        true);
  }
  out_.erase(0, done);
  if (out_.empty()) {
    if (out_.capacity() > (4u << 20)) out_.shrink_to_fit();
    return;
  }
  writing_ = true;
  socket_.async_wait(tcp::socket::wait_write,
                     [this, gen = gen_](const boost::system::error_code& ec) {
                       if (gen != gen_) return;
                       writing_ = false;
                       if (ec) return Fail("write failed: " + ec.message(), true);
                       Flush();
                     });
}

void BackendConn::OnWritten(uint64_t gen, const boost::system::error_code& ec) {
  if (gen != gen_) return;
  writing_ = false;
  wbuf_.clear();
  if (wbuf_.capacity() > (4u << 20)) wbuf_.shrink_to_fit();
  if (ec) return Fail("write failed: " + ec.message(), true);
  Flush();
}

void BackendConn::Connect() {
  state_ = State::kConnecting;
  connect_started_ = Clock::now();
  ArmTimer();
  auto on_connect = [this, gen = gen_](const boost::system::error_code& ec, auto&&...) {
    OnConnected(gen, ec);
  };
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host_, ec);
  if (!ec) {
    socket_.async_connect(tcp::endpoint(address, port_), on_connect);
    return;
  }
  resolver_.async_resolve(
      host_, std::to_string(port_),
      [this, gen = gen_, on_connect](const boost::system::error_code& ec,
                                     const tcp::resolver::results_type& results) {
        if (gen != gen_) return;
        if (ec) return Fail("cannot resolve " + host_ + ": " + ec.message(), true);
        asio::async_connect(socket_, results, on_connect);
      });
}

void BackendConn::OnConnected(uint64_t gen, const boost::system::error_code& ec) {
  if (gen != gen_) return;
  if (ec) return Fail("connect failed: " + ec.message(), true);
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  if (const net::TlsContext* tls = worker_.ctx->options->backend_tls.get()) {
    tls_ = std::make_unique<net::TlsStream>(*tls, socket_.native_handle(), host_);
    return Handshake(gen);
  }
  OnReady(gen);
}

// Still kConnecting: the connect deadline covers the handshake. A client
// waits for the server after its first flight (WANT_WRITE would need a full
// send buffer on a fresh socket).
void BackendConn::Handshake(uint64_t gen) {
  switch (tls_->Handshake()) {
    case net::TlsStream::Step::kDone:
      return OnReady(gen);
    case net::TlsStream::Step::kAgain:
      socket_.async_wait(tcp::socket::wait_read, [this, gen](const boost::system::error_code& ec) {
        if (gen != gen_) return;
        if (ec) return Fail("TLS handshake: " + ec.message(), true);
        Handshake(gen);
      });
      return;
    case net::TlsStream::Step::kFailed:
      break;
  }
  static constexpr char kReason[] =
      "TLS handshake failed: its certificate does not verify against backend_tls_ca_cert_file "
      "or does not name its host, or it does not speak TLS";
  if (last_error_ != kReason) {  // once per worker until the back end recovers
    spdlog::error("proxy: back end {}: {}; its commands get -ERR", addr_, kReason);
  }
  Fail(kReason, true);
}

void BackendConn::OnReady(uint64_t gen) {
  last_error_.clear();
  state_ = State::kReady;
  const std::string& password = worker_.ctx->options->backend_password;
  if (kind_ == cluster::BackendKind::kRingkv) {
    // What this connection gave up on (a timeout, then failover to the next
    // replica) must not run late on a node that resumes: it drops what is
    // still buffered once we close.
    static constexpr std::string_view kAbandon[] = {"RINGKV.ABANDON-ON-CLOSE"};
    out_.insert(0, net::resp::EncodeCommand(kAbandon));
    swallow_ = 1;
  }
  if (!password.empty()) {
    std::string_view auth[] = {"AUTH", password};
    out_.insert(0, net::resp::EncodeCommand(auth));
    ++swallow_;
    auth_pending_ = true;
  }
  last_progress_ = Clock::now();
  timer_armed_ = false;  // the connect deadline no longer applies
  timer_.cancel();
  if (!inflight_.empty() || swallow_ > 0) ArmTimer();
  Flush();
  if (gen != gen_) return;
  // TLS: records may have come with the handshake; the reactor signals only
  // bytes that arrive after a wait starts.
  if (tls_) return ReadTls(gen);
  StartRead();
}

void BackendConn::MakeRoom() {
  if (rstart_ > 0 && rbuf_.size() - rend_ < kBackendReadChunk / 2) {
    std::memmove(rbuf_.data(), rbuf_.data() + rstart_, rend_ - rstart_);
    rend_ -= rstart_;
    rstart_ = 0;
  }
  if (rbuf_.size() - rend_ < kBackendReadChunk / 2) {
    rbuf_.resize(std::max(rbuf_.size() * 2, rend_ + kBackendReadChunk));
  }
}

// Always one read (or, with TLS, one wait) pending while connected, so a
// close is seen at once.
void BackendConn::StartRead() {
  if (tls_) {
    socket_.async_wait(tcp::socket::wait_read,
                       [this, gen = gen_](const boost::system::error_code& ec) {
                         if (gen != gen_) return;
                         if (ec) return Fail("read failed: " + ec.message(), true);
                         ReadTls(gen);
                       });
    return;
  }
  MakeRoom();
  socket_.async_read_some(
      asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_),
      [this, gen = gen_](const boost::system::error_code& ec, size_t n) { OnRead(gen, ec, n); });
}

void BackendConn::OnRead(uint64_t gen, const boost::system::error_code& ec, size_t n) {
  if (gen != gen_) return;
  if (ec) {
    bool busy = !inflight_.empty() || swallow_ > 0;
    return Fail(ec == asio::error::eof ? "connection closed" : "read failed: " + ec.message(),
                busy);
  }
  rend_ += n;
  if (!DeliverReplies()) return;
  if (gen != gen_) return;  // reset while delivering; a reconnect starts its own read
  last_progress_ = Clock::now();
  StartRead();
}

// Until the socket would block: Asio's reactor signals new bytes only, and
// OpenSSL may hold a decrypted record already read from the socket.
void BackendConn::ReadTls(uint64_t gen) {
  while (true) {
    MakeRoom();
    ssize_t n = tls_->Read(rbuf_.data() + rend_, rbuf_.size() - rend_);
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      const bool busy = !inflight_.empty() || swallow_ > 0;
      return Fail(n == 0 ? std::string("connection closed")
                         : "read failed: " + net::IoFailure(tls_.get(), errno),
                  busy);
    }
    rend_ += static_cast<size_t>(n);
    if (!DeliverReplies() || gen != gen_) return;
    last_progress_ = Clock::now();
  }
  StartRead();
}

// A client's OnReply may reset this connection (gen_ changes): then the
// buffer and the queue belong to the next generation and delivery stops.
bool BackendConn::DeliverReplies() {
  const uint64_t gen = gen_;
  while (rstart_ < rend_) {
    std::string_view buf(rbuf_.data() + rstart_, rend_ - rstart_);
    int64_t len = net::resp::CompleteReplyLength(buf);
    if (len == 0) break;
    if (len < 0) {
      Fail("protocol error in its reply", true);
      return false;
    }
    std::string_view reply = buf.substr(0, static_cast<size_t>(len));
    rstart_ += static_cast<size_t>(len);
    if (swallow_ > 0) {
      --swallow_;
      const bool was_auth = auth_pending_;  // AUTH goes first
      auth_pending_ = false;
      if (reply[0] == '-') {
        Fail(std::string(was_auth ? "AUTH" : "RINGKV.ABANDON-ON-CLOSE") +
                 " refused: " + std::string(reply.substr(1, reply.size() - 3)),
             true);
        return false;
      }
      continue;
    }
    if (inflight_.empty()) {
      Fail("reply without a request", true);
      return false;
    }
    Pending p = std::move(inflight_.front());
    inflight_.pop_front();
    p.client->OnReply(p.seq, p.part, reply);
    if (gen != gen_) return false;
  }
  if (rstart_ == rend_) rstart_ = rend_ = 0;
  return true;
}

void BackendConn::ArmTimer() {
  if (timer_armed_) return;
  timer_armed_ = true;
  const ProxyOptions& o = *worker_.ctx->options;
  Clock::time_point deadline =
      state_ == State::kConnecting
          ? connect_started_ + std::chrono::milliseconds(o.backend_connect_timeout_ms)
          : last_progress_ + std::chrono::milliseconds(o.backend_timeout_ms);
  timer_.expires_at(deadline);
  timer_.async_wait([this, gen = gen_](const boost::system::error_code& ec) {
    if (ec != asio::error::operation_aborted) OnTimer(gen);
  });
}

void BackendConn::OnTimer(uint64_t gen) {
  if (gen != gen_) return;
  timer_armed_ = false;
  const ProxyOptions& o = *worker_.ctx->options;
  Clock::time_point now = Clock::now();
  if (state_ == State::kConnecting) {
    if (now >= connect_started_ + std::chrono::milliseconds(o.backend_connect_timeout_ms)) {
      worker_.ctx->stats->backend_timeouts.fetch_add(1, std::memory_order_relaxed);
      return Fail("connect timed out after " + std::to_string(o.backend_connect_timeout_ms) + " ms",
                  true);
    }
    return ArmTimer();
  }
  if (state_ != State::kReady || (inflight_.empty() && swallow_ == 0)) return;
  if (now >= last_progress_ + std::chrono::milliseconds(o.backend_timeout_ms)) {
    worker_.ctx->stats->backend_timeouts.fetch_add(1, std::memory_order_relaxed);
    return Fail("no reply within " + std::to_string(o.backend_timeout_ms) + " ms", true);
  }
  ArmTimer();
}

void BackendConn::Fail(const std::string& reason, bool count_failure) {
  ++gen_;
  tls_.reset();
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  timer_.cancel();
  timer_armed_ = false;
  state_ = State::kIdle;
  writing_ = false;
  out_.clear();
  wbuf_.clear();
  rstart_ = rend_ = 0;
  swallow_ = 0;
  auth_pending_ = false;
  std::deque<Pending> failed;
  failed.swap(inflight_);
  if (count_failure) {
    worker_.ctx->stats->backend_failures.fetch_add(1, std::memory_order_relaxed);
    last_error_ = reason;
    retry_after_ = Clock::now() + kRetryDelay;
    worker_.MarkSuspect(addr_);
  }
  if (failed.empty()) return;
  if (!count_failure) {  // the router stops: no failover
    std::string err = BackendErrorReply(addr_, reason);
    worker_.ctx->stats->errors.fetch_add(failed.size(), std::memory_order_relaxed);
    for (Pending& p : failed) p.client->OnReply(p.seq, p.part, err);
    return;
  }
  // In request order: what moves on to the same next replica stays in order.
  // `this` may be sent to again meanwhile (a pending whose other replicas
  // failed too); it starts a new connection then.
  for (Pending& p : failed) Reject(std::move(p), reason);
}

void BackendConn::Reject(Pending p, const std::string& reason) {
  std::string err = BackendErrorReply(addr_, reason);
  if (p.retry) return p.client->Failover(std::move(p), addr_, err);
  worker_.ctx->stats->errors.fetch_add(1, std::memory_order_relaxed);
  p.client->OnReply(p.seq, p.part, err);
}

void BackendConn::Shutdown() {
  Fail("router stopping", false);
}

// --- Worker ---

const RouteTable* Worker::Refresh() {
  RouteTablePtr current = ctx->routes->Current();
  if (current != table) {
    table = std::move(current);
    by_index.assign(table ? table->backends.size() : 0, nullptr);
    if (!retire_posted) {
      retire_posted = true;
      asio::post(io, [this] {
        retire_posted = false;
        RetireUnlisted();
      });
    }
  }
  return table.get();
}

// Forgets idle connections to back ends that left the table.
void Worker::RetireUnlisted() {
  if (stopping) return;  // CloseAll shut every connection down
  for (auto it = backends.begin(); it != backends.end();) {
    bool listed = false;
    if (table) {
      for (const Backend& b : table->backends) listed = listed || b.addr == it->first;
    }
    if (!listed && it->second->idle() && !it->second->dirty) {
      it->second->Shutdown();
      // Its cancelled read and timer handlers are already queued on `io` and
      // still reference it: free it only after they have run (FIFO order).
      asio::post(io, [retired = std::shared_ptr<BackendConn>(std::move(it->second))] {});
      it = backends.erase(it);
    } else {
      ++it;
    }
  }
}

BackendConn& Worker::ConnFor(uint32_t backend_index) {
  BackendConn*& slot = by_index[backend_index];
  if (slot == nullptr) slot = &ConnFor(table->backends[backend_index]);
  return *slot;
}

BackendConn& Worker::ConnFor(const Backend& b) {
  auto& conn = backends[b.addr];
  if (!conn) conn = std::make_unique<BackendConn>(*this, b);
  return *conn;
}

// Marks the published table, not this worker's (replaced only at a client
// batch's start, never under a reply handler).
void Worker::MarkSuspect(const std::string& addr) {
  RouteTablePtr t = ctx->routes->Current();
  if (t == nullptr || t->replication <= 1) return;
  uint32_t i = t->IndexOfAddr(addr);
  if (i != ring::kNoNode) t->SetSuspect(i, true);
}

void Worker::MarkDirty(BackendConn& b) {
  if (b.dirty) return;
  b.dirty = true;
  dirty_backends.push_back(&b);
  ScheduleFlush();
}

void Worker::MarkDirty(std::shared_ptr<ClientConn> c) {
  if (c->dirty) return;
  c->dirty = true;
  dirty_clients.push_back(std::move(c));
  ScheduleFlush();
}

void Worker::ScheduleFlush() {
  if (flush_posted) return;
  flush_posted = true;
  asio::post(io, [this] { RunFlush(); });
}

// Runs after the handlers of one event-loop round, so every client read of
// the round shares one write per back end, and every back-end read one write
// per client.
void Worker::RunFlush() {
  flush_posted = false;
  std::vector<BackendConn*> bs;
  bs.swap(dirty_backends);
  for (BackendConn* b : bs) {
    b->dirty = false;
    b->Flush();
  }
  std::vector<std::shared_ptr<ClientConn>> cs;
  cs.swap(dirty_clients);
  for (auto& c : cs) {
    c->dirty = false;
    c->FlushOut();
  }
  cs.clear();
  // Keep the vectors' capacity for the next round.
  if (dirty_backends.empty()) {
    bs.clear();
    dirty_backends.swap(bs);
  }
  if (dirty_clients.empty()) {
    cs.clear();
    dirty_clients.swap(cs);
  }
}

void Worker::Run(net::EventLoop& loop) {
  clients = &loop;
  epoll_watch.emplace(io, ::dup(loop.fd()));
  loop.OnQuit([this] { CloseAll(); });
  guard.emplace(io.get_executor());
  WatchClients();
  io.run();
}

void Worker::WatchClients() {
  epoll_watch->async_wait(asio::posix::stream_descriptor::wait_read,
                          [this](const boost::system::error_code& ec) {
                            if (ec) return;
                            clients->Poll();
                            if (!stopping) WatchClients();
                          });
}

// Runs when the loop quits, after it closed its client connections.
void Worker::CloseAll() {
  stopping = true;
  for (auto& [addr, b] : backends) b->Shutdown();
  dirty_clients.clear();
  boost::system::error_code ec;
  if (epoll_watch) epoll_watch->close(ec);  // closes the dup, not the loop's fd
  guard.reset();
}

}  // namespace ringkv::router::internal
