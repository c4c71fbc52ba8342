#include "node/commands/internal/command_table.h"

#include <array>
#include <cstdlib>

#include "node/commands/internal/handlers.h"
#include "node/commands/internal/replicated.h"

namespace ringkv::node::internal {
namespace {

struct Binding {
  std::string_view name;
  Handler handler;
};

// The node's handlers by family; order defines the metric indices (after
// index 0 = "unknown"). Every name is in the shared table.
constexpr Binding kBindings[] = {
    {"get", GetCommand},
    {"set", SetCommand},
    {"setnx", SetNxCommand},
    {"setex", SetExCommand},
    {"psetex", PSetExCommand},
    {"getset", GetSetCommand},
    {"getdel", GetDelCommand},
    {"getex", GetExCommand},
    {"mget", MGetCommand},
    {"mset", MSetCommand},
    {"msetnx", MSetNxCommand},
    {"incr", IncrCommand},
    {"decr", DecrCommand},
    {"incrby", IncrByCommand},
    {"decrby", DecrByCommand},
    {"incrbyfloat", IncrByFloatCommand},
    {"append", AppendCommand},
    {"strlen", StrLenCommand},
    {"getrange", GetRangeCommand},
    {"setrange", SetRangeCommand},
    {"del", DelCommand},
    {"unlink", DelCommand},
    {"exists", ExistsCommand},
    {"touch", TouchCommand},
    {"type", TypeCommand},
    {"expire", ExpireCommand},
    {"pexpire", PExpireCommand},
    {"expireat", ExpireAtCommand},
    {"pexpireat", PExpireAtCommand},
    {"ttl", TtlCommand},
    {"pttl", PTtlCommand},
    {"persist", PersistCommand},
    {"scan", ScanCommand},
    {"keys", KeysCommand},
    {"randomkey", RandomKeyCommand},
    {"dbsize", DbSizeCommand},
    {"flushdb", FlushCommand},
    {"flushall", FlushCommand},
    {"ping", PingCommand},
    {"echo", EchoCommand},
    {"quit", QuitCommand},
    {"auth", AuthCommand},
    {"select", SelectCommand},
    {"hello", HelloCommand},
    {"client", ClientCommand},
    {"command", CommandCommand},
    {"config", ConfigCommand},
    {"info", InfoCommand},
    // Jobs (jobs/protocol.h): the node's queue shard, not the keyspace.
    {"job.enqueue", JobEnqueueCommand},
    {"job.lease", JobLeaseCommand},
    {"job.renew", JobRenewCommand},
    {"job.complete", JobCompleteCommand},
    {"job.get", JobGetCommand},
    {"job.pull", JobPullCommand},
    {"job.release", JobReleaseCommand},
    {"job.stats", JobStatsCommand},
    // Between replicas (node/replication/replica_entry.h); internal only.
    {"ringkv.peek", ReplicaPeekCommand},
    {"ringkv.apply", ReplicaApplyCommand},
    {"ringkv.abandon-on-close", AbandonOnCloseCommand},
};

constexpr size_t kCount = std::size(kBindings) + 1;
static_assert(kCount <= 128, "Metrics::kMaxCommands");

struct Table {
  std::array<CommandSpec, kCount> commands{};
  // For each shared command (by net::command::CommandIndex): its index
  // here, 0 when the node does not serve it.
  std::array<uint8_t, net::command::kMaxCommands> index_of{};
};

Table Build() {
  Table t;
  t.commands[0] = {{"unknown", 0, 0, 0, 0, 0, net::command::MergeKind::kNone}, nullptr, 0};
  for (size_t i = 0; i < std::size(kBindings); ++i) {
    const net::command::CommandSpec* shared = net::command::FindCommand(kBindings[i].name);
    if (shared == nullptr) std::abort();  // a handler for a command the shared table lacks
    t.commands[i + 1] = {*shared, kBindings[i].handler, static_cast<uint8_t>(i + 1)};
    t.index_of[net::command::CommandIndex(*shared)] = static_cast<uint8_t>(i + 1);
  }
  return t;
}

// Built during static initialization, so the per-command lookup pays no
// initialization guard. Build reads only the shared table, which is
// constant-initialized; nothing looks a command up before main.
const Table kTable = Build();

}  // namespace

std::span<const CommandSpec> Commands() {
  return kTable.commands;
}

const CommandSpec* FindCommand(std::string_view name) {
  const net::command::CommandSpec* shared = net::command::FindCommand(name);
  if (shared == nullptr) return nullptr;
  const uint8_t i = kTable.index_of[net::command::CommandIndex(*shared)];
  return i == 0 ? nullptr : &kTable.commands[i];
}

}  // namespace ringkv::node::internal
