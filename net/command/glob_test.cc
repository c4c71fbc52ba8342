#include "net/command/glob.h"

#include <gtest/gtest.h>

#include <string>

namespace ringkv::net::command {
namespace {

TEST(StringMatchTest, Literals) {
  EXPECT_TRUE(StringMatch("", ""));
  EXPECT_FALSE(StringMatch("", "a"));
  EXPECT_TRUE(StringMatch("abc", "abc"));
  EXPECT_FALSE(StringMatch("abc", "abd"));
  EXPECT_FALSE(StringMatch("abc", "abcd"));
  EXPECT_FALSE(StringMatch("abcd", "abc"));
}

TEST(StringMatchTest, Star) {
  EXPECT_TRUE(StringMatch("*", ""));
  EXPECT_TRUE(StringMatch("*", "anything"));
  EXPECT_TRUE(StringMatch("h*llo", "hllo"));
  EXPECT_TRUE(StringMatch("h*llo", "heeeello"));
  EXPECT_TRUE(StringMatch("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(StringMatch("a*b*c", "aXXbYYbd"));
  EXPECT_TRUE(StringMatch("**a**", "bab"));
  EXPECT_TRUE(StringMatch("user:*", "user:"));
  EXPECT_FALSE(StringMatch("user:*", "user"));
  EXPECT_TRUE(StringMatch("*:end", "a:b:end"));
}

TEST(StringMatchTest, QuestionMark) {
  EXPECT_TRUE(StringMatch("h?llo", "hello"));
  EXPECT_FALSE(StringMatch("h?llo", "hllo"));
  EXPECT_FALSE(StringMatch("?", ""));
  EXPECT_TRUE(StringMatch("??*", "ab"));
}

TEST(StringMatchTest, Classes) {
  EXPECT_TRUE(StringMatch("h[ae]llo", "hello"));
  EXPECT_TRUE(StringMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(StringMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(StringMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(StringMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(StringMatch("h[a-b]llo", "hbllo"));
  EXPECT_FALSE(StringMatch("h[a-b]llo", "hcllo"));
  EXPECT_TRUE(StringMatch("[z-a]", "m"));  // reversed range
  EXPECT_TRUE(StringMatch("[0-9][0-9]", "42"));
  EXPECT_FALSE(StringMatch("[]", "a"));  // empty class matches nothing
  EXPECT_TRUE(StringMatch("[^]", "a"));
  EXPECT_TRUE(StringMatch("[\\]]", "]"));
  EXPECT_TRUE(StringMatch("[a\\-z]", "-"));
  EXPECT_FALSE(StringMatch("[a\\-z]", "b"));
  EXPECT_TRUE(StringMatch("[abc", "b"));  // unterminated class runs to the end
  EXPECT_FALSE(StringMatch("[abc", "d"));
}

TEST(StringMatchTest, Escapes) {
  EXPECT_TRUE(StringMatch("a\\*b", "a*b"));
  EXPECT_FALSE(StringMatch("a\\*b", "aXb"));
  EXPECT_TRUE(StringMatch("\\?", "?"));
  EXPECT_FALSE(StringMatch("\\?", "x"));
  EXPECT_TRUE(StringMatch("a\\", "a\\"));  // trailing backslash is literal
  EXPECT_TRUE(StringMatch("\\[x]", "[x]"));
}

TEST(StringMatchTest, NoCaseAndBinary) {
  EXPECT_TRUE(StringMatch("MAX*", "maxmemory", true));
  EXPECT_FALSE(StringMatch("MAX*", "maxmemory", false));
  EXPECT_TRUE(StringMatch("[A-C]x", "bX", true));
  EXPECT_TRUE(StringMatch(std::string_view("a\0*", 3), std::string_view("a\0zz", 4)));
  EXPECT_FALSE(StringMatch(std::string_view("a\0", 2), std::string_view("a\1", 2)));
}

TEST(StringMatchTest, PathologicalPatternIsFast) {
  std::string s(5000, 'a');
  std::string p;
  for (int i = 0; i < 30; ++i) p += "*a";
  p += "b";
  EXPECT_FALSE(StringMatch(p, s));  // would take forever with naive backtracking
  EXPECT_TRUE(StringMatch(p.substr(0, p.size() - 1), s));
}

}  // namespace
}  // namespace ringkv::net::command
