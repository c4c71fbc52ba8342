#include "net/command/command_table.h"

#include <array>

namespace ringkv::net::command {
namespace {

constexpr uint32_t kA = kNoAuth;
constexpr uint32_t kW = kWrite;
constexpr uint32_t kR = kReadOnly;
constexpr uint32_t kM = kMovableKeys;
constexpr MergeKind kNo = MergeKind::kNone;

// clang-format off
constexpr CommandSpec kCommands[] = {
    // Strings (the node serves them).
    {"get", 2, kR, 1, 1, 1, kNo},
    {"set", -3, kW, 1, 1, 1, kNo},
    {"setnx", 3, kW, 1, 1, 1, kNo},
    {"setex", 4, kW, 1, 1, 1, kNo},
    {"psetex", 4, kW, 1, 1, 1, kNo},
    {"getset", 3, kW, 1, 1, 1, kNo},
    {"getdel", 2, kW, 1, 1, 1, kNo},
    {"getex", -2, kW, 1, 1, 1, kNo},
    {"mget", -2, kR, 1, -1, 1, MergeKind::kArray},
    {"mset", -3, kW, 1, -1, 2, MergeKind::kOk},
    {"msetnx", -3, kW, 1, -1, 2, kNo},  // all-or-nothing: not split
    {"incr", 2, kW, 1, 1, 1, kNo},
    {"decr", 2, kW, 1, 1, 1, kNo},
    {"incrby", 3, kW, 1, 1, 1, kNo},
    {"decrby", 3, kW, 1, 1, 1, kNo},
    {"incrbyfloat", 3, kW, 1, 1, 1, kNo},
    {"append", 3, kW, 1, 1, 1, kNo},
    {"strlen", 2, kR, 1, 1, 1, kNo},
    {"getrange", 4, kR, 1, 1, 1, kNo},
    {"setrange", 4, kW, 1, 1, 1, kNo},
    // Keys and expiry (the node serves them).
    {"del", -2, kW, 1, -1, 1, MergeKind::kSum},
    {"unlink", -2, kW, 1, -1, 1, MergeKind::kSum},
    {"exists", -2, kR, 1, -1, 1, MergeKind::kSum},
    {"touch", -2, kR, 1, -1, 1, MergeKind::kSum},
    {"type", 2, kR, 1, 1, 1, kNo},
    {"expire", -3, kW, 1, 1, 1, kNo},
    {"pexpire", -3, kW, 1, 1, 1, kNo},
    {"expireat", -3, kW, 1, 1, 1, kNo},
    {"pexpireat", -3, kW, 1, 1, 1, kNo},
    {"ttl", 2, kR, 1, 1, 1, kNo},
    {"pttl", 2, kR, 1, 1, 1, kNo},
    {"persist", 2, kW, 1, 1, 1, kNo},
    {"scan", -2, kR, 0, 0, 0, kNo},
    {"keys", 2, kR, 0, 0, 0, kNo},
    {"randomkey", 1, kR, 0, 0, 0, kNo},
    {"dbsize", 1, kR, 0, 0, 0, kNo},
    {"flushdb", -1, kW, 0, 0, 0, kNo},
    {"flushall", -1, kW, 0, 0, 0, kNo},
    // Connection and server (the node serves them).
    {"ping", -1, kA, 0, 0, 0, kNo},
    {"echo", 2, 0, 0, 0, 0, kNo},
    {"quit", -1, kA, 0, 0, 0, kNo},
    {"auth", -2, kA, 0, 0, 0, kNo},
    {"select", 2, 0, 0, 0, 0, kNo},
    {"hello", -1, kA, 0, 0, 0, kNo},
    {"client", -2, 0, 0, 0, 0, kNo},
    {"command", -1, 0, 0, 0, 0, kNo},
    {"config", -2, 0, 0, 0, 0, kNo},
    {"info", -1, 0, 0, 0, 0, kNo},
    // Jobs (jobs/protocol.h; the node serves them): the node's queue shard,
    // not the keyspace, so no key positions.
    {"job.enqueue", 5, kW, 0, 0, 0, kNo},
    {"job.lease", 3, kW, 0, 0, 0, kNo},
    {"job.renew", 4, kW, 0, 0, 0, kNo},
    {"job.complete", 4, kW, 0, 0, 0, kNo},
    {"job.get", 2, kR, 0, 0, 0, kNo},
    {"job.pull", 2, kW, 0, 0, 0, kNo},
    {"job.release", 2, kW, 0, 0, 0, kNo},
    {"job.stats", 1, kR, 0, 0, 0, kNo},
    // Between the replicas of a key (node-internal; the router refuses them).
    {"ringkv.peek", -2, kR, 0, 0, 0, kNo},
    {"ringkv.abandon-on-close", 1, 0, 0, 0, 0, kNo},
    {"ringkv.apply", -6, kW, 0, 0, 0, kNo},
    // From here on: redis-server 7's values; the router routes or refuses
    // these, the node does not serve them.
    // Strings, keys and bitmaps.
    {"substr", 4, kR, 1, 1, 1, kNo},
    {"expiretime", 2, kR, 1, 1, 1, kNo},
    {"pexpiretime", 2, kR, 1, 1, 1, kNo},
    {"dump", 2, kR, 1, 1, 1, kNo},
    {"restore", -4, kW, 1, 1, 1, kNo},
    {"rename", 3, kW, 1, 2, 1, kNo},
    {"renamenx", 3, kW, 1, 2, 1, kNo},
    {"copy", -3, kW, 1, 2, 1, kNo},
    {"move", 3, kW, 1, 1, 1, kNo},
    {"object", -2, kR, 2, 2, 1, kNo},
    {"sort", -2, kW | kM, 1, 1, 1, kNo},
    {"sort_ro", -2, kR, 1, 1, 1, kNo},
    {"setbit", 4, kW, 1, 1, 1, kNo},
    {"getbit", 3, kR, 1, 1, 1, kNo},
    {"bitcount", -2, kR, 1, 1, 1, kNo},
    {"bitpos", -3, kR, 1, 1, 1, kNo},
    {"bitfield", -2, kW, 1, 1, 1, kNo},
    {"bitfield_ro", -2, kR, 1, 1, 1, kNo},
    {"bitop", -4, kW, 2, -1, 1, kNo},
    {"pfadd", -2, kW, 1, 1, 1, kNo},
    {"pfcount", -2, kR, 1, -1, 1, kNo},
    {"pfmerge", -2, kW, 1, -1, 1, kNo},
    // Hashes.
    {"hset", -4, kW, 1, 1, 1, kNo},
    {"hsetnx", 4, kW, 1, 1, 1, kNo},
    {"hget", 3, kR, 1, 1, 1, kNo},
    {"hmset", -4, kW, 1, 1, 1, kNo},
    {"hmget", -3, kR, 1, 1, 1, kNo},
    {"hdel", -3, kW, 1, 1, 1, kNo},
    {"hlen", 2, kR, 1, 1, 1, kNo},
    {"hstrlen", 3, kR, 1, 1, 1, kNo},
    {"hexists", 3, kR, 1, 1, 1, kNo},
    {"hkeys", 2, kR, 1, 1, 1, kNo},
    {"hvals", 2, kR, 1, 1, 1, kNo},
    {"hgetall", 2, kR, 1, 1, 1, kNo},
    {"hincrby", 4, kW, 1, 1, 1, kNo},
    {"hincrbyfloat", 4, kW, 1, 1, 1, kNo},
    {"hrandfield", -2, kR, 1, 1, 1, kNo},
    {"hscan", -3, kR, 1, 1, 1, kNo},
    // Lists.
    {"lpush", -3, kW, 1, 1, 1, kNo},
    {"rpush", -3, kW, 1, 1, 1, kNo},
    {"lpushx", -3, kW, 1, 1, 1, kNo},
    {"rpushx", -3, kW, 1, 1, 1, kNo},
    {"lpop", -2, kW, 1, 1, 1, kNo},
    {"rpop", -2, kW, 1, 1, 1, kNo},
    {"llen", 2, kR, 1, 1, 1, kNo},
    {"lindex", 3, kR, 1, 1, 1, kNo},
    {"lrange", 4, kR, 1, 1, 1, kNo},
    {"lset", 4, kW, 1, 1, 1, kNo},
    {"lrem", 4, kW, 1, 1, 1, kNo},
    {"ltrim", 4, kW, 1, 1, 1, kNo},
    {"linsert", 5, kW, 1, 1, 1, kNo},
    {"lpos", -3, kR, 1, 1, 1, kNo},
    {"lmove", 5, kW, 1, 2, 1, kNo},
    {"rpoplpush", 3, kW, 1, 2, 1, kNo},
    {"lmpop", -4, kW | kM, 0, 0, 0, kNo},
    {"blpop", -3, kW, 1, -2, 1, kNo},
    {"brpop", -3, kW, 1, -2, 1, kNo},
    {"blmove", 6, kW, 1, 2, 1, kNo},
    {"brpoplpush", 4, kW, 1, 2, 1, kNo},
    {"blmpop", -5, kW | kM, 0, 0, 0, kNo},
    // Sets.
    {"sadd", -3, kW, 1, 1, 1, kNo},
    {"srem", -3, kW, 1, 1, 1, kNo},
    {"smembers", 2, kR, 1, 1, 1, kNo},
    {"sismember", 3, kR, 1, 1, 1, kNo},
    {"smismember", -3, kR, 1, 1, 1, kNo},
    {"scard", 2, kR, 1, 1, 1, kNo},
    {"spop", -2, kW, 1, 1, 1, kNo},
    {"srandmember", -2, kR, 1, 1, 1, kNo},
    {"sscan", -3, kR, 1, 1, 1, kNo},
    {"smove", 4, kW, 1, 2, 1, kNo},
    {"sinter", -2, kR, 1, -1, 1, kNo},
    {"sinterstore", -3, kW, 1, -1, 1, kNo},
    {"sintercard", -3, kR | kM, 0, 0, 0, kNo},
    {"sunion", -2, kR, 1, -1, 1, kNo},
    {"sunionstore", -3, kW, 1, -1, 1, kNo},
    {"sdiff", -2, kR, 1, -1, 1, kNo},
    {"sdiffstore", -3, kW, 1, -1, 1, kNo},
    // Sorted sets.
    {"zadd", -4, kW, 1, 1, 1, kNo},
    {"zrem", -3, kW, 1, 1, 1, kNo},
    {"zscore", 3, kR, 1, 1, 1, kNo},
    {"zmscore", -3, kR, 1, 1, 1, kNo},
    {"zincrby", 4, kW, 1, 1, 1, kNo},
    {"zcard", 2, kR, 1, 1, 1, kNo},
    {"zcount", 4, kR, 1, 1, 1, kNo},
    {"zlexcount", 4, kR, 1, 1, 1, kNo},
    {"zrange", -4, kR, 1, 1, 1, kNo},
    {"zrangebyscore", -4, kR, 1, 1, 1, kNo},
    {"zrangebylex", -4, kR, 1, 1, 1, kNo},
    {"zrevrange", -4, kR, 1, 1, 1, kNo},
    {"zrevrangebyscore", -4, kR, 1, 1, 1, kNo},
    {"zrevrangebylex", -4, kR, 1, 1, 1, kNo},
    {"zrank", -3, kR, 1, 1, 1, kNo},
    {"zrevrank", -3, kR, 1, 1, 1, kNo},
    {"zremrangebyrank", 4, kW, 1, 1, 1, kNo},
    {"zremrangebyscore", 4, kW, 1, 1, 1, kNo},
    {"zremrangebylex", 4, kW, 1, 1, 1, kNo},
    {"zpopmin", -2, kW, 1, 1, 1, kNo},
    {"zpopmax", -2, kW, 1, 1, 1, kNo},
    {"zrandmember", -2, kR, 1, 1, 1, kNo},
    {"zscan", -3, kR, 1, 1, 1, kNo},
    {"zunion", -3, kR | kM, 0, 0, 0, kNo},
    {"zunionstore", -4, kW | kM, 1, 1, 1, kNo},
    {"zinter", -3, kR | kM, 0, 0, 0, kNo},
    {"zinterstore", -4, kW | kM, 1, 1, 1, kNo},
    {"zdiff", -3, kR | kM, 0, 0, 0, kNo},
    {"zdiffstore", -4, kW | kM, 1, 1, 1, kNo},
    {"zrangestore", -5, kW, 1, 2, 1, kNo},
    {"zmpop", -4, kW | kM, 0, 0, 0, kNo},
    {"bzpopmin", -3, kW, 1, -2, 1, kNo},
    {"bzpopmax", -3, kW, 1, -2, 1, kNo},
    {"bzmpop", -5, kW | kM, 0, 0, 0, kNo},
    // Geo and streams.
    {"geoadd", -5, kW, 1, 1, 1, kNo},
    {"geopos", -2, kR, 1, 1, 1, kNo},
    {"geodist", -4, kR, 1, 1, 1, kNo},
    {"geohash", -2, kR, 1, 1, 1, kNo},
    {"geosearch", -7, kR, 1, 1, 1, kNo},
    {"geosearchstore", -8, kW, 1, 2, 1, kNo},
    {"georadius", -6, kW | kM, 1, 1, 1, kNo},
    {"georadiusbymember", -5, kW | kM, 1, 1, 1, kNo},
    {"xadd", -5, kW, 1, 1, 1, kNo},
    {"xrange", -4, kR, 1, 1, 1, kNo},
    {"xrevrange", -4, kR, 1, 1, 1, kNo},
    {"xlen", 2, kR, 1, 1, 1, kNo},
    {"xdel", -3, kW, 1, 1, 1, kNo},
    {"xtrim", -4, kW, 1, 1, 1, kNo},
    {"xread", -4, kR | kM, 0, 0, 0, kNo},
    {"xreadgroup", -7, kW | kM, 0, 0, 0, kNo},
    // Transactions, pub/sub and scripts.
    {"multi", 1, 0, 0, 0, 0, kNo},
    {"exec", 1, 0, 0, 0, 0, kNo},
    {"discard", 1, 0, 0, 0, 0, kNo},
    {"watch", -2, 0, 1, -1, 1, kNo},
    {"unwatch", 1, 0, 0, 0, 0, kNo},
    {"subscribe", -2, 0, 0, 0, 0, kNo},
    {"psubscribe", -2, 0, 0, 0, 0, kNo},
    {"ssubscribe", -2, 0, 1, -1, 1, kNo},
    {"unsubscribe", -1, 0, 0, 0, 0, kNo},
    {"punsubscribe", -1, 0, 0, 0, 0, kNo},
    {"publish", 3, 0, 0, 0, 0, kNo},
    {"pubsub", -2, 0, 0, 0, 0, kNo},
    {"eval", -3, kM, 0, 0, 0, kNo},
    {"evalsha", -3, kM, 0, 0, 0, kNo},
    {"eval_ro", -3, kR | kM, 0, 0, 0, kNo},
    {"evalsha_ro", -3, kR | kM, 0, 0, 0, kNo},
    {"script", -2, 0, 0, 0, 0, kNo},
    {"function", -2, 0, 0, 0, 0, kNo},
    {"fcall", -3, kM, 0, 0, 0, kNo},
    {"fcall_ro", -3, kR | kM, 0, 0, 0, kNo},
    {"wait", 3, 0, 0, 0, 0, kNo},
    // Administration.
    {"save", 1, 0, 0, 0, 0, kNo},
    {"bgsave", -1, 0, 0, 0, 0, kNo},
    {"bgrewriteaof", 1, 0, 0, 0, 0, kNo},
    {"shutdown", -1, 0, 0, 0, 0, kNo},
    {"debug", -2, 0, 0, 0, 0, kNo},
    {"monitor", 1, 0, 0, 0, 0, kNo},
    {"slaveof", 3, 0, 0, 0, 0, kNo},
    {"replicaof", 3, 0, 0, 0, 0, kNo},
    {"sync", 1, 0, 0, 0, 0, kNo},
    {"psync", -3, 0, 0, 0, 0, kNo},
    {"cluster", -2, 0, 0, 0, 0, kNo},
    {"migrate", -6, kW | kM, 3, 3, 1, kNo},
    {"swapdb", 3, kW, 0, 0, 0, kNo},
    {"lastsave", 1, 0, 0, 0, 0, kNo},
    {"slowlog", -2, 0, 0, 0, 0, kNo},
    {"latency", -2, 0, 0, 0, 0, kNo},
    {"memory", -2, 0, 0, 0, 0, kNo},
    {"acl", -2, 0, 0, 0, 0, kNo},
    {"module", -2, 0, 0, 0, 0, kNo},
    {"failover", -1, 0, 0, 0, 0, kNo},
    {"readonly", 1, 0, 0, 0, 0, kNo},
    {"readwrite", 1, 0, 0, 0, 0, kNo},
    {"reset", 1, kA, 0, 0, 0, kNo},
    {"time", 1, 0, 0, 0, 0, kNo},
    {"role", 1, 0, 0, 0, 0, kNo},
};
// clang-format on

// Open-addressing table of FNV-1a hashes of the lower-case names; each slot
// holds a command index + 1 (0 = empty). 1024 slots keep the load under 1/4.
constexpr size_t kSlots = 1024;
constexpr size_t kMaxNameLen = 24;

constexpr uint32_t kHashSeed = 2166136261u;
constexpr uint32_t HashStep(uint32_t h, unsigned char c) {
  return (h ^ c) * 16777619u;
}
constexpr uint32_t HashOf(std::string_view s) {
  uint32_t h = kHashSeed;
  for (char c : s) h = HashStep(h, static_cast<unsigned char>(c));
  return h;
}

constexpr bool IsLowerName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLen) return false;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

struct Slots {
  std::array<uint16_t, kSlots> index{};
  bool valid = true;  // every name lower case, short enough and listed once
};

constexpr Slots BuildSlots() {
  Slots slots;
  for (size_t i = 0; i < std::size(kCommands); ++i) {
    const std::string_view name = kCommands[i].name;
    slots.valid = slots.valid && IsLowerName(name);
    size_t s = HashOf(name) & (kSlots - 1);
    for (; slots.index[s] != 0; s = (s + 1) & (kSlots - 1)) {
      slots.valid = slots.valid && kCommands[slots.index[s] - 1].name != name;
    }
    slots.index[s] = static_cast<uint16_t>(i + 1);
  }
  return slots;
}

constexpr Slots kSlotTable = BuildSlots();
static_assert(kSlotTable.valid, "command names: lower case, at most kMaxNameLen, each once");
static_assert(std::size(kCommands) < kSlots / 4);
static_assert(std::size(kCommands) <= kMaxCommands);

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
  const std::string_view key(lower, name.size());
  for (size_t s = h & (kSlots - 1);; s = (s + 1) & (kSlots - 1)) {
    const uint16_t idx = kSlotTable.index[s];
    if (idx == 0) return nullptr;
    if (kCommands[idx - 1].name == key) return &kCommands[idx - 1];
  }
}

}  // namespace ringkv::net::command
