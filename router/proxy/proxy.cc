#include "router/proxy/proxy.h"

#include <algorithm>

#include "router/proxy/internal/proxy_io.h"

namespace ringkv::router {

using internal::ClientConn;
using internal::Worker;

struct Proxy::Impl {
  ProxyOptions options;
  const RouteSource& routes;
  ProxyStats& stats;
  internal::ProxyContext ctx;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<net::ConnectionLoop> clients;  // after workers: stopped first
  bool started = false;

  Impl(ProxyOptions o, const RouteSource& r, ProxyStats& s)
      : options(std::move(o)), routes(r), stats(s) {}

  net::ConnectionLoopOptions ClientOptions() const {
    net::ConnectionLoopOptions o;
    o.bind = options.bind;
    o.port = options.port;
    o.threads = std::max<uint32_t>(1, options.threads);
    o.cpus = options.cpus;
    o.limits = options.limits;
    o.maxclients = options.maxclients;
    o.client = options.client;
    o.tls = options.tls;
    o.counters = &stats.clients;
    return o;
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
  net::ConnectionLoopOptions o = s.ClientOptions();
  s.clients.reset();
  s.workers.clear();
  for (uint32_t i = 0; i < o.threads; ++i) {
    s.workers.push_back(std::make_unique<Worker>());
    s.workers.back()->ctx = &s.ctx;
  }
  ProxyStats& stats = s.stats;
  s.clients = std::make_unique<net::ConnectionLoop>(
      o,
      [&s](net::Connection& c) -> std::shared_ptr<net::RequestHandler> {
        return std::make_shared<ClientConn>(*s.workers[c.thread_index()], c);
      },
      [&stats](int64_t /*open*/, bool accepted, bool rejected) {
        if (accepted) {
          stats.connected_clients.fetch_add(1, std::memory_order_relaxed);
          stats.total_connections.fetch_add(1, std::memory_order_relaxed);
        } else if (!rejected) {
          stats.connected_clients.fetch_sub(1, std::memory_order_relaxed);
        }
      },
      [&s](net::EventLoop& loop, size_t index) { s.workers[index]->Run(loop); });
  s.ctx.clients = s.clients.get();
  if (Status st = s.clients->Start(); !st.ok()) {
    s.clients.reset();
    s.workers.clear();
    return st;
  }
  s.started = true;
  return OkStatus();
}

void Proxy::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  s.clients->Stop();  // closes the clients, then each worker's CloseAll; joins
}

uint16_t Proxy::port() const {
  return impl_->clients ? impl_->clients->port() : 0;
}

}  // namespace ringkv::router
