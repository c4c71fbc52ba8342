// DEL UNLINK EXISTS TOUCH TYPE SCAN KEYS RANDOMKEY DBSIZE FLUSHDB FLUSHALL.
#include <charconv>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "net/command/glob.h"
#include "node/commands/internal/handlers.h"
#include "node/commands/internal/parse.h"

namespace ringkv::node::internal {

using net::command::StringMatch;
namespace {

using store::Entry;
using store::Mutation;

// Presence probe through Mutate so the value is not copied.
std::optional<bool> Probe(Context& ctx, std::string_view key) {
  bool found = false;
  Status s = ctx.engine.Mutate(key, ctx.now_ms, [&](const Entry* cur) {
    found = cur != nullptr;
    return Mutation::Keep();
  });
  if (ReplyIfError(ctx, s)) return std::nullopt;
  return found;
}

struct ScanArgs {
  uint64_t cursor = 0;
  size_t count = 10;
  std::string_view pattern;       // empty: no MATCH
  bool strings_only_type = true;  // TYPE given and not "string" -> nothing matches
};

std::optional<ScanArgs> ParseScanArgs(Context& ctx) {
  ScanArgs a;
  std::optional<uint64_t> cursor = ParseCursor(ctx.args[1]);
  if (!cursor) {
    ctx.w.Error("ERR invalid cursor");
    return std::nullopt;
  }
  a.cursor = *cursor;
  for (size_t i = 2; i < ctx.args.size(); i += 2) {
    std::string_view opt = ctx.args[i];
    if (i + 1 >= ctx.args.size()) {
      ctx.w.Error(kErrSyntax);
      return std::nullopt;
    }
    std::string_view val = ctx.args[i + 1];
    if (EqualsLower(opt, "count")) {
      std::optional<int64_t> n = ParseInt64(val);
      if (!n) {
        ctx.w.Error(kErrNotInteger);
        return std::nullopt;
      }
      if (*n < 1) {
        ctx.w.Error(kErrSyntax);
        return std::nullopt;
      }
      a.count = static_cast<size_t>(*n);
    } else if (EqualsLower(opt, "match")) {
      a.pattern = val;
    } else if (EqualsLower(opt, "type")) {
      a.strings_only_type = EqualsLower(val, "string");
    } else {
      ctx.w.Error(kErrSyntax);
      return std::nullopt;
    }
  }
  return a;
}

bool MatchesAll(std::string_view pattern) {
  return pattern.empty() || pattern == "*";
}

}  // namespace

// DEL and UNLINK: the engine frees memory synchronously either way.
void DelCommand(Context& ctx) {
  int64_t deleted = 0;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    Status s = ctx.engine.Mutate(ctx.args[i], ctx.now_ms, [&](const Entry* cur) {
      if (cur == nullptr) return DeleteAbsentKey(ctx);
      ++deleted;
      return DeleteKey(ctx);
    });
    if (ReplyIfError(ctx, s)) return;
  }
  ctx.w.Integer(deleted);
}

void ExistsCommand(Context& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    std::optional<bool> found = Probe(ctx, ctx.args[i]);
    if (!found) return;
    CountLookup(ctx, *found);
    n += *found ? 1 : 0;
  }
  ctx.w.Integer(n);
}

// TOUCH reads through Get so the engine marks the keys recently used.
void TouchCommand(Context& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    bool found = ctx.engine.Get(ctx.args[i], ctx.now_ms).has_value();
    CountLookup(ctx, found);
    n += found ? 1 : 0;
  }
  ctx.w.Integer(n);
}

void TypeCommand(Context& ctx) {
  std::optional<bool> found = Probe(ctx, ctx.args[1]);
  if (!found) return;
  CountLookup(ctx, *found);
  ctx.w.Simple(*found ? "string" : "none");
}

void ScanCommand(Context& ctx) {
  std::optional<ScanArgs> a = ParseScanArgs(ctx);
  if (!a) return;
  store::ScanPage page = ctx.engine.Scan(a->cursor, a->count, ctx.now_ms);
  std::vector<std::string_view> keys;
  if (a->strings_only_type) {
    keys.reserve(page.keys.size());
    for (const std::string& k : page.keys) {
      if (MatchesAll(a->pattern) || StringMatch(a->pattern, k)) keys.push_back(k);
    }
  }
  ctx.w.ArrayHeader(2);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, page.next_cursor);
  ctx.w.Bulk(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  ctx.w.ArrayHeader(keys.size());
  for (std::string_view k : keys) ctx.w.Bulk(k);
}

// KEYS walks the whole keyspace with Scan; duplicates a resizing engine may
// return are dropped.
void KeysCommand(Context& ctx) {
  std::string_view pattern = ctx.args[1];
  std::vector<std::string> keys;
  std::unordered_set<std::string> seen;
  uint64_t cursor = 0;
  do {
    store::ScanPage page = ctx.engine.Scan(cursor, 1024, ctx.now_ms);
    for (std::string& k : page.keys) {
      if (!MatchesAll(pattern) && !StringMatch(pattern, k)) continue;
      if (seen.insert(k).second) keys.push_back(std::move(k));
    }
    cursor = page.next_cursor;
  } while (cursor != 0);
  ctx.w.ArrayHeader(keys.size());
  for (const std::string& k : keys) ctx.w.Bulk(k);
}

void RandomKeyCommand(Context& ctx) {
  std::optional<std::string> k = ctx.engine.RandomKey(ctx.now_ms);
  if (k) {
    ctx.w.Bulk(*k);
  } else {
    ctx.w.Null();
  }
}

void DbSizeCommand(Context& ctx) {
  ctx.w.Integer(static_cast<int64_t>(ctx.engine.Stats().keys));
}

// FLUSHDB / FLUSHALL [ASYNC|SYNC]: both clear synchronously.
void FlushCommand(Context& ctx) {
  if (ctx.args.size() > 2 || (ctx.args.size() == 2 && !EqualsLower(ctx.args[1], "async") &&
                              !EqualsLower(ctx.args[1], "sync"))) {
    return ctx.w.Error(kErrSyntax);
  }
  if (ReplyIfError(ctx, ctx.engine.Clear())) return;
  ctx.w.Ok();
}

}  // namespace ringkv::node::internal
