// The certificates of a local cluster started by `ringkv cluster up --tls`:
// two certificate authorities made on the spot, and one certificate per
// process from each, all under <run_dir>/tls/ (docs/security.md, "TLS on
// the cluster plane"):
//
//   tls/cluster/ca.crt, ca.key        the cluster CA (cluster plane: gRPC)
//   tls/cluster/<name>.crt, .key      router, node-1, ...: cluster_tls_*
//   tls/cluster/operator.crt, .key    for tools calling Peer/Registry
//   tls/clients/ca.crt, ca.key        the client CA (RESP and HTTP TLS)
//   tls/clients/<name>.crt, .key      each process's client-plane certificate
//                                     (a node's TLS-only RESP port, the router's
//                                     certificate towards the nodes)
//   tls/clients/client.crt, .key      for redis-cli --cert / curl --cert
//
// Two CAs, so that a client's certificate never opens the cluster plane.
// Every certificate is ECDSA P-256, serves as both a server and a client
// certificate, and names IP:127.0.0.1, IP:::1 and DNS:localhost (the
// processes of a local cluster listen on loopback). Keys are written mode
// 0600, the directories 0700; certificates are not secrets.
//
// Thread safety: the functions touch the files named; run one at a time
// per run directory.
#pragma once

#include <string>

#include "base/status.h"

namespace ringkv::cli {

// A certificate, its key and the CA that signed it (absolute paths).
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string ca;
};

// <run_dir>/tls/cluster and <run_dir>/tls/clients.
std::string ClusterTlsDir(const std::string& run_dir);
std::string ClientTlsDir(const std::string& run_dir);

// Replaces <run_dir>/tls with two new CAs, the operator's cluster
// certificate and the client certificate. Errors: Internal when OpenSSL
// fails, Unavailable when a file cannot be written.
Status MakeLocalTls(const std::string& run_dir);

// Removes <run_dir>/tls: a cluster started without --tls leaves none behind
// for add-node to find.
Status RemoveLocalTls(const std::string& run_dir);

// Whether MakeLocalTls ran for `run_dir` (its cluster CA exists).
bool HasLocalTls(const std::string& run_dir);

// Issues `name`'s certificates from both CAs (replacing any) and returns
// the cluster plane's files. Needs MakeLocalTls first.
StatusOr<TlsFiles> IssueProcessTls(const std::string& run_dir, const std::string& name);

// The files of `name` in `dir` (ClusterTlsDir or ClientTlsDir), without
// checking that they exist.
TlsFiles TlsFilesOf(const std::string& dir, const std::string& name);

}  // namespace ringkv::cli
