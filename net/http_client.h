// HttpCall: a blocking HTTP/1.1 client call with one deadline for connect,
// write and read. For health probes, the CLI and tests; not for the data path.
//
// Thread safety: each call is independent.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "net/http.h"
#include "net/tls.h"

namespace ringkv::net {

struct HttpCallOptions {
  uint32_t timeout_ms = 2000;
  uint64_t max_response_bytes = 64ull << 20;
  std::map<std::string, std::string> headers;  // extra request headers
  // Set: HTTPS with this client context (TlsContext::CreateClient): the
  // server's certificate must chain to its CA and name the host of `addr`
  // (an IP address or a DNS name); its certificate, if any, is presented to
  // a server that asks for one. Null: plain HTTP.
  std::shared_ptr<const TlsContext> tls;
};

// `addr` is "host:port"; `target` is the path and query, e.g. "/check-alive".
// Any HTTP status is a successful call; errors are transport failures
// (kUnavailable: also a TLS handshake that fails, e.g. a certificate that
// does not verify) and timeouts (kDeadlineExceeded).
StatusOr<HttpResponse> HttpCall(const std::string& method, const std::string& addr,
                                const std::string& target, const std::string& body = "",
                                const HttpCallOptions& options = {});

// Splits "host:port"; InvalidArgument if malformed.
StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& addr);

}  // namespace ringkv::net
