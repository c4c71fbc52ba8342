// Tests of the shared command table: lookup, arity, key positions, and the
// node's commands as the node reports them.
#include "net/command/command_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringkv::net::command {
namespace {

std::vector<size_t> KeyIndices(std::string_view name, size_t argc) {
  std::vector<size_t> out;
  ForEachKeyIndex(*FindCommand(name), argc, [&out](size_t i) { out.push_back(i); });
  return out;
}

TEST(CommandTable, FindsAnyCaseWithoutAllocating) {
  ASSERT_NE(FindCommand("get"), nullptr);
  EXPECT_EQ(FindCommand("GET"), FindCommand("get"));
  EXPECT_EQ(FindCommand("IncrByFloat")->name, "incrbyfloat");
  EXPECT_EQ(FindCommand("JOB.ENQUEUE")->name, "job.enqueue");
  EXPECT_EQ(FindCommand("georadiusbymember")->name, "georadiusbymember");
  EXPECT_EQ(FindCommand(""), nullptr);
  EXPECT_EQ(FindCommand("nosuchcommand"), nullptr);
  EXPECT_EQ(FindCommand("get "), nullptr);
  EXPECT_EQ(FindCommand(std::string(100, 'x')), nullptr);
  EXPECT_EQ(FindCommand(std::string_view("get\0", 4)), nullptr);
}

TEST(CommandTable, EveryCommandIsFoundByItsNameAndIndex) {
  for (const CommandSpec& c : Commands()) {
    std::string upper(c.name);
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const CommandSpec* found = FindCommand(upper);
    ASSERT_EQ(found, &c) << c.name;
    EXPECT_EQ(&Commands()[CommandIndex(*found)], &c);
  }
}

TEST(CommandTable, SpecsAreWellFormed) {
  for (const CommandSpec& c : Commands()) {
    EXPECT_NE(c.arity, 0) << c.name;
    EXPECT_FALSE((c.flags & kWrite) && (c.flags & kReadOnly)) << c.name;
    if (c.first_key == 0) {
      EXPECT_EQ(c.last_key, 0) << c.name;
      EXPECT_EQ(c.key_step, 0) << c.name;
    } else {
      EXPECT_GT(c.first_key, 0) << c.name;
      EXPECT_GE(c.key_step, 1) << c.name;
      EXPECT_TRUE(c.last_key < 0 || c.last_key >= c.first_key) << c.name;
    }
    if (c.merge != MergeKind::kNone) {  // splittable: keys from argv[1] to the end
      EXPECT_EQ(c.first_key, 1) << c.name;
      EXPECT_EQ(c.last_key, -1) << c.name;
      EXPECT_EQ(c.flags & kMovableKeys, 0u) << c.name;
    }
  }
}

TEST(CommandTable, ArityFollowsRedis) {
  EXPECT_TRUE(ArityOk(*FindCommand("get"), 2));
  EXPECT_FALSE(ArityOk(*FindCommand("get"), 1));
  EXPECT_FALSE(ArityOk(*FindCommand("get"), 3));
  EXPECT_TRUE(ArityOk(*FindCommand("set"), 3));
  EXPECT_TRUE(ArityOk(*FindCommand("set"), 7));
  EXPECT_FALSE(ArityOk(*FindCommand("set"), 2));
  EXPECT_TRUE(ArityOk(*FindCommand("ping"), 1));
}

TEST(CommandTable, KeyPositions) {
  EXPECT_EQ(KeyIndices("get", 2), (std::vector<size_t>{1}));
  EXPECT_EQ(KeyIndices("set", 5), (std::vector<size_t>{1}));
  EXPECT_EQ(KeyIndices("mget", 4), (std::vector<size_t>{1, 2, 3}));
  EXPECT_EQ(KeyIndices("mset", 5), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(KeyIndices("mset", 6), (std::vector<size_t>{1, 3, 5}));  // a trailing key alone
  EXPECT_EQ(KeyIndices("blpop", 4), (std::vector<size_t>{1, 2}));    // the timeout is last
  EXPECT_EQ(KeyIndices("bitop", 5), (std::vector<size_t>{2, 3, 4}));
  EXPECT_EQ(KeyIndices("rename", 3), (std::vector<size_t>{1, 2}));
  EXPECT_EQ(KeyIndices("object", 3), (std::vector<size_t>{2}));
  EXPECT_EQ(KeyIndices("object", 2), (std::vector<size_t>{}));
  EXPECT_EQ(KeyIndices("ping", 2), (std::vector<size_t>{}));
  EXPECT_EQ(KeyIndices("eval", 5), (std::vector<size_t>{}));  // movable keys only
  EXPECT_EQ(KeyIndices("mget", 1), (std::vector<size_t>{}));
  EXPECT_EQ(KeyCount(*FindCommand("del"), 5), 4u);
  std::vector<size_t> seen;
  ForEachKeyIndex(*FindCommand("del"), 5, [&seen](size_t i) {
    seen.push_back(i);
    return i < 2;  // stop after the second key
  });
  EXPECT_EQ(seen, (std::vector<size_t>{1, 2}));
}

// A copy of node/internal/command_table.cc's table (name, arity, flags, key
// positions) and of migration_guard.cc's MergeOf, as they stand before the
// node switches to this library: the shared table must say the same.
struct NodeRow {
  std::string_view name;
  int arity;
  uint32_t flags;
  int first_key, last_key, key_step;
};
constexpr uint32_t kW = kWrite;
constexpr uint32_t kR = kReadOnly;
constexpr NodeRow kNodeTable[] = {
    {"get", 2, kR, 1, 1, 1},         {"set", -3, kW, 1, 1, 1},
    {"setnx", 3, kW, 1, 1, 1},       {"setex", 4, kW, 1, 1, 1},
    {"psetex", 4, kW, 1, 1, 1},      {"getset", 3, kW, 1, 1, 1},
    {"getdel", 2, kW, 1, 1, 1},      {"getex", -2, kW, 1, 1, 1},
    {"mget", -2, kR, 1, -1, 1},      {"mset", -3, kW, 1, -1, 2},
    {"msetnx", -3, kW, 1, -1, 2},    {"incr", 2, kW, 1, 1, 1},
    {"decr", 2, kW, 1, 1, 1},        {"incrby", 3, kW, 1, 1, 1},
    {"decrby", 3, kW, 1, 1, 1},      {"incrbyfloat", 3, kW, 1, 1, 1},
    {"append", 3, kW, 1, 1, 1},      {"strlen", 2, kR, 1, 1, 1},
    {"getrange", 4, kR, 1, 1, 1},    {"setrange", 4, kW, 1, 1, 1},
    {"del", -2, kW, 1, -1, 1},       {"unlink", -2, kW, 1, -1, 1},
    {"exists", -2, kR, 1, -1, 1},    {"touch", -2, kR, 1, -1, 1},
    {"type", 2, kR, 1, 1, 1},        {"expire", -3, kW, 1, 1, 1},
    {"pexpire", -3, kW, 1, 1, 1},    {"expireat", -3, kW, 1, 1, 1},
    {"pexpireat", -3, kW, 1, 1, 1},  {"ttl", 2, kR, 1, 1, 1},
    {"pttl", 2, kR, 1, 1, 1},        {"persist", 2, kW, 1, 1, 1},
    {"scan", -2, kR, 0, 0, 0},       {"keys", 2, kR, 0, 0, 0},
    {"randomkey", 1, kR, 0, 0, 0},   {"dbsize", 1, kR, 0, 0, 0},
    {"flushdb", -1, kW, 0, 0, 0},    {"flushall", -1, kW, 0, 0, 0},
    {"ping", -1, kNoAuth, 0, 0, 0},  {"echo", 2, 0, 0, 0, 0},
    {"quit", -1, kNoAuth, 0, 0, 0},  {"auth", -2, kNoAuth, 0, 0, 0},
    {"select", 2, 0, 0, 0, 0},       {"hello", -1, kNoAuth, 0, 0, 0},
    {"client", -2, 0, 0, 0, 0},      {"command", -1, 0, 0, 0, 0},
    {"config", -2, 0, 0, 0, 0},      {"info", -1, 0, 0, 0, 0},
    {"job.enqueue", 5, kW, 0, 0, 0}, {"job.lease", 3, kW, 0, 0, 0},
    {"job.renew", 4, kW, 0, 0, 0},   {"job.complete", 4, kW, 0, 0, 0},
    {"job.get", 2, kR, 0, 0, 0},     {"job.pull", 2, kW, 0, 0, 0},
    {"job.release", 2, kW, 0, 0, 0}, {"job.stats", 1, kR, 0, 0, 0},
};

MergeKind NodeMergeOf(std::string_view n) {
  if (n == "mget") return MergeKind::kArray;
  if (n == "del" || n == "unlink" || n == "exists" || n == "touch") return MergeKind::kSum;
  if (n == "mset") return MergeKind::kOk;
  return MergeKind::kNone;
}

TEST(CommandTable, NodeCommandsAsTheNodeReportsThem) {
  for (const NodeRow& row : kNodeTable) {
    const CommandSpec* c = FindCommand(row.name);
    ASSERT_NE(c, nullptr) << row.name;
    EXPECT_EQ(c->arity, row.arity) << row.name;
    EXPECT_EQ(c->flags, row.flags) << row.name;
    EXPECT_EQ(c->first_key, row.first_key) << row.name;
    EXPECT_EQ(c->last_key, row.last_key) << row.name;
    EXPECT_EQ(c->key_step, row.key_step) << row.name;
    EXPECT_EQ(c->merge, NodeMergeOf(row.name)) << row.name;
  }
}

// migration_guard.cc's key walk, which the node runs only for commands with
// first_key > 0.
std::vector<size_t> NodeKeyIndices(const NodeRow& row, size_t argc) {
  std::vector<size_t> out;
  const int n = static_cast<int>(argc);
  const int last = row.last_key < 0 ? n + row.last_key : row.last_key;
  const int step = row.key_step > 0 ? row.key_step : 1;
  for (int i = row.first_key; i <= last && i < n; i += step) out.push_back(static_cast<size_t>(i));
  return out;
}

TEST(CommandTable, NodeKeyWalkUnchanged) {
  for (const NodeRow& row : kNodeTable) {
    for (size_t argc = 1; argc <= 12; ++argc) {
      const std::vector<size_t> expected =
          row.first_key > 0 ? NodeKeyIndices(row, argc) : std::vector<size_t>{};
      EXPECT_EQ(KeyIndices(row.name, argc), expected) << row.name << " argc " << argc;
    }
  }
}

TEST(CommandTable, OnlyTheNodesCommandsSplit) {
  for (const CommandSpec& c : Commands()) EXPECT_EQ(c.merge, NodeMergeOf(c.name)) << c.name;
}

}  // namespace
}  // namespace ringkv::net::command
