// KvGateway: the router's HTTP data path (/kv/{key}). Sends GET/SET/DEL to
// the key's owner over pooled blocking RESP connections, with a deadline.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "net/resp/resp_parser.h"
#include "net/resp_client.h"
#include "router/proxy/route_table.h"

namespace ringkv::router {

class KvGateway {
 public:
  KvGateway(net::RespCredentials backend, uint32_t timeout_ms)
      : backend_(std::move(backend)), timeout_ms_(timeout_ms) {}

  // Runs one command on `addr`; an error reply is a successful call.
  StatusOr<net::resp::Reply> Call(const std::string& addr,
                                  std::initializer_list<std::string_view> args);
  StatusOr<net::resp::Reply> Call(const std::string& addr, std::span<const std::string_view> args);

  // While Redis back ends move keys (RouteTable::moves), moves `key`
  // from its old owner to its new one (MIGRATE, never replacing a key the new
  // owner holds) so the command that follows finds it. OK when nothing moves.
  Status MoveKeyFirst(const RouteTable& table, std::string_view key);

 private:
  StatusOr<net::RespClient> Take(const std::string& addr);
  void Give(net::RespClient client);

  net::RespCredentials backend_;  // AUTH and TLS
  uint32_t timeout_ms_;
  Mutex mu_;
  std::map<std::string, std::vector<net::RespClient>> idle_ GUARDED_BY(mu_);
};

}  // namespace ringkv::router
