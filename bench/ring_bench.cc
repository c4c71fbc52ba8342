// ring_bench: lookup cost of ringkv's Ring against the baselines, each
// including XXH3 of a 16-byte key, and of a preference list of 3 (Owners).
// Run: build/bench/ring_bench
// Arguments are node counts; every ring has 160 vnodes per node.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/baselines.h"
#include "ring/placement.h"
#include "ring/ring.h"

namespace ringkv::bench {
namespace {

constexpr size_t kKeys = 1 << 20;  // distinct keys, cycled through (beyond L2)
constexpr uint32_t kVnodes = 160;

std::vector<ring::NodeSpec> MakeNodes(int64_t n) {
  std::vector<ring::NodeSpec> nodes;
  for (int64_t i = 0; i < n; ++i) nodes.push_back({"10.0." + std::to_string(i / 256) + "." +
                                                       std::to_string(i % 256) + ":6379", 1});
  return nodes;
}

// 16-byte keys "key:000000012345".
const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    char buf[32];
    for (size_t i = 0; i < kKeys; ++i) {
      std::snprintf(buf, sizeof buf, "key:%012zu", i * 7919);
      k.emplace_back(buf);
    }
    return k;
  }();
  return keys;
}

ring::RingPtr BuildRing(int64_t n) { return *ring::Ring::Build(MakeNodes(n), {.vnodes_per_weight = kVnodes}); }

template <typename Lookup>
void RunLookups(benchmark::State& state, Lookup&& lookup) {
  const auto& keys = Keys();
  size_t i = 0;
  for (auto _ : state) {
    const std::string& k = keys[i++ & (kKeys - 1)];
    benchmark::DoNotOptimize(lookup(ring::HashXxh3(k)));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RingLookup(benchmark::State& state) {
  ring::RingPtr r = BuildRing(state.range(0));
  RunLookups(state, [&](uint64_t h) { return r->OwnerIndex(h); });
  state.counters["bucket_bits"] = r->bucket_bits();
}

// The preference list of 3 (a replication factor of 3) into a fixed array.
void BM_RingOwners(benchmark::State& state) {
  ring::RingPtr r = BuildRing(state.range(0));
  std::array<uint32_t, 3> owners{};
  RunLookups(state, [&](uint64_t h) {
    r->Owners(h, owners);
    return owners[2];
  });
}

void BM_ContinuumLookup(benchmark::State& state) {
  Continuum c(*BuildRing(state.range(0)));
  RunLookups(state, [&](uint64_t h) { return c.Owner(h); });
}

void BM_MapRingLookup(benchmark::State& state) {
  MapRing m(*BuildRing(state.range(0)));
  RunLookups(state, [&](uint64_t h) { return m.Owner(h); });
}

void BM_PlacementLookup(benchmark::State& state, ring::Algorithm algo) {
  auto p = std::move(*ring::MakePlacement(algo, MakeNodes(state.range(0))));
  RunLookups(state, [&](uint64_t h) { return p->Locate(h); });
}

void BM_JumpLookup(benchmark::State& state) { BM_PlacementLookup(state, ring::Algorithm::kJump); }
void BM_MaglevLookup(benchmark::State& state) { BM_PlacementLookup(state, ring::Algorithm::kMaglev); }
void BM_RendezvousLookup(benchmark::State& state) {
  BM_PlacementLookup(state, ring::Algorithm::kRendezvous);
}

void BM_Xxh3Only(benchmark::State& state) {
  RunLookups(state, [](uint64_t h) { return h; });
}

void BM_RingBuild(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(BuildRing(state.range(0)));
}

BENCHMARK(BM_Xxh3Only);
BENCHMARK(BM_RingLookup)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_RingOwners)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_ContinuumLookup)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_MapRingLookup)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_JumpLookup)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_MaglevLookup)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_RendezvousLookup)->Arg(10)->Arg(100);
BENCHMARK(BM_RingBuild)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringkv::bench

BENCHMARK_MAIN();
