#include "router/proxy/proxy.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "router/proxy/internal/proxy_io.h"

namespace ringkv::router {

using internal::ClientConn;
using internal::Worker;
namespace asio = internal::asio;
using tcp = internal::tcp;

namespace {

constexpr char kMaxClientsReply[] = "-ERR max number of clients reached\r\n";

}  // namespace

struct Proxy::Impl {
  ProxyOptions options;
  const RouteSource& routes;
  ProxyStats& stats;
  internal::ProxyContext ctx;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;
  std::atomic<uint64_t> next_id{1};
  size_t next_worker = 0;
  bool started = false;

  Impl(ProxyOptions o, const RouteSource& r, ProxyStats& s)
      : options(std::move(o)), routes(r), stats(s) {}

  void Accept() {
    Worker& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    acceptor->async_accept(w.io,
                           [this, &w](const boost::system::error_code& ec, tcp::socket socket) {
                             if (ec == asio::error::operation_aborted) return;
                             if (!ec) OnAccepted(std::move(socket), w);
                             Accept();
                           });
  }

  void OnAccepted(tcp::socket socket, Worker& w) {
    if (static_cast<uint64_t>(stats.connected_clients.load()) >= options.maxclients) {
      boost::system::error_code ec;
      asio::write(socket, asio::buffer(kMaxClientsReply, sizeof kMaxClientsReply - 1), ec);
      socket.close(ec);
      return;
    }
    stats.connected_clients.fetch_add(1);
    stats.total_connections.fetch_add(1);
    uint64_t id = next_id.fetch_add(1);
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    int fd = socket.release(ec);  // the client lives in its worker's epoll set
    if (ec) {
      stats.connected_clients.fetch_sub(1);
      return;
    }
    asio::post(w.io, [&w, id, fd] {
      if (w.stopping) {
        ::close(fd);
        w.ctx->stats->connected_clients.fetch_sub(1);
        return;
      }
      std::make_shared<ClientConn>(w, fd, id)->Start();
    });
  }
};

Proxy::Proxy(ProxyOptions options, const RouteSource& routes, ProxyStats& stats)
    : impl_(std::make_unique<Impl>(std::move(options), routes, stats)) {}

Proxy::~Proxy() {
  Stop();
}

Status Proxy::Start() {
  Impl& s = *impl_;
  if (s.started) return FailedPrecondition("proxy already started");
  s.ctx.options = &s.options;
  s.ctx.routes = &s.routes;
  s.ctx.stats = &s.stats;
  s.ctx.start_s =
      std::chrono::duration_cast<std::chrono::seconds>(internal::Clock::now().time_since_epoch())
          .count();
  uint32_t threads = std::max<uint32_t>(1, s.options.threads);
  for (uint32_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->ctx = &s.ctx;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) return Internal(std::string("epoll_create1: ") + std::strerror(errno));
    w->epoll_watch.emplace(w->io, w->epfd);
    s.workers.push_back(std::move(w));
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.options.bind, ec);
  if (ec) return InvalidArgument("bad bind address '" + s.options.bind + "': " + ec.message());
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.emplace(s.workers[0]->io);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(511, ec);
  if (ec) {
    s.acceptor.reset();
    s.workers.clear();
    return Unavailable("cannot listen on " + s.options.bind + ":" + std::to_string(s.options.port) +
                       ": " + ec.message());
  }
  s.ctx.port = s.acceptor->local_endpoint().port();
  s.Accept();
  for (auto& w : s.workers) {
    w->WatchClients();
    w->guard.emplace(w->io.get_executor());
    w->thread = std::thread([io = &w->io, cpus = s.options.cpus] {
      (void)PinThisThread(cpus);  // validated with the options
      io->run();
    });
  }
  s.started = true;
  return OkStatus();
}

void Proxy::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  asio::post(s.workers[0]->io, [&s] {
    boost::system::error_code ec;
    s.acceptor->close(ec);
  });
  for (auto& w : s.workers) {
    asio::post(w->io, [w = w.get()] { w->CloseAll(); });
    w->guard.reset();
  }
  for (auto& w : s.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  s.acceptor.reset();
  s.workers.clear();
}

uint16_t Proxy::port() const {
  return impl_->ctx.port;
}

}  // namespace ringkv::router
