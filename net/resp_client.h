// RespClient: a blocking RESP2 client connection with a deadline per call.
// For control-plane work (health PINGs, FLUSHALL before re-adding a node, the
// router's HTTP data API, the CLI); the proxy has its own pipelined pool.
//
// Thread safety: one thread per client at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "net/resp/resp_parser.h"

namespace ringkv::net {

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
  void Close();
  int fd_ = -1;
  std::string addr_;
  std::string buffer_;
};

}  // namespace ringkv::net
