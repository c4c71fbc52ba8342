// The router's command classification, derived from the shared command
// table, against a copy of the hand-written tables it replaced: the router
// routes, answers and refuses exactly the commands it did before.
#include "router/proxy/internal/proxy_commands.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>
#include <utility>

namespace ringkv::router::internal {
namespace {

using K = CommandKind;
using L = LocalCommand;

// Copies of the router's former tables.
constexpr std::string_view kSingleKeyBefore[] = {"get",
                                                 "set",
                                                 "setnx",
                                                 "setex",
                                                 "psetex",
                                                 "getset",
                                                 "getdel",
                                                 "getex",
                                                 "append",
                                                 "strlen",
                                                 "getrange",
                                                 "substr",
                                                 "setrange",
                                                 "incr",
                                                 "decr",
                                                 "incrby",
                                                 "decrby",
                                                 "incrbyfloat",
                                                 "expire",
                                                 "pexpire",
                                                 "expireat",
                                                 "pexpireat",
                                                 "expiretime",
                                                 "pexpiretime",
                                                 "ttl",
                                                 "pttl",
                                                 "persist",
                                                 "type",
                                                 "dump",
                                                 "restore",
                                                 "setbit",
                                                 "getbit",
                                                 "bitcount",
                                                 "bitpos",
                                                 "bitfield",
                                                 "bitfield_ro",
                                                 "pfadd",
                                                 "hset",
                                                 "hsetnx",
                                                 "hget",
                                                 "hmset",
                                                 "hmget",
                                                 "hdel",
                                                 "hlen",
                                                 "hstrlen",
                                                 "hexists",
                                                 "hkeys",
                                                 "hvals",
                                                 "hgetall",
                                                 "hincrby",
                                                 "hincrbyfloat",
                                                 "hrandfield",
                                                 "hscan",
                                                 "lpush",
                                                 "rpush",
                                                 "lpushx",
                                                 "rpushx",
                                                 "lpop",
                                                 "rpop",
                                                 "llen",
                                                 "lindex",
                                                 "lrange",
                                                 "lset",
                                                 "lrem",
                                                 "ltrim",
                                                 "linsert",
                                                 "lpos",
                                                 "sadd",
                                                 "srem",
                                                 "smembers",
                                                 "sismember",
                                                 "smismember",
                                                 "scard",
                                                 "spop",
                                                 "srandmember",
                                                 "sscan",
                                                 "zadd",
                                                 "zrem",
                                                 "zscore",
                                                 "zmscore",
                                                 "zincrby",
                                                 "zcard",
                                                 "zcount",
                                                 "zlexcount",
                                                 "zrange",
                                                 "zrangebyscore",
                                                 "zrangebylex",
                                                 "zrevrange",
                                                 "zrevrangebyscore",
                                                 "zrevrangebylex",
                                                 "zrank",
                                                 "zrevrank",
                                                 "zremrangebyrank",
                                                 "zremrangebyscore",
                                                 "zremrangebylex",
                                                 "zpopmin",
                                                 "zpopmax",
                                                 "zrandmember",
                                                 "zscan",
                                                 "geoadd",
                                                 "geopos",
                                                 "geodist",
                                                 "geohash",
                                                 "geosearch",
                                                 "xadd",
                                                 "xrange",
                                                 "xrevrange",
                                                 "xlen",
                                                 "xdel",
                                                 "xtrim"};
constexpr std::string_view kReadOnlyBefore[] = {"get",
                                                "strlen",
                                                "getrange",
                                                "substr",
                                                "ttl",
                                                "pttl",
                                                "expiretime",
                                                "pexpiretime",
                                                "type",
                                                "dump",
                                                "getbit",
                                                "bitcount",
                                                "bitpos",
                                                "bitfield_ro",
                                                "hget",
                                                "hmget",
                                                "hlen",
                                                "hstrlen",
                                                "hexists",
                                                "hkeys",
                                                "hvals",
                                                "hgetall",
                                                "hrandfield",
                                                "hscan",
                                                "llen",
                                                "lindex",
                                                "lrange",
                                                "lpos",
                                                "smembers",
                                                "sismember",
                                                "smismember",
                                                "scard",
                                                "srandmember",
                                                "sscan",
                                                "zscore",
                                                "zmscore",
                                                "zcard",
                                                "zcount",
                                                "zlexcount",
                                                "zrange",
                                                "zrangebyscore",
                                                "zrangebylex",
                                                "zrevrange",
                                                "zrevrangebyscore",
                                                "zrevrangebylex",
                                                "zrank",
                                                "zrevrank",
                                                "zrandmember",
                                                "zscan",
                                                "mget",
                                                "exists"};
constexpr std::pair<std::string_view, std::string_view> kRefusedBefore[] = {
    {"keys", "keys live on several nodes"},
    {"scan", "keys live on several nodes"},
    {"randomkey", "keys live on several nodes"},
    {"flushall", "keys live on several nodes"},
    {"flushdb", "keys live on several nodes"},
    {"rename", "keys live on several nodes"},
    {"renamenx", "keys live on several nodes"},
    {"copy", "keys live on several nodes"},
    {"msetnx", "keys live on several nodes"},
    {"smove", "keys live on several nodes"},
    {"sinter", "keys live on several nodes"},
    {"sinterstore", "keys live on several nodes"},
    {"sintercard", "keys live on several nodes"},
    {"sunion", "keys live on several nodes"},
    {"sunionstore", "keys live on several nodes"},
    {"sdiff", "keys live on several nodes"},
    {"sdiffstore", "keys live on several nodes"},
    {"zunion", "keys live on several nodes"},
    {"zunionstore", "keys live on several nodes"},
    {"zinter", "keys live on several nodes"},
    {"zinterstore", "keys live on several nodes"},
    {"zdiff", "keys live on several nodes"},
    {"zdiffstore", "keys live on several nodes"},
    {"zrangestore", "keys live on several nodes"},
    {"lmove", "keys live on several nodes"},
    {"rpoplpush", "keys live on several nodes"},
    {"lmpop", "keys live on several nodes"},
    {"zmpop", "keys live on several nodes"},
    {"pfcount", "keys live on several nodes"},
    {"pfmerge", "keys live on several nodes"},
    {"bitop", "keys live on several nodes"},
    {"sort", "keys live on several nodes"},
    {"sort_ro", "keys live on several nodes"},
    {"object", "its key is not the first argument"},
    {"xread", "keys live on several nodes"},
    {"georadius", "keys live on several nodes"},
    {"georadiusbymember", "keys live on several nodes"},
    {"geosearchstore", "keys live on several nodes"},
    {"multi", "transactions cannot span nodes"},
    {"exec", "transactions cannot span nodes"},
    {"discard", "transactions cannot span nodes"},
    {"watch", "transactions cannot span nodes"},
    {"unwatch", "transactions cannot span nodes"},
    {"subscribe", "pub/sub is not proxied"},
    {"psubscribe", "pub/sub is not proxied"},
    {"ssubscribe", "pub/sub is not proxied"},
    {"unsubscribe", "pub/sub is not proxied"},
    {"punsubscribe", "pub/sub is not proxied"},
    {"publish", "pub/sub is not proxied"},
    {"pubsub", "pub/sub is not proxied"},
    {"eval", "scripts may touch keys on several nodes"},
    {"evalsha", "scripts may touch keys on several nodes"},
    {"eval_ro", "scripts may touch keys on several nodes"},
    {"evalsha_ro", "scripts may touch keys on several nodes"},
    {"script", "scripts may touch keys on several nodes"},
    {"function", "scripts may touch keys on several nodes"},
    {"fcall", "scripts may touch keys on several nodes"},
    {"fcall_ro", "scripts may touch keys on several nodes"},
    {"blpop", "blocking commands would stall a shared back-end connection"},
    {"brpop", "blocking commands would stall a shared back-end connection"},
    {"blmove", "blocking commands would stall a shared back-end connection"},
    {"brpoplpush", "blocking commands would stall a shared back-end connection"},
    {"blmpop", "blocking commands would stall a shared back-end connection"},
    {"bzpopmin", "blocking commands would stall a shared back-end connection"},
    {"bzpopmax", "blocking commands would stall a shared back-end connection"},
    {"bzmpop", "blocking commands would stall a shared back-end connection"},
    {"wait", "blocking commands would stall a shared back-end connection"},
    {"xreadgroup", "blocking commands would stall a shared back-end connection"},
    {"save", "administrative commands go to a node directly"},
    {"bgsave", "administrative commands go to a node directly"},
    {"bgrewriteaof", "administrative commands go to a node directly"},
    {"shutdown", "administrative commands go to a node directly"},
    {"debug", "administrative commands go to a node directly"},
    {"monitor", "administrative commands go to a node directly"},
    {"slaveof", "administrative commands go to a node directly"},
    {"replicaof", "administrative commands go to a node directly"},
    {"sync", "administrative commands go to a node directly"},
    {"psync", "administrative commands go to a node directly"},
    {"cluster", "administrative commands go to a node directly"},
    {"migrate", "administrative commands go to a node directly"},
    {"move", "administrative commands go to a node directly"},
    {"swapdb", "administrative commands go to a node directly"},
    {"lastsave", "administrative commands go to a node directly"},
    {"slowlog", "administrative commands go to a node directly"},
    {"latency", "administrative commands go to a node directly"},
    {"memory", "administrative commands go to a node directly"},
    {"acl", "administrative commands go to a node directly"},
    {"module", "administrative commands go to a node directly"},
    {"failover", "administrative commands go to a node directly"},
    {"readonly", "administrative commands go to a node directly"},
    {"readwrite", "administrative commands go to a node directly"},
    {"hello", "RESP3 is not proxied"},
    {"reset", "administrative commands go to a node directly"},
    {"time", "administrative commands go to a node directly"},
    {"role", "administrative commands go to a node directly"}};

struct OtherBefore {
  std::string_view name;
  CommandKind kind;
  LocalCommand local;
};
constexpr OtherBefore kOthersBefore[] = {
    {"mget", K::kMget, L::kNone},        {"mset", K::kMset, L::kNone},
    {"del", K::kSumKeys, L::kNone},      {"unlink", K::kSumKeys, L::kNone},
    {"exists", K::kSumKeys, L::kNone},   {"touch", K::kSumKeys, L::kNone},
    {"dbsize", K::kDbsize, L::kNone},    {"ping", K::kLocal, L::kPing},
    {"echo", K::kLocal, L::kEcho},       {"quit", K::kLocal, L::kQuit},
    {"auth", K::kLocal, L::kAuth},       {"select", K::kLocal, L::kSelect},
    {"command", K::kLocal, L::kCommand}, {"config", K::kLocal, L::kConfig},
    {"info", K::kLocal, L::kInfo},       {"client", K::kLocal, L::kClient},
};

// Read-only in Redis and now in the shared table, so routed like the other
// reads while keys move; only ringkv nodes take that path, and they do not
// serve these (either owner answers unknown command).
constexpr std::string_view kNowReadOnly[] = {"geopos", "geodist",   "geohash", "geosearch",
                                             "xrange", "xrevrange", "xlen"};

template <typename Range>
bool Has(const Range& r, std::string_view name) {
  return std::find(std::begin(r), std::end(r), name) != std::end(r);
}

bool ReadOnlyNow(std::string_view name) {
  return Has(kReadOnlyBefore, name) || Has(kNowReadOnly, name);
}

TEST(RouterCommandTable, SingleKeyCommandsUnchanged) {
  for (std::string_view n : kSingleKeyBefore) {
    const CommandInfo& c = LookupCommand(n);
    EXPECT_EQ(c.name, n);
    EXPECT_EQ(c.kind, K::kSingleKey) << n;
    EXPECT_EQ(c.local, L::kNone) << n;
    EXPECT_EQ(c.read_only, ReadOnlyNow(n)) << n;
    ASSERT_NE(c.spec, nullptr) << n;
    EXPECT_EQ(c.spec->name, n);
  }
}

TEST(RouterCommandTable, RefusedCommandsUnchanged) {
  for (const auto& [n, reason] : kRefusedBefore) {
    const CommandInfo& c = LookupCommand(n);
    EXPECT_EQ(c.name, n);
    EXPECT_EQ(c.kind, K::kUnsupported) << n;
    EXPECT_EQ(c.reason, reason) << n;
    EXPECT_FALSE(c.read_only) << n;
    EXPECT_NE(c.spec, nullptr) << n;
  }
}

TEST(RouterCommandTable, SplitLocalAndFanOutCommandsUnchanged) {
  for (const OtherBefore& o : kOthersBefore) {
    const CommandInfo& c = LookupCommand(o.name);
    EXPECT_EQ(c.name, o.name);
    EXPECT_EQ(c.kind, o.kind) << o.name;
    EXPECT_EQ(c.local, o.local) << o.name;
    EXPECT_EQ(c.read_only, ReadOnlyNow(o.name)) << o.name;
    EXPECT_NE(c.spec, nullptr) << o.name;
  }
}

TEST(RouterCommandTable, EverythingElseIsUnknown) {
  for (const net::command::CommandSpec& spec : net::command::Commands()) {
    const std::string_view n = spec.name;
    if (Has(kSingleKeyBefore, n) ||
        std::any_of(std::begin(kRefusedBefore), std::end(kRefusedBefore),
                    [n](const auto& r) { return r.first == n; }) ||
        std::any_of(std::begin(kOthersBefore), std::end(kOthersBefore),
                    [n](const OtherBefore& o) { return o.name == n; })) {
      continue;
    }
    const CommandInfo& c = LookupCommand(n);
    EXPECT_EQ(c.kind, K::kUnsupported) << n;
    EXPECT_EQ(c.reason, "unknown command") << n;
  }
  EXPECT_EQ(LookupCommand("job.enqueue").reason, "unknown command");
  EXPECT_EQ(LookupCommand("nosuchcommand").spec, nullptr);
}

}  // namespace
}  // namespace ringkv::router::internal
