// Parsing of the SET / GETEX option lists and of expire arguments, with
// Redis's exact precedence of syntax errors over value errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "node/commands/internal/context.h"

namespace ringkv::node::internal {

enum StringOption : uint32_t {
  kOptNx = 1u << 0,
  kOptXx = 1u << 1,
  kOptGet = 1u << 2,
  kOptKeepTtl = 1u << 3,
  kOptPersist = 1u << 4,
  kOptEx = 1u << 5,
  kOptPx = 1u << 6,
  kOptExAt = 1u << 7,
  kOptPxAt = 1u << 8,
};
inline constexpr uint32_t kOptAnyExpire = kOptEx | kOptPx | kOptExAt | kOptPxAt;

struct StringOptions {
  uint32_t flags = 0;
  uint32_t expire_unit = 0;     // one of kOptEx..kOptPxAt, or 0
  std::string_view expire_arg;  // the number after the expire option
};

enum class OptionSet { kSet, kGetEx };

// Parses args[first..]; replies "-ERR syntax error" and returns nullopt on a
// bad or conflicting option.
std::optional<StringOptions> ParseStringOptions(Context& ctx, size_t first, OptionSet set);

// Converts an expire argument in `unit` to absolute Unix ms. Replies the
// Redis error (not an integer / invalid expire time in '<cmd>') on failure.
std::optional<int64_t> ResolveExpire(Context& ctx, uint32_t unit, std::string_view arg,
                                     std::string_view cmd);

}  // namespace ringkv::node::internal
