// The job codec (jobs/job.*), which reads jobs back from the node's job
// engine (memory or RocksDB). Whatever DecodeJob accepts must encode back to
// a job that decodes the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "jobs/job.h"

using ringkv::jobs::DecodeJob;
using ringkv::jobs::EncodeJob;
using ringkv::jobs::Job;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ringkv::StatusOr<Job> job = DecodeJob(bytes);
  if (!job.ok()) return 0;
  const std::string encoded = EncodeJob(*job);
  ringkv::StatusOr<Job> again = DecodeJob(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *job);
  FUZZ_CHECK(EncodeJob(*again) == encoded);
  return 0;
}
