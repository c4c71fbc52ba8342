#include "base/heap.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace ringkv {
namespace {

TEST(HeapOptionsTest, OutOfRangeValuesNameTheSetting) {
  EXPECT_TRUE(ValidateHeapOptions({}).ok());
  EXPECT_TRUE(ValidateHeapOptions({.trim_threshold = 0, .mmap_threshold = 0}).ok());
  EXPECT_TRUE(ValidateHeapOptions({.mmap_threshold = kMaxMmapThreshold}).ok());
  Status s = ValidateHeapOptions({.mmap_threshold = kMaxMmapThreshold + 1});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("heap-mmap-threshold"), std::string::npos) << s.message();
  s = ValidateHeapOptions({.trim_threshold = uint64_t{3} << 30});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("heap-trim-threshold"), std::string::npos) << s.message();
  EXPECT_FALSE(ApplyHeapOptions({.mmap_threshold = kMaxMmapThreshold + 1}).ok());
}

TEST(HeapOptionsTest, ZerosChangeNothingAndSayNothing) {
  StatusOr<std::string> line = ApplyHeapOptions({.trim_threshold = 0, .mmap_threshold = 0});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "");
}

// With glibc's defaults a 2 MiB block is a mapping of its own, unmapped when
// freed. Applied, it comes from the heap, and the heap keeps it once freed.
TEST(HeapOptionsTest, BlocksBelowTheMmapThresholdComeFromTheHeapAndStayThere) {
  StatusOr<std::string> line = ApplyHeapOptions({});
  ASSERT_TRUE(line.ok()) << line.status().message();
  EXPECT_EQ(*line,
            "heap: keeps up to 64mb freed per heap, maps blocks of 4mb and more on their own");
  constexpr size_t kBlock = size_t{2} << 20;
  const struct mallinfo2 before = mallinfo2();
  void* p = std::malloc(kBlock);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kBlock);
  const struct mallinfo2 held = mallinfo2();
  EXPECT_EQ(held.hblkhd, before.hblkhd) << "the block was mapped on its own";
  std::free(p);
  const struct mallinfo2 after = mallinfo2();
  EXPECT_EQ(after.arena, held.arena) << "the freed block went back to the kernel";
  EXPECT_GE(after.fordblks, kBlock);
}

}  // namespace
}  // namespace ringkv
