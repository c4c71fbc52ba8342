// resp_load: an open-loop RESP GET load generator. CONNECTIONS connections,
// each a thread, send GETs of random keys "key:%012d" (0 <= i < KEYS) on a
// fixed schedule adding up to RATE requests/s for SECONDS, whether or not the
// server keeps up. A request's latency runs from when it was due when its
// connection was still waiting for an earlier reply (so a slow server is not
// hidden by a client that slows down with it), else from when it was sent.
//
//   resp_load PORT RATE SECONDS [CONNECTIONS=8] [KEYS=1000000] [WINDOW_MS=500]
//
// Prints one JSON line per window of WINDOW_MS (by due time):
//   {"start_ms", "end_ms" (Unix ms), "requests", "p50_us", "p99_us",
//    "max_us", "nil", "errors"}
// then a line {"total": requests, "nil", "errors", "late": requests sent
// after they were due}. `nil` counts GETs that found no value (every key is
// expected to exist), `errors` error replies and broken connections.
//
// bench/rebalance-move.py runs it while a node is added to a loaded cluster.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  int64_t due_us;  // since the common start
  uint32_t latency_us;
  uint8_t outcome;  // 0 = value, 1 = nil, 2 = error
};

struct ConnResult {
  std::vector<Sample> samples;
  uint64_t late = 0;
  bool broken = false;
};

// Reads one RESP reply to GET from `fd`; returns 0 (bulk value), 1 (nil) or
// 2 (error reply or a broken connection). `buf`/`len` keep unread bytes.
int ReadReply(int fd, std::string& buf) {
  for (;;) {
    const size_t eol = buf.find("\r\n");
    if (eol != std::string::npos) {
      if (buf[0] == '$') {
        const long n = std::strtol(buf.c_str() + 1, nullptr, 10);
        if (n < 0) {
          buf.erase(0, eol + 2);
          return 1;
        }
        const size_t need = eol + 2 + static_cast<size_t>(n) + 2;
        if (buf.size() >= need) {
          buf.erase(0, need);
          return 0;
        }
      } else {
        buf.erase(0, eol + 2);
        return 2;
      }
    }
    char chunk[16384];
    const ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return -1;
    buf.append(chunk, static_cast<size_t>(got));
  }
}

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void Run(uint16_t port, double interval_us, double offset_us, int64_t end_us, uint64_t keys,
         uint64_t seed, Clock::time_point start, ConnResult& out) {
  prctl(PR_SET_TIMERSLACK, 1UL);
  const int fd = Connect(port);
  std::string buf;
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  char req[96];
  for (uint64_t k = 0;; ++k) {
    const auto due_us = static_cast<int64_t>(offset_us + static_cast<double>(k) * interval_us);
    if (due_us >= end_us) break;
    const Clock::time_point due = start + std::chrono::microseconds(due_us);
    Clock::time_point from = due;
    if (Clock::now() < due) {
      std::this_thread::sleep_until(due);
      from = Clock::now();  // on time: a late wake-up is the client's, not the server's
    } else {
      ++out.late;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char key[32];
    const int klen = std::snprintf(key, sizeof key, "key:%012" PRIu64, x % keys);
    const int len = std::snprintf(req, sizeof req, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", klen, key);
    if (send(fd, req, static_cast<size_t>(len), MSG_NOSIGNAL) != len) {
      out.broken = true;
      break;
    }
    const int r = ReadReply(fd, buf);
    const auto lat = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - from);
    if (r < 0) {
      out.broken = true;
      break;
    }
    out.samples.push_back(
        Sample{due_us, static_cast<uint32_t>(lat.count()), static_cast<uint8_t>(r)});
  }
  close(fd);
}

uint32_t Percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: resp_load PORT RATE SECONDS [CONNECTIONS=8] [KEYS=1000000] "
                 "[WINDOW_MS=500]\n");
    return 2;
  }
  const auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  const double rate = std::atof(argv[2]);
  const double seconds = std::atof(argv[3]);
  const int conns = argc > 4 ? std::atoi(argv[4]) : 8;
  const uint64_t keys = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 1000000;
  const int64_t window_ms = argc > 6 ? std::atoll(argv[6]) : 500;
  if (rate <= 0 || seconds <= 0 || conns <= 0 || keys == 0 || window_ms <= 0) {
    std::fprintf(stderr, "resp_load: RATE, SECONDS, CONNECTIONS, KEYS, WINDOW_MS must be > 0\n");
    return 2;
  }
  const double interval_us = 1e6 * conns / rate;
  const auto end_us = static_cast<int64_t>(seconds * 1e6);
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(50);
  const int64_t start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count() +
                                50;
  std::vector<ConnResult> results(static_cast<size_t>(conns));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(conns));
  for (int i = 0; i < conns; ++i) {
    threads.emplace_back(Run, port, interval_us, interval_us * i / conns, end_us, keys,
                         static_cast<uint64_t>(i + 1), start, std::ref(results[i]));
  }
  for (std::thread& t : threads) t.join();

  const int64_t window_us = window_ms * 1000;
  const size_t windows = static_cast<size_t>((end_us + window_us - 1) / window_us);
  std::vector<std::vector<uint32_t>> lat(windows);
  std::vector<uint64_t> nil(windows), errors(windows);
  uint64_t total = 0, total_nil = 0, total_errors = 0, late = 0;
  for (const ConnResult& r : results) {
    late += r.late;
    if (r.broken) ++total_errors;
    for (const Sample& s : r.samples) {
      const size_t w = std::min(windows - 1, static_cast<size_t>(s.due_us / window_us));
      lat[w].push_back(s.latency_us);
      nil[w] += s.outcome == 1;
      errors[w] += s.outcome == 2;
    }
  }
  for (size_t w = 0; w < windows; ++w) {
    std::vector<uint32_t>& v = lat[w];
    const uint32_t max = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
    const uint32_t p50 = Percentile(v, 0.50);
    const uint32_t p99 = Percentile(v, 0.99);
    std::printf(
        "{\"start_ms\": %" PRId64 ", \"end_ms\": %" PRId64
        ", \"requests\": %zu, \"p50_us\": %u, \"p99_us\": %u, \"max_us\": %u, \"nil\": %" PRIu64
        ", \"errors\": %" PRIu64 "}\n",
        start_unix_ms + static_cast<int64_t>(w) * window_ms,
        start_unix_ms + static_cast<int64_t>(w + 1) * window_ms, v.size(), p50, p99, max, nil[w],
        errors[w]);
    total += v.size();
    total_nil += nil[w];
    total_errors += errors[w];
  }
  std::printf("{\"total\": %" PRIu64 ", \"nil\": %" PRIu64 ", \"errors\": %" PRIu64
              ", \"late\": %" PRIu64 "}\n",
              total, total_nil, total_errors, late);
  return 0;
}
