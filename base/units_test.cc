#include "base/units.h"

#include <gtest/gtest.h>

namespace ringkv {
namespace {

TEST(UnitsTest, ParsesBytes) {
  EXPECT_EQ(*ParseBytes("1048576"), 1048576u);
  EXPECT_EQ(*ParseBytes("512kb"), 512u * 1024);
  EXPECT_EQ(*ParseBytes("100MB"), 100ull << 20);
  EXPECT_EQ(*ParseBytes("2g"), 2ull << 30);
  EXPECT_FALSE(ParseBytes("").ok());
  EXPECT_FALSE(ParseBytes("12xb").ok());
  EXPECT_FALSE(ParseBytes("-1").ok());
  EXPECT_FALSE(ParseBytes("99999999999999999999gb").ok());
}

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(*ParseDurationMs("250ms"), 250u);
  EXPECT_EQ(*ParseDurationMs("15s"), 15000u);
  EXPECT_EQ(*ParseDurationMs("15"), 15000u);
  EXPECT_EQ(*ParseDurationMs("10m"), 600000u);
  EXPECT_FALSE(ParseDurationMs("10 minutes").ok());
}

}  // namespace
}  // namespace ringkv
