#include "net/client_limits.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <sstream>
#include <vector>

#include "base/settings.h"

namespace ringkv::net {

StatusOr<OutputBufferLimit> ParseOutputBufferLimit(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() == 4) {
    if (words[0] != "normal") {
      return InvalidArgument("only the normal client class applies to ringkv, got '" + words[0] +
                             "'");
    }
    words.erase(words.begin());
  }
  if (words.size() != 3) {
    return InvalidArgument("expected [normal] <hard bytes> <soft bytes> <soft seconds>");
  }
  OutputBufferLimit limit;
  const settings::Bytes bytes;
  StatusOr<uint64_t> hard = bytes.Parse(words[0], UINT64_MAX);
  if (!hard.ok()) return hard.status();
  StatusOr<uint64_t> soft = bytes.Parse(words[1], UINT64_MAX);
  if (!soft.ok()) return soft.status();
  StatusOr<uint64_t> seconds = settings::ParseUint(words[2], 1u << 30);
  if (!seconds.ok()) return seconds.status();
  limit.hard_bytes = *hard;
  limit.soft_bytes = *soft;
  limit.soft_seconds = static_cast<uint32_t>(*seconds);
  return limit;
}

std::string RenderOutputBufferLimit(const OutputBufferLimit& limit) {
  return "normal " + settings::RenderBytes(limit.hard_bytes) + " " +
         settings::RenderBytes(limit.soft_bytes) + " " + std::to_string(limit.soft_seconds);
}

Status OutputBufferLimitSetting::Set(OutputBufferLimit& field, std::string_view text) const {
  StatusOr<OutputBufferLimit> limit = ParseOutputBufferLimit(text);
  if (!limit.ok()) return limit.status();
  field = *limit;
  return OkStatus();
}

uint64_t RaiseOpenFileLimit(uint64_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    rlimit raised = lim;
    raised.rlim_cur = wanted;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < wanted) raised.rlim_max = wanted;
    // Without CAP_SYS_RESOURCE the hard limit cannot rise: take what it allows.
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0 && lim.rlim_max != lim.rlim_cur) {
      raised = lim;
      raised.rlim_cur = lim.rlim_max;
      (void)::setrlimit(RLIMIT_NOFILE, &raised);
    }
    (void)::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(lim.rlim_cur);
}

StatusOr<uint64_t> FitMaxClients(uint64_t maxclients, uint32_t reserved_fds) {
  const uint64_t wanted = maxclients + reserved_fds;
  const uint64_t limit = RaiseOpenFileLimit(wanted);
  if (limit >= wanted) return maxclients;
  if (limit <= reserved_fds) {
    return ResourceExhausted("the open-file limit (" + std::to_string(limit) +
                             ") leaves no descriptor for clients beyond reserved_fds (" +
                             std::to_string(reserved_fds) + "); raise ulimit -n");
  }
  const uint64_t fitted = limit - reserved_fds;
  spdlog::warn(
      "maxclients lowered from {} to {}: the open-file limit is {} and cannot be raised to {} "
      "(maxclients + reserved_fds); raise ulimit -n to serve more",
      maxclients, fitted, limit, wanted);
  return fitted;
}

}  // namespace ringkv::net
