// INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE: commands
// that read and rewrite a string value in place. All keep the key's TTL.
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "node/commands/internal/handlers.h"
#include "node/commands/internal/parse.h"

namespace ringkv::node::internal {
namespace {

using store::Entry;
using store::Mutation;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

std::string IntToString(int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Adds `delta` to the integer stored at args[1] (missing = 0).
void IncrementBy(Context& ctx, int64_t delta) {
  std::string_view err;
  int64_t result = 0;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) -> Mutation {
    int64_t old = 0;
    if (cur != nullptr) {
      std::optional<int64_t> v = ParseInt64(cur->value);
      if (!v) {
        err = kErrNotInteger;
        return Mutation::Keep();
      }
      old = *v;
    }
    if ((delta < 0 && old < 0 && delta < kInt64Min - old) ||
        (delta > 0 && old > 0 && delta > kInt64Max - old)) {
      err = kErrOverflow;
      return Mutation::Keep();
    }
    result = old + delta;
    int64_t exp = cur != nullptr ? cur->expire_at_ms : 0;
    return Mutation::Put(Entry{IntToString(result), ctx.hlc.Next(), exp});
  });
  if (ReplyIfError(ctx, s)) return;
  if (!err.empty()) return ctx.w.Error(err);
  ctx.w.Integer(result);
}

}  // namespace

void IncrCommand(Context& ctx) {
  IncrementBy(ctx, 1);
}
void DecrCommand(Context& ctx) {
  IncrementBy(ctx, -1);
}

void IncrByCommand(Context& ctx) {
  std::optional<int64_t> delta = ParseInt64(ctx.args[2]);
  if (!delta) return ctx.w.Error(kErrNotInteger);
  IncrementBy(ctx, *delta);
}

void DecrByCommand(Context& ctx) {
  std::optional<int64_t> delta = ParseInt64(ctx.args[2]);
  if (!delta) return ctx.w.Error(kErrNotInteger);
  if (*delta == kInt64Min) return ctx.w.Error("ERR decrement would overflow");
  IncrementBy(ctx, -*delta);
}

void IncrByFloatCommand(Context& ctx) {
  std::optional<long double> incr = ParseLongDouble(ctx.args[2]);
  std::string_view err = incr ? std::string_view() : kErrNotFloat;
  std::string result;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) -> Mutation {
    if (!err.empty()) return Mutation::Keep();
    std::optional<long double> old = cur != nullptr ? ParseLongDouble(cur->value) : 0.0L;
    if (!old) {
      err = kErrNotFloat;
      return Mutation::Keep();
    }
    long double sum = *old + *incr;
    if (std::isnan(sum) || std::isinf(sum)) {
      err = "ERR increment would produce NaN or Infinity";
      return Mutation::Keep();
    }
    result = FormatLongDouble(sum);
    int64_t exp = cur != nullptr ? cur->expire_at_ms : 0;
    return Mutation::Put(Entry{result, ctx.hlc.Next(), exp});
  });
  if (ReplyIfError(ctx, s)) return;
  if (!err.empty()) return ctx.w.Error(err);
  ctx.w.Bulk(result);
}

void AppendCommand(Context& ctx) {
  std::string_view suffix = ctx.args[2];
  bool too_big = false;
  size_t length = 0;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) -> Mutation {
    size_t old_len = cur != nullptr ? cur->value.size() : 0;
    if (static_cast<int64_t>(old_len + suffix.size()) > kMaxStringBytes) {
      too_big = true;
      return Mutation::Keep();
    }
    Entry e{std::string(), ctx.hlc.Next(), cur != nullptr ? cur->expire_at_ms : 0};
    e.value.reserve(old_len + suffix.size());
    if (cur != nullptr) e.value.append(cur->value);
    e.value.append(suffix);
    length = e.value.size();
    return Mutation::Put(std::move(e));
  });
  if (ReplyIfError(ctx, s)) return;
  if (too_big) return ctx.w.Error(kErrTooBig);
  ctx.w.Integer(static_cast<int64_t>(length));
}

void StrLenCommand(Context& ctx) {
  std::optional<size_t> len;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) {
    if (cur != nullptr) len = cur->value.size();
    return Mutation::Keep();
  });
  if (ReplyIfError(ctx, s)) return;
  CountLookup(ctx, len.has_value());
  ctx.w.Integer(static_cast<int64_t>(len.value_or(0)));
}

void GetRangeCommand(Context& ctx) {
  std::optional<int64_t> start = ParseInt64(ctx.args[2]);
  std::optional<int64_t> end = ParseInt64(ctx.args[3]);
  if (!start || !end) return ctx.w.Error(kErrNotInteger);
  std::optional<Entry> e = ctx.engine.Get(ctx.args[1], ctx.now_ms);
  CountLookup(ctx, e.has_value());
  if (!e) return ctx.w.Bulk("");
  const int64_t len = static_cast<int64_t>(e->value.size());
  int64_t from = *start, to = *end;
  if (from < 0 && to < 0 && from > to) return ctx.w.Bulk("");
  if (from < 0) from += len;
  if (to < 0) to += len;
  if (from < 0) from = 0;
  if (to < 0) to = 0;
  if (to >= len) to = len - 1;
  if (from > to || len == 0) return ctx.w.Bulk("");
  ctx.w.Bulk(std::string_view(e->value).substr(static_cast<size_t>(from),
                                               static_cast<size_t>(to - from + 1)));
}

void SetRangeCommand(Context& ctx) {
  std::optional<int64_t> offset = ParseInt64(ctx.args[2]);
  if (!offset) return ctx.w.Error(kErrNotInteger);
  if (*offset < 0) return ctx.w.Error("ERR offset is out of range");
  const size_t off = static_cast<size_t>(*offset);
  std::string_view patch = ctx.args[3];
  bool too_big = false;
  size_t length = 0;
  Status s = ctx.engine.Mutate(ctx.args[1], ctx.now_ms, [&](const Entry* cur) -> Mutation {
    length = cur != nullptr ? cur->value.size() : 0;
    if (patch.empty()) return Mutation::Keep();
    if (*offset > kMaxStringBytes - static_cast<int64_t>(patch.size())) {
      too_big = true;
      return Mutation::Keep();
    }
    Entry e{cur != nullptr ? cur->value : std::string(), ctx.hlc.Next(),
            cur != nullptr ? cur->expire_at_ms : 0};
    if (e.value.size() < off + patch.size()) e.value.resize(off + patch.size(), '\0');
    e.value.replace(off, patch.size(), patch);
    length = e.value.size();
    return Mutation::Put(std::move(e));
  });
  if (ReplyIfError(ctx, s)) return;
  if (too_big) return ctx.w.Error(kErrTooBig);
  ctx.w.Integer(static_cast<int64_t>(length));
}

}  // namespace ringkv::node::internal
