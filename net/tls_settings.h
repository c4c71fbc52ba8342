// The settings of a process's TLS listeners, one definition for `ringkv
// node` and `ringkv router`, so that their names, parsing and help agree:
// RESP over TLS with Redis's names (tls_port, tls_cert_file, tls_key_file,
// tls_ca_cert_file, tls_auth_clients) and http_tls, which serves the HTTP API
// as HTTPS with the same files (docs/security.md, "TLS").
//
// Thread safety: builds rows of an immutable settings::Table.
#pragma once

#include <vector>

#include "base/settings.h"
#include "net/tls.h"

namespace ringkv::net {

// The rows of `tls` (a TlsOptions member of O) and `http_tls` (a bool of O).
template <typename O>
std::vector<settings::Setting<O>> TlsListenerSettings(TlsOptions O::*tls, bool O::*http_tls) {
  using settings::Bind;
  return {
      Bind("tls_port", tls, &TlsOptions::port, settings::Uint{.max = 65535},
           "RESP over TLS on this port (Redis's tls-port); 0 = no TLS"),
      Bind("tls_cert_file", tls, &TlsOptions::cert_file, settings::String{},
           "PEM certificate (chain) of the TLS port and of HTTPS"),
      Bind("tls_key_file", tls, &TlsOptions::key_file, settings::String{},
           "PEM private key of tls_cert_file"),
      Bind("tls_ca_cert_file", tls, &TlsOptions::ca_cert_file, settings::String{},
           "PEM CA bundle client certificates must chain to"),
      Bind("tls_auth_clients", tls, &TlsOptions::auth_clients,
           settings::Enum<TlsAuthClients>{kTlsAuthClientsNames},
           "client certificates: yes (required), optional (checked when given) or no"),
      Bind("http_tls", http_tls, settings::Bool{},
           "serve the HTTP API as HTTPS with tls_cert_file, tls_key_file, tls_ca_cert_file and "
           "tls_auth_clients"),
  };
}

}  // namespace ringkv::net
