// The refusal to listen beyond loopback without a credential, as Redis's
// protected mode: a listener bound to an address other machines can reach
// must be covered by the credential of its plane (docs/security.md,
// "Authentication and listeners"), or explicitly allowed with --insecure.
//
// Thread safety: the functions are pure.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ringkv::net {

// 127.0.0.0/8, ::1 and "localhost". A wildcard (0.0.0.0, ::, empty) is not.
bool IsLoopback(std::string_view host);

// One listener's exposure. `setting` names the bind setting ("bind",
// "cluster_bind"); `credential` says how to set the credential it lacks.
struct Exposure {
  std::string_view setting;
  std::string_view host;
  bool has_credential = false;
  std::string_view credential;
};

// OK when the host is loopback, the credential is set, or `insecure`;
// otherwise InvalidArgument saying why and the three ways out.
Status CheckExposure(const Exposure& e, bool insecure);

// CheckExposure of a node's or router's cluster listener (gRPC and the peer
// link), whose credential is the cluster secret.
Status CheckClusterExposure(std::string_view cluster_bind, bool has_secret, bool insecure);

}  // namespace ringkv::net
