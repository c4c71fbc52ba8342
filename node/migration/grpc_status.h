// ringkv Status <-> grpc::Status: the codes are the same (base/status.h), so
// the conversion keeps the code and the message.
#pragma once

#include <grpcpp/grpcpp.h>

#include "base/status.h"

namespace ringkv::node {

inline Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return OkStatus();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

inline grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace ringkv::node
