// The HTTP request path of net/http_server.cc on client bytes: Beast's
// request parser with the server's default limits, then what the server
// does with a parsed request before a handler sees it (the target split and
// percent-decoded, the header names lower-cased), and JsonQuote, which
// echoes request bytes back in error bodies.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "net/http.h"
#include "net/http_server.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// A JSON string literal holds no raw control byte and ends with its quote.
void CheckQuoted(std::string_view in) {
  const std::string quoted = ringkv::net::JsonQuote(in);
  FUZZ_CHECK(quoted.size() >= 2 && quoted.front() == '"' && quoted.back() == '"');
  for (char c : quoted) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20);
}

void CheckRequest(const http::request<http::string_body>& req) {
  ringkv::net::HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto parsed = ringkv::net::ParseTarget(out.target);
  if (parsed) {
    out.path = std::move(parsed->first);
    out.query = std::move(parsed->second);
    FUZZ_CHECK(out.path.size() <= out.target.size());
    for (const auto& [name, value] : out.query) FUZZ_CHECK(!name.empty());
    CheckQuoted(out.path);
  }
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  for (const auto& [name, value] : out.headers) FUZZ_CHECK(out.Header(name) == value);
  CheckQuoted(out.target);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ringkv::net::HttpServerOptions limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(limits.header_limit);
  parser.body_limit(limits.body_limit);
  parser.eager(true);
  beast::error_code ec;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  while (!bytes.empty() && !parser.is_done()) {
    const size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;
    if (used == 0) break;
    bytes.remove_prefix(used);
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  CheckRequest(parser.get());
  return 0;
}
