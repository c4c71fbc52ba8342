// Parsing of human-friendly sizes and durations used in flags and config.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace ringkv {

// "1048576", "512kb", "100mb", "1gb", "2g", "64m" (case-insensitive; k/kb =
// 1024, m/mb = 1024^2, g/gb = 1024^3, like Redis's memory units).
StatusOr<uint64_t> ParseBytes(std::string_view text);

// "250ms", "15s", "10m", "1h", or a bare number of seconds. Returns ms.
StatusOr<uint64_t> ParseDurationMs(std::string_view text);

}  // namespace ringkv
