#include <gtest/gtest.h>

#include "node/internal/glob.h"

namespace ringkv::node {
namespace {

TEST(StringMatchTest, Basics) {
  EXPECT_TRUE(internal::StringMatch("h*llo", "heeello"));
  EXPECT_FALSE(internal::StringMatch("h?llo", "hllo"));
}

}  // namespace
}  // namespace ringkv::node
