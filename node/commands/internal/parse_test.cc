#include "node/commands/internal/parse.h"

#include <gtest/gtest.h>

namespace ringkv::node::internal {
namespace {

TEST(ParseInt64Test, RedisRules) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("-12"), -12);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "-", "-0", "01", "+1", " 1", "1 ", "1.0", "9223372036854775808",
                          "-9223372036854775809", "1e3", "0x10"}) {
    EXPECT_FALSE(ParseInt64(bad).has_value()) << bad;
  }
}

TEST(ParseCursorTest, StrtoullRules) {
  EXPECT_EQ(ParseCursor("0"), 0u);
  EXPECT_EQ(ParseCursor("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseCursor("+5"), 5u);
  EXPECT_FALSE(ParseCursor("").has_value());
  EXPECT_FALSE(ParseCursor(" 5").has_value());
  EXPECT_FALSE(ParseCursor("5x").has_value());
  EXPECT_FALSE(ParseCursor("18446744073709551616").has_value());
}

TEST(ParseLongDoubleTest, RedisRules) {
  EXPECT_EQ(ParseLongDouble("1.5"), 1.5L);
  EXPECT_EQ(ParseLongDouble("-3e2"), -300.0L);
  EXPECT_TRUE(ParseLongDouble("inf").has_value());
  for (const char* bad : {"", " 1", "1 ", "abc", "nan", "1e99999", "1e-99999"}) {
    EXPECT_FALSE(ParseLongDouble(bad).has_value()) << bad;
  }
}

TEST(FormatLongDoubleTest, HumanMode) {
  EXPECT_EQ(FormatLongDouble(3000.0L), "3000");
  EXPECT_EQ(FormatLongDouble(2.5L), "2.5");
  EXPECT_EQ(FormatLongDouble(-0.0L), "0");
  EXPECT_EQ(FormatLongDouble(10.5L + 0.1L), "10.6");
  EXPECT_EQ(FormatLongDouble(-1.25L), "-1.25");
  EXPECT_EQ(FormatLongDouble(1e20L), "100000000000000000000");
}

TEST(HumanBytesTest, Units) {
  EXPECT_EQ(HumanBytes(0), "0B");
  EXPECT_EQ(HumanBytes(1023), "1023B");
  EXPECT_EQ(HumanBytes(1536), "1.50K");
  EXPECT_EQ(HumanBytes(3ull << 20), "3.00M");
  EXPECT_EQ(HumanBytes(5ull << 30), "5.00G");
}

}  // namespace
}  // namespace ringkv::node::internal
