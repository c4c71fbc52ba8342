#include "node/internal/migration_guard.h"

#include <string_view>
#include <vector>

namespace ringkv::node::internal {
namespace {

// Calls fn(key) for each key argument of the command (COMMAND INFO's
// first_key / last_key / key_step); stops when fn returns false.
template <typename Fn>
void ForEachKey(const CommandSpec& spec, std::span<const std::string_view> args, Fn&& fn) {
  const int argc = static_cast<int>(args.size());
  const int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
  const int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last && i < argc; i += step) {
    if (!fn(args[static_cast<size_t>(i)])) return;
  }
}

// A peer's message may hold anything; an error line must not.
std::string ErrorLine(std::string_view prefix, const std::string& message) {
  std::string line(prefix);
  for (char c : message) line.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return line;
}

// Whether a write of one of `keys` is fenced; replies -MOVED if so.
template <typename FenceFn>
bool Fenced(const CommandSpec& spec, Context& ctx, FenceFn&& fence) {
  std::optional<std::string> moved;
  ForEachKey(spec, ctx.args, [&](std::string_view key) {
    moved = fence(key);
    return !moved.has_value();
  });
  if (moved) ctx.w.Error(*moved);
  return moved.has_value();
}

}  // namespace

void RunWithMigration(const CommandSpec& spec, Context& ctx, Migration& migration, uint32_t mode,
                      std::string& out, size_t reply_start) {
  const bool write = (spec.flags & kWrite) != 0;
  if (mode == Migration::kFence) {
    // A map and no roles: reads run as usual; writes cost one hash + ring lookup per key.
    if (write && Fenced(spec, ctx, [&](std::string_view k) { return migration.FastFence(k); })) {
      return;
    }
    spec.handler(ctx);
    return;
  }
  std::shared_ptr<const MigrationView> view = migration.View();
  if (write && Fenced(spec, ctx, [&](std::string_view k) { return view->Fence(k); })) return;
  std::vector<std::string_view> keys;
  ForEachKey(spec, ctx.args, [&](std::string_view key) {
    keys.push_back(key);
    return true;
  });
  if (Status s = migration.PullMissing(*view, keys, ctx.now_ms); !s.ok()) {
    ctx.w.Error(ErrorLine("ERR ", s.message()));
    return;
  }
  spec.handler(ctx);
  if (!write) return;
  if (Status s = migration.WriteThrough(*view, keys, ctx.now_ms); !s.ok()) {
    // The write stands here but not on the peer: the client must not see success.
    out.resize(reply_start);
    ctx.w.Error(ErrorLine("ERR ", s.message() + " (the write may be applied on this node only)"));
  }
}

}  // namespace ringkv::node::internal
