#include "node/commands/dispatcher.h"

#include <random>

#include "net/resp/resp_writer.h"
#include "node/commands/internal/command_table.h"
#include "node/commands/internal/context.h"
#include "node/commands/internal/placement.h"
#include "node/view/cluster_view.h"

namespace ringkv::node {
namespace {

std::string RandomRunId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string id(40, '0');
  for (char& c : id) c = kHex[rd() & 15];
  return id;
}

void AppendSanitized(std::string& out, std::string_view s, size_t limit) {
  for (char c : s.substr(0, limit)) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

// Redis 7: "ERR unknown command 'foo', with args beginning with: 'a' 'b' ".
void ReplyUnknownCommand(std::span<const std::string_view> args, std::string& out) {
  std::string msg = "ERR unknown command '";
  AppendSanitized(msg, args[0], 128);
  msg.append("', with args beginning with: ");
  std::string quoted;
  for (size_t i = 1; i < args.size() && quoted.size() < 128; ++i) {
    const size_t limit = 128 - quoted.size();
    quoted.push_back('\'');
    AppendSanitized(quoted, args[i], limit);
    quoted.append("' ");
  }
  msg.append(quoted);
  net::resp::ReplyWriter(out).Error(msg);
}

}  // namespace

uint32_t Dispatcher::ClusterMode() const {
  return options_.view != nullptr ? options_.view->mode() : 0;
}

Dispatcher::Dispatcher(store::Engine& engine, const Clock& clock, HybridClock& hlc,
                       Metrics& metrics, ServerState& state, DispatcherOptions options)
    : engine_(engine),
      clock_(clock),
      hlc_(hlc),
      metrics_(metrics),
      state_(state),
      options_(std::move(options)),
      run_id_(RandomRunId()) {}

void Dispatcher::Execute(std::span<const std::string_view> args, Session& session,
                         std::string& out) {
  if (args.empty()) return;
  const size_t start = out.size();
  const internal::CommandSpec* spec = internal::FindCommand(args[0]);
  net::resp::ReplyWriter w(out);
  if (spec == nullptr) {
    ReplyUnknownCommand(args, out);
  } else {
    internal::Context ctx{engine_, hlc_,    metrics_, state_, options_,
                          run_id_, session, w,        args,   clock_.NowMs()};
    if (!internal::ArityOk(*spec, args.size())) {
      internal::ReplyWrongArity(ctx, spec->name);
    } else if (RequiresAuth() && !session.authenticated && !(spec->flags & internal::kNoAuth)) {
      w.Error(internal::kErrNoAuth);
    } else if (const uint32_t mode = ClusterMode(); mode != 0 && spec->first_key > 0) {
      internal::RunPlaced(*spec, ctx, mode, out, start);
    } else {
      spec->handler(ctx);
    }
  }
  // Counted after running, so INFO's total_commands_processed excludes
  // itself as in Redis.
  metrics_.CountCommandAt(internal::CommandIndex(spec));
  if (out.size() > start && out[start] == '-') metrics_.CountError();
}

}  // namespace ringkv::node
