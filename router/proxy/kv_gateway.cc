#include "router/proxy/kv_gateway.h"

namespace ringkv::router {

namespace {
constexpr size_t kMaxIdlePerBackend = 16;
}

StatusOr<net::RespClient> KvGateway::Take(const std::string& addr) {
  {
    MutexLock lock(mu_);
    auto& pool = idle_[addr];
    if (!pool.empty()) {
      net::RespClient c = std::move(pool.back());
      pool.pop_back();
      return c;
    }
  }
  return net::RespClient::Connect(addr, timeout_ms_, backend_);
}

void KvGateway::Give(net::RespClient client) {
  if (!client.connected()) return;
  MutexLock lock(mu_);
  auto& pool = idle_[client.addr()];
  if (pool.size() < kMaxIdlePerBackend) pool.push_back(std::move(client));
}

StatusOr<net::resp::Reply> KvGateway::Call(const std::string& addr,
                                           std::initializer_list<std::string_view> args) {
  return Call(addr, std::span<const std::string_view>(args.begin(), args.size()));
}

Status KvGateway::MoveKeyFirst(const RouteTable& t, std::string_view key) {
  if (!t.moves || !t.moves->from_ring || t.moves->from_ring->empty()) {
    return OkStatus();
  }
  const Backend* to = t.Route(key);
  const Backend& from = t.moves->from_backends[t.moves->from_ring->OwnerIndexOfKey(key)];
  if (to == nullptr || to->kind != cluster::BackendKind::kRedis || from.addr == to->addr ||
      from.kind != cluster::BackendKind::kRedis) {
    return OkStatus();
  }
  const std::string port = std::to_string(to->port);
  const std::string timeout = std::to_string(timeout_ms_);
  std::vector<std::string_view> cmd = {"MIGRATE", to->host, port, "", "0", timeout};
  if (!backend_.password.empty()) {
    cmd.push_back("AUTH");
    cmd.push_back(backend_.password);
  }
  cmd.push_back("KEYS");
  cmd.push_back(key);
  auto r = Call(from.addr, cmd);
  if (!r.ok()) return r.status();
  if (r->type == net::resp::Reply::Type::kError && r->str.find("BUSYKEY") == std::string::npos) {
    return Unavailable("moving the key from " + from.addr + ": " + r->str);
  }
  return OkStatus();
}

StatusOr<net::resp::Reply> KvGateway::Call(const std::string& addr,
                                           std::span<const std::string_view> args) {
  auto c = Take(addr);
  if (!c.ok()) return c.status();
  auto r = c->Call(args, timeout_ms_);
  Give(std::move(*c));
  return r;
}

}  // namespace ringkv::router
