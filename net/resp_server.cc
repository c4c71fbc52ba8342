#include "net/resp_server.h"

// Client sockets are not Asio sockets: Boost 1.74's reactor tries a read after
// every read (an EAGAIN recv per unpipelined request) or re-arms epoll per
// wait. Each worker thread runs its own edge-triggered epoll loop instead:
// read until a short read, execute every complete command, write all replies
// with one send. Asio is used only to parse the address and set up the
// listening socket (same error messages as before).

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>  // before asio: Boost 1.74 with g++ 12 needs std::exchange declared
#include <vector>

namespace ringkv::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kReadChunk = size_t{16} * 1024;
constexpr char kMaxClientsReply[] = "-ERR max number of clients reached\r\n";
constexpr int kMaxEvents = 128;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace

class Connection;

struct Timer {
  Clock::time_point next;
  std::chrono::milliseconds period;
  std::function<void()> fn;
};

// The queue of functions posted to one I/O thread. Shared with every
// ReplyDeferrer completion, so a completion that outlives the server finds
// it closed instead of touching a freed Worker or a closed eventfd.
struct Mailbox {
  std::mutex mu;
  bool open = true;                           // guarded by mu; false once the thread stopped
  int wakefd = -1;                            // eventfd: Post wakes the loop
  std::vector<std::function<void()>> posted;  // guarded by mu

  // Queues `fn` for the I/O thread; false (fn dropped) once closed.
  bool Post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    if (!open) return false;
    posted.push_back(std::move(fn));
    uint64_t one = 1;
    ssize_t r = ::write(wakefd, &one, sizeof one);
    (void)r;
    return true;
  }
  std::vector<std::function<void()>> Take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(posted, {});
  }
  // Refuses further posts and returns what was queued.
  std::vector<std::function<void()>> Close() {
    std::lock_guard<std::mutex> lock(mu);
    open = false;
    return std::exchange(posted, {});
  }
};

// One I/O thread, its epoll set and the connections it owns.
struct Worker {
  int epfd = -1;
  int wakefd = -1;  // eventfd of the mailbox
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();
  std::thread thread;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections;  // this thread only
  std::vector<std::unique_ptr<Connection>> closed;  // freed after the current round
  std::vector<Timer> timers;                        // this thread only
  int64_t now_s = 0;                                // steady seconds of the current round
  bool running = true;

  char wake_tag = 0;    // epoll data of wakefd
  char listen_tag = 0;  // epoll data of the listening socket (worker 0)

  void Post(std::function<void()> fn) { mailbox->Post(std::move(fn)); }
  // Hands a deferred reply to connection `id` (ignored once it is gone).
  void Complete(uint64_t id, uint64_t seq, const std::string& reply);
  // epoll_wait's timeout in ms: -1 without timers, else until the next one.
  int Timeout(Clock::time_point now) const {
    if (timers.empty()) return -1;
    auto next = timers.front().next;
    for (auto& t : timers) next = std::min(next, t.next);
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
  }
  void RunTimers(Clock::time_point now) {
    // Index loop: a timer's fn may add timers.
    for (size_t i = 0; i < timers.size() && running; ++i) {
      if (timers[i].next > now) continue;
      timers[i].next = now + timers[i].period;
      auto fn = timers[i].fn;  // copy: the vector may grow
      fn();
    }
  }
  void RunPosted() {
    uint64_t n;
    ssize_t r = ::read(wakefd, &n, sizeof n);
    (void)r;
    for (auto& fn : mailbox->Take()) fn();
  }
};

struct RespServer::Impl {
  RespServerOptions options;
  HandlerFactory factory;
  ConnectionObserver observer;
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context setup_io{1};  // owns the acceptor object only; never run
  std::optional<tcp::acceptor> acceptor;
  int listen_fd = -1;
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> next_id{1};
  size_t next_worker = 0;
  uint16_t port = 0;
  bool started = false;

  void Run(Worker& w);
  void AcceptAll();
  void OnAccepted(int fd, Worker& worker);
  void Sweep(Worker& worker);
  void Notify(bool accepted, bool rejected) {
    if (observer) observer(open.load(), accepted, rejected);
  }
};

class Connection final : private ReplyDeferrer {
 public:
  Connection(RespServer::Impl& server, Worker& worker, int fd, uint64_t id)
      : server_(server),
        worker_(worker),
        fd_(fd),
        id_(id),
        handler_(server.factory()),
        authed_(handler_->Authenticated()),
        parser_(authed_ ? server.options.limits : server.options.unauth_limits),
        last_active_(worker.now_s) {}

  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  void Start(std::unique_ptr<Connection> self) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = this;
    worker_.connections.emplace(id_, std::move(self));
    if (epoll_ctl(worker_.epfd, EPOLL_CTL_ADD, fd_, &ev) != 0) return Close();
    ReadNow(false);
  }

  // Closes now, dropping unsent replies (server stop, idle timeout, errors).
  void Close() {
    if (closed_) return;
    closed_ = true;
    epoll_ctl(worker_.epfd, EPOLL_CTL_DEL, fd_, nullptr);
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
    auto it = worker_.connections.find(id_);
    if (it != worker_.connections.end()) {
      worker_.closed.push_back(std::move(it->second));  // events of this round may still name it
      worker_.connections.erase(it);
    }
    server_.open.fetch_sub(1);
    server_.Notify(false, false);
  }

  void OnEvents(uint32_t events) {
    if (closed_) return;
    if (writing_) {
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ContinueWrite();
      return;  // reads resume once the replies are out
    }
    if (eof_) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) ReadNow(events & EPOLLRDHUP);
  }

  bool IdleSince(int64_t cutoff) const { return last_active_ < cutoff; }

  // The completion of deferral `seq` arrived on this thread: appends the
  // reply, runs what was buffered meanwhile and sends.
  void Resume(uint64_t seq, const std::string& reply) {
    if (closed_ || !parked_ || seq != park_seq_) return;  // a second call of one completion
    parked_ = false;
    last_active_ = worker_.now_s;
    out_.append(reply);
    if (ExecuteBuffered()) close_after_write_ = true;
    if (start_ == end_) start_ = end_ = 0;
    if (writing_) return;  // ContinueWrite sends it all, then reads again
    if (!out_.empty()) return StartWrite();
    if (CloseNow()) Close();
  }

 private:
  // Compacts the unconsumed bytes to the front, then grows by doubling: the
  // buffer tracks what has arrived, never what a header claims.
  void MakeRoom() {
    if (start_ > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (rbuf_.size() - end_ < kReadChunk)
      rbuf_.resize(std::max(rbuf_.size() * 2, end_ + kReadChunk));
  }

  // True once nothing is left to do but send: after a fatal error at once,
  // after the peer closed once no deferred reply is outstanding.
  bool CloseNow() const { return close_after_write_ || (eof_ && !parked_); }

  // Reads and executes until a short read (the socket is drained: with an
  // edge-triggered set, the next bytes raise a new event; after EPOLLRDHUP,
  // until the end of the stream), then writes every reply with one send.
  void ReadNow(bool hup) {
    bool close = false;
    while (!close && !eof_) {
      if (rbuf_.size() - end_ < kReadChunk) MakeRoom();
      size_t space = rbuf_.size() - end_;
      ssize_t n = ::recv(fd_, rbuf_.data() + end_, space, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return Close();
      }
      if (n == 0) {
        // Peer closed: replies to the commands already read are still sent
        // (a deferred one too, once it arrives), then the connection closes.
        eof_ = true;
        break;
      }
      end_ += static_cast<size_t>(n);
      last_active_ = worker_.now_s;
      close = ExecuteBuffered();
      if (start_ == end_) start_ = end_ = 0;
      if (!close && end_ - start_ > server_.options.max_query_buffer) {
        out_.append("-ERR Protocol error: query buffer of ");
        out_.append(std::to_string(end_ - start_));
        out_.append(" bytes exceeds the limit\r\n");
        close = true;
      }
      if (static_cast<size_t>(n) < space && !hup) break;
    }
    close_after_write_ = close;
    if (!out_.empty()) return StartWrite();
    if (CloseNow()) Close();
  }

  // Parks the connection until the completion is called (see the header).
  Completion Defer() override {
    parked_ = true;
    const uint64_t seq = ++park_seq_;
    return [mailbox = worker_.mailbox, worker = &worker_, id = id_, seq](std::string reply) {
      // `worker` is dereferenced only by the posted function, which runs on
      // its thread (or in Stop) while it exists.
      mailbox->Post(
          [worker, id, seq, reply = std::move(reply)] { worker->Complete(id, seq, reply); });
    };
  }

  // Executes every complete command in the buffer until one is deferred;
  // true if the connection must close after the replies are written.
  bool ExecuteBuffered() {
    while (start_ < end_ && !parked_) {
      std::string_view pending(rbuf_.data() + start_, end_ - start_);
      resp::ParseStatus st = parser_.Parse(pending);
      if (st == resp::ParseStatus::kIncomplete) return false;
      if (st == resp::ParseStatus::kError) {
        out_.append("-ERR ");
        out_.append(parser_.error());
        out_.append("\r\n");
        return true;
      }
      if (!parser_.args().empty()) handler_->Execute(parser_.args(), out_, *this);
      start_ += parser_.consumed();
      if (handler_->ShouldClose()) return true;
      bool authed = handler_->Authenticated();
      if (authed != authed_) {
        authed_ = authed;
        parser_ =
            resp::RequestParser(authed ? server_.options.limits : server_.options.unauth_limits);
      }
    }
    return false;
  }

  // A reply that fits the socket buffer (the usual case) is sent here and
  // reading needs no extra recv: the read loop stopped on a short read, so
  // the next request raises a new edge.
  void StartWrite() {
    woff_ = 0;
    writing_ = true;
    if (Flush()) FinishWrite(false);
  }

  // EPOLLOUT while writing: input events were ignored meanwhile, so once the
  // replies are out the socket is read again.
  void ContinueWrite() {
    if (Flush()) FinishWrite(true);
  }

  // Sends what is left of out_; false while the socket is full or once it
  // is closed.
  bool Flush() {
    while (woff_ < out_.size()) {
      ssize_t n = ::send(fd_, out_.data() + woff_, out_.size() - woff_, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) Close();
        return false;  // EPOLLOUT resumes
      }
      woff_ += static_cast<size_t>(n);
    }
    return true;
  }

  void FinishWrite(bool read_again) {
    writing_ = false;
    out_.clear();
    if (out_.capacity() > (1u << 20)) out_.shrink_to_fit();
    if (CloseNow()) return Close();
    if (read_again && !eof_) ReadNow(false);
  }

  RespServer::Impl& server_;
  Worker& worker_;
  int fd_;
  uint64_t id_;
  std::unique_ptr<ConnectionHandler> handler_;
  bool authed_;
  resp::RequestParser parser_;
  std::vector<char> rbuf_;
  size_t start_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // end of received bytes
  std::string out_;
  size_t woff_ = 0;  // bytes of out_ already sent
  bool writing_ = false;
  bool close_after_write_ = false;
  int64_t last_active_;
  bool closed_ = false;
  bool eof_ = false;       // the peer closed its side: nothing more to read
  bool parked_ = false;    // a deferred reply is outstanding
  uint64_t park_seq_ = 0;  // names the latest deferral
};

void Worker::Complete(uint64_t id, uint64_t seq, const std::string& reply) {
  auto it = connections.find(id);
  if (it != connections.end()) it->second->Resume(seq, reply);
}

// After a round with events the loop polls (epoll_wait with no timeout) for
// options.busy_poll_us before it sleeps again. A request that arrives within
// that window finds the thread awake, so the sender's send() does not also
// have to wake a sleeping thread (on a VM, an IPI and a halted vCPU to
// resume), which costs the sender microseconds per request. An idle server
// still sleeps.
void RespServer::Impl::Run(Worker& w) {
  epoll_event events[kMaxEvents];
  const auto poll_for = std::chrono::microseconds(options.busy_poll_us);
  Clock::time_point poll_until;  // before it, epoll_wait does not sleep
  while (w.running) {
    auto now = Clock::now();
    int timeout = now < poll_until ? 0 : w.Timeout(now);
    int n = epoll_wait(w.epfd, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) break;
    now = Clock::now();
    if (n > 0) poll_until = now + poll_for;
    w.now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    for (int i = 0; i < n && w.running; ++i) {
      void* p = events[i].data.ptr;
      if (p == &w.wake_tag) {
        w.RunPosted();
      } else if (p == &w.listen_tag) {
        AcceptAll();
      } else {
        static_cast<Connection*>(p)->OnEvents(events[i].events);
      }
    }
    w.RunTimers(Clock::now());
    w.closed.clear();
  }
  w.closed.clear();
}

void RespServer::Impl::AcceptAll() {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of fds: retried on the next readiness
    }
    Worker& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    OnAccepted(fd, w);
  }
}

void RespServer::Impl::OnAccepted(int fd, Worker& worker) {
  if (static_cast<uint64_t>(open.load()) >= options.maxclients) {
    ssize_t r = ::send(fd, kMaxClientsReply, sizeof kMaxClientsReply - 1, MSG_NOSIGNAL);
    (void)r;
    ::close(fd);
    Notify(false, true);
    return;
  }
  open.fetch_add(1);
  Notify(true, false);
  uint64_t id = next_id.fetch_add(1);
  auto start = [this, &worker, id, fd] {
    if (!worker.running) {  // handed over while stopping
      ::close(fd);
      open.fetch_sub(1);
      Notify(false, false);
      return;
    }
    auto c = std::make_unique<Connection>(*this, worker, fd, id);
    Connection* raw = c.get();
    raw->Start(std::move(c));
  };
  if (&worker == workers[0].get()) {
    start();  // the accepting thread
  } else {
    worker.Post(start);  // the connection lives on its worker's thread
  }
}

void RespServer::Impl::Sweep(Worker& worker) {
  if (options.idle_timeout_s == 0) return;
  int64_t cutoff = NowSeconds() - options.idle_timeout_s;
  std::vector<Connection*> idle;
  for (auto& [id, c] : worker.connections) {
    if (c->IdleSince(cutoff)) idle.push_back(c.get());
  }
  for (auto* c : idle) c->Close();
}

RespServer::RespServer(RespServerOptions options, HandlerFactory factory,
                       ConnectionObserver observer)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->factory = std::move(factory);
  impl_->observer = std::move(observer);
}

RespServer::~RespServer() {
  Stop();
  for (auto& w : impl_->workers) {
    w->mailbox->Close();  // a server that failed to start: its fds close below
    if (w->epfd >= 0) ::close(w->epfd);
    if (w->wakefd >= 0) ::close(w->wakefd);
  }
}

Status RespServer::Start() {
  Impl& s = *impl_;
  uint32_t threads = std::max<uint32_t>(1, s.options.threads);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.options.bind, ec);
  if (ec) return InvalidArgument("bad bind address '" + s.options.bind + "': " + ec.message());
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.emplace(s.setup_io);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(s.options.backlog, ec);
  if (!ec) s.acceptor->non_blocking(true, ec);
  if (ec) {
    return Unavailable("cannot listen on " + s.options.bind + ":" + std::to_string(s.options.port) +
                       ": " + ec.message());
  }
  s.port = s.acceptor->local_endpoint().port();
  s.listen_fd = s.acceptor->native_handle();
  for (uint32_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->mailbox->wakefd = w->wakefd;
    if (w->epfd < 0 || w->wakefd < 0) {
      return Unavailable(std::string("cannot create epoll set: ") + std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &w->wake_tag;
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev);
    w->now_s = NowSeconds();
    if (s.options.idle_timeout_s > 0) {
      Worker* wp = w.get();
      w->timers.push_back(Timer{Clock::now() + std::chrono::seconds(1), std::chrono::seconds(1),
                                [&s, wp] { s.Sweep(*wp); }});
    }
    s.workers.push_back(std::move(w));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &s.workers[0]->listen_tag;
  if (epoll_ctl(s.workers[0]->epfd, EPOLL_CTL_ADD, s.listen_fd, &ev) != 0) {
    return Unavailable(std::string("cannot watch the listening socket: ") + std::strerror(errno));
  }
  for (auto& w : s.workers) {
    w->thread = std::thread([&s, wp = w.get()] {
      // Validated with the options; a failure leaves the thread unpinned.
      (void)PinThisThread(s.options.cpus);
      s.Run(*wp);
    });
  }
  s.started = true;
  return OkStatus();
}

void RespServer::Every(uint32_t period_ms, std::function<void()> fn) {
  Impl& s = *impl_;
  Worker* w = s.workers[0].get();
  auto period = std::chrono::milliseconds(period_ms);
  w->Post([w, period, fn = std::move(fn)]() mutable {
    w->timers.push_back(Timer{Clock::now() + period, period, std::move(fn)});
  });
}

void RespServer::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  s.workers[0]->Post([&s] {
    epoll_ctl(s.workers[0]->epfd, EPOLL_CTL_DEL, s.listen_fd, nullptr);
    boost::system::error_code ec;
    s.acceptor->close(ec);
  });
  for (auto& w : s.workers) {
    w->Post([wp = w.get()] {
      std::vector<Connection*> all;
      for (auto& [id, c] : wp->connections) all.push_back(c.get());
      for (auto* c : all) c->Close();
      wp->timers.clear();
      wp->running = false;
    });
  }
  for (auto& w : s.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Connections handed to a worker after it stopped: close them too.
  // Completions that arrive from now on are dropped.
  for (auto& w : s.workers) {
    for (auto& fn : w->mailbox->Close()) fn();
    std::vector<Connection*> all;
    for (auto& [id, c] : w->connections) all.push_back(c.get());
    for (auto* c : all) c->Close();
    w->closed.clear();
  }
}

uint16_t RespServer::port() const {
  return impl_->port;
}

}  // namespace ringkv::net
