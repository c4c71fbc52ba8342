// HttpServer: a small HTTP/1.1 server (Boost.Beast) for control, health,
// metrics and the compatibility APIs. Keep-alive, limits and timeouts:
// oversized headers -> 431, oversized bodies -> 413, a client slower than
// the read timeout -> 408, malformed requests -> 400; then the connection is
// closed. Beyond max_connections a new connection gets 503 and is closed;
// out of descriptors, accepting pauses briefly instead of spinning.
// Handlers are plain functions of HttpRequest -> HttpResponse.
//
// Thread safety: the handler runs on the server's I/O threads, concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "net/http.h"
#include "net/tls.h"

namespace ringkv::net {

struct HttpServerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;  // 0 = pick a free port
  uint32_t threads = 1;
  uint32_t header_limit = 16 * 1024;  // bytes of request line + headers
  uint64_t body_limit = 16ull << 20;  // bytes of body
  uint32_t read_timeout_ms = 10000;   // whole request must arrive within this
  uint32_t idle_timeout_ms = 60000;   // keep-alive connections idle longer are closed
  // Open connections at most; a further one gets 503 and is closed. 0 = no cap.
  uint32_t max_connections = 1024;
  std::string server_name = "ringkv";
  // Set: HTTPS, with these certificate, key and client-certificate rules
  // (tls.port is not used: the HTTP port itself speaks TLS).
  std::optional<TlsOptions> tls;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start();
  void Stop();  // idempotent
  uint16_t port() const;

  struct Impl;  // opaque; defined in the .cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::net
