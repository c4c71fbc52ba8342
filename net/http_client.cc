#include "net/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <chrono>
#include <optional>
#include <utility>  // before asio: Boost 1.74 with g++ 12 needs std::exchange declared

namespace ringkv::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size()) {
    return InvalidArgument("address must be host:port, got '" + addr + "'");
  }
  unsigned port = 0;
  const char* begin = addr.data() + colon + 1;
  const char* end = addr.data() + addr.size();
  auto [p, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || p != end || port == 0 || port > 65535) {
    return InvalidArgument("bad port in address '" + addr + "'");
  }
  return std::make_pair(addr.substr(0, colon), static_cast<uint16_t>(port));
}

namespace {

// The client side of HTTPS: the server's certificate is verified against the
// CA (TlsContext::CreateClient) and must name `host`, sent as SNI when it is
// a DNS name. False when OpenSSL refuses the name.
bool ExpectServerName(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1) return true;
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
}

}  // namespace

StatusOr<HttpResponse> HttpCall(const std::string& method, const std::string& addr,
                                const std::string& target, const std::string& body,
                                const HttpCallOptions& options) {
  auto hp = SplitHostPort(addr);
  if (!hp.ok()) return hp.status();
  const std::string url = (options.tls ? "https://" : "http://") + addr + target;
  asio::io_context io;
  std::optional<asio::ssl::context> ssl;
  if (options.tls) {
    // asio's context takes ownership of an SSL_CTX: give it its own reference.
    SSL_CTX_up_ref(options.tls->ctx());
    ssl.emplace(options.tls->ctx());
  }
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  if (ssl) {
    secure.emplace(io, *ssl);
    if (!ExpectServerName(secure->native_handle(), hp->first)) {
      return InvalidArgument(method + " " + url + ": cannot verify the name '" + hp->first + "'");
    }
  } else {
    plain.emplace(io);
  }
  beast::tcp_stream& stream = secure ? beast::get_lowest_layer(*secure) : *plain;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_response_bytes);
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, addr);
  req.set(http::field::user_agent, "ringkv");
  for (const auto& [name, value] : options.headers) req.set(name, value);
  req.body() = body;
  req.keep_alive(false);
  req.prepare_payload();

  boost::system::error_code result;
  bool done = false;
  auto exchange = [&](auto& s) {
    http::async_write(s, req, [&](auto ec3, size_t) {
      if (ec3) return void((result = ec3, done = true));
      http::async_read(s, buffer, parser, [&](auto ec4, size_t) {
        result = ec4;
        done = true;
      });
    });
  };
  stream.expires_after(std::chrono::milliseconds(options.timeout_ms));
  tcp::resolver resolver(io);
  resolver.async_resolve(hp->first, std::to_string(hp->second), [&](auto ec, auto endpoints) {
    if (ec) return void((result = ec, done = true));
    stream.async_connect(endpoints, [&](auto ec2, auto) {
      if (ec2) return void((result = ec2, done = true));
      if (!secure) return exchange(*plain);
      secure->async_handshake(asio::ssl::stream_base::client, [&](auto ec5) {
        if (ec5) return void((result = ec5, done = true));
        exchange(*secure);
      });
    });
  });
  io.run();
  if (!done || result) {
    if (result == beast::error::timeout) {
      return Status(StatusCode::kDeadlineExceeded, method + " " + url + ": no answer within " +
                                                       std::to_string(options.timeout_ms) + " ms");
    }
    return Unavailable(method + " " + url + ": " + result.message());
  }
  HttpResponse out;
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  for (const auto& field : res) {
    if (field.name() != http::field::content_type) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
  }
  out.body = res.body();
  return out;
}

}  // namespace ringkv::net
