// The one mapping from a ringkv Status to an HTTP status code, used by every
// HTTP API of ringkv (router, migrations, jobs; the node's at the next merge).
// The table, and why each code answers what it does, is in docs/api.md
// ("Errors"); it follows Google's google.rpc.Code mapping except where
// ringkv's use of a code says otherwise.
//
// Thread safety: pure functions.
#pragma once

#include "base/status.h"
#include "net/http.h"

namespace ringkv::net {

// 200 for OK; never returns a code outside 200..599.
int HttpStatusOf(const Status& s);

// {"error": s.message()} with HttpStatusOf(s). `s` must not be OK.
HttpResponse ErrorResponse(const Status& s);

}  // namespace ringkv::net
