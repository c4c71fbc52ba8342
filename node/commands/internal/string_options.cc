#include "node/commands/internal/string_options.h"

#include <limits>

#include "node/commands/internal/parse.h"

namespace ringkv::node::internal {
namespace {

uint32_t ExpireUnit(std::string_view opt) {
  if (EqualsLower(opt, "ex")) return kOptEx;
  if (EqualsLower(opt, "px")) return kOptPx;
  if (EqualsLower(opt, "exat")) return kOptExAt;
  if (EqualsLower(opt, "pxat")) return kOptPxAt;
  return 0;
}

// Applies one option to `o`; returns false on a syntax error. `next` is the
// following argument (or nullptr) and `consumed` tells whether it was used.
bool ApplyOption(StringOptions& o, std::string_view opt, const std::string_view* next,
                 OptionSet set, bool& consumed) {
  const uint32_t f = o.flags;
  const bool is_set = set == OptionSet::kSet;
  consumed = false;
  if (is_set && EqualsLower(opt, "nx") && !(f & kOptXx)) {
    o.flags |= kOptNx;
  } else if (is_set && EqualsLower(opt, "xx") && !(f & kOptNx)) {
    o.flags |= kOptXx;
  } else if (is_set && EqualsLower(opt, "get")) {
    o.flags |= kOptGet;
  } else if (is_set && EqualsLower(opt, "keepttl") && !(f & (kOptPersist | kOptAnyExpire))) {
    o.flags |= kOptKeepTtl;
  } else if (!is_set && EqualsLower(opt, "persist") && !(f & (kOptKeepTtl | kOptAnyExpire))) {
    o.flags |= kOptPersist;
  } else if (uint32_t unit = ExpireUnit(opt);
             unit != 0 && next != nullptr &&
             !(f & (kOptKeepTtl | kOptPersist | (kOptAnyExpire & ~unit)))) {
    o.flags |= unit;
    o.expire_unit = unit;
    o.expire_arg = *next;
    consumed = true;
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::optional<StringOptions> ParseStringOptions(Context& ctx, size_t first, OptionSet set) {
  StringOptions o;
  for (size_t j = first; j < ctx.args.size(); ++j) {
    const std::string_view* next = j + 1 < ctx.args.size() ? &ctx.args[j + 1] : nullptr;
    bool consumed = false;
    if (!ApplyOption(o, ctx.args[j], next, set, consumed)) {
      ctx.w.Error(kErrSyntax);
      return std::nullopt;
    }
    if (consumed) ++j;
  }
  return o;
}

std::optional<int64_t> ResolveExpire(Context& ctx, uint32_t unit, std::string_view arg,
                                     std::string_view cmd) {
  std::optional<int64_t> v = ParseInt64(arg);
  if (!v) {
    ctx.w.Error(kErrNotInteger);
    return std::nullopt;
  }
  int64_t ms = *v;
  const bool seconds = unit == kOptEx || unit == kOptExAt;
  if (ms <= 0 || (seconds && ms > std::numeric_limits<int64_t>::max() / 1000)) {
    ReplyInvalidExpire(ctx, cmd);
    return std::nullopt;
  }
  if (seconds) ms *= 1000;
  if ((unit == kOptEx || unit == kOptPx) && __builtin_add_overflow(ms, ctx.now_ms, &ms)) {
    ReplyInvalidExpire(ctx, cmd);
    return std::nullopt;
  }
  return ms;
}

}  // namespace ringkv::node::internal
