#include "net/http_status.h"

namespace ringkv::net {

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    // Conflicts with the cluster's state: another migration runs, the node is
    // already a member, there is no migration to pause, one was cancelled.
    case StatusCode::kCancelled:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 409;
    // ringkv raises it for a size beyond a limit (a job payload over
    // job_max_payload, a value too large to parse).
    case StatusCode::kOutOfRange:
      return 413;
    case StatusCode::kUnimplemented:
      return 501;
    // An error a node or back end reported that ringkv cannot classify (a
    // malformed reply, a gRPC UNKNOWN): the gateway's upstream failed.
    case StatusCode::kUnknown:
      return 502;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    // Every kResourceExhausted in ringkv is stored data at a capacity limit
    // (a node's maxmemory under noeviction, a queue's max_jobs), not a
    // request-rate quota: the request is fine, the server has no room.
    case StatusCode::kResourceExhausted:
      return 507;
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Status& s) {
  return HttpResponse::Error(HttpStatusOf(s), s.message());
}

}  // namespace ringkv::net
