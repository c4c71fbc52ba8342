#include "base/cpus.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace ringkv {
namespace {

CpuList Parse(std::string_view text) {
  StatusOr<CpuList> cpus = ParseCpuList(text);
  EXPECT_TRUE(cpus.ok()) << text << ": " << cpus.status().message();
  return cpus.ok() ? *cpus : CpuList{};
}

TEST(CpuListTest, ParsesSinglesRangesAndSpaces) {
  EXPECT_EQ(Parse(""), CpuList{});
  EXPECT_EQ(Parse("  "), CpuList{});
  EXPECT_EQ(Parse("0"), (CpuList{0}));
  EXPECT_EQ(Parse("0-3"), (CpuList{0, 1, 2, 3}));
  EXPECT_EQ(Parse("0-2,8,10-11"), (CpuList{0, 1, 2, 8, 10, 11}));
  EXPECT_EQ(Parse(" 1 , 3 - 4 "), (CpuList{1, 3, 4}));
  EXPECT_EQ(Parse("1023"), (CpuList{1023}));
}

TEST(CpuListTest, SortsAndDropsDuplicates) {
  EXPECT_EQ(Parse("8,0-2,1,2-3"), (CpuList{0, 1, 2, 3, 8}));
}

TEST(CpuListTest, RejectsBadItemsNamingThem) {
  for (const char* bad : {"x", "3-1", "-1", "1-", ",", "0,,1", "1024", "0-1024", "1.5", "0x1"}) {
    StatusOr<CpuList> cpus = ParseCpuList(bad);
    ASSERT_FALSE(cpus.ok()) << bad;
    EXPECT_EQ(cpus.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(cpus.status().message().find("bad CPU list item"), std::string::npos) << bad;
  }
  EXPECT_NE(ParseCpuList("0,5-2").status().message().find("'5-2'"), std::string::npos);
}

TEST(CpuListTest, ValidationNamesTheBadSetting) {
  EXPECT_TRUE(ValidateCpuLists("", "").ok());
  EXPECT_TRUE(ValidateCpuLists("0", "1-3").ok());  // existence is checked at start
  EXPECT_EQ(ValidateCpuLists("0-", "").message().rfind("io_cpus: bad CPU list item '0-'", 0), 0u);
  EXPECT_EQ(ValidateCpuLists("", "a").message().rfind("background_cpus: ", 0), 0u);
}

TEST(CpuListTest, FormatIsTheShortestTextThatParsesBack) {
  EXPECT_EQ(FormatCpuList({}), "");
  EXPECT_EQ(FormatCpuList({3}), "3");
  EXPECT_EQ(FormatCpuList({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    CpuList cpus;
    for (int c = 0; c < 64; ++c) {
      if (rng() % 3 == 0) cpus.push_back(c);
    }
    EXPECT_EQ(Parse(FormatCpuList(cpus)), cpus);
  }
}

TEST(CpuListTest, UsableListsAreOnesThisProcessMayRunOn) {
  const CpuList allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  StatusOr<CpuList> ok = ParseUsableCpuList("io_cpus", std::to_string(allowed.front()));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  StatusOr<CpuList> bad = ParseUsableCpuList("io_cpus", "1023");
  if (allowed.back() < 1023) {
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("io_cpus: CPU 1023 is not one this process may run on"),
              std::string::npos)
        << bad.status().message();
  }
  EXPECT_NE(ParseUsableCpuList("background_cpus", "z").status().message().find("background_cpus: "),
            std::string::npos);
}

TEST(CpuListTest, APinnedThreadAndTheThreadsItStartsRunOnlyThere) {
  const CpuList allowed = AllowedCpus();
  std::thread t([&] {
    const CpuList one{allowed.back()};
    ASSERT_TRUE(PinThisThread(one).ok());
    EXPECT_EQ(AllowedCpus(), one);
    CpuList child;
    std::thread([&] { child = AllowedCpus(); }).join();
    EXPECT_EQ(child, one);
    EXPECT_TRUE(PinThisThread({}).ok());  // empty: left as is
    EXPECT_EQ(AllowedCpus(), one);
  });
  t.join();
  EXPECT_EQ(AllowedCpus(), allowed);  // other threads are not affected
}

TEST(CpuListTest, PinningTheMainThreadDescribesTheSplit) {
  const CpuList allowed = AllowedCpus();
  std::thread t([&] {
    StatusOr<std::string> none = PinBackgroundThreads("", "");
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, "");
    const std::string last = std::to_string(allowed.back());
    StatusOr<std::string> both = PinBackgroundThreads("", last);
    ASSERT_TRUE(both.ok()) << both.status().message();
    EXPECT_EQ(*both, "CPUs: I/O threads on all, other threads on " + last);
    EXPECT_EQ(AllowedCpus(), CpuList{allowed.back()});
    EXPECT_FALSE(PinBackgroundThreads("x", "").ok());
  });
  t.join();
}

}  // namespace
}  // namespace ringkv
