// dht_load: a closed-loop load generator for crustyring's dht.DhtNode/QueryDht.
// THREADS threads, each with its own channel, send Get queries for the given
// keys round-robin to one node for SECONDS, and the tool prints one JSON line:
// {"ops", "seconds", "ops_per_sec", "p50_us", "p99_us", "errors"}.
//
//   dht_load ADDR KEYS_FILE [THREADS=8] [SECONDS=3]
//
// bench/dht-forward.py drives it against the owner of the keys and against a
// node that must forward them, alternating in one run.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "dht/dht.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct ThreadResult {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
};

void Run(const std::string& addr, const std::vector<std::string>& keys, size_t first,
         Clock::time_point until, ThreadResult& out) {
  // Not net::GrpcChannels: that shares one channel per address, and the load
  // needs a connection per thread, like that many independent clients.
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  auto stub = dht::DhtNode::NewStub(
      grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args));
  dht::Query q;
  q.set_ty(dht::Get);
  size_t i = first;
  while (Clock::now() < until) {
    q.set_key(keys[i++ % keys.size()]);
    dht::QueryResult r;
    grpc::ClientContext ctx;
    const auto t0 = Clock::now();
    grpc::Status s = stub->QueryDht(&ctx, q, &r);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
    if (!s.ok() || r.has_error()) {
      ++out.errors;
      continue;
    }
    out.latencies_us.push_back(static_cast<uint32_t>(us.count()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: dht_load ADDR KEYS_FILE [THREADS=8] [SECONDS=3]\n";
    return 2;
  }
  const std::string addr = argv[1];
  std::vector<std::string> keys;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) keys.push_back(line);
  }
  if (keys.empty()) {
    std::cerr << "dht_load: no keys in " << argv[2] << "\n";
    return 2;
  }
  const int threads = argc > 3 ? std::max(1, std::atoi(argv[3])) : 8;
  const double seconds = argc > 4 ? std::atof(argv[4]) : 3.0;
  const auto start = Clock::now();
  const auto until = start + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
  std::vector<ThreadResult> results(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back(Run, std::cref(addr), std::cref(keys), static_cast<size_t>(t) * 997, until,
                      std::ref(results[static_cast<size_t>(t)]));
  }
  for (std::thread& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<uint32_t> all;
  uint64_t errors = 0;
  for (ThreadResult& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0u : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf(
      "{\"ops\": %zu, \"seconds\": %.3f, \"ops_per_sec\": %.0f, \"p50_us\": %u, \"p99_us\": %u, "
      "\"errors\": %llu}\n",
      all.size(), elapsed, static_cast<double>(all.size()) / elapsed, pct(0.50), pct(0.99),
      static_cast<unsigned long long>(errors));
  return 0;
}
