// EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL PERSIST.
#include <limits>
#include <optional>
#include <string>

#include "node/commands/internal/handlers.h"
#include "node/commands/internal/parse.h"

namespace ringkv::node::internal {
namespace {

using store::Entry;
using store::Mutation;

enum ExpireFlag : uint32_t { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };

// Parses NX|XX|GT|LT from args[3..]; replies Redis's error on failure.
std::optional<uint32_t> ParseExpireFlags(Context& ctx) {
  uint32_t flags = 0;
  for (size_t i = 3; i < ctx.args.size(); ++i) {
    std::string_view o = ctx.args[i];
    if (EqualsLower(o, "nx")) {
      flags |= kNx;
    } else if (EqualsLower(o, "xx")) {
      flags |= kXx;
    } else if (EqualsLower(o, "gt")) {
      flags |= kGt;
    } else if (EqualsLower(o, "lt")) {
      flags |= kLt;
    } else {
      ctx.w.Error("ERR Unsupported option " + std::string(o));
      return std::nullopt;
    }
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt))) {
    ctx.w.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return std::nullopt;
  }
  if ((flags & kGt) && (flags & kLt)) {
    ctx.w.Error("ERR GT and LT options at the same time are not compatible");
    return std::nullopt;
  }
  return flags;
}

// Absolute expiry in ms from args[2]; replies the error on failure.
std::optional<int64_t> ParseWhen(Context& ctx, bool seconds, bool relative, std::string_view cmd) {
  std::optional<int64_t> v = ParseInt64(ctx.args[2]);
  if (!v) {
    ctx.w.Error(kErrNotInteger);
    return std::nullopt;
  }
  int64_t when = *v;
  if (seconds && __builtin_mul_overflow(when, int64_t{1000}, &when)) {
    ReplyInvalidExpire(ctx, cmd);
    return std::nullopt;
  }
  if (relative && __builtin_add_overflow(when, ctx.now_ms, &when)) {
    ReplyInvalidExpire(ctx, cmd);
    return std::nullopt;
  }
  return when;
}

// Whether NX/XX/GT/LT allow replacing expiry `cur` (0 = none) with `when`.
bool FlagsAllow(uint32_t flags, int64_t cur, int64_t when) {
  if ((flags & kNx) && cur != 0) return false;
  if ((flags & kXx) && cur == 0) return false;
  if ((flags & kGt) && (cur == 0 || when <= cur)) return false;
  if ((flags & kLt) && cur != 0 && when >= cur) return false;
  return true;
}

void ExpireGeneric(Context& ctx, bool seconds, bool relative, std::string_view cmd) {
  std::optional<uint32_t> flags = ParseExpireFlags(ctx);
  if (!flags) return;
  std::optional<int64_t> when = ParseWhen(ctx, seconds, relative, cmd);
  if (!when) return;
  bool changed = false;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) -> Mutation {
    if (cur == nullptr || !FlagsAllow(*flags, cur->expire_at_ms, *when)) return Mutation::Keep();
    changed = true;
    if (*when <= ctx.now_ms) return DeleteKey(ctx);
    return Mutation::Put(Entry{cur->value, ctx.hlc.Next(), *when});
  });
  if (ReplyIfError(ctx, s)) return;
  ctx.w.Integer(changed ? 1 : 0);
}

// Remaining ms to live, -1 without expiry, -2 when missing.
void TtlGeneric(Context& ctx, bool seconds) {
  int64_t ttl = -2;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) {
    if (cur != nullptr) ttl = cur->expire_at_ms == 0 ? -1 : cur->expire_at_ms - ctx.now_ms;
    return Mutation::Keep();
  });
  if (ReplyIfError(ctx, s)) return;
  CountLookup(ctx, ttl != -2);
  if (ttl < 0) return ctx.w.Integer(ttl);
  ctx.w.Integer(seconds ? (ttl + 500) / 1000 : ttl);
}

}  // namespace

void ExpireCommand(Context& ctx) {
  ExpireGeneric(ctx, true, true, "expire");
}
void PExpireCommand(Context& ctx) {
  ExpireGeneric(ctx, false, true, "pexpire");
}
void ExpireAtCommand(Context& ctx) {
  ExpireGeneric(ctx, true, false, "expireat");
}
void PExpireAtCommand(Context& ctx) {
  ExpireGeneric(ctx, false, false, "pexpireat");
}
void TtlCommand(Context& ctx) {
  TtlGeneric(ctx, true);
}
void PTtlCommand(Context& ctx) {
  TtlGeneric(ctx, false);
}

void PersistCommand(Context& ctx) {
  bool changed = false;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) -> Mutation {
    if (cur == nullptr || cur->expire_at_ms == 0) return Mutation::Keep();
    changed = true;
    return Mutation::Put(Entry{cur->value, ctx.hlc.Next(), 0});
  });
  if (ReplyIfError(ctx, s)) return;
  ctx.w.Integer(changed ? 1 : 0);
}

}  // namespace ringkv::node::internal
