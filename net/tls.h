// TLS for ringkv's listeners with OpenSSL, configured with Redis's option
// names (tls-port, tls-cert-file, tls-key-file, tls-ca-cert-file,
// tls-auth-clients), so `redis-cli --tls` and `redis-benchmark --tls` connect
// as they do to redis-server. See docs/security.md, "TLS".
//
// TlsContext wraps one SSL_CTX: for a server, its certificate, key, and the
// CA that client certificates must chain to; for a client (a router's or a
// node's connections to other nodes), the CA the server's certificate must
// chain to and the certificate it presents. TlsStream runs one connection's
// non-blocking handshake, reads and writes on a socket the caller polls;
// every call maps OpenSSL's WANT_READ/WANT_WRITE to "try again on the next
// readiness event".
//
// Thread safety: a TlsContext is immutable once created and may be shared by
// every I/O thread; a TlsStream belongs to its connection's thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace ringkv::net {

// Redis's tls-auth-clients: yes = a client certificate is required, optional
// = checked when given, no = not asked for.
enum class TlsAuthClients : uint8_t { kYes, kOptional, kNo };
inline constexpr std::pair<std::string_view, TlsAuthClients> kTlsAuthClientsNames[] = {
    {"yes", TlsAuthClients::kYes},
    {"optional", TlsAuthClients::kOptional},
    {"no", TlsAuthClients::kNo}};

struct TlsOptions {
  uint16_t port = 0;         // tls-port; 0 = no TLS listener
  std::string cert_file;     // PEM certificate chain of this server
  std::string key_file;      // PEM private key
  std::string ca_cert_file;  // PEM CA bundle client certificates must chain to
  TlsAuthClients auth_clients = TlsAuthClients::kYes;

  bool enabled() const { return port != 0; }
};

// The client side: connections this process opens to a TLS listener.
struct TlsClientOptions {
  std::string cert_file;     // PEM certificate presented to the server; empty = none
  std::string key_file;      // its PEM private key
  std::string ca_cert_file;  // PEM CA bundle the server's certificate must chain to

  bool enabled() const { return !ca_cert_file.empty(); }
};

class TlsContext {
 public:
  // Loads the certificate, key and CA. Errors name the file and OpenSSL's
  // reason (missing file, key not matching the certificate, ...). Ignores
  // SIGPIPE in the process (OpenSSL writes without MSG_NOSIGNAL).
  static StatusOr<std::shared_ptr<const TlsContext>> CreateServer(const TlsOptions& options);
  // A client context: the server's certificate is always verified against
  // options.ca_cert_file (required), and the stream's server name against it.
  static StatusOr<std::shared_ptr<const TlsContext>> CreateClient(const TlsClientOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// One TLS connection over a non-blocking socket it does not own.
class TlsStream {
 public:
  // The server side (accepted connections) of a server context.
  TlsStream(const TlsContext& context, int fd);
  // The client side of a client context: `server_name` ("host" or an IP
  // address, no port) must match the server certificate's subject
  // alternative names, and is sent as SNI when it is a host name.
  TlsStream(const TlsContext& context, int fd, const std::string& server_name);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  enum class Step : uint8_t { kDone, kAgain, kFailed };
  // Advances the handshake; kAgain until it completes (call again on the
  // next readiness event).
  Step Handshake();
  bool handshaken() const { return handshaken_; }
  // After Handshake returned kFailed, or Read or Write failed on a TLS
  // error: why, in OpenSSL's words (a certificate that did not verify
  // names the verification error; an alert from the peer, such as its
  // refusal of our certificate, names the alert). Empty otherwise.
  const std::string& failure() const { return failure_; }
  // As recv/send on a non-blocking socket: bytes moved; 0 = the peer closed
  // (read); -1 with errno EAGAIN = try again on the next event, any other
  // errno = the connection failed.
  ssize_t Read(char* data, size_t size);
  ssize_t Write(const char* data, size_t size);
  // Decrypted bytes OpenSSL holds that the socket will not signal again.
  bool HasPending() const;
  // The last read from the socket came back short (it was empty then) and
  // OpenSSL holds no bytes of it: with an edge-triggered socket, the next
  // bytes raise a new event, so a reader may stop until then.
  bool Drained() const;

  // The socket as OpenSSL's BIO sees it: read ahead in large reads, and
  // whether the last one drained the socket.
  struct SocketIo {
    int fd = -1;
    bool drained = false;
    bool eof = false;  // the last recv returned 0: the peer sent FIN
  };

 private:
  void AttachSocket(int fd);
  ssize_t Fail(int ret);
  SSL* ssl_;
  SocketIo io_;
  bool handshaken_ = false;
  std::string failure_;
};

// Why a Read or Write on `tls` (null: a plaintext socket) failed with errno
// `err`: OpenSSL's reason when the failure was a TLS one, else strerror.
std::string IoFailure(const TlsStream* tls, int err);

}  // namespace ringkv::net
