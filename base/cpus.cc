#include "base/cpus.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace ringkv {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// A CPU number in [0, kMaxCpus), or -1.
int ParseCpu(std::string_view s) {
  int v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < 0 || v >= kMaxCpus) {
    return -1;
  }
  return v;
}

}  // namespace

StatusOr<CpuList> ParseCpuList(std::string_view text) {
  CpuList cpus;
  if (Trim(text).empty()) return cpus;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = Trim(text.substr(0, comma));
    const size_t dash = item.find('-');
    const int lo = ParseCpu(Trim(item.substr(0, dash)));
    const int hi = dash == std::string_view::npos ? lo : ParseCpu(Trim(item.substr(dash + 1)));
    if (lo < 0 || hi < lo) {
      return InvalidArgument("bad CPU list item '" + std::string(item) +
                             "': expected N or N-M with 0 <= N <= M < " + std::to_string(kMaxCpus) +
                             ", e.g. 0-3,8");
    }
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string FormatCpuList(const CpuList& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

Status ValidateCpuLists(std::string_view io_cpus, std::string_view background_cpus) {
  for (const auto& [name, text] :
       {std::pair{"io_cpus", io_cpus}, std::pair{"background_cpus", background_cpus}}) {
    if (StatusOr<CpuList> cpus = ParseCpuList(text); !cpus.ok()) {
      return InvalidArgument(std::string(name) + ": " + cpus.status().message());
    }
  }
  return OkStatus();
}

CpuList AllowedCpus() {
  CpuList cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < kMaxCpus; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

StatusOr<CpuList> ParseUsableCpuList(std::string_view name, std::string_view text) {
  StatusOr<CpuList> cpus = ParseCpuList(text);
  if (!cpus.ok()) return InvalidArgument(std::string(name) + ": " + cpus.status().message());
  const CpuList allowed = AllowedCpus();
  for (int c : *cpus) {
    if (!std::binary_search(allowed.begin(), allowed.end(), c)) {
      return InvalidArgument(std::string(name) + ": CPU " + std::to_string(c) +
                             " is not one this process may run on (" + FormatCpuList(allowed) +
                             ")");
    }
  }
  return cpus;
}

Status PinThisThread(const CpuList& cpus) {
  if (cpus.empty()) return OkStatus();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  if (int e = pthread_setaffinity_np(pthread_self(), sizeof set, &set); e != 0) {
    return Unavailable("cannot pin a thread to CPUs " + FormatCpuList(cpus) + ": " +
                       std::strerror(e));
  }
  return OkStatus();
}

StatusOr<std::string> PinBackgroundThreads(std::string_view io_cpus,
                                           std::string_view background_cpus) {
  StatusOr<CpuList> io = ParseUsableCpuList("io_cpus", io_cpus);
  if (!io.ok()) return io.status();
  StatusOr<CpuList> background = ParseUsableCpuList("background_cpus", background_cpus);
  if (!background.ok()) return background.status();
  if (Status s = PinThisThread(*background); !s.ok()) return s;
  if (io->empty() && background->empty()) return std::string();
  auto name = [](const CpuList& cpus) { return cpus.empty() ? "all" : FormatCpuList(cpus); };
  return "CPUs: I/O threads on " + name(*io) + ", other threads on " + name(*background);
}

}  // namespace ringkv
