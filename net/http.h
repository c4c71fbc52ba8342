// Plain HTTP request/response values shared by the HTTP server, the HTTP
// client and the handlers. No Beast types leak out of net/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net {

struct HttpRequest {
  std::string method;                          // "GET", "PUT", ...
  std::string target;                          // raw target, e.g. "/kv/a%20b?x=1"
  std::string path;                            // percent-decoded path, e.g. "/kv/a b"
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;  // peer address "ip:port"

  std::string_view Header(std::string_view lower_name) const;
  std::optional<std::string> Query(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse Json(int status, std::string body);
  // {"error": message} with the given status.
  static HttpResponse Error(int status, std::string_view message);
  static HttpResponse Text(int status, std::string body);
};

// Decodes %XX and (in queries) '+'; nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);
// Splits a target into decoded path and query; nullopt if malformed.
std::optional<std::pair<std::string, std::map<std::string, std::string>>> ParseTarget(
    std::string_view target);
// A JSON string literal (with quotes) for `s`; bytes that are not valid UTF-8
// are escaped as \u00XX.
std::string JsonQuote(std::string_view s);

}  // namespace ringkv::net
