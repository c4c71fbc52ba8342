#include "jobs/job.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <unordered_set>

namespace ringkv::jobs {
namespace {

Job FullJob() {
  Job job;
  job.id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  job.payload = std::string("bin\0ary\xff\x80 payload", 18);
  job.iterations = 4000000000u;
  job.algorithm = HashAlgorithm::kSha256;
  job.state = JobState::kLeased;
  job.enqueued_ms = 1700000000123;
  job.leased_ms = -5;
  job.lease_expires_ms = std::numeric_limits<int64_t>::max();
  job.completed_ms = std::numeric_limits<int64_t>::min();
  job.worker = "worker-7";
  job.output = std::string(64, 'a');
  job.attempts = 3;
  job.pulled = true;
  return job;
}

TEST(JobNamesTest, AlgorithmsAndStates) {
  EXPECT_EQ(HashAlgorithmName(HashAlgorithm::kSha512), "sha512");
  EXPECT_EQ(HashAlgorithmName(HashAlgorithm::kSha256), "sha256");
  EXPECT_EQ(ParseHashAlgorithm("sha512"), HashAlgorithm::kSha512);
  EXPECT_EQ(ParseHashAlgorithm("sha256"), HashAlgorithm::kSha256);
  EXPECT_EQ(ParseHashAlgorithm("SHA512"), std::nullopt);
  EXPECT_EQ(ParseHashAlgorithm("md5"), std::nullopt);
  EXPECT_EQ(ParseHashAlgorithm(""), std::nullopt);
  EXPECT_EQ(JobStateName(JobState::kQueued), "queued");
  EXPECT_EQ(JobStateName(JobState::kLeased), "leased");
  EXPECT_EQ(JobStateName(JobState::kDone), "done");
}

TEST(JobCodecTest, RoundTripsDefaultAndFullJobs) {
  for (const Job& job : {Job{}, FullJob()}) {
    StatusOr<Job> decoded = DecodeJob(EncodeJob(job));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, job);
  }
}

TEST(JobCodecTest, RoundTripsEveryStateAndAlgorithm) {
  for (JobState state : {JobState::kQueued, JobState::kLeased, JobState::kDone}) {
    for (HashAlgorithm algorithm : {HashAlgorithm::kSha512, HashAlgorithm::kSha256}) {
      Job job = FullJob();
      job.state = state;
      job.algorithm = algorithm;
      job.pulled = state == JobState::kDone;
      StatusOr<Job> decoded = DecodeJob(EncodeJob(job));
      ASSERT_TRUE(decoded.ok());
      EXPECT_EQ(*decoded, job);
    }
  }
}

TEST(JobCodecTest, RoundTripsAllByteValuesAndLargePayload) {
  Job job = FullJob();
  job.payload.clear();
  for (int i = 0; i < 256; ++i) job.payload.push_back(static_cast<char>(i));
  job.payload += std::string(1 << 20, '\x80');
  StatusOr<Job> decoded = DecodeJob(EncodeJob(job));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, job);
}

TEST(JobCodecTest, EveryTruncationFailsCleanly) {
  std::string bytes = EncodeJob(FullJob());
  for (size_t n = 0; n < bytes.size(); ++n) {
    // A heap copy of exactly n bytes, so a read past the end is caught by ASan.
    std::string prefix = bytes.substr(0, n);
    StatusOr<Job> decoded = DecodeJob(prefix);
    ASSERT_FALSE(decoded.ok()) << n;
    EXPECT_TRUE(decoded.status().code() == StatusCode::kDataLoss ||
                decoded.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST(JobCodecTest, RejectsMalformedInput) {
  std::string good = EncodeJob(FullJob());
  EXPECT_EQ(DecodeJob(good + "x").status().code(), StatusCode::kDataLoss);  // trailing bytes
  std::string bad_format = good;
  bad_format[0] = 9;
  EXPECT_EQ(DecodeJob(bad_format).status().code(), StatusCode::kInvalidArgument);
  // A string length far beyond the input.
  EXPECT_EQ(DecodeJob(std::string("\x01\xff\xff\xff\xff\x0f", 6)).status().code(),
            StatusCode::kDataLoss);
  // A varint longer than 10 bytes.
  EXPECT_EQ(DecodeJob(std::string("\x01") + std::string(11, '\xff')).status().code(),
            StatusCode::kDataLoss);
  // Unknown enum values and a non-boolean `pulled`.
  Job job;
  std::string base = EncodeJob(job);  // id, payload empty; iterations 1 -> algorithm at [4]
  ASSERT_EQ(base[4], 0);
  std::string bad_algorithm = base;
  bad_algorithm[4] = 2;
  EXPECT_FALSE(DecodeJob(bad_algorithm).ok());
  std::string bad_state = base;
  bad_state[5] = 3;
  EXPECT_FALSE(DecodeJob(bad_state).ok());
  std::string bad_pulled = base;
  bad_pulled.back() = 2;
  EXPECT_FALSE(DecodeJob(bad_pulled).ok());
  // Iterations beyond uint32.
  std::string big_iterations = std::string("\x01\x00\x00\x80\x80\x80\x80\x10", 8) + base.substr(4);
  EXPECT_FALSE(DecodeJob(big_iterations).ok());
}

TEST(JobCodecTest, EveryCorruptedByteDecodesOrFailsWithoutCrashing) {
  std::string good = EncodeJob(FullJob());
  for (size_t i = 0; i < good.size(); ++i) {
    for (int v : {0x00, 0x7f, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      StatusOr<Job> decoded = DecodeJob(bad);
      if (decoded.ok()) {
        EXPECT_TRUE(DecodeJob(EncodeJob(*decoded)).ok());
      }
    }
  }
}

TEST(JobIdTest, NewIdsAreValidV4AndUnique) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 100000; ++i) {
    std::string id = NewJobId();
    ASSERT_TRUE(IsJobId(id)) << id;
    ASSERT_EQ(id[14], '4') << id;
    ASSERT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

TEST(JobIdTest, IsJobIdCases) {
  EXPECT_TRUE(IsJobId("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(IsJobId("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(IsJobId("0F8FAD5B-D9CB-469F-A165-70867728950E"));   // upper case
  EXPECT_FALSE(IsJobId("0f8fad5b-d9cb-469f-a165-70867728950"));    // 35 chars
  EXPECT_FALSE(IsJobId("0f8fad5b-d9cb-469f-a165-70867728950e0"));  // 37 chars
  EXPECT_FALSE(IsJobId("0f8fad5bd-9cb-469f-a165-70867728950e"));   // dash misplaced
  EXPECT_FALSE(IsJobId("0f8fad5b-d9cb-469f-a165-70867728950g"));   // not hex
  EXPECT_FALSE(IsJobId("0f8fad5b_d9cb_469f_a165_70867728950e"));
  EXPECT_FALSE(IsJobId(""));
  EXPECT_FALSE(IsJobId("------------------------------------"));
}

}  // namespace
}  // namespace ringkv::jobs
