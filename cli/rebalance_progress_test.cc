#include "cli/rebalance_progress.h"

#include <gtest/gtest.h>

namespace ringkv::cli {
namespace {

using json = nlohmann::json;

TEST(RenderMigration, CopyingShowsBarFractionRateAndEta) {
  json m = {{"kind", "add"},       {"state", "copying"}, {"arcs_done", 1},
            {"arcs_total", 4},     {"keys_moved", 500},  {"keys_expected", 1000},
            {"bytes_moved", 2048}, {"rate", 250.0},      {"eta_s", 2.2}};
  std::string line = RenderMigration(m, 10);
  EXPECT_NE(line.find("[#####.....]"), std::string::npos) << line;
  EXPECT_NE(line.find(" 50%"), std::string::npos) << line;
  EXPECT_NE(line.find("arcs 1/4"), std::string::npos) << line;
  EXPECT_NE(line.find("500 keys"), std::string::npos) << line;
  EXPECT_NE(line.find("2.0 KB"), std::string::npos) << line;
  EXPECT_NE(line.find("250 keys/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 3s"), std::string::npos) << line;
}

TEST(RenderMigration, DoneIsFullWithoutRate) {
  json m = {{"kind", "vnodes"}, {"state", "done"},  {"arcs_done", 7},
            {"arcs_total", 7},  {"keys_moved", 12}, {"bytes_moved", 3 << 20}};
  std::string line = RenderMigration(m, 4);
  EXPECT_NE(line.find("[####]"), std::string::npos) << line;
  EXPECT_NE(line.find("100%"), std::string::npos) << line;
  EXPECT_NE(line.find("3.0 MB"), std::string::npos) << line;
  EXPECT_EQ(line.find("keys/s"), std::string::npos) << line;
}

TEST(RenderMigration, NeverReachesFullBeforeDoneAndShowsPauseAndErrors) {
  json m = {{"kind", "remove"},   {"state", "copying"},  {"paused", true},
            {"keys_moved", 5000}, {"keys_expected", 10}, {"last_error", "n2 unavailable"}};
  std::string line = RenderMigration(m, 10);
  EXPECT_NE(line.find("copying (paused)"), std::string::npos) << line;
  EXPECT_NE(line.find(" 99%"), std::string::npos) << line;
  EXPECT_NE(line.find("retrying: n2 unavailable"), std::string::npos) << line;
}

TEST(RenderMigration, MissingFieldsAreZero) {
  std::string line = RenderMigration(json::object(), 3);
  EXPECT_NE(line.find("[...]"), std::string::npos) << line;
  EXPECT_NE(line.find("arcs 0/0"), std::string::npos) << line;
}

}  // namespace
}  // namespace ringkv::cli
