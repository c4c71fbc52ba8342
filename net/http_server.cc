#include "net/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>  // before asio: Boost 1.74 with g++ 12 needs std::exchange declared
#include <vector>

namespace ringkv::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  asio::io_context io;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::optional<asio::steady_timer> accept_pause;  // out of descriptors: accept again later
  std::atomic<uint32_t> open{0};
  std::optional<asio::ssl::context> ssl;  // options.tls: HTTPS
  uint16_t port = 0;
  bool started = false;

  void Accept();
  void OnAccepted(tcp::socket socket);
};

namespace {

HttpRequest ToRequest(const http::request<http::string_body>& req, const std::string& remote,
                      bool& malformed) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto parsed = ParseTarget(out.target);
  malformed = !parsed;
  if (parsed) {
    out.path = std::move(parsed->first);
    out.query = std::move(parsed->second);
  }
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = req.body();
  out.remote = remote;
  return out;
}

// One connection over Stream: tcp::socket, or an ssl::stream of one (HTTPS,
// handshake first).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  Session(HttpServer::Impl& server, Stream stream)
      : server_(server), socket_(std::move(stream)), timer_(socket_.get_executor()) {
    server_.open.fetch_add(1);
  }
  ~Session() { server_.open.fetch_sub(1); }

  void Start() {
    boost::system::error_code ec;
    auto ep = Raw().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    if constexpr (kTls) {
      ArmTimer(server_.options.read_timeout_ms);
      socket_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](boost::system::error_code ec) {
                                self->timer_.cancel();
                                if (ec || self->timed_out_) return self->Close();
                                self->ReadRequest(self->server_.options.idle_timeout_ms);
                              });
    } else {
      ReadRequest(server_.options.idle_timeout_ms);
    }
  }

 private:
  // Waits up to the idle timeout for a request to start, then gives the whole
  // request the read timeout.
  void ReadRequest(uint32_t idle_timeout_ms) {
    parser_.emplace();
    parser_->header_limit(server_.options.header_limit);
    parser_->body_limit(server_.options.body_limit);
    timed_out_ = false;
    if (buffer_.size() > 0) return ReadBody();
    if constexpr (kTls) {
      // Bytes may wait decrypted inside OpenSSL, where a readiness wait on
      // the socket would miss them: the idle timeout bounds the whole read.
      ReadBody(idle_timeout_ms);
    } else {
      ArmTimer(idle_timeout_ms);
      socket_.async_wait(tcp::socket::wait_read,
                         [self = this->shared_from_this()](boost::system::error_code ec) {
                           self->timer_.cancel();
                           if (ec || self->timed_out_) return self->Close();
                           self->ReadBody();
                         });
    }
  }

  void ReadBody() { ReadBody(server_.options.read_timeout_ms); }
  void ReadBody(uint32_t timeout_ms) {
    ArmTimer(timeout_ms);
    http::async_read(socket_, buffer_, *parser_,
                     [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void ArmTimer(uint32_t ms) {
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->Raw().cancel(ignored);
    });
  }

  void OnRead(boost::system::error_code ec) {
    timer_.cancel();
    if (ec == http::error::end_of_stream) return Close();
    if (timed_out_ && !parser_->got_some() && buffer_.size() == 0) return Close();  // idle
    if (timed_out_) {  // the request had started: ReadRequest waited for its first byte
      return Reply(
          HttpResponse::Error(408, "request timeout: the request did not arrive within " +
                                       std::to_string(server_.options.read_timeout_ms) + " ms"),
          false);
    }
    if (ec == http::error::header_limit)
      return Reply(HttpResponse::Error(431, "request header fields too large"), false);
    if (ec == http::error::body_limit) {
      return Reply(
          HttpResponse::Error(413, "request body larger than " +
                                       std::to_string(server_.options.body_limit) + " bytes"),
          false);
    }
    if (ec) {
      if (buffer_.size() > 0 || parser_->got_some()) {
        return Reply(HttpResponse::Error(400, "malformed HTTP request: " + ec.message()), false);
      }
      return Close();
    }
    const auto& req = parser_->get();
    bool malformed = false;
    HttpRequest request = ToRequest(req, remote_, malformed);
    if (malformed) return Reply(HttpResponse::Error(400, "malformed request target"), false);
    HttpResponse response = server_.handler(request);
    Reply(std::move(response), req.keep_alive());
  }

  void Reply(HttpResponse r, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(11);
    res->set(http::field::server, server_.options.server_name);
    res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    ArmTimer(server_.options.read_timeout_ms);
    http::async_write(
        socket_, *res,
        [self = this->shared_from_this(), res, keep_alive](boost::system::error_code ec, size_t) {
          self->timer_.cancel();
          if (ec) return self->Close();
          if (!keep_alive) return self->LingeringClose();
          self->ReadRequest(self->server_.options.idle_timeout_ms);
        });
  }

  tcp::socket& Raw() { return beast::get_lowest_layer(socket_); }

  // Ends the session at once: a timer still armed (LingeringClose's) would
  // keep it, and its place under max_connections, for the rest of its time.
  void Close() {
    timer_.cancel();
    boost::system::error_code ec;
    Raw().shutdown(tcp::socket::shutdown_send, ec);
    Raw().close(ec);
  }

  // After an error reply the client may still be sending (e.g. the rest of an
  // oversized body): stop sending, then read and discard for a short while so
  // the client sees the reply instead of a reset.
  void LingeringClose() {
    boost::system::error_code ec;
    Raw().shutdown(tcp::socket::shutdown_send, ec);
    ArmTimer(1000);
    Drain();
  }

  void Drain() {
    drain_.resize(size_t{64} * 1024);
    socket_.async_read_some(asio::buffer(drain_), [self = this->shared_from_this()](
                                                      boost::system::error_code ec, size_t) {
      if (ec || self->timed_out_) return self->Close();
      self->Drain();
    });
  }

  HttpServer::Impl& server_;
  Stream socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_;
  bool timed_out_ = false;
  std::vector<char> drain_;
};

}  // namespace

namespace {

constexpr char kBusyReply[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 30\r\n"
    "Connection: close\r\n\r\ntoo many open HTTP connections";
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

}  // namespace

// An accept error (EMFILE above all) would recur at once: pause, then go on.
void HttpServer::Impl::Accept() {
  acceptor->async_accept(asio::make_strand(io),
                         [this](boost::system::error_code ec, tcp::socket socket) {
                           if (ec == asio::error::operation_aborted) return;
                           if (!ec) {
                             OnAccepted(std::move(socket));
                             return Accept();
                           }
                           accept_pause->expires_after(kAcceptPause);
                           accept_pause->async_wait([this](boost::system::error_code e) {
                             if (!e) Accept();
                           });
                         });
}

void HttpServer::Impl::OnAccepted(tcp::socket socket) {
  if (options.max_connections > 0 && open.load() >= options.max_connections) {
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    asio::write(socket, asio::buffer(kBusyReply, sizeof kBusyReply - 1), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    return;
  }
  if (ssl) {
    using TlsSocket = asio::ssl::stream<tcp::socket>;
    std::make_shared<Session<TlsSocket>>(*this, TlsSocket(std::move(socket), *ssl))->Start();
  } else {
    std::make_shared<Session<tcp::socket>>(*this, std::move(socket))->Start();
  }
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  Impl& s = *impl_;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.options.bind, ec);
  if (ec) return InvalidArgument("bad bind address '" + s.options.bind + "': " + ec.message());
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.emplace(s.io);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + s.options.bind + ":" + std::to_string(s.options.port) +
                       ": " + ec.message());
  }
  s.port = s.acceptor->local_endpoint().port();
  s.accept_pause.emplace(s.io);
  if (s.options.tls) {
    StatusOr<std::shared_ptr<const TlsContext>> tls = TlsContext::CreateServer(*s.options.tls);
    if (!tls.ok()) return tls.status();
    // asio's context takes ownership of an SSL_CTX: give it its own reference.
    SSL_CTX_up_ref((*tls)->ctx());
    s.ssl.emplace((*tls)->ctx());
  }
  s.Accept();
  for (uint32_t i = 0; i < std::max<uint32_t>(1, s.options.threads); ++i) {
    s.threads.emplace_back([&s] { s.io.run(); });
  }
  s.started = true;
  return OkStatus();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  s.io.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

}  // namespace ringkv::net
