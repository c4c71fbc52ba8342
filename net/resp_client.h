// RespClient: a blocking RESP2 client connection with a deadline per call,
// over TCP or TLS. For control-plane work (health PINGs, FLUSHALL before
// re-adding a node, the router's HTTP data API, the CLI); the proxy has its
// own pipelined pool.
//
// Thread safety: one thread per client at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "net/resp/resp_parser.h"
#include "net/tls.h"

namespace ringkv::net {

// How this process reaches a RESP server: AUTH with `password` when it is
// not empty; TLS with the client context `tls` when it is set (the server's
// certificate must chain to its CA and name the address's host), else TCP.
struct RespCredentials {
  std::string password;
  std::shared_ptr<const TlsContext> tls;
  // A ringkv node's HTTP API (discovery, /check-alive, /repair): HTTPS with
  // this client context when set, else plain HTTP.
  std::shared_ptr<const TlsContext> http_tls;
};

class RespClient {
 public:
  RespClient() = default;
  ~RespClient();
  RespClient(RespClient&& other) noexcept;
  RespClient& operator=(RespClient&& other) noexcept;
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Connects to "host:port" (numeric IPv4/IPv6 host or "localhost") and,
  // when `password` is not empty, authenticates (kUnauthenticated if refused).
  static StatusOr<RespClient> Connect(const std::string& addr, uint32_t timeout_ms,
                                      const std::string& password = "");
  // The same with TLS when credentials.tls is set: a server whose
  // certificate does not verify, or that does not speak TLS, is kUnavailable
  // (never a plaintext fallback).
  static StatusOr<RespClient> Connect(const std::string& addr, uint32_t timeout_ms,
                                      const RespCredentials& credentials);

  // Sends one command and waits for its reply. A transport failure or a
  // timeout closes the connection (kUnavailable / kDeadlineExceeded); an error
  // reply is a successful call returning Reply::Type::kError.
  StatusOr<resp::Reply> Call(std::span<const std::string_view> args, uint32_t timeout_ms);
  StatusOr<resp::Reply> Call(std::initializer_list<std::string_view> args, uint32_t timeout_ms) {
    return Call(std::span<const std::string_view>(args.begin(), args.size()), timeout_ms);
  }

  bool connected() const { return fd_ >= 0; }
  const std::string& addr() const { return addr_; }

 private:
  static StatusOr<RespClient> ConnectSocket(const std::string& addr, uint32_t timeout_ms);
  Status Handshake(const TlsContext& tls, const std::string& host, uint32_t timeout_ms);
  ssize_t SendSome(const char* data, size_t size);
  ssize_t RecvSome(char* data, size_t size);
  void Close();
  int fd_ = -1;
  std::unique_ptr<TlsStream> tls_;  // null: plaintext
  std::string addr_;
  std::string buffer_;
};

}  // namespace ringkv::net
