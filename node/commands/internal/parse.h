// Number parsing and formatting with Redis's exact rules, so replies and
// errors match redis-server byte for byte.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::node::internal {

// Redis string2ll: optional '-', no '+', no spaces, no leading zeros, no "-0".
std::optional<int64_t> ParseInt64(std::string_view s);

// Redis SCAN cursor rules (strtoull): no leading space, whole string
// consumed, no overflow. A leading '-' wraps like strtoull does.
std::optional<uint64_t> ParseCursor(std::string_view s);

// Redis string2ld: strtold over the whole string, no leading space, no NaN,
// no underflow/overflow to zero/huge.
std::optional<long double> ParseLongDouble(std::string_view s);

// Redis ld2string "human" mode: "%.17Lf" without trailing zeros or dot,
// "-0" printed as "0".
std::string FormatLongDouble(long double v);

// "1.50K", "3.00M"... like Redis's bytesToHuman.
std::string HumanBytes(uint64_t n);

// ASCII case-insensitive equality; `lower` must already be lower case.
bool EqualsLower(std::string_view s, std::string_view lower);

}  // namespace ringkv::node::internal
