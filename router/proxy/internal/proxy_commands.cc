#include "router/proxy/internal/proxy_commands.h"

#include <cctype>
#include <optional>
#include <unordered_map>

#include "net/resp/resp_parser.h"
#include "net/resp/resp_writer.h"

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

// Commands whose only key is argv[1] (Redis's command table: first = last = 1).
constexpr std::string_view kSingleKeyNames[] = {
    // strings and keys
    "get", "set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "append", "strlen",
    "getrange", "substr", "setrange", "incr", "decr", "incrby", "decrby", "incrbyfloat", "expire",
    "pexpire", "expireat", "pexpireat", "expiretime", "pexpiretime", "ttl", "pttl", "persist",
    "type", "dump", "restore", "setbit", "getbit", "bitcount", "bitpos", "bitfield", "bitfield_ro",
    "pfadd",
    // hashes
    "hset", "hsetnx", "hget", "hmset", "hmget", "hdel", "hlen", "hstrlen", "hexists", "hkeys",
    "hvals", "hgetall", "hincrby", "hincrbyfloat", "hrandfield", "hscan",
    // lists
    "lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lindex", "lrange", "lset",
    "lrem", "ltrim", "linsert", "lpos",
    // sets
    "sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop", "srandmember", "sscan",
    // sorted sets
    "zadd", "zrem", "zscore", "zmscore", "zincrby", "zcard", "zcount", "zlexcount", "zrange",
    "zrangebyscore", "zrangebylex", "zrevrange", "zrevrangebyscore", "zrevrangebylex", "zrank",
    "zrevrank", "zremrangebyrank", "zremrangebyscore", "zremrangebylex", "zpopmin", "zpopmax",
    "zrandmember", "zscan",
    // geo and streams
    "geoadd", "geopos", "geodist", "geohash", "geosearch", "xadd", "xrange", "xrevrange", "xlen",
    "xdel", "xtrim"};

struct Unsupported {
  std::string_view name;
  std::string_view reason;
};
constexpr Unsupported kUnsupportedNames[] = {
    {"keys", kSeveralNodes},
    {"scan", kSeveralNodes},
    {"randomkey", kSeveralNodes},
    {"flushall", kSeveralNodes},
    {"flushdb", kSeveralNodes},
    {"rename", kSeveralNodes},
    {"renamenx", kSeveralNodes},
    {"copy", kSeveralNodes},
    {"msetnx", kSeveralNodes},
    {"smove", kSeveralNodes},
    {"sinter", kSeveralNodes},
    {"sinterstore", kSeveralNodes},
    {"sintercard", kSeveralNodes},
    {"sunion", kSeveralNodes},
    {"sunionstore", kSeveralNodes},
    {"sdiff", kSeveralNodes},
    {"sdiffstore", kSeveralNodes},
    {"zunion", kSeveralNodes},
    {"zunionstore", kSeveralNodes},
    {"zinter", kSeveralNodes},
    {"zinterstore", kSeveralNodes},
    {"zdiff", kSeveralNodes},
    {"zdiffstore", kSeveralNodes},
    {"zrangestore", kSeveralNodes},
    {"lmove", kSeveralNodes},
    {"rpoplpush", kSeveralNodes},
    {"lmpop", kSeveralNodes},
    {"zmpop", kSeveralNodes},
    {"pfcount", kSeveralNodes},
    {"pfmerge", kSeveralNodes},
    {"bitop", kSeveralNodes},
    {"sort", kSeveralNodes},
    {"sort_ro", kSeveralNodes},
    {"object", "its key is not the first argument"},
    {"xread", kSeveralNodes},
    {"georadius", kSeveralNodes},
    {"georadiusbymember", kSeveralNodes},
    {"geosearchstore", kSeveralNodes},
    {"multi", kTransactions},
    {"exec", kTransactions},
    {"discard", kTransactions},
    {"watch", kTransactions},
    {"unwatch", kTransactions},
    {"subscribe", kPubSub},
    {"psubscribe", kPubSub},
    {"ssubscribe", kPubSub},
    {"unsubscribe", kPubSub},
    {"punsubscribe", kPubSub},
    {"publish", kPubSub},
    {"pubsub", kPubSub},
    {"eval", kScripts},
    {"evalsha", kScripts},
    {"eval_ro", kScripts},
    {"evalsha_ro", kScripts},
    {"script", kScripts},
    {"function", kScripts},
    {"fcall", kScripts},
    {"fcall_ro", kScripts},
    {"blpop", kBlocking},
    {"brpop", kBlocking},
    {"blmove", kBlocking},
    {"brpoplpush", kBlocking},
    {"blmpop", kBlocking},
    {"bzpopmin", kBlocking},
    {"bzpopmax", kBlocking},
    {"bzmpop", kBlocking},
    {"wait", kBlocking},
    {"xreadgroup", kBlocking},
    {"save", kAdmin},
    {"bgsave", kAdmin},
    {"bgrewriteaof", kAdmin},
    {"shutdown", kAdmin},
    {"debug", kAdmin},
    {"monitor", kAdmin},
    {"slaveof", kAdmin},
    {"replicaof", kAdmin},
    {"sync", kAdmin},
    {"psync", kAdmin},
    {"cluster", kAdmin},
    {"migrate", kAdmin},
    {"move", kAdmin},
    {"swapdb", kAdmin},
    {"lastsave", kAdmin},
    {"slowlog", kAdmin},
    {"latency", kAdmin},
    {"memory", kAdmin},
    {"acl", kAdmin},
    {"module", kAdmin},
    {"failover", kAdmin},
    {"readonly", kAdmin},
    {"readwrite", kAdmin},
    {"hello", "RESP3 is not proxied"},
    {"reset", kAdmin},
    {"time", kAdmin},
    {"role", kAdmin},
};

// Commands that only read their keys (Redis's "readonly" flag) among those
// routed by key.
constexpr std::string_view kReadOnlyNames[] = {"get",
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

using Table = std::unordered_map<std::string_view, CommandInfo>;

Table BuildTable() {
  Table t;
  for (std::string_view n : kSingleKeyNames) t.emplace(n, CommandInfo{n, K::kSingleKey});
  for (const Unsupported& u : kUnsupportedNames)
    t.emplace(u.name, CommandInfo{u.name, K::kUnsupported, L::kNone, u.reason});
  const CommandInfo others[] = {
      {"mget", K::kMget},
      {"mset", K::kMset},
      {"del", K::kSumKeys},
      {"unlink", K::kSumKeys},
      {"exists", K::kSumKeys},
      {"touch", K::kSumKeys},
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
  };
  for (const CommandInfo& c : others) t.emplace(c.name, c);
  for (std::string_view n : kReadOnlyNames) {
    auto it = t.find(n);
    if (it != t.end()) it->second.read_only = true;
  }
  return t;
}

const Table& CommandTable() {
  static const Table table = BuildTable();
  return table;
}

constexpr CommandInfo kUnknown{"", K::kUnsupported, L::kNone, "unknown command"};

// The elements of a complete RESP array reply, or false if it is not one of
// `n` elements.
bool SplitArray(std::string_view reply, size_t n, std::vector<std::string_view>& out) {
  if (reply.empty() || reply[0] != '*') return false;
  size_t eol = reply.find("\r\n");
  if (eol == std::string_view::npos || reply.substr(1, eol - 1) != std::to_string(n)) return false;
  size_t pos = eol + 2;
  for (size_t i = 0; i < n; ++i) {
    int64_t len = net::resp::CompleteReplyLength(reply.substr(pos));
    if (len <= 0) return false;
    out.push_back(reply.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len);
  }
  return pos == reply.size();
}

const std::string* FirstError(std::span<const std::string> parts) {
  for (const std::string& p : parts) {
    if (!p.empty() && p[0] == '-') return &p;
  }
  return nullptr;
}

const std::string kBadShape = "-ERR backend returned an unexpected reply\r\n";

}  // namespace

const CommandInfo& LookupCommand(std::string_view name) {
  char lower[32];
  if (name.size() > sizeof lower) return kUnknown;
  for (size_t i = 0; i < name.size(); ++i)
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  const Table& t = CommandTable();
  auto it = t.find(std::string_view(lower, name.size()));
  return it == t.end() ? kUnknown : it->second;
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

KeySplit SplitByOwner(std::span<const std::string_view> args, size_t step,
                      FunctionRef<uint32_t(std::string_view)> owner_of) {
  KeySplit split;
  size_t groups = (args.size() - 1) / step;
  split.where.reserve(groups);
  for (size_t g = 0; g < groups; ++g) {
    size_t first = 1 + g * step;
    uint32_t owner = owner_of(args[first]);
    uint32_t part = 0;
    while (part < split.parts.size() && split.parts[part].owner != owner) ++part;
    if (part == split.parts.size()) split.parts.push_back({owner, {args[0]}});
    SplitPart& p = split.parts[part];
    split.where.emplace_back(part, static_cast<uint32_t>((p.args.size() - 1) / step));
    for (size_t i = 0; i < step; ++i) p.args.push_back(args[first + i]);
  }
  return split;
}

std::string MergeArrays(std::span<const std::pair<uint32_t, uint32_t>> where,
                        std::span<const std::string> parts) {
  if (const std::string* err = FirstError(parts)) return *err;
  std::vector<size_t> counts(parts.size());
  for (auto [part, index] : where) {
    if (part >= parts.size()) return kBadShape;
    ++counts[part];
  }
  std::vector<std::vector<std::string_view>> elements(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!SplitArray(parts[i], counts[i], elements[i])) return kBadShape;
  }
  std::string out;
  net::resp::ReplyWriter w(out);
  w.ArrayHeader(where.size());
  for (auto [part, index] : where) {
    if (index >= elements[part].size()) return kBadShape;
    w.Raw(elements[part][index]);
  }
  return out;
}

std::string MergeStatus(std::span<const std::string> parts) {
  if (const std::string* err = FirstError(parts)) return *err;
  for (const std::string& p : parts) {
    if (p != "+OK\r\n") return kBadShape;
  }
  return "+OK\r\n";
}

std::string MergeSum(std::span<const std::string> parts) {
  if (const std::string* err = FirstError(parts)) return *err;
  int64_t sum = 0;
  for (const std::string& p : parts) {
    std::optional<net::resp::Reply> r = net::resp::DecodeReply(p);
    if (!r || r->type != net::resp::Reply::Type::kInteger) return kBadShape;
    sum += r->integer;
  }
  std::string out;
  net::resp::ReplyWriter(out).Integer(sum);
  return out;
}

}  // namespace ringkv::router::internal
