#include "node/commands/internal/context.h"

#include <cctype>

#include "node/view/cluster_view.h"

namespace ringkv::node::internal {

store::Mutation DeleteKey(Context& ctx) {
  const ClusterView* view = ctx.options.view;
  if (view != nullptr && (view->mode() & ClusterView::kTombstones) != 0) {
    return store::Mutation::Tombstone(ctx.hlc.Next());
  }
  return store::Mutation::Delete();
}

store::Mutation DeleteAbsentKey(Context& ctx) {
  const ClusterView* view = ctx.options.view;
  const uint32_t mode = view != nullptr ? view->mode() : 0;
  if ((mode & ClusterView::kTombstones) != 0 && (mode & ClusterView::kReplicas) == 0) {
    return store::Mutation::Tombstone(ctx.hlc.Next());
  }
  return store::Mutation::Keep();
}

void ReplyWrongArity(Context& ctx, std::string_view name) {
  std::string msg = "ERR wrong number of arguments for '";
  msg.append(name);
  msg.append("' command");
  ctx.w.Error(msg);
}

void ReplyUnknownSubcommand(Context& ctx, std::string_view cmd) {
  std::string msg = "ERR unknown subcommand '";
  std::string_view sub = ctx.args[1].substr(0, 128);
  for (char c : sub) msg.push_back(c == '\r' || c == '\n' ? ' ' : c);
  msg.append("'. Try ");
  msg.append(cmd);
  msg.append(" HELP.");
  ctx.w.Error(msg);
}

void ReplyInvalidExpire(Context& ctx, std::string_view name) {
  std::string msg = "ERR invalid expire time in '";
  msg.append(name);
  msg.append("' command");
  ctx.w.Error(msg);
}

bool ReplyIfError(Context& ctx, const Status& s) {
  if (s.ok()) return false;
  if (s.code() == StatusCode::kResourceExhausted) {
    ctx.w.Error(kErrOom);
    return true;
  }
  std::string msg = "ERR ";
  for (char c : s.ToString()) msg.push_back(c == '\r' || c == '\n' ? ' ' : c);
  ctx.w.Error(msg);
  return true;
}

void CountLookup(Context& ctx, bool hit) {
  if (hit) {
    ctx.metrics.CountHit();
  } else {
    ctx.metrics.CountMiss();
  }
}

std::string LowerName(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace ringkv::node::internal
