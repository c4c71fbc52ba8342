// OutboundConnection: a pipelined RESP2 client connection on an EventLoop —
// the outgoing counterpart of net::Connection (which serves clients that
// connected to us). It connects without blocking, sends what its owner
// appended to out() (the rest when the socket is writable again), and hands
// each complete reply to its Handler as it arrives, framed by
// resp::CompleteReplyLength. One recv until a short read and one send per
// Flush, as the server side does.
//
// Over TLS (a client TlsContext given to Connect) the TLS handshake follows
// the TCP one, and OnConnected comes once both are done; the server's
// certificate must chain to the context's CA and name the server name
// given. Reads then go on until OpenSSL has nothing left (TLS reads one
// record at a time, and decrypted bytes it holds raise no event).
//
// A closed connection may connect again (Connect): the object lives as long
// as its owner, so the loop never sees a freed handler.
//
// Thread safety: every method on the loop's thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "net/event_loop.h"
#include "net/resp/resp_parser.h"
#include "net/tls.h"

namespace ringkv::net {

// A resolved TCP address.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;
};

// Resolves "host:port" (IPv4, "[IPv6]" or a name) to the first address
// found. May block on DNS: call it off the I/O threads.
StatusOr<SocketAddress> ResolveTcp(const std::string& host_port);

class OutboundConnection final : private IoHandler {
 public:
  // What the owner hears. The calls come from inside OutboundConnection's
  // methods and loop events; a handler may call Flush or Close from them,
  // but must not destroy the connection.
  class Handler {
   public:
    // The TCP handshake (and the TLS one, over TLS) completed; out() is
    // being sent.
    virtual void OnConnected() {}
    // One complete reply; its bytes are valid during the call. After a
    // Close() from inside, no further reply is delivered.
    virtual void OnReply(std::string_view reply) = 0;
    // The connection failed (connect refused, TLS handshake failed, reset,
    // EOF, unparsable reply); it is closed now, and `reason` says why. Not
    // called for Close().
    virtual void OnClosed(const std::string& reason) = 0;

   protected:
    ~Handler() = default;
  };

  // `loop` and `handler` must outlive the connection. `limits` bound the
  // replies it parses (a bulk longer than limits.max_bulk_len fails it).
  OutboundConnection(EventLoop& loop, Handler& handler, resp::Limits limits = {});
  ~OutboundConnection();
  OutboundConnection(const OutboundConnection&) = delete;
  OutboundConnection& operator=(const OutboundConnection&) = delete;

  // Starts connecting to `addr`, closing any earlier connection first (its
  // unsent bytes are dropped); over TLS when `tls` (a client context) is
  // given, checking that the server's certificate names `server_name` (a
  // host or an IP address). Errors: no socket (out of fds), or a connect
  // refused at once; later failures come through Handler::OnClosed.
  Status Connect(const SocketAddress& addr, std::shared_ptr<const TlsContext> tls = nullptr,
                 const std::string& server_name = "");
  // Bytes to send; append, then Flush(). Kept while connecting.
  std::string& out() { return out_; }
  size_t unsent() const { return out_.size() - woff_; }
  // Sends out() now if connected, the rest when the socket is writable.
  void Flush();
  // Closes now, dropping unsent bytes and unread replies; no OnClosed.
  void Close();

  bool open() const { return fd_ >= 0; }
  // The socket (-1 when closed): an owner that also writes to it from
  // another thread dup()s it, under its own lock, while out() is empty —
  // never over TLS (tls()), where every byte goes through the TLS session.
  int fd() const { return fd_; }
  // Connecting or connected over TLS.
  bool tls() const { return tls_ != nullptr; }
  bool connected() const { return fd_ >= 0 && connected_; }
  // Bytes received since this object was made (progress for a timeout).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  void OnIoEvents(uint32_t events) override;
  void FinishConnect();
  void Handshake();
  void Connected();  // TCP (and TLS) handshakes done
  ssize_t RecvSome(char* data, size_t size);
  ssize_t SendSome(const char* data, size_t size);
  void ReadAll(bool hup);
  bool Deliver();  // false once the connection closed meanwhile
  void Fail(const std::string& reason);

  EventLoop& loop_;
  Handler& handler_;
  resp::Limits limits_;
  int fd_ = -1;
  std::shared_ptr<const TlsContext> tls_;  // of the current connection; null: plaintext
  std::string server_name_;
  std::unique_ptr<TlsStream> tls_stream_;  // from the TCP connect on, over TLS
  uint64_t generation_ = 0;                // bumped by every Close: a stale stack frame stops
  bool connected_ = false;
  bool writable_ = false;  // false from an EAGAIN until EPOLLOUT
  std::string out_;
  size_t woff_ = 0;
  std::vector<char> rbuf_;
  size_t rstart_ = 0;
  size_t rend_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace ringkv::net
