// Client memory and descriptor limits of ringkv's RESP servers (the node's
// RespServer and the router's proxy, both on net::ConnectionLoop), with the
// Redis names they follow: client-output-buffer-limit (the normal class),
// maxmemory-clients, and the open-file limit Redis raises at start from
// maxclients. See docs/security.md, "Memory limits".
//
// Thread safety: ClientLimits and OutputBufferLimit are plain values;
// ClientCounters is updated from the I/O threads and read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ringkv::net {

// Redis's `client-output-buffer-limit normal <hard> <soft> <soft-seconds>`:
// a client whose unsent replies reach `hard_bytes`, or stay at or above
// `soft_bytes` for `soft_seconds`, is disconnected. 0 disables a limit.
struct OutputBufferLimit {
  uint64_t hard_bytes = 1ull << 30;  // above the largest value (max_bulk_len) plus its header
  uint64_t soft_bytes = 8ull << 20;
  uint32_t soft_seconds = 60;

  bool operator==(const OutputBufferLimit&) const = default;
};

// "normal 1gb 8mb 60" (the class name is optional; only `normal` is taken,
// as ringkv has no replica or pub/sub clients). Errors name what is wrong.
StatusOr<OutputBufferLimit> ParseOutputBufferLimit(std::string_view text);
std::string RenderOutputBufferLimit(const OutputBufferLimit& limit);

// A settings binder (base/settings.h) for an OutputBufferLimit field.
struct OutputBufferLimitSetting {
  Status Set(OutputBufferLimit& field, std::string_view text) const;
  std::string Render(const OutputBufferLimit& value) const {
    return RenderOutputBufferLimit(value);
  }
};

// What bounds the memory of client connections, per connection and in total.
struct ClientLimits {
  OutputBufferLimit output;
  // A connection runs no further request (and reads nothing) while this many
  // reply bytes wait to be sent; it goes on as the client reads. At or above
  // output.soft_bytes, a client that stops reading meets the soft limit.
  // 0 = never stop (only the limits apply).
  uint64_t output_pause_bytes = 8ull << 20;
  // Redis 7's maxmemory-clients: input plus output buffers of all client
  // connections together; above it the largest are disconnected. 0 = none.
  uint64_t maxmemory_clients = 2ull << 30;
  // A connection that must AUTH (requirepass set) and has not within this
  // many seconds is closed. 0 = never.
  uint32_t auth_timeout_s = 10;
  // Descriptors kept beyond maxclients for everything else (listeners,
  // files, peers, HTTP, gRPC). At start the open-file limit is raised to
  // maxclients + reserved_fds, or maxclients is lowered to fit.
  uint32_t reserved_fds = 128;
};

// Why connections were cut, and what client buffers hold; reported in INFO
// and /metrics.
struct ClientCounters {
  std::atomic<uint64_t> output_limit_disconnects{0};  // client-output-buffer-limit
  std::atomic<uint64_t> query_limit_disconnects{0};   // max_query_buffer
  std::atomic<uint64_t> memory_evictions{0};          // maxmemory-clients
  std::atomic<uint64_t> auth_timeouts{0};
  std::atomic<uint64_t> emfile_events{0};  // accept() out of descriptors
  std::atomic<int64_t> buffer_bytes{0};    // input + output buffers of all clients
};

// Raises RLIMIT_NOFILE (soft, and hard if allowed) to at least `wanted`;
// returns the soft limit in force afterwards.
uint64_t RaiseOpenFileLimit(uint64_t wanted);

// The maxclients that fits the open-file limit after raising it to
// maxclients + reserved_fds (Redis's adjustOpenFilesLimit); logs when it is
// lowered. Error: not even one client fits.
StatusOr<uint64_t> FitMaxClients(uint64_t maxclients, uint32_t reserved_fds);

}  // namespace ringkv::net
