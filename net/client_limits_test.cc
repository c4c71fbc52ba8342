#include "net/client_limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace ringkv::net {
namespace {

TEST(OutputBufferLimitTest, ParsesRedisSyntax) {
  StatusOr<OutputBufferLimit> l = ParseOutputBufferLimit("normal 64mb 16mb 60");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->hard_bytes, 64ull << 20);
  EXPECT_EQ(l->soft_bytes, 16ull << 20);
  EXPECT_EQ(l->soft_seconds, 60u);
}

TEST(OutputBufferLimitTest, ClassIsOptionalAndZeroDisables) {
  StatusOr<OutputBufferLimit> l = ParseOutputBufferLimit("0 0 0");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (OutputBufferLimit{0, 0, 0}));
}

TEST(OutputBufferLimitTest, RendersWhatItParses) {
  OutputBufferLimit l{1ull << 30, 8ull << 20, 60};
  EXPECT_EQ(RenderOutputBufferLimit(l), "normal 1gb 8mb 60");
  StatusOr<OutputBufferLimit> back = ParseOutputBufferLimit(RenderOutputBufferLimit(l));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, l);
}

TEST(OutputBufferLimitTest, RefusesOtherClassesAndBadWords) {
  StatusOr<OutputBufferLimit> pubsub = ParseOutputBufferLimit("pubsub 32mb 8mb 60");
  ASSERT_FALSE(pubsub.ok());
  EXPECT_NE(pubsub.status().message().find("normal"), std::string::npos);
  EXPECT_FALSE(ParseOutputBufferLimit("normal 1gb 8mb").ok());
  EXPECT_FALSE(ParseOutputBufferLimit("normal 1gb lots 60").ok());
  EXPECT_FALSE(ParseOutputBufferLimit("normal 1gb 8mb -1").ok());
  EXPECT_FALSE(ParseOutputBufferLimit("").ok());
}

TEST(OpenFileLimitTest, KeepsMaxClientsWhenTheLimitFits) {
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  StatusOr<uint64_t> fitted = FitMaxClients(10, 16);
  ASSERT_TRUE(fitted.ok());
  EXPECT_EQ(*fitted, 10u);
  EXPECT_GE(RaiseOpenFileLimit(26), 26u);
}

// No process can raise its open-file limit to 2^40 (not even with
// CAP_SYS_RESOURCE: fs.nr_open is far below): maxclients shrinks to fit.
TEST(OpenFileLimitTest, LowersMaxClientsToWhatTheLimitAllows) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  StatusOr<uint64_t> fitted = FitMaxClients(uint64_t{1} << 40, 32);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(*fitted, now.rlim_cur - 32);
  StatusOr<uint64_t> none = FitMaxClients(uint64_t{1} << 40, static_cast<uint32_t>(now.rlim_cur));
  EXPECT_FALSE(none.ok());
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace ringkv::net
