#include "net/resp_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>  // before asio: Boost 1.74 with g++ 12 needs std::exchange declared
#include <vector>

namespace ringkv::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = size_t{16} * 1024;
constexpr char kMaxClientsReply[] = "-ERR max number of clients reached\r\n";

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class Connection;

// One I/O thread and the connections it owns.
struct Worker {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections;  // touched on `io` only
  std::optional<asio::steady_timer> sweep;
};

struct RespServer::Impl {
  RespServerOptions options;
  HandlerFactory factory;
  ConnectionObserver observer;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> next_id{1};
  size_t next_worker = 0;
  uint16_t port = 0;
  bool started = false;
  std::vector<std::unique_ptr<asio::steady_timer>> periodic;
  std::vector<std::shared_ptr<std::function<void()>>> tickers;  // keep periodic closures alive

  void Accept();
  void OnAccepted(tcp::socket socket, Worker& worker);
  void Sweep(Worker& worker);
  void Notify(bool accepted, bool rejected) {
    if (observer) observer(open.load(), accepted, rejected);
  }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(RespServer::Impl& server, Worker& worker, tcp::socket socket, uint64_t id)
      : server_(server),
        worker_(worker),
        socket_(std::move(socket)),
        id_(id),
        handler_(server.factory()),
        authed_(handler_->Authenticated()),
        parser_(authed_ ? server.options.limits : server.options.unauth_limits),
        last_active_(NowSeconds()) {}

  void Start() {
    worker_.connections.emplace(id_, weak_from_this());
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    DoRead();
  }

  // Closes now, dropping unsent replies (server stop, idle timeout).
  void Close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    worker_.connections.erase(id_);
    server_.open.fetch_sub(1);
    server_.Notify(false, false);
  }

  bool IdleSince(int64_t cutoff) const { return last_active_ < cutoff; }

 private:
  void DoRead() {
    if (rbuf_.size() - end_ < kReadChunk) MakeRoom();
    socket_.async_read_some(asio::buffer(rbuf_.data() + end_, rbuf_.size() - end_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        size_t n) { self->OnRead(ec, n); });
  }

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

  void OnRead(const boost::system::error_code& ec, size_t n) {
    if (ec) return Close();
    end_ += n;
    last_active_ = NowSeconds();
    bool close = ExecuteBuffered();
    if (start_ == end_) start_ = end_ = 0;
    if (!close && end_ - start_ > server_.options.max_query_buffer) {
      out_.append("-ERR Protocol error: query buffer of ");
      out_.append(std::to_string(end_ - start_));
      out_.append(" bytes exceeds the limit\r\n");
      close = true;
    }
    if (!out_.empty()) return DoWrite(close);
    if (close) return Close();
    DoRead();
  }

  // Executes every complete command in the buffer; true if the connection
  // must close after the replies are written.
  bool ExecuteBuffered() {
    while (start_ < end_) {
      std::string_view pending(rbuf_.data() + start_, end_ - start_);
      resp::ParseStatus st = parser_.Parse(pending);
      if (st == resp::ParseStatus::kIncomplete) return false;
      if (st == resp::ParseStatus::kError) {
        out_.append("-ERR ");
        out_.append(parser_.error());
        out_.append("\r\n");
        return true;
      }
      if (!parser_.args().empty()) handler_->Execute(parser_.args(), out_);
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

  void DoWrite(bool close) {
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this(), close](const boost::system::error_code& ec, size_t) {
          self->out_.clear();
          if (self->out_.capacity() > (1u << 20)) self->out_.shrink_to_fit();
          if (ec || close) return self->Close();
          self->DoRead();
        });
  }

  RespServer::Impl& server_;
  Worker& worker_;
  tcp::socket socket_;
  uint64_t id_;
  std::unique_ptr<ConnectionHandler> handler_;
  bool authed_;
  resp::RequestParser parser_;
  std::vector<char> rbuf_;
  size_t start_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // end of received bytes
  std::string out_;
  int64_t last_active_;
  bool closed_ = false;
};

void RespServer::Impl::Accept() {
  Worker& w = *workers[next_worker];
  next_worker = (next_worker + 1) % workers.size();
  acceptor->async_accept(w.io, [this, &w](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) OnAccepted(std::move(socket), w);
    Accept();
  });
}

void RespServer::Impl::OnAccepted(tcp::socket socket, Worker& worker) {
  if (static_cast<uint64_t>(open.load()) >= options.maxclients) {
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(kMaxClientsReply, sizeof kMaxClientsReply - 1), ec);
    socket.close(ec);
    Notify(false, true);
    return;
  }
  open.fetch_add(1);
  Notify(true, false);
  uint64_t id = next_id.fetch_add(1);
  // Hand the socket to its worker's thread; the connection lives there.
  asio::post(worker.io,
             [this, &worker, id, s = std::make_shared<tcp::socket>(std::move(socket))]() mutable {
               std::make_shared<Connection>(*this, worker, std::move(*s), id)->Start();
             });
}

void RespServer::Impl::Sweep(Worker& worker) {
  worker.sweep->expires_after(std::chrono::seconds(1));
  worker.sweep->async_wait([this, &worker](const boost::system::error_code& ec) {
    if (ec) return;
    if (options.idle_timeout_s > 0) {
      int64_t cutoff = NowSeconds() - options.idle_timeout_s;
      std::vector<std::shared_ptr<Connection>> idle;
      for (auto& [id, weak] : worker.connections) {
        if (auto c = weak.lock(); c && c->IdleSince(cutoff)) idle.push_back(c);
      }
      for (auto& c : idle) c->Close();
    }
    Sweep(worker);
  });
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
}

Status RespServer::Start() {
  Impl& s = *impl_;
  uint32_t threads = std::max<uint32_t>(1, s.options.threads);
  for (uint32_t i = 0; i < threads; ++i) s.workers.push_back(std::make_unique<Worker>());
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.options.bind, ec);
  if (ec) return InvalidArgument("bad bind address '" + s.options.bind + "': " + ec.message());
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.emplace(s.workers[0]->io);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(s.options.backlog, ec);
  if (ec) {
    return Unavailable("cannot listen on " + s.options.bind + ":" + std::to_string(s.options.port) +
                       ": " + ec.message());
  }
  s.port = s.acceptor->local_endpoint().port();
  s.Accept();
  for (auto& w : s.workers) {
    w->guard.emplace(w->io.get_executor());
    w->sweep.emplace(w->io);
    s.Sweep(*w);
    w->thread = std::thread([io = &w->io] { io->run(); });
  }
  s.started = true;
  return OkStatus();
}

void RespServer::Every(uint32_t period_ms, std::function<void()> fn) {
  Impl& s = *impl_;
  auto timer = std::make_unique<asio::steady_timer>(s.workers[0]->io);
  auto* t = timer.get();
  s.periodic.push_back(std::move(timer));
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [t, period_ms, fn = std::move(fn), weak = std::weak_ptr<std::function<void()>>(tick)] {
    t->expires_after(std::chrono::milliseconds(period_ms));
    t->async_wait([&fn, weak](const boost::system::error_code& ec) {
      if (ec) return;
      fn();
      if (auto next = weak.lock()) (*next)();
    });
  };
  asio::post(s.workers[0]->io, [tick] { (*tick)(); });
  s.tickers.push_back(tick);
}

void RespServer::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  asio::post(s.workers[0]->io, [&s] {
    boost::system::error_code ec;
    s.acceptor->close(ec);
    for (auto& t : s.periodic) t->cancel();
  });
  for (auto& w : s.workers) {
    asio::post(w->io, [w = w.get()] {
      std::vector<std::shared_ptr<Connection>> all;
      for (auto& [id, weak] : w->connections) {
        if (auto c = weak.lock()) all.push_back(c);
      }
      for (auto& c : all) c->Close();
      w->sweep->cancel();
    });
    w->guard.reset();
  }
  for (auto& w : s.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

uint16_t RespServer::port() const {
  return impl_->port;
}

}  // namespace ringkv::net
