#include "router/proxy/internal/proxy_commands.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ringkv::router::internal {

namespace {

using K = CommandKind;
using L = LocalCommand;

constexpr std::string_view kSeveralNodes = "keys live on several nodes";
constexpr std::string_view kTransactions = "transactions cannot span nodes";
constexpr std::string_view kPubSub = "pub/sub is not proxied";
constexpr std::string_view kScripts = "scripts may touch keys on several nodes";
constexpr std::string_view kBlocking = "blocking commands would stall a shared back-end connection";
constexpr std::string_view kAdmin = "administrative commands go to a node directly";

// The router's own table: commands it answers itself, sends to every back
// end, or refuses (with the reason), whatever their keys. Every name is in
// the shared table (net/command/command_table.h).
struct RouterEntry {
  std::string_view name;
  CommandKind kind;
  LocalCommand local = LocalCommand::kNone;
  std::string_view reason = {};
};
constexpr RouterEntry kRouterEntries[] = {
    {"dbsize", K::kDbsize},
    {"ping", K::kLocal, L::kPing},
    {"echo", K::kLocal, L::kEcho},
    {"quit", K::kLocal, L::kQuit},
    {"auth", K::kLocal, L::kAuth},
    {"select", K::kLocal, L::kSelect},
    {"command", K::kLocal, L::kCommand},
    {"config", K::kLocal, L::kConfig},
    {"info", K::kLocal, L::kInfo},
    {"client", K::kLocal, L::kClient},
    {"keys", K::kUnsupported, L::kNone, kSeveralNodes},
    {"scan", K::kUnsupported, L::kNone, kSeveralNodes},
    {"randomkey", K::kUnsupported, L::kNone, kSeveralNodes},
    {"flushall", K::kUnsupported, L::kNone, kSeveralNodes},
    {"flushdb", K::kUnsupported, L::kNone, kSeveralNodes},
    {"rename", K::kUnsupported, L::kNone, kSeveralNodes},
    {"renamenx", K::kUnsupported, L::kNone, kSeveralNodes},
    {"copy", K::kUnsupported, L::kNone, kSeveralNodes},
    {"msetnx", K::kUnsupported, L::kNone, kSeveralNodes},
    {"smove", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sinter", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sinterstore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sintercard", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sunion", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sunionstore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sdiff", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sdiffstore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zunion", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zunionstore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zinter", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zinterstore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zdiff", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zdiffstore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zrangestore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"lmove", K::kUnsupported, L::kNone, kSeveralNodes},
    {"rpoplpush", K::kUnsupported, L::kNone, kSeveralNodes},
    {"lmpop", K::kUnsupported, L::kNone, kSeveralNodes},
    {"zmpop", K::kUnsupported, L::kNone, kSeveralNodes},
    {"pfcount", K::kUnsupported, L::kNone, kSeveralNodes},
    {"pfmerge", K::kUnsupported, L::kNone, kSeveralNodes},
    {"bitop", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sort", K::kUnsupported, L::kNone, kSeveralNodes},
    {"sort_ro", K::kUnsupported, L::kNone, kSeveralNodes},
    {"object", K::kUnsupported, L::kNone, "its key is not the first argument"},
    {"xread", K::kUnsupported, L::kNone, kSeveralNodes},
    {"georadius", K::kUnsupported, L::kNone, kSeveralNodes},
    {"georadiusbymember", K::kUnsupported, L::kNone, kSeveralNodes},
    {"geosearchstore", K::kUnsupported, L::kNone, kSeveralNodes},
    {"multi", K::kUnsupported, L::kNone, kTransactions},
    {"exec", K::kUnsupported, L::kNone, kTransactions},
    {"discard", K::kUnsupported, L::kNone, kTransactions},
    {"watch", K::kUnsupported, L::kNone, kTransactions},
    {"unwatch", K::kUnsupported, L::kNone, kTransactions},
    {"subscribe", K::kUnsupported, L::kNone, kPubSub},
    {"psubscribe", K::kUnsupported, L::kNone, kPubSub},
    {"ssubscribe", K::kUnsupported, L::kNone, kPubSub},
    {"unsubscribe", K::kUnsupported, L::kNone, kPubSub},
    {"punsubscribe", K::kUnsupported, L::kNone, kPubSub},
    {"publish", K::kUnsupported, L::kNone, kPubSub},
    {"pubsub", K::kUnsupported, L::kNone, kPubSub},
    {"eval", K::kUnsupported, L::kNone, kScripts},
    {"evalsha", K::kUnsupported, L::kNone, kScripts},
    {"eval_ro", K::kUnsupported, L::kNone, kScripts},
    {"evalsha_ro", K::kUnsupported, L::kNone, kScripts},
    {"script", K::kUnsupported, L::kNone, kScripts},
    {"function", K::kUnsupported, L::kNone, kScripts},
    {"fcall", K::kUnsupported, L::kNone, kScripts},
    {"fcall_ro", K::kUnsupported, L::kNone, kScripts},
    {"blpop", K::kUnsupported, L::kNone, kBlocking},
    {"brpop", K::kUnsupported, L::kNone, kBlocking},
    {"blmove", K::kUnsupported, L::kNone, kBlocking},
    {"brpoplpush", K::kUnsupported, L::kNone, kBlocking},
    {"blmpop", K::kUnsupported, L::kNone, kBlocking},
    {"bzpopmin", K::kUnsupported, L::kNone, kBlocking},
    {"bzpopmax", K::kUnsupported, L::kNone, kBlocking},
    {"bzmpop", K::kUnsupported, L::kNone, kBlocking},
    {"wait", K::kUnsupported, L::kNone, kBlocking},
    {"xreadgroup", K::kUnsupported, L::kNone, kBlocking},
    {"save", K::kUnsupported, L::kNone, kAdmin},
    {"bgsave", K::kUnsupported, L::kNone, kAdmin},
    {"bgrewriteaof", K::kUnsupported, L::kNone, kAdmin},
    {"shutdown", K::kUnsupported, L::kNone, kAdmin},
    {"debug", K::kUnsupported, L::kNone, kAdmin},
    {"monitor", K::kUnsupported, L::kNone, kAdmin},
    {"slaveof", K::kUnsupported, L::kNone, kAdmin},
    {"replicaof", K::kUnsupported, L::kNone, kAdmin},
    {"sync", K::kUnsupported, L::kNone, kAdmin},
    {"psync", K::kUnsupported, L::kNone, kAdmin},
    {"cluster", K::kUnsupported, L::kNone, kAdmin},
    {"migrate", K::kUnsupported, L::kNone, kAdmin},
    {"move", K::kUnsupported, L::kNone, kAdmin},
    {"swapdb", K::kUnsupported, L::kNone, kAdmin},
    {"lastsave", K::kUnsupported, L::kNone, kAdmin},
    {"slowlog", K::kUnsupported, L::kNone, kAdmin},
    {"latency", K::kUnsupported, L::kNone, kAdmin},
    {"memory", K::kUnsupported, L::kNone, kAdmin},
    {"acl", K::kUnsupported, L::kNone, kAdmin},
    {"module", K::kUnsupported, L::kNone, kAdmin},
    {"failover", K::kUnsupported, L::kNone, kAdmin},
    {"readonly", K::kUnsupported, L::kNone, kAdmin},
    {"readwrite", K::kUnsupported, L::kNone, kAdmin},
    {"hello", K::kUnsupported, L::kNone, "RESP3 is not proxied"},
    {"reset", K::kUnsupported, L::kNone, kAdmin},
    {"time", K::kUnsupported, L::kNone, kAdmin},
    {"role", K::kUnsupported, L::kNone, kAdmin},
};

// Read-only in Redis, but TOUCH refreshes a key's access time, which must
// land on the key's new owner while keys move.
constexpr std::string_view kNotReadFromOldOwner[] = {"touch"};

constexpr CommandInfo kUnknown{"", K::kUnsupported, L::kNone, "unknown command"};

CommandInfo Derive(const net::command::CommandSpec& spec) {
  using net::command::MergeKind;
  const auto* entry = std::find_if(std::begin(kRouterEntries), std::end(kRouterEntries),
                                   [&spec](const RouterEntry& e) { return e.name == spec.name; });
  if (entry != std::end(kRouterEntries)) {
    return {spec.name, entry->kind, entry->local, entry->reason, false, &spec};
  }
  CommandInfo info{spec.name, K::kUnsupported, L::kNone, kUnknown.reason, false, &spec};
  switch (spec.merge) {
    case MergeKind::kArray:
      info.kind = K::kMget;
      break;
    case MergeKind::kOk:
      info.kind = K::kMset;
      break;
    case MergeKind::kSum:
      info.kind = K::kSumKeys;
      break;
    case MergeKind::kNone:
      if (spec.first_key != 1 || spec.last_key != 1 || (spec.flags & net::command::kMovableKeys)) {
        return info;  // no single key at argv[1]: not routable
      }
      info.kind = K::kSingleKey;
      break;
  }
  info.reason = {};
  info.read_only = (spec.flags & net::command::kReadOnly) != 0 &&
                   std::find(std::begin(kNotReadFromOldOwner), std::end(kNotReadFromOldOwner),
                             spec.name) == std::end(kNotReadFromOldOwner);
  return info;
}

// One entry per shared command, by its index in net::command::Commands().
std::vector<CommandInfo> BuildTable() {
  std::vector<CommandInfo> table;
  for (const net::command::CommandSpec& spec : net::command::Commands()) {
    table.push_back(Derive(spec));
  }
  return table;
}

}  // namespace

const CommandInfo& LookupCommand(std::string_view name) {
  static const std::vector<CommandInfo> table = BuildTable();
  const net::command::CommandSpec* spec = net::command::FindCommand(name);
  return spec == nullptr ? kUnknown : table[net::command::CommandIndex(*spec)];
}

std::string UnsupportedReply(std::string_view cmd, std::string_view reason) {
  std::string lower(cmd);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string out = "-ERR '";
  for (char c : lower) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("' is not supported by the ringkv router: ");
  out.append(reason);
  out.append("\r\n");
  return out;
}

std::string ArityReply(std::string_view cmd) {
  std::string out = "-ERR wrong number of arguments for '";
  for (char c : cmd) {
    out.push_back(c == '\r' || c == '\n' ? ' ' : static_cast<char>(std::tolower(c)));
  }
  out.append("' command\r\n");
  return out;
}

std::string BackendErrorReply(std::string_view addr, std::string_view reason) {
  std::string out = "-ERR backend ";
  out.append(addr);
  out.append(" unavailable: ");
  for (char c : reason) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
  return out;
}

}  // namespace ringkv::router::internal
