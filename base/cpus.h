// CPU lists ("0-3,8"), written as taskset(1) and Linux's cpulist files write
// them, and pinning threads to them. The node and the router use two lists:
// one for the threads that serve client requests and one for everything
// else (copying keys, gRPC, HTTP, health checks), so on a small machine bulk
// work cannot sit on the CPU a request is waiting for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ringkv {

// CPU numbers, ascending, without duplicates.
using CpuList = std::vector<int>;

// Parses "0-3,8,10-11" (spaces around items allowed). Empty text is an empty
// list. Errors name the bad item: "5-2", "x", "-1", or a CPU >= kMaxCpus.
StatusOr<CpuList> ParseCpuList(std::string_view text);
inline constexpr int kMaxCpus = 1024;  // CPU_SETSIZE

// The shortest text ParseCpuList reads back as `cpus`, e.g. "0-3,8".
std::string FormatCpuList(const CpuList& cpus);

// The CPUs the calling thread may run on.
CpuList AllowedCpus();

// Parses the setting `name` and checks that every CPU in it is one this
// process may run on, so a typo fails at start rather than pinning a thread
// nowhere.
StatusOr<CpuList> ParseUsableCpuList(std::string_view name, std::string_view text);

// Checks the text of both settings (`io_cpus`, `background_cpus`); whether
// the CPUs exist is checked at start, by PinBackgroundThreads.
Status ValidateCpuLists(std::string_view io_cpus, std::string_view background_cpus);

// Pins the calling thread to `cpus`; threads it starts afterwards inherit
// the set. An empty list leaves the thread as it is.
Status PinThisThread(const CpuList& cpus);

// For a server's main thread, before it starts any other: checks that both
// settings (`io_cpus`, `background_cpus`) name CPUs this process may run
// on, then pins the calling thread to the background list, which every
// thread started later inherits; the I/O threads pin themselves to theirs.
// Returns a line for the log ("CPUs: ..."), empty when neither list is set.
StatusOr<std::string> PinBackgroundThreads(std::string_view io_cpus,
                                           std::string_view background_cpus);

}  // namespace ringkv
