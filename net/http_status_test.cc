#include "net/http_status.h"

#include <gtest/gtest.h>

#include <utility>

namespace ringkv::net {
namespace {

// The table of docs/api.md ("Errors"), row by row.
TEST(HttpStatusTest, EveryCodeHasTheDocumentedStatus) {
  const std::pair<StatusCode, int> kTable[] = {
      {StatusCode::kOk, 200},
      {StatusCode::kCancelled, 409},
      {StatusCode::kUnknown, 502},
      {StatusCode::kInvalidArgument, 400},
      {StatusCode::kDeadlineExceeded, 504},
      {StatusCode::kNotFound, 404},
      {StatusCode::kAlreadyExists, 409},
      {StatusCode::kPermissionDenied, 403},
      {StatusCode::kResourceExhausted, 507},
      {StatusCode::kFailedPrecondition, 409},
      {StatusCode::kAborted, 409},
      {StatusCode::kOutOfRange, 413},
      {StatusCode::kUnimplemented, 501},
      {StatusCode::kInternal, 500},
      {StatusCode::kUnavailable, 503},
      {StatusCode::kDataLoss, 500},
      {StatusCode::kUnauthenticated, 401},
  };
  static_assert(std::size(kTable) == 17, "one row per StatusCode");
  for (auto [code, http] : kTable) {
    EXPECT_EQ(HttpStatusOf(Status(code, "x")), http) << StatusCodeName(code);
  }
}

TEST(HttpStatusTest, AnUnlistedCodeIsAServerError) {
  EXPECT_EQ(HttpStatusOf(Status(static_cast<StatusCode>(99), "x")), 500);
}

TEST(HttpStatusTest, ErrorResponseCarriesTheMessageAsJson) {
  HttpResponse r = ErrorResponse(NotFound("no node n9 in the cluster"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error": "no node n9 in the cluster"})");
}

}  // namespace
}  // namespace ringkv::net
