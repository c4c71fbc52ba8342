#include "cli/repair_command.h"

#include <gtest/gtest.h>

namespace ringkv::cli {
namespace {

using nlohmann::json;

TEST(RenderRepairTest, ShowsEachNodeItsLastPassAndItsPeers) {
  const json r = json::parse(R"({
    "state": "idle", "running": 0,
    "totals": {"passes": 3, "keys_pushed": 450, "keys_pulled": 600, "bytes": 2048},
    "nodes": [
      {"id": "n1", "state": "idle", "current": null,
       "last": {"trigger": "request", "started_ms": 1000, "finished_ms": 1800,
                "buckets_compared": 8192, "buckets_differing": 12, "keys_pushed": 300,
                "keys_pulled": 0, "bytes": 120000, "errors": 0,
                "peers": [{"id": "n2", "bits": 12, "buckets_compared": 4096,
                           "buckets_differing": 0, "keys_pushed": 0, "keys_pulled": 0,
                           "bytes": 32768, "error": ""}]}},
      {"id": "n3", "http_addr": "h3", "error": "connection refused"}]})");
  const std::string text = RenderRepair(r, 13'800);
  EXPECT_NE(text.find("repair: idle; 2 nodes; 3 passes: 450 keys pushed, 600 pulled, 2.0 KB"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("request 12s ago"), std::string::npos) << text;
  EXPECT_NE(text.find("12 of 8192"), std::string::npos) << text;
  EXPECT_NE(text.find("-> n2"), std::string::npos) << text;
  EXPECT_NE(text.find("32.0 KB"), std::string::npos) << text;
  EXPECT_NE(text.find("n3        unreachable: connection refused"), std::string::npos) << text;
}

TEST(RenderRepairTest, ANodeWithoutPassesShowsADash) {
  const json r = json::parse(
      R"({"state": "idle", "totals": {}, "nodes": [{"id": "n1", "state": "idle",
          "current": null, "last": null}]})");
  EXPECT_NE(RenderRepair(r, 0).find("n1        idle        -"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::cli
