#include "net/exposure.h"

#include <arpa/inet.h>

namespace ringkv::net {

bool IsLoopback(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Status CheckExposure(const Exposure& e, bool insecure) {
  if (insecure || e.has_credential || IsLoopback(e.host)) return OkStatus();
  return InvalidArgument(
      "refusing to listen on " + std::string(e.host) + " (" + std::string(e.setting) +
      ") without authentication: anyone who reaches that address could use it. Set " +
      std::string(e.credential) + ", or bind " + std::string(e.setting) +
      " to 127.0.0.1, or pass --insecure true to accept the risk");
}

Status CheckClusterExposure(std::string_view cluster_bind, bool has_secret, bool insecure) {
  return CheckExposure({.setting = "cluster_bind",
                        .host = cluster_bind,
                        .has_credential = has_secret,
                        .credential = "cluster_secret_file or RINGKV_CLUSTER_SECRET"},
                       insecure);
}

}  // namespace ringkv::net
