#include "node/commands/internal/command_table.h"

#include <array>

#include "node/commands/internal/handlers.h"

namespace ringkv::node::internal {
namespace {

constexpr uint32_t kW = kWrite;
constexpr uint32_t kR = kReadOnly;

// Sorted by family; order defines the metric indices (index 0 = "unknown").
constexpr CommandSpec kCommands[] = {
    {"unknown", 0, 0, 0, 0, 0, nullptr},
    {"get", 2, kR, 1, 1, 1, GetCommand},
    {"set", -3, kW, 1, 1, 1, SetCommand},
    {"setnx", 3, kW, 1, 1, 1, SetNxCommand},
    {"setex", 4, kW, 1, 1, 1, SetExCommand},
    {"psetex", 4, kW, 1, 1, 1, PSetExCommand},
    {"getset", 3, kW, 1, 1, 1, GetSetCommand},
    {"getdel", 2, kW, 1, 1, 1, GetDelCommand},
    {"getex", -2, kW, 1, 1, 1, GetExCommand},
    {"mget", -2, kR, 1, -1, 1, MGetCommand},
    {"mset", -3, kW, 1, -1, 2, MSetCommand},
    {"msetnx", -3, kW, 1, -1, 2, MSetNxCommand},
    {"incr", 2, kW, 1, 1, 1, IncrCommand},
    {"decr", 2, kW, 1, 1, 1, DecrCommand},
    {"incrby", 3, kW, 1, 1, 1, IncrByCommand},
    {"decrby", 3, kW, 1, 1, 1, DecrByCommand},
    {"incrbyfloat", 3, kW, 1, 1, 1, IncrByFloatCommand},
    {"append", 3, kW, 1, 1, 1, AppendCommand},
    {"strlen", 2, kR, 1, 1, 1, StrLenCommand},
    {"getrange", 4, kR, 1, 1, 1, GetRangeCommand},
    {"setrange", 4, kW, 1, 1, 1, SetRangeCommand},
    {"del", -2, kW, 1, -1, 1, DelCommand},
    {"unlink", -2, kW, 1, -1, 1, DelCommand},
    {"exists", -2, kR, 1, -1, 1, ExistsCommand},
    {"touch", -2, kR, 1, -1, 1, TouchCommand},
    {"type", 2, kR, 1, 1, 1, TypeCommand},
    {"expire", -3, kW, 1, 1, 1, ExpireCommand},
    {"pexpire", -3, kW, 1, 1, 1, PExpireCommand},
    {"expireat", -3, kW, 1, 1, 1, ExpireAtCommand},
    {"pexpireat", -3, kW, 1, 1, 1, PExpireAtCommand},
    {"ttl", 2, kR, 1, 1, 1, TtlCommand},
    {"pttl", 2, kR, 1, 1, 1, PTtlCommand},
    {"persist", 2, kW, 1, 1, 1, PersistCommand},
    {"scan", -2, kR, 0, 0, 0, ScanCommand},
    {"keys", 2, kR, 0, 0, 0, KeysCommand},
    {"randomkey", 1, kR, 0, 0, 0, RandomKeyCommand},
    {"dbsize", 1, kR, 0, 0, 0, DbSizeCommand},
    {"flushdb", -1, kW, 0, 0, 0, FlushCommand},
    {"flushall", -1, kW, 0, 0, 0, FlushCommand},
    {"ping", -1, kNoAuth, 0, 0, 0, PingCommand},
    {"echo", 2, 0, 0, 0, 0, EchoCommand},
    {"quit", -1, kNoAuth, 0, 0, 0, QuitCommand},
    {"auth", -2, kNoAuth, 0, 0, 0, AuthCommand},
    {"select", 2, 0, 0, 0, 0, SelectCommand},
    {"hello", -1, kNoAuth, 0, 0, 0, HelloCommand},
    {"client", -2, 0, 0, 0, 0, ClientCommand},
    {"command", -1, 0, 0, 0, 0, CommandCommand},
    {"config", -2, 0, 0, 0, 0, ConfigCommand},
    {"info", -1, 0, 0, 0, 0, InfoCommand},
    // Jobs (jobs/protocol.h): the node's queue shard, not the keyspace, so no key positions.
    {"job.enqueue", 5, kW, 0, 0, 0, JobEnqueueCommand},
    {"job.lease", 3, kW, 0, 0, 0, JobLeaseCommand},
    {"job.renew", 4, kW, 0, 0, 0, JobRenewCommand},
    {"job.complete", 4, kW, 0, 0, 0, JobCompleteCommand},
    {"job.get", 2, kR, 0, 0, 0, JobGetCommand},
    {"job.pull", 2, kW, 0, 0, 0, JobPullCommand},
    {"job.release", 2, kW, 0, 0, 0, JobReleaseCommand},
    {"job.stats", 1, kR, 0, 0, 0, JobStatsCommand},
};

// Open-addressing table of FNV-1a hashes of the lower-case names; each slot
// holds a command index + 1 (0 = empty). 256 slots keep the load under 1/4.
constexpr size_t kSlots = 256;
constexpr size_t kMaxNameLen = 16;

constexpr uint32_t HashStep(uint32_t h, unsigned char c) {
  return (h ^ c) * 16777619u;
}
constexpr uint32_t kHashSeed = 2166136261u;

constexpr uint32_t HashLower(std::string_view s) {
  uint32_t h = kHashSeed;
  for (char c : s) h = HashStep(h, static_cast<unsigned char>(c));
  return h;
}

constexpr std::array<uint8_t, kSlots> BuildSlots() {
  std::array<uint8_t, kSlots> slots{};
  for (size_t i = 1; i < std::size(kCommands); ++i) {
    size_t s = HashLower(kCommands[i].name) & (kSlots - 1);
    while (slots[s] != 0) s = (s + 1) & (kSlots - 1);
    slots[s] = static_cast<uint8_t>(i);
  }
  return slots;
}

constexpr std::array<uint8_t, kSlots> kSlotTable = BuildSlots();

static_assert(std::size(kCommands) < kSlots / 2);
static_assert(std::size(kCommands) <= 128, "Metrics::kMaxCommands");

}  // namespace

std::span<const CommandSpec> Commands() {
  return kCommands;
}

const CommandSpec* FindCommand(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLen) return nullptr;
  char lower[kMaxNameLen];
  uint32_t h = kHashSeed;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    lower[i] = c;
    h = HashStep(h, static_cast<unsigned char>(c));
  }
  std::string_view key(lower, name.size());
  for (size_t s = h & (kSlots - 1);; s = (s + 1) & (kSlots - 1)) {
    uint8_t idx = kSlotTable[s];
    if (idx == 0) return nullptr;
    if (kCommands[idx].name == key) return &kCommands[idx];
  }
}

}  // namespace ringkv::node::internal
