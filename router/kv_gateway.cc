#include "router/kv_gateway.h"

namespace ringkv::router {

namespace {
constexpr size_t kMaxIdlePerBackend = 16;
}

StatusOr<net::RespClient> KvGateway::Take(const std::string& addr) {
  {
    std::lock_guard lock(mu_);
    auto& pool = idle_[addr];
    if (!pool.empty()) {
      net::RespClient c = std::move(pool.back());
      pool.pop_back();
      return c;
    }
  }
  return net::RespClient::Connect(addr, timeout_ms_, password_);
}

void KvGateway::Give(net::RespClient client) {
  if (!client.connected()) return;
  std::lock_guard lock(mu_);
  auto& pool = idle_[client.addr()];
  if (pool.size() < kMaxIdlePerBackend) pool.push_back(std::move(client));
}

StatusOr<net::resp::Reply> KvGateway::Call(const std::string& addr,
                                           std::initializer_list<std::string_view> args) {
  auto c = Take(addr);
  if (!c.ok()) return c.status();
  auto r = c->Call(args, timeout_ms_);
  Give(std::move(*c));
  return r;
}

}  // namespace ringkv::router
