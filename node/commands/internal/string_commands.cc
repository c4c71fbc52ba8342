// GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "node/commands/internal/handlers.h"
#include "node/commands/internal/string_options.h"

namespace ringkv::node::internal {
namespace {

using store::Entry;
using store::Mutation;

struct SetOutcome {
  bool applied = false;
  std::optional<std::string> old;  // filled only when asked for
};

// The core of every SET variant: one atomic Mutate. `expire_at` is absolute
// ms (0 = none); an already-past expiry deletes the key instead of storing it.
std::optional<SetOutcome> SetKey(Context& ctx, std::string_view key, std::string_view value,
                                 uint32_t flags, int64_t expire_at) {
  SetOutcome out;
  Status s = ctx.engine.Mutate(key, ctx.now_ms, [&](const Entry* cur) -> Mutation {
    if ((flags & kOptGet) && cur != nullptr) out.old = cur->value;
    if (((flags & kOptNx) && cur != nullptr) || ((flags & kOptXx) && cur == nullptr)) {
      return Mutation::Keep();
    }
    out.applied = true;
    int64_t exp = (flags & kOptKeepTtl) && cur != nullptr ? cur->expire_at_ms : expire_at;
    if (exp != 0 && exp <= ctx.now_ms) return DeleteKey(ctx);
    return Mutation::Put(Entry{std::string(value), ctx.hlc.Next(), exp});
  });
  if (ReplyIfError(ctx, s)) return std::nullopt;
  return out;
}

void ReplyOptionalBulk(Context& ctx, const std::optional<std::string>& v) {
  if (v) {
    ctx.w.Bulk(*v);
  } else {
    ctx.w.Null();
  }
}

// SETEX / PSETEX key <time> value.
void SetWithExpire(Context& ctx, uint32_t unit, std::string_view cmd) {
  std::optional<int64_t> at = ResolveExpire(ctx, unit, ctx.args[2], cmd);
  if (!at) return;
  if (SetKey(ctx, ctx.args[1], ctx.args[3], 0, *at)) ctx.w.Ok();
}

}  // namespace

void GetCommand(Context& ctx) {
  std::optional<Entry> e = ctx.engine.Get(ctx.args[1], ctx.now_ms);
  CountLookup(ctx, e.has_value());
  if (e) {
    ctx.w.Bulk(e->value);
  } else {
    ctx.w.Null();
  }
}

void SetCommand(Context& ctx) {
  std::optional<StringOptions> opts = ParseStringOptions(ctx, 3, OptionSet::kSet);
  if (!opts) return;
  int64_t expire_at = 0;
  if (opts->expire_unit != 0) {
    std::optional<int64_t> at = ResolveExpire(ctx, opts->expire_unit, opts->expire_arg, "set");
    if (!at) return;
    expire_at = *at;
  }
  std::optional<SetOutcome> r = SetKey(ctx, ctx.args[1], ctx.args[2], opts->flags, expire_at);
  if (!r) return;
  if (opts->flags & kOptGet) {
    ReplyOptionalBulk(ctx, r->old);
  } else if (r->applied) {
    ctx.w.Ok();
  } else {
    ctx.w.Null();
  }
}

void SetNxCommand(Context& ctx) {
  std::optional<SetOutcome> r = SetKey(ctx, ctx.args[1], ctx.args[2], kOptNx, 0);
  if (r) ctx.w.Integer(r->applied ? 1 : 0);
}

void SetExCommand(Context& ctx) {
  SetWithExpire(ctx, kOptEx, "setex");
}
void PSetExCommand(Context& ctx) {
  SetWithExpire(ctx, kOptPx, "psetex");
}

void GetSetCommand(Context& ctx) {
  std::optional<SetOutcome> r = SetKey(ctx, ctx.args[1], ctx.args[2], kOptGet, 0);
  if (r) ReplyOptionalBulk(ctx, r->old);
}

void GetDelCommand(Context& ctx) {
  std::optional<std::string> old;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) {
    if (cur == nullptr) return Mutation::Keep();
    old = cur->value;
    return DeleteKey(ctx);
  });
  if (ReplyIfError(ctx, s)) return;
  CountLookup(ctx, old.has_value());
  ReplyOptionalBulk(ctx, old);
}

void GetExCommand(Context& ctx) {
  std::optional<StringOptions> opts = ParseStringOptions(ctx, 2, OptionSet::kGetEx);
  if (!opts) return;
  if (opts->flags == 0) return GetCommand(ctx);
  int64_t expire_at = 0;
  if (opts->expire_unit != 0) {
    std::optional<int64_t> at = ResolveExpire(ctx, opts->expire_unit, opts->expire_arg, "getex");
    if (!at) return;
    expire_at = *at;
  }
  std::optional<std::string> value;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) -> Mutation {
    if (cur == nullptr) return Mutation::Keep();
    value = cur->value;
    if (expire_at == 0 && cur->expire_at_ms == 0) return Mutation::Keep();  // PERSIST no-op
    if (expire_at != 0 && expire_at <= ctx.now_ms) return DeleteKey(ctx);
    return Mutation::Put(Entry{cur->value, ctx.hlc.Next(), expire_at});
  });
  if (ReplyIfError(ctx, s)) return;
  CountLookup(ctx, value.has_value());
  ReplyOptionalBulk(ctx, value);
}

void MGetCommand(Context& ctx) {
  ctx.w.ArrayHeader(ctx.args.size() - 1);
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    std::optional<Entry> e = ctx.engine.Get(ctx.args[i], ctx.now_ms);
    CountLookup(ctx, e.has_value());
    if (e) {
      ctx.w.Bulk(e->value);
    } else {
      ctx.w.Null();
    }
  }
}

// MSET is atomic per key only: the engine has no multi-key transaction, so a
// concurrent reader may see some of the keys already written.
void MSetCommand(Context& ctx) {
  if (ctx.args.size() % 2 == 0) return ReplyWrongArity(ctx, "mset");
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    if (!SetKey(ctx, ctx.args[i], ctx.args[i + 1], 0, 0)) return;
  }
  ctx.w.Ok();
}

namespace {

bool KeyExists(Context& ctx, std::string_view key) {
  bool found = false;
  Status s = ctx.engine.Mutate(key, ctx.now_ms, [&](const Entry* cur) {
    found = cur != nullptr;
    return Mutation::Keep();
  });
  return s.ok() && found;
}

// Removes the keys this MSETNX wrote (still carrying one of `versions`).
void RollBack(Context& ctx, size_t upto, const std::vector<uint64_t>& versions) {
  for (size_t i = 1; i < upto; i += 2) {
    Status s = ctx.engine.Mutate(ctx.args[i], ctx.now_ms, [&](const Entry* cur) {
      bool ours = cur != nullptr &&
                  std::find(versions.begin(), versions.end(), cur->version) != versions.end();
      return ours ? Mutation::Delete() : Mutation::Keep();
    });
    (void)s;  // best effort: the key stays if the engine fails
  }
}

}  // namespace

// MSETNX approximates Redis's all-or-nothing semantics with per-key Mutate:
// it first checks that no key exists, then writes each key only if it is
// still absent (or was written by this same call, for repeated keys). If a
// concurrent writer creates one of the keys in between, the keys already
// written are rolled back and 0 is returned. Readers may briefly observe a
// partial write; a key written by this call and overwritten by someone else
// before the roll-back is left alone.
void MSetNxCommand(Context& ctx) {
  if (ctx.args.size() % 2 == 0) return ReplyWrongArity(ctx, "msetnx");
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    if (KeyExists(ctx, ctx.args[i])) return ctx.w.Integer(0);
  }
  std::vector<uint64_t> versions;
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    bool conflict = false;
    Status s = ctx.engine.Mutate(ctx.args[i], ctx.now_ms, [&](const Entry* cur) -> Mutation {
      if (cur != nullptr &&
          std::find(versions.begin(), versions.end(), cur->version) == versions.end()) {
        conflict = true;
        return Mutation::Keep();
      }
      versions.push_back(ctx.hlc.Next());
      return Mutation::Put(Entry{std::string(ctx.args[i + 1]), versions.back(), 0});
    });
    if (!s.ok() || conflict) {
      RollBack(ctx, i, versions);
      if (!ReplyIfError(ctx, s)) ctx.w.Integer(0);
      return;
    }
  }
  ctx.w.Integer(1);
}

}  // namespace ringkv::node::internal
