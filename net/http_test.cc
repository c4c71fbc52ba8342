#include "net/http.h"

#include <gtest/gtest.h>

namespace ringkv::net {
namespace {

TEST(HttpTest, ParseTargetDecodesPathAndQuery) {
  auto t = ParseTarget("/kv/a%20b%2Fc?iterations=5&name=x+y&empty=");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->first, "/kv/a b/c");
  EXPECT_EQ(t->second.at("iterations"), "5");
  EXPECT_EQ(t->second.at("name"), "x y");
  EXPECT_EQ(t->second.at("empty"), "");
}

TEST(HttpTest, MalformedEscapesAreRejected) {
  EXPECT_FALSE(ParseTarget("/kv/%zz").has_value());
  EXPECT_FALSE(ParseTarget("/kv/%4").has_value());
  EXPECT_FALSE(PercentDecode("%", false).has_value());
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
}

TEST(HttpTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(JsonQuote(std::string("\x01", 1)), "\"\\u0001\"");
  EXPECT_EQ(JsonQuote("h\xc3\xa9"), "\"h\xc3\xa9\"");  // valid UTF-8 passes
  EXPECT_EQ(JsonQuote("\xff"), "\"\\u00ff\"");         // stray byte escaped
}

TEST(HttpTest, ErrorResponseIsJson) {
  HttpResponse r = HttpResponse::Error(404, "no such key");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\": \"no such key\"}");
}

}  // namespace
}  // namespace ringkv::net
