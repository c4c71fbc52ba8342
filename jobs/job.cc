#include "jobs/job.h"

#include <unistd.h>

#include <array>
#include <cstring>
#include <random>

namespace ringkv::jobs {
namespace {

// Encoding version 1, in order: format byte, id, payload, iterations,
// algorithm, state, enqueued_ms, leased_ms, lease_expires_ms, completed_ms,
// worker, output, attempts, pulled. Strings are varint length + bytes;
// unsigned integers are LEB128 varints; int64 times are zigzag varints;
// enums and the bool are one byte each. Nothing may follow the last field.
constexpr uint8_t kFormatV1 = 1;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

void PutSigned(std::string& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// Reads fields off the front of the input; every read checks the remaining
// length first, so a truncated input fails instead of reading past its end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool Byte(uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }

  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(b)) return false;
      // The tenth byte may carry only the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }

  bool U32(uint32_t& v) {
    uint64_t x;
    if (!Varint(x) || x > UINT32_MAX) return false;
    v = static_cast<uint32_t>(x);
    return true;
  }

  bool Signed(int64_t& v) {
    uint64_t x;
    if (!Varint(x)) return false;
    v = static_cast<int64_t>((x >> 1) ^ (~(x & 1) + 1));
    return true;
  }

  bool String(std::string& s) {
    uint64_t n;
    if (!Varint(n) || n > in_.size()) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }

  bool AtEnd() const { return in_.empty(); }

 private:
  std::string_view in_;
};

bool DecodeAlgorithm(uint8_t b, HashAlgorithm& a) {
  if (b > static_cast<uint8_t>(HashAlgorithm::kSha256)) return false;
  a = static_cast<HashAlgorithm>(b);
  return true;
}

bool DecodeState(uint8_t b, JobState& s) {
  if (b > static_cast<uint8_t>(JobState::kDone)) return false;
  s = static_cast<JobState>(b);
  return true;
}

bool DecodeFields(Reader& r, Job& job) {
  uint8_t algorithm, state, pulled;
  if (!r.String(job.id) || !r.String(job.payload) || !r.U32(job.iterations)) return false;
  if (!r.Byte(algorithm) || !DecodeAlgorithm(algorithm, job.algorithm)) return false;
  if (!r.Byte(state) || !DecodeState(state, job.state)) return false;
  if (!r.Signed(job.enqueued_ms) || !r.Signed(job.leased_ms) || !r.Signed(job.lease_expires_ms) ||
      !r.Signed(job.completed_ms)) {
    return false;
  }
  if (!r.String(job.worker) || !r.String(job.output) || !r.U32(job.attempts)) return false;
  if (!r.Byte(pulled) || pulled > 1) return false;
  job.pulled = pulled == 1;
  return r.AtEnd();
}

// A per-thread generator seeded from the OS; reseeded after fork() so that a
// parent and child never hand out the same sequence of ids.
std::mt19937_64& ThreadRng() {
  thread_local std::mt19937_64 rng;
  thread_local pid_t seeded_pid = 0;
  pid_t pid = getpid();
  if (seeded_pid != pid) {
    std::random_device rd;
    std::array<uint32_t, 8> seed;
    for (uint32_t& s : seed) s = rd();
    std::seed_seq seq(seed.begin(), seed.end());
    rng.seed(seq);
    seeded_pid = pid;
  }
  return rng;
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

std::string_view HashAlgorithmName(HashAlgorithm a) {
  switch (a) {
    case HashAlgorithm::kSha512:
      return "sha512";
    case HashAlgorithm::kSha256:
      return "sha256";
  }
  return "unknown";
}

std::optional<HashAlgorithm> ParseHashAlgorithm(std::string_view name) {
  if (name == "sha512") return HashAlgorithm::kSha512;
  if (name == "sha256") return HashAlgorithm::kSha256;
  return std::nullopt;
}

std::string_view JobStateName(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return "queued";
    case JobState::kLeased:
      return "leased";
    case JobState::kDone:
      return "done";
  }
  return "unknown";
}

std::string EncodeJob(const Job& job) {
  std::string out;
  out.reserve(32 + job.id.size() + job.payload.size() + job.worker.size() + job.output.size());
  out.push_back(static_cast<char>(kFormatV1));
  PutString(out, job.id);
  PutString(out, job.payload);
  PutVarint(out, job.iterations);
  out.push_back(static_cast<char>(job.algorithm));
  out.push_back(static_cast<char>(job.state));
  PutSigned(out, job.enqueued_ms);
  PutSigned(out, job.leased_ms);
  PutSigned(out, job.lease_expires_ms);
  PutSigned(out, job.completed_ms);
  PutString(out, job.worker);
  PutString(out, job.output);
  PutVarint(out, job.attempts);
  out.push_back(job.pulled ? 1 : 0);
  return out;
}

StatusOr<Job> DecodeJob(std::string_view bytes) {
  Reader r(bytes);
  uint8_t format;
  if (!r.Byte(format)) return DataLoss("job encoding is empty");
  if (format != kFormatV1) {
    return InvalidArgument("unsupported job encoding format " + std::to_string(format));
  }
  Job job;
  if (!DecodeFields(r, job)) return DataLoss("job encoding is truncated or malformed");
  return job;
}

std::string NewJobId() {
  std::mt19937_64& rng = ThreadRng();
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;            // version 4
  lo = (lo & ~(0xcULL << 60)) | (0x8ULL << 60);  // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    uint64_t word = i < 16 ? hi : lo;
    id[pos++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
  }
  return id;
}

bool IsJobId(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsLowerHex(s[i])) return false;
  }
  return true;
}

}  // namespace ringkv::jobs
