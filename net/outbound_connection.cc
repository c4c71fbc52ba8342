#include "net/outbound_connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace ringkv::net {

namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;

std::string Errno(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

}  // namespace

StatusOr<SocketAddress> ResolveTcp(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) {
    return InvalidArgument("address '" + host_port + "' is not host:port");
  }
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Unavailable("cannot resolve '" + host_port + "': " + ::gai_strerror(rc));
  }
  SocketAddress addr;
  addr.len = static_cast<socklen_t>(std::min<size_t>(found->ai_addrlen, sizeof addr.storage));
  std::memcpy(&addr.storage, found->ai_addr, addr.len);
  ::freeaddrinfo(found);
  return addr;
}

OutboundConnection::OutboundConnection(EventLoop& loop, Handler& handler, resp::Limits limits)
    : loop_(loop), handler_(handler), limits_(limits) {}

OutboundConnection::~OutboundConnection() {
  Close();
}

Status OutboundConnection::Connect(const SocketAddress& addr, std::shared_ptr<const TlsContext> tls,
                                   const std::string& server_name) {
  Close();
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr.storage);
  int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(Errno("socket", errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, sa, addr.len) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return Unavailable(Errno("connect", err));
  }
  // Connected or not, the first EPOLLOUT (edge-triggered: reported once
  // the handshake ends) says how it went.
  if (!loop_.Watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this)) {
    const int err = errno;
    ::close(fd);
    return Unavailable(Errno("epoll", err));
  }
  fd_ = fd;
  tls_ = std::move(tls);
  server_name_ = server_name;
  connected_ = false;
  writable_ = false;
  return OkStatus();
}

void OutboundConnection::Close() {
  if (fd_ < 0) return;
  loop_.Unwatch(fd_);
  tls_stream_.reset();  // before its socket goes
  tls_.reset();
  ::close(fd_);
  fd_ = -1;
  ++generation_;
  connected_ = false;
  writable_ = false;
  out_.clear();
  woff_ = 0;
  rstart_ = rend_ = 0;
}

void OutboundConnection::Fail(const std::string& reason) {
  Close();
  handler_.OnClosed(reason);
}

void OutboundConnection::OnIoEvents(uint32_t events) {
  if (fd_ < 0) return;
  const uint64_t gen = generation_;
  if (!connected_) {
    if (tls_stream_ != nullptr) {
      Handshake();
    } else {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
      FinishConnect();
    }
    if (gen != generation_ || !connected_) return;
    // Over TLS, what arrived with the handshake's last bytes raises no event.
    if (tls_stream_ != nullptr) return ReadAll(true);
  } else if (tls_stream_ != nullptr) {
    // OpenSSL may need to read to write and the reverse: any event may unblock either.
    writable_ = true;
    if (unsent() > 0) Flush();
    if (gen != generation_) return;
    return ReadAll(true);
  } else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    writable_ = true;
    if (unsent() > 0) Flush();
    if (gen != generation_) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
    ReadAll((events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0);
  }
}

void OutboundConnection::FinishConnect() {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) return Fail(Errno("connect", err));
  if (tls_ != nullptr) {
    tls_stream_ = std::make_unique<TlsStream>(*tls_, fd_, server_name_);
    return Handshake();
  }
  Connected();
}

void OutboundConnection::Handshake() {
  switch (tls_stream_->Handshake()) {
    case TlsStream::Step::kAgain:
      return;
    case TlsStream::Step::kFailed:
      return Fail("TLS handshake with " + server_name_ + " failed: " + tls_stream_->failure());
    case TlsStream::Step::kDone:
      return Connected();
  }
}

void OutboundConnection::Connected() {
  connected_ = true;
  writable_ = true;
  const uint64_t gen = generation_;
  handler_.OnConnected();
  if (gen == generation_) Flush();
}

void OutboundConnection::Flush() {
  if (!connected_ || !writable_) return;
  while (woff_ < out_.size()) {
    ssize_t n = SendSome(out_.data() + woff_, out_.size() - woff_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        writable_ = false;  // the rest goes on EPOLLOUT
        return;
      }
      return Fail("write: " + IoFailure(tls_stream_.get(), errno));
    }
    woff_ += static_cast<size_t>(n);
  }
  out_.clear();
  woff_ = 0;
  if (out_.capacity() > (4u << 20)) out_.shrink_to_fit();
}

// Reads until the socket is drained (edge-triggered), delivering replies
// after every read. A short read drains a plain socket, unless the peer also
// closed (`hup`): then reading goes on to the end of the stream, which no
// further event would announce. A TLS read is short per record: it has
// drained the socket once OpenSSL's last recv was short and OpenSSL holds
// nothing more (TlsStream::Drained).
void OutboundConnection::ReadAll(bool hup) {
  const uint64_t gen = generation_;
  for (;;) {
    if (rstart_ > 0 && rbuf_.size() - rend_ < kReadChunk) {
      std::memmove(rbuf_.data(), rbuf_.data() + rstart_, rend_ - rstart_);
      rend_ -= rstart_;
      rstart_ = 0;
    }
    if (rbuf_.size() - rend_ < kReadChunk) {
      rbuf_.resize(std::max(rbuf_.size() * 2, rend_ + kReadChunk));
    }
    const size_t space = rbuf_.size() - rend_;
    ssize_t n = RecvSome(rbuf_.data() + rend_, space);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return Fail("read: " + IoFailure(tls_stream_.get(), errno));
    }
    if (n == 0) return Fail("connection closed by the peer");
    rend_ += static_cast<size_t>(n);
    bytes_read_ += static_cast<uint64_t>(n);
    if (!Deliver() || gen != generation_) return;
    if (static_cast<size_t>(n) < space && !hup && (!tls_stream_ || tls_stream_->Drained())) return;
  }
}

ssize_t OutboundConnection::RecvSome(char* data, size_t size) {
  return tls_stream_ ? tls_stream_->Read(data, size) : ::recv(fd_, data, size, 0);
}

ssize_t OutboundConnection::SendSome(const char* data, size_t size) {
  return tls_stream_ ? tls_stream_->Write(data, size) : ::send(fd_, data, size, MSG_NOSIGNAL);
}

bool OutboundConnection::Deliver() {
  const uint64_t gen = generation_;
  while (rstart_ < rend_) {
    std::string_view buf(rbuf_.data() + rstart_, rend_ - rstart_);
    const int64_t len = resp::CompleteReplyLength(buf, limits_);
    if (len == 0) break;
    if (len < 0) {
      Fail("the peer sent a reply that is not RESP2");
      return false;
    }
    rstart_ += static_cast<size_t>(len);
    handler_.OnReply(buf.substr(0, static_cast<size_t>(len)));
    if (gen != generation_) return false;
  }
  if (rstart_ == rend_) rstart_ = rend_ = 0;
  if (rbuf_.capacity() > (8u << 20) && rend_ == 0) {
    rbuf_.clear();
    rbuf_.shrink_to_fit();
  }
  return true;
}

}  // namespace ringkv::net
