// Context: everything a command handler may touch while running one command,
// plus the reply helpers shared by the handler files.
//
// Thread safety: a Context lives for one Execute call on one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/hlc.h"
#include "base/status.h"
#include "net/resp/resp_writer.h"
#include "node/commands/dispatcher.h"
#include "node/commands/metrics.h"
#include "store/engine.h"

namespace ringkv::node::internal {

struct Context {
  store::Engine& engine;
  HybridClock& hlc;
  Metrics& metrics;
  ServerState& state;
  const DispatcherOptions& options;
  std::string_view run_id;
  Session& session;
  net::resp::ReplyWriter& w;
  std::span<const std::string_view> args;  // args[0] is the command name
  int64_t now_ms;
};

// Largest string value, like Redis's default proto-max-bulk-len.
inline constexpr int64_t kMaxStringBytes = 512LL * 1024 * 1024;

inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kErrTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr std::string_view kErrNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kErrWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kErrOom =
    "OOM command not allowed when used memory > 'maxmemory'.";

// The decision that deletes the key a handler holds: with replicas (the
// map's replication > 1) a tombstone carrying the delete's version, so that
// no replica's older copy brings the key back; otherwise the key is removed.
store::Mutation DeleteKey(Context& ctx);
// DEL of a key not held here: at replication 1 while a node of the map is
// down (ClusterView::kTombstones without kReplicas), a tombstone, because
// the down node may hold the key and come back with it; otherwise nothing.
// (With replicas the coordinator has read the other replicas first.)
store::Mutation DeleteAbsentKey(Context& ctx);

// "-ERR wrong number of arguments for '<name>' command".
void ReplyWrongArity(Context& ctx, std::string_view name);
// "-ERR unknown subcommand '<sub>'. Try <CMD> HELP." (`cmd` upper case).
void ReplyUnknownSubcommand(Context& ctx, std::string_view cmd);
// "-ERR invalid expire time in '<name>' command".
void ReplyInvalidExpire(Context& ctx, std::string_view name);
// Replies with the engine error and returns true when `s` is not OK.
bool ReplyIfError(Context& ctx, const Status& s);
// Counts a keyspace hit or miss.
void CountLookup(Context& ctx, bool hit);
// Lower-cased copy of args[0] (command names are short).
std::string LowerName(std::string_view s);

}  // namespace ringkv::node::internal
