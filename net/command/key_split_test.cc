// Tests of splitting multi-key commands by owner and merging the replies,
// with a property test against one fake server holding every key.
#include "net/command/key_split.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "net/resp/resp_writer.h"

namespace ringkv::net::command {
namespace {

using Args = std::vector<std::string_view>;
using Where = std::vector<std::pair<uint32_t, uint32_t>>;

// Owner = first letter of the key, for readable tests.
const auto FirstLetter = [](std::string_view key) { return static_cast<uint32_t>(key[0] - 'a'); };

TEST(SplitByOwner, GroupsKeysKeepingOrder) {
  Args args = {"MGET", "a1", "b1", "a2", "c1", "b2"};
  KeySplit s = SplitByOwner(args, 1, FirstLetter);
  ASSERT_EQ(s.parts.size(), 3u);
  EXPECT_EQ(s.parts[0].owner, 0u);
  EXPECT_EQ(s.parts[0].args, (Args{"MGET", "a1", "a2"}));
  EXPECT_EQ(s.parts[1].args, (Args{"MGET", "b1", "b2"}));
  EXPECT_EQ(s.parts[2].args, (Args{"MGET", "c1"}));
  EXPECT_EQ(s.where, (Where{{0, 0}, {1, 0}, {0, 1}, {2, 0}, {1, 1}}));
}

TEST(SplitByOwner, PairsForMset) {
  Args args = {"MSET", "a1", "v1", "b1", "v2", "a2", "v3"};
  KeySplit s = SplitByOwner(args, 2, FirstLetter);
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(s.parts[0].args, (Args{"MSET", "a1", "v1", "a2", "v3"}));
  EXPECT_EQ(s.parts[1].args, (Args{"MSET", "b1", "v2"}));
  EXPECT_EQ(s.where, (Where{{0, 0}, {1, 0}, {0, 1}}));
}

TEST(SplitByOwner, DuplicateKeysStayInPlace) {
  Args args = {"MGET", "a", "a", "b"};
  KeySplit s = SplitByOwner(args, 1, FirstLetter);
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(s.parts[0].args, (Args{"MGET", "a", "a"}));
}

TEST(SplitKeys, FollowsTheSpec) {
  Args mset = {"MSET", "a1", "v1", "b1", "v2", "a2"};  // a trailing key without its value
  KeySplit s = SplitKeys(*FindCommand("mset"), mset, FirstLetter);
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(s.parts[0].args, (Args{"MSET", "a1", "v1", "a2"}));
  EXPECT_EQ(s.parts[1].args, (Args{"MSET", "b1", "v2"}));
  EXPECT_EQ(s.where, (Where{{0, 0}, {1, 0}, {0, 1}}));
  Args bitop = {"BITOP", "AND", "a", "b", "a2"};  // arguments before the first key go to every part
  s = SplitKeys(*FindCommand("bitop"), bitop, FirstLetter);
  ASSERT_EQ(s.parts.size(), 2u);
  EXPECT_EQ(s.parts[0].args, (Args{"BITOP", "AND", "a", "a2"}));
  EXPECT_EQ(s.parts[1].args, (Args{"BITOP", "AND", "b"}));
  Args ping = {"PING"};
  EXPECT_TRUE(SplitKeys(*FindCommand("ping"), ping, FirstLetter).parts.empty());
}

TEST(MergeArrays, ReassemblesInKeyOrder) {
  Args args = {"MGET", "a1", "b1", "a2", "c1"};
  KeySplit s = SplitByOwner(args, 1, FirstLetter);
  std::vector<std::string> parts = {"*2\r\n$2\r\nA1\r\n$-1\r\n", "*1\r\n$2\r\nB1\r\n",
                                    "*1\r\n$3\r\nC\r\n\r\n"};
  EXPECT_EQ(MergeArrays(s.where, parts), "*4\r\n$2\r\nA1\r\n$2\r\nB1\r\n$-1\r\n$3\r\nC\r\n\r\n");
}

TEST(MergeArrays, ErrorsAndBadShapes) {
  Args args = {"MGET", "a", "b"};
  KeySplit s = SplitByOwner(args, 1, FirstLetter);
  std::vector<std::string> err = {"*1\r\n$1\r\nx\r\n", "-ERR backend b unavailable: down\r\n"};
  EXPECT_EQ(MergeArrays(s.where, err), "-ERR backend b unavailable: down\r\n");
  std::vector<std::string> short_part = {"*2\r\n$1\r\nx\r\n$1\r\ny\r\n", "*0\r\n"};
  EXPECT_EQ(MergeArrays(s.where, short_part), "-ERR backend returned an unexpected reply\r\n");
  std::vector<std::string> not_array = {":1\r\n", "*1\r\n$1\r\ny\r\n"};
  EXPECT_EQ(MergeArrays(s.where, not_array), "-ERR backend returned an unexpected reply\r\n");
  std::vector<std::string> trailing = {"*1\r\n$1\r\nx\r\n:1\r\n", "*1\r\n$1\r\ny\r\n"};
  EXPECT_EQ(MergeArrays(s.where, trailing), "-ERR backend returned an unexpected reply\r\n");
  EXPECT_EQ(MergeArrays(s.where, not_array, "-ERR odd\r\n"), "-ERR odd\r\n");
}

TEST(MergeStatus, OkOnlyIfAllOk) {
  std::vector<std::string> ok = {"+OK\r\n", "+OK\r\n"};
  EXPECT_EQ(MergeStatus(ok), "+OK\r\n");
  std::vector<std::string> err = {"+OK\r\n", "-OOM full\r\n", "-ERR other\r\n"};
  EXPECT_EQ(MergeStatus(err), "-OOM full\r\n");
  std::vector<std::string> odd = {"+OK\r\n", ":1\r\n"};
  EXPECT_EQ(MergeStatus(odd), "-ERR backend returned an unexpected reply\r\n");
}

TEST(MergeSum, SumsIntegers) {
  std::vector<std::string> parts = {":2\r\n", ":0\r\n", ":5\r\n"};
  EXPECT_EQ(MergeSum(parts), ":7\r\n");
  std::vector<std::string> err = {":2\r\n", "-ERR backend x unavailable: y\r\n"};
  EXPECT_EQ(MergeSum(err), "-ERR backend x unavailable: y\r\n");
  std::vector<std::string> bad = {":2\r\n", "$1\r\n1\r\n"};
  EXPECT_EQ(MergeSum(bad), "-ERR backend returned an unexpected reply\r\n");
}

TEST(MergeReplies, DispatchesOnTheKind) {
  std::vector<std::string> sums = {":2\r\n", ":3\r\n"};
  EXPECT_EQ(MergeReplies(MergeKind::kSum, {}, sums), ":5\r\n");
  std::vector<std::string> oks = {"+OK\r\n"};
  EXPECT_EQ(MergeReplies(MergeKind::kOk, {}, oks), "+OK\r\n");
  EXPECT_EQ(MergeReplies(MergeKind::kNone, {}, oks), kUnexpectedReply);
}

// A server holding strings, serving the splittable commands as Redis does.
class FakeServer {
 public:
  std::map<std::string, std::string, std::less<>> data;

  std::string Run(std::span<const std::string_view> args) {
    std::string out;
    resp::ReplyWriter w(out);
    const CommandSpec* spec = FindCommand(args[0]);
    if (spec == nullptr || !ArityOk(*spec, args.size())) {
      w.Error("ERR wrong number of arguments");
      return out;
    }
    const std::string_view name = spec->name;
    if (name == "mget") {
      w.ArrayHeader(args.size() - 1);
      for (std::string_view k : args.subspan(1)) {
        auto it = data.find(k);
        if (it == data.end()) {
          w.Null();
        } else {
          w.Bulk(it->second);
        }
      }
    } else if (name == "mset") {
      if (args.size() % 2 == 0) {
        w.Error("ERR wrong number of arguments for 'mset' command");
        return out;
      }
      for (size_t i = 1; i + 1 < args.size(); i += 2) data[std::string(args[i])] = args[i + 1];
      w.Ok();
    } else if (name == "del" || name == "unlink") {
      int64_t n = 0;
      for (std::string_view k : args.subspan(1)) {
        auto it = data.find(k);
        if (it == data.end()) continue;
        data.erase(it);
        ++n;
      }
      w.Integer(n);
    } else {  // exists, touch: each occurrence counts
      int64_t n = 0;
      for (std::string_view k : args.subspan(1)) n += data.contains(k) ? 1 : 0;
      w.Integer(n);
    }
    return out;
  }
};

struct Trial {
  std::vector<std::string> keys;                       // the key universe
  std::map<std::string, uint32_t, std::less<>> owner;  // a random owner function
  uint32_t owners = 1;
  std::vector<std::string> argv;  // the command
};

Trial RandomTrial(std::mt19937& rng) {
  static constexpr std::string_view kNames[] = {"MGET", "DEL", "UNLINK", "EXISTS", "TOUCH", "MSET"};
  Trial t;
  t.owners = 1 + rng() % 5;
  const size_t universe = 1 + rng() % 12;
  for (size_t i = 0; i < universe; ++i) {
    t.keys.push_back("k" + std::to_string(i));
    t.owner[t.keys.back()] = static_cast<uint32_t>(rng() % t.owners);
  }
  const std::string_view name = kNames[rng() % std::size(kNames)];
  t.argv.emplace_back(name);
  const size_t n = 1 + rng() % 8;  // keys may repeat
  for (size_t i = 0; i < n; ++i) {
    t.argv.push_back(t.keys[rng() % t.keys.size()]);
    if (name == "MSET") t.argv.push_back("v" + std::to_string(rng() % 100));
  }
  return t;
}

// For random keys, owners and data: split + one fake server per owner +
// merge answers what one server holding every key answers, and leaves the
// same data.
TEST(SplitMergeProperty, EqualsOneServerHoldingEverything) {
  std::mt19937 rng(20240611);
  for (int trial = 0; trial < 2000; ++trial) {
    Trial t = RandomTrial(rng);
    FakeServer whole;
    std::vector<FakeServer> parts_of(t.owners);
    for (const std::string& k : t.keys) {
      if (rng() % 2 == 0) continue;
      const std::string v = "x" + std::to_string(rng() % 1000);
      whole.data[k] = v;
      parts_of[t.owner.find(k)->second].data[k] = v;
    }
    const Args args(t.argv.begin(), t.argv.end());
    const CommandSpec& spec = *FindCommand(args[0]);
    const std::string expected = whole.Run(args);

    const KeySplit split =
        SplitKeys(spec, args, [&t](std::string_view k) { return t.owner.find(k)->second; });
    std::vector<std::string> replies;
    for (const SplitPart& p : split.parts) replies.push_back(parts_of[p.owner].Run(p.args));
    ASSERT_EQ(MergeReplies(spec.merge, split.where, replies), expected) << "trial " << trial;

    std::map<std::string, std::string, std::less<>> merged;
    for (const FakeServer& s : parts_of) merged.insert(s.data.begin(), s.data.end());
    ASSERT_EQ(merged, whole.data) << "trial " << trial;
  }
}

// Each key group lands in exactly one part, at the place `where` names, and
// in argument order within its part.
TEST(SplitMergeProperty, WhereLocatesEveryGroup) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 1000; ++trial) {
    Trial t = RandomTrial(rng);
    const Args args(t.argv.begin(), t.argv.end());
    const CommandSpec& spec = *FindCommand(args[0]);
    const size_t step = static_cast<size_t>(spec.key_step);
    const KeySplit split =
        SplitKeys(spec, args, [&t](std::string_view k) { return t.owner.find(k)->second; });
    ASSERT_EQ(split.where.size(), (args.size() - 1) / step);
    size_t total = 0;
    for (const SplitPart& p : split.parts) {
      ASSERT_EQ(p.args[0], args[0]);
      total += p.args.size() - 1;
    }
    ASSERT_EQ(total, args.size() - 1);
    for (size_t g = 0; g < split.where.size(); ++g) {
      const auto [part, index] = split.where[g];
      const SplitPart& p = split.parts[part];
      EXPECT_EQ(p.owner, t.owner.find(args[1 + g * step])->second);
      for (size_t k = 0; k < step; ++k)
        EXPECT_EQ(p.args[1 + index * step + k], args[1 + g * step + k]);
    }
  }
}

// Whatever the parts answer, an error in any part is the whole reply: the
// first one in part order.
TEST(SplitMergeProperty, FirstErrorInPartOrderWins) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 500; ++trial) {
    const size_t n = 1 + rng() % 6;
    std::vector<std::string> parts(n, ":1\r\n");
    std::vector<std::string> oks(n, "+OK\r\n");
    size_t first_error = n;
    for (size_t i = 0; i < n; ++i) {
      if (rng() % 3 != 0) continue;
      parts[i] = oks[i] = "-ERR part " + std::to_string(i) + "\r\n";
      first_error = std::min(first_error, i);
    }
    Where where;
    std::vector<std::string> arrays(n, "*1\r\n$1\r\nv\r\n");
    for (size_t i = 0; i < n; ++i) {
      where.emplace_back(static_cast<uint32_t>(i), 0);
      if (parts[i][0] == '-') arrays[i] = parts[i];
    }
    if (first_error == n) {
      EXPECT_EQ(MergeSum(parts), ":" + std::to_string(n) + "\r\n");
      EXPECT_EQ(MergeStatus(oks), "+OK\r\n");
      continue;
    }
    EXPECT_EQ(MergeSum(parts), parts[first_error]);
    EXPECT_EQ(MergeStatus(oks), parts[first_error]);
    EXPECT_EQ(MergeArrays(where, arrays), parts[first_error]);
  }
}

}  // namespace
}  // namespace ringkv::net::command
