#include "node/repair/repair_status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ringkv::node {
namespace {

TEST(RepairStatusTest, RendersIdleWithoutPasses) {
  RepairStatus s;
  s.id = "n1";
  s.interval_s = 3600;
  const auto j = nlohmann::json::parse(RenderRepairJson(s));
  EXPECT_EQ(j["id"], "n1");
  EXPECT_EQ(j["state"], "idle");
  EXPECT_EQ(j["interval_s"], 3600);
  EXPECT_TRUE(j["current"].is_null());
  EXPECT_TRUE(j["last"].is_null());
  EXPECT_EQ(j["totals"]["passes"], 0);
}

TEST(RepairStatusTest, RendersARunningPassWithItsPeersAndSums) {
  RepairStatus s;
  RepairPassStatus p;
  p.trigger = RepairTrigger::kReturn;
  p.started_ms = 5;
  PeerRepairStatus a{.peer = "n2", .result = {}, .done = true, .error = ""};
  a.result.keys_pushed = 3;
  a.result.bytes = 100;
  PeerRepairStatus b{.peer = "n3", .result = {}, .done = false, .error = "unreachable"};
  b.result.keys_pulled = 4;
  b.result.bytes = 50;
  p.peers = {a, b};
  s.current = p;
  const auto j = nlohmann::json::parse(RenderRepairJson(s));
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["current"]["trigger"], "return");
  EXPECT_EQ(j["current"]["keys_pushed"], 3);
  EXPECT_EQ(j["current"]["keys_pulled"], 4);
  EXPECT_EQ(j["current"]["bytes"], 150);
  EXPECT_EQ(j["current"]["errors"], 1);
  ASSERT_EQ(j["current"]["peers"].size(), 2u);
  EXPECT_EQ(j["current"]["peers"][1]["id"], "n3");
  EXPECT_EQ(j["current"]["peers"][1]["error"], "unreachable");
}

}  // namespace
}  // namespace ringkv::node
