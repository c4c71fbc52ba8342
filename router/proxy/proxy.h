// Proxy: the router's RESP front door. Clients speak RESP to it; it sends
// each command to the back end owning its key (ringkv nodes or redis-servers)
// over pooled, pipelined connections, and returns replies in the client's
// order. Multi-key commands (MGET, MSET, DEL, EXISTS, UNLINK, TOUCH) are split
// by owner and reassembled; PING, ECHO, QUIT, AUTH, SELECT 0, COMMAND, INFO
// (the router's own) are answered locally; DBSIZE is summed over back ends;
// anything that cannot be routed gets -ERR naming why. A slow or dead back
// end yields -ERR within backend_timeout_ms, never a hang. With replication
// >= 2 a command goes to the first live replica of its key and, when that
// back end fails (connection refused or reset, no reply within
// backend_timeout_ms), to the next one within the same client request.
//
// Thread safety: Start/Stop from one thread; I/O threads own connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/cpus.h"
#include "base/status.h"
#include "net/client_limits.h"
#include "net/resp/resp_parser.h"
#include "net/tls.h"
#include "router/proxy/route_table.h"

namespace ringkv::router {

struct ProxyOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 6379;      // 0 = pick a free port
  uint32_t threads = 2;      // I/O threads
  CpuList cpus;              // where the I/O threads run; empty = anywhere
  net::resp::Limits limits;  // client request limits
  uint64_t maxclients = 10000;
  net::ClientLimits client;      // client memory and descriptor limits
  net::TlsOptions tls;           // RESP over TLS on tls.port when set
  std::string requirepass;       // clients must AUTH when set
  std::string backend_password;  // AUTH sent to back ends when set
  // TLS to every back end (docs/security.md, "TLS between router and nodes");
  // null = plaintext.
  std::shared_ptr<const net::TlsContext> backend_tls;
  uint32_t backend_timeout_ms = 1000;  // a reply slower than this -> -ERR, connection reset
  uint32_t backend_connect_timeout_ms = 500;
};

// Counters the router reports in INFO and /metrics.
struct ProxyStats {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> errors{0};  // -ERR replies the proxy generated
  std::atomic<uint64_t> backend_timeouts{0};
  std::atomic<uint64_t> backend_failures{0};  // connect/IO failures
  std::atomic<uint64_t> failovers{0};         // commands re-sent to the next replica of their keys
  std::atomic<int64_t> connected_clients{0};
  std::atomic<uint64_t> total_connections{0};
  net::ClientCounters clients;  // cut connections, buffer bytes, EMFILE
};

class Proxy {
 public:
  Proxy(ProxyOptions options, const RouteSource& routes, ProxyStats& stats);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  Status Start();
  void Stop();  // idempotent
  uint16_t port() const;

  struct Impl;  // opaque; defined in the .cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::router
