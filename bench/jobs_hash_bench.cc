// Iterated-hash throughput (cloud-ex2 work). items_per_second is hash
// iterations per second on one core; bench/hash-vs-openssl.sh compares it
// with `openssl speed -evp sha512` at 64-byte input.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "jobs/hash_work.h"
#include "jobs/internal/sha2.h"
#include "jobs/internal/sha512_lanes.h"

namespace ringkv::jobs {
namespace {

constexpr uint64_t kIterations = 100000;

void BM_IterateHash(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(IterateHash(HashAlgorithm::kSha512, "hello", kIterations));
  }
  state.SetItemsProcessed(state.iterations() * kIterations);
}
BENCHMARK(BM_IterateHash);

void BM_IterateHashSha256(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(IterateHash(HashAlgorithm::kSha256, "hello", kIterations));
  }
  state.SetItemsProcessed(state.iterations() * kIterations);
}
BENCHMARK(BM_IterateHashSha256);

void BM_IterateHashReference(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(IterateHashReference(HashAlgorithm::kSha512, "hello", kIterations));
  }
  state.SetItemsProcessed(state.iterations() * kIterations);
}
BENCHMARK(BM_IterateHashReference);

// Jobs per batch as the argument; items are hash iterations over all chains.
void BM_IterateHashBatch(benchmark::State& state) {
  std::vector<std::string> storage;
  for (int64_t i = 0; i < state.range(0); ++i) storage.push_back("hello-" + std::to_string(i));
  std::vector<std::string_view> payloads(storage.begin(), storage.end());
  for (auto _ : state) {
    benchmark::DoNotOptimize(IterateHashBatch(HashAlgorithm::kSha512, payloads, kIterations));
  }
  state.SetItemsProcessed(state.iterations() * kIterations * state.range(0));
}
BENCHMARK(BM_IterateHashBatch)->Arg(2)->Arg(4)->Arg(8)->Arg(16);

// The raw chain step implementations, without the first round or the hex.
void BM_Sha512ChainPortable(benchmark::State& state) {
  internal::Sha512Words d = internal::kSha512Iv;
  for (auto _ : state) d = internal::Sha512ChainPortable(d, kIterations);
  benchmark::DoNotOptimize(d);
  state.SetItemsProcessed(state.iterations() * kIterations);
}
BENCHMARK(BM_Sha512ChainPortable);

void BM_Sha512ChainOpenSslTransform(benchmark::State& state) {
  internal::Sha512Words d = internal::kSha512Iv;
  for (auto _ : state) d = internal::Sha512ChainOpenSsl(d, kIterations);
  benchmark::DoNotOptimize(d);
  state.SetItemsProcessed(state.iterations() * kIterations);
}
BENCHMARK(BM_Sha512ChainOpenSslTransform);

void BM_Sha512ChainAvx512Single(benchmark::State& state) {
  if (!internal::CpuHasAvx512()) {
    state.SkipWithError("no AVX-512");
    return;
  }
  internal::Sha512Words d = internal::kSha512Iv;
  for (auto _ : state) d = internal::Sha512ChainAvx512Single(d, kIterations);
  benchmark::DoNotOptimize(d);
  state.SetItemsProcessed(state.iterations() * kIterations);
}
BENCHMARK(BM_Sha512ChainAvx512Single);

// One generic compression of a full block (not folded with the padding).
void BM_Sha512Compress(benchmark::State& state) {
  internal::Sha512Block block{};
  internal::Sha512Words s = internal::kSha512Iv;
  for (auto _ : state) {
    benchmark::DoNotOptimize(block);
    s = internal::Sha512Compress(s, block);
    block[0] = s[0];
  }
  benchmark::DoNotOptimize(s);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha512Compress);

}  // namespace
}  // namespace ringkv::jobs

BENCHMARK_MAIN();
