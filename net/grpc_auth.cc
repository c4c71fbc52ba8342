#include "net/grpc_auth.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/secret.h"

namespace ringkv::net {

std::optional<GrpcServiceGuard> ClusterGuard(std::string service,
                                             const std::string& cluster_secret) {
  if (cluster_secret.empty()) return std::nullopt;
  return GrpcServiceGuard{
      std::move(service), std::string(kClusterSecretMetadata), cluster_secret,
      "the cluster secret (metadata " + std::string(kClusterSecretMetadata) + ")"};
}

std::optional<GrpcServiceGuard> PasswordGuard(std::string service, const std::string& password) {
  if (password.empty()) return std::nullopt;
  return GrpcServiceGuard{std::move(service), std::string(kAuthorizationMetadata),
                          "Bearer " + password,
                          "the password (metadata authorization: Bearer <requirepass>)"};
}

Status CheckGrpcCall(std::span<const GrpcServiceGuard> guards, std::string_view path,
                     const MetadataLookup& metadata) {
  // "/ringkv.v1.Peer/Forward" -> "ringkv.v1.Peer"
  std::string_view service = path.substr(path.starts_with('/') ? 1 : 0);
  service = service.substr(0, service.find('/'));
  for (const GrpcServiceGuard& g : guards) {
    if (g.service != service) continue;
    std::optional<std::string_view> given = metadata(g.metadata_key);
    if (!given) return Unauthenticated(g.service + " requires " + g.what);
    if (!SecretEquals(*given, g.expected)) {
      return Unauthenticated(g.service + ": wrong credential, expected " + g.what);
    }
  }
  return OkStatus();
}

namespace {

// The PEM text of one cluster_tls_* file; `private_key` also refuses a file
// other users may read.
StatusOr<std::string> ReadPem(std::string_view setting, const std::string& path, bool private_key) {
  const std::string what = std::string(setting) + " " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return InvalidArgument("cannot read " + what + ": " + std::strerror(errno));
  }
  if (private_key && (st.st_mode & 077) != 0) {
    return InvalidArgument(what + " is readable by other users; chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot open " + what);
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string pem = buf.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return InvalidArgument(what + " holds no PEM block (-----BEGIN ...)");
  }
  return pem;
}

}  // namespace

StatusOr<std::optional<GrpcTls>> LoadGrpcTls(const std::string& cert_file,
                                             const std::string& key_file,
                                             const std::string& ca_file) {
  const int set = !cert_file.empty() + !key_file.empty() + !ca_file.empty();
  if (set == 0) return std::optional<GrpcTls>();
  if (set != 3) {
    return InvalidArgument(
        "cluster TLS needs all three of cluster_tls_cert_file, cluster_tls_key_file and "
        "cluster_tls_ca_file, or none");
  }
  auto cert = ReadPem("cluster_tls_cert_file", cert_file, false);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("cluster_tls_key_file", key_file, true);
  if (!key.ok()) return key.status();
  auto ca = ReadPem("cluster_tls_ca_file", ca_file, false);
  if (!ca.ok()) return ca.status();
  return std::optional<GrpcTls>(GrpcTls{std::move(*cert), std::move(*key), std::move(*ca)});
}

}  // namespace ringkv::net
