#include "router/api/internal/repair_http.h"

#include <gtest/gtest.h>

namespace ringkv::router::internal {
namespace {

using nlohmann::json;

TEST(AggregateRepairTest, SumsTheNodesAndKeepsTheirAnswers) {
  std::vector<NodeRepairAnswer> answers;
  answers.push_back(
      {.id = "n1",
       .http_addr = "h1",
       .body = json{{"id", "n1"},
                    {"state", "running"},
                    {"totals", {{"passes", 2}, {"keys_pushed", 5}, {"bytes", 100}}}}});
  answers.push_back({.id = "n2",
                     .http_addr = "h2",
                     .body = json{{"id", "n2"},
                                  {"state", "idle"},
                                  {"totals", {{"passes", 1}, {"keys_pulled", 7}, {"bytes", 50}}}}});
  answers.push_back({.id = "n3", .http_addr = "h3", .body = Unavailable("connection refused")});
  const json j = AggregateRepair(answers);
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["running"], 1);
  EXPECT_EQ(j["totals"]["passes"], 3);
  EXPECT_EQ(j["totals"]["keys_pushed"], 5);
  EXPECT_EQ(j["totals"]["keys_pulled"], 7);
  EXPECT_EQ(j["totals"]["bytes"], 150);
  ASSERT_EQ(j["nodes"].size(), 3u);
  EXPECT_EQ(j["nodes"][1]["id"], "n2");
  EXPECT_EQ(j["nodes"][2]["error"], "connection refused");
}

TEST(AggregateRepairTest, NoNodeIsIdle) {
  const json j = AggregateRepair({});
  EXPECT_EQ(j["state"], "idle");
  EXPECT_EQ(j["totals"]["keys_pushed"], 0);
}

}  // namespace
}  // namespace ringkv::router::internal
