#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

namespace ringkv::net {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Status Load(bool ok, std::string_view what, const std::string& file) {
  if (ok) return OkStatus();
  return InvalidArgument("TLS: cannot load " + std::string(what) + " '" + file +
                         "': " + OpenSslError());
}

// OpenSSL's view of a socket: recv and send, noting whether the last recv
// was short. With read-ahead, OpenSSL asks for a whole buffer, so a reader
// of many small records makes one recv for all of them, and learns that the
// socket is empty without another recv that fails with EAGAIN.
int SocketRead(BIO* bio, char* out, int size) {
  auto* io = static_cast<TlsStream::SocketIo*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::recv(io->fd, out, static_cast<size_t>(size), 0);
  } while (n < 0 && errno == EINTR);
  io->drained = n < size;
  io->eof = n == 0;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

int SocketWrite(BIO* bio, const char* in, int size) {
  auto* io = static_cast<TlsStream::SocketIo*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::send(io->fd, in, static_cast<size_t>(size), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

// OpenSSL asks BIO_eof whether a read of 0 was the peer's FIN (a clean
// close under SSL_OP_IGNORE_UNEXPECTED_EOF) or an error.
long SocketCtrl(BIO* bio, int cmd, long, void*) {  // NOLINT(google-runtime-int): OpenSSL's type
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return static_cast<TlsStream::SocketIo*>(BIO_get_data(bio))->eof ? 1 : 0;
    default:
      return 0;
  }
}

const BIO_METHOD* SocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringkv socket");
    BIO_meth_set_read(m, SocketRead);
    BIO_meth_set_write(m, SocketWrite);
    BIO_meth_set_ctrl(m, SocketCtrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

// Settings both sides share.
void SetCommonOptions(SSL_CTX* ctx) {
  // The library's own socket writes would raise SIGPIPE at a peer gone
  // mid-reply; ours send with MSG_NOSIGNAL, and this covers the rest.
  std::signal(SIGPIPE, SIG_IGN);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // A peer that closes without close_notify has closed, like a TCP FIN.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Output is appended to a buffer that may move between retries, and a
  // partial write is progress like a short send().
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
}

Status LoadKeyPair(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  Status s = Load(SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) == 1, "certificate",
                  cert_file);
  if (s.ok()) {
    s = Load(SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1,
             "private key", key_file);
  }
  if (s.ok()) {
    s = Load(SSL_CTX_check_private_key(ctx) == 1, "private key (does not match the certificate)",
             key_file);
  }
  return s;
}

}  // namespace

StatusOr<std::shared_ptr<const TlsContext>> TlsContext::CreateClient(const TlsClientOptions& o) {
  if (o.ca_cert_file.empty()) {
    return InvalidArgument("TLS: a client needs a CA file to verify the server's certificate");
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    return InvalidArgument("TLS: a client certificate needs both a certificate and a key file");
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Internal("TLS: SSL_CTX_new: " + OpenSslError());
  std::shared_ptr<const TlsContext> owned(new TlsContext(ctx));
  SetCommonOptions(ctx);
  Status s = Load(SSL_CTX_load_verify_locations(ctx, o.ca_cert_file.c_str(), nullptr) == 1,
                  "CA certificates", o.ca_cert_file);
  if (s.ok() && !o.cert_file.empty()) s = LoadKeyPair(ctx, o.cert_file, o.key_file);
  if (!s.ok()) return s;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return owned;
}

StatusOr<std::shared_ptr<const TlsContext>> TlsContext::CreateServer(const TlsOptions& o) {
  if (o.cert_file.empty() || o.key_file.empty()) {
    return InvalidArgument("TLS: tls-port needs tls-cert-file and tls-key-file");
  }
  if (o.auth_clients != TlsAuthClients::kNo && o.ca_cert_file.empty()) {
    return InvalidArgument(
        "TLS: tls-auth-clients yes or optional needs tls-ca-cert-file (or tls-auth-clients no)");
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Internal("TLS: SSL_CTX_new: " + OpenSslError());
  std::shared_ptr<const TlsContext> owned(new TlsContext(ctx));
  SetCommonOptions(ctx);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  static const unsigned char kSessionId[] = "ringkv";
  SSL_CTX_set_session_id_context(ctx, kSessionId, sizeof kSessionId - 1);
  Status s = LoadKeyPair(ctx, o.cert_file, o.key_file);
  if (s.ok() && !o.ca_cert_file.empty()) {
    s = Load(SSL_CTX_load_verify_locations(ctx, o.ca_cert_file.c_str(), nullptr) == 1,
             "CA certificates", o.ca_cert_file);
  }
  if (!s.ok()) return s;
  switch (o.auth_clients) {
    case TlsAuthClients::kYes:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
    case TlsAuthClients::kOptional:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case TlsAuthClients::kNo:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
  }
  return owned;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

TlsStream::TlsStream(const TlsContext& context, int fd) : ssl_(SSL_new(context.ctx())) {
  AttachSocket(fd);
  if (ssl_ != nullptr) SSL_set_accept_state(ssl_);
}

void TlsStream::AttachSocket(int fd) {
  if (ssl_ == nullptr) return;
  io_.fd = fd;
  BIO* bio = BIO_new(SocketMethod());
  if (bio == nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(bio, &io_);
  SSL_set_bio(ssl_, bio, bio);
}

TlsStream::TlsStream(const TlsContext& context, int fd, const std::string& server_name)
    : ssl_(SSL_new(context.ctx())) {
  AttachSocket(fd);
  if (ssl_ == nullptr) return;
  SSL_set_connect_state(ssl_);
  // An IP address is matched against the certificate's IP SANs; a name
  // against its DNS SANs, and sent as SNI. A failed setting fails the
  // handshake (no name is ever "anything").
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str()) != 1) {
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    if (SSL_set1_host(ssl_, server_name.c_str()) != 1) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
  }
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

TlsStream::Step TlsStream::Handshake() {
  if (ssl_ == nullptr) {
    failure_ = "no TLS session (SSL_new, or a server name OpenSSL refused)";
    return Step::kFailed;
  }
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshaken_ = true;
    return Step::kDone;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Step::kAgain;
  if (const long v = SSL_get_verify_result(ssl_); v != X509_V_OK) {  // NOLINT(google-runtime-int)
    failure_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
    ERR_clear_error();
  } else if (e == SSL_ERROR_SSL) {
    failure_ = OpenSslError();
  } else {
    failure_ = errno != 0 ? std::strerror(errno) : "the peer closed the connection";
    ERR_clear_error();
  }
  return Step::kFailed;
}

ssize_t TlsStream::Fail(int ret) {
  int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (e == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify: the peer closed
  if (e == SSL_ERROR_SSL && failure_.empty()) failure_ = OpenSslError();
  ERR_clear_error();
  if (e != SSL_ERROR_SYSCALL || errno == 0 || errno == EAGAIN) errno = ECONNRESET;
  return -1;
}

ssize_t TlsStream::Read(char* data, size_t size) {
  ERR_clear_error();
  int n = SSL_read(ssl_, data, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
  return n > 0 ? n : Fail(n);
}

ssize_t TlsStream::Write(const char* data, size_t size) {
  ERR_clear_error();
  int n = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
  return n > 0 ? n : Fail(n);
}

bool TlsStream::HasPending() const {
  return SSL_pending(ssl_) > 0;
}

bool TlsStream::Drained() const {
  return io_.drained && SSL_has_pending(ssl_) == 0;
}

std::string IoFailure(const TlsStream* tls, int err) {
  if (tls != nullptr && !tls->failure().empty()) return "TLS: " + tls->failure();
  return std::strerror(err);
}

}  // namespace ringkv::net
