#include "net/resp_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "net/http_client.h"

namespace ringkv::net {

namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline; false on timeout.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    int r = ::poll(&p, 1, RemainingMs(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

RespClient::~RespClient() {
  Close();
}

RespClient::RespClient(RespClient&& other) noexcept
    : fd_(other.fd_),
      tls_(std::move(other.tls_)),
      addr_(std::move(other.addr_)),
      buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

RespClient& RespClient::operator=(RespClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    tls_ = std::move(other.tls_);
    addr_ = std::move(other.addr_);
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

void RespClient::Close() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

StatusOr<RespClient> RespClient::Connect(const std::string& addr, uint32_t timeout_ms,
                                         const std::string& password) {
  return Connect(addr, timeout_ms, RespCredentials{.password = password, .tls = nullptr});
}

StatusOr<RespClient> RespClient::Connect(const std::string& addr, uint32_t timeout_ms,
                                         const RespCredentials& credentials) {
  auto c = ConnectSocket(addr, timeout_ms);
  if (!c.ok()) return c;
  if (credentials.tls != nullptr) {
    auto hp = SplitHostPort(addr);
    if (!hp.ok()) return hp.status();
    if (Status s = c->Handshake(*credentials.tls, hp->first, timeout_ms); !s.ok()) return s;
  }
  if (credentials.password.empty()) return c;
  auto r = c->Call({"AUTH", credentials.password}, timeout_ms);
  if (!r.ok()) return r.status();
  if (r->type == resp::Reply::Type::kError)
    return Unauthenticated("AUTH to " + addr + ": " + r->str);
  return c;
}

// A client's handshake writes first and then mostly waits for the server;
// OpenSSL's WANT_WRITE on a fresh socket would need a full send buffer.
Status RespClient::Handshake(const TlsContext& tls, const std::string& host, uint32_t timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  tls_ = std::make_unique<TlsStream>(tls, fd_, host);
  while (true) {
    switch (tls_->Handshake()) {
      case TlsStream::Step::kDone:
        return OkStatus();
      case TlsStream::Step::kAgain:
        if (WaitFor(fd_, POLLIN, deadline)) continue;
        Close();
        return Status(StatusCode::kDeadlineExceeded, "TLS handshake with " + addr_ +
                                                         " timed out after " +
                                                         std::to_string(timeout_ms) + " ms");
      case TlsStream::Step::kFailed:
        Close();
        return Unavailable("TLS handshake with " + addr_ +
                           " failed: its certificate does not verify against the CA or does not "
                           "name " +
                           host + ", or it does not speak TLS");
    }
  }
}

ssize_t RespClient::SendSome(const char* data, size_t size) {
  return tls_ ? tls_->Write(data, size) : ::send(fd_, data, size, MSG_NOSIGNAL);
}

ssize_t RespClient::RecvSome(char* data, size_t size) {
  return tls_ ? tls_->Read(data, size) : ::recv(fd_, data, size, 0);
}

StatusOr<RespClient> RespClient::ConnectSocket(const std::string& addr, uint32_t timeout_ms) {
  auto hp = SplitHostPort(addr);
  if (!hp.ok()) return hp.status();
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp->second);
  if (int rc = ::getaddrinfo(hp->first.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Unavailable("cannot resolve " + addr + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (!WaitFor(fd, POLLOUT, deadline)) {
        ::close(fd);
        last_error = "connect timed out";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(res);
    RespClient c;
    c.fd_ = fd;
    c.addr_ = addr;
    return c;
  }
  ::freeaddrinfo(res);
  return Unavailable("cannot connect to " + addr + ": " + last_error);
}

StatusOr<resp::Reply> RespClient::Call(std::span<const std::string_view> args,
                                       uint32_t timeout_ms) {
  if (fd_ < 0) return Unavailable("not connected to " + addr_);
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string out = resp::EncodeCommand(args);
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = SendSome(out.data() + sent, out.size() - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR) && WaitFor(fd_, POLLOUT, deadline)) continue;
    std::string why = n < 0 ? IoFailure(tls_.get(), errno) : "closed";
    Close();
    return Unavailable("send to " + addr_ + ": " + why);
  }
  while (true) {
    int64_t len = resp::CompleteReplyLength(buffer_);
    if (len < 0) {
      Close();
      return DataLoss("malformed reply from " + addr_);
    }
    if (len > 0) {
      auto reply = resp::DecodeReply(std::string_view(buffer_).substr(0, static_cast<size_t>(len)));
      buffer_.erase(0, static_cast<size_t>(len));
      if (!reply) return DataLoss("undecodable reply from " + addr_);
      return std::move(*reply);
    }
    // Decrypted bytes OpenSSL holds raise no POLLIN.
    const bool pending = tls_ != nullptr && tls_->HasPending();
    if (!pending && !WaitFor(fd_, POLLIN, deadline)) {
      Close();
      return Status(StatusCode::kDeadlineExceeded,
                    "no reply from " + addr_ + " within " + std::to_string(timeout_ms) + " ms");
    }
    char chunk[16384];
    ssize_t n = RecvSome(chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      std::string why = n == 0 ? "connection closed" : IoFailure(tls_.get(), errno);
      Close();
      return Unavailable("read from " + addr_ + ": " + why);
    }
  }
}

}  // namespace ringkv::net
