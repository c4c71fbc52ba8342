// Dispatcher tests for key, expiry and scan commands and for metrics.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "node/commands/internal/test_fixture.h"

namespace ringkv::node::testing {
namespace {

using KeyCommandsTest = CommandsTest;
using ExpireCommandsTest = CommandsTest;
using MetricsTest = CommandsTest;

TEST_F(KeyCommandsTest, DelUnlinkExistsTouchType) {
  Run({"mset", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(Run({"exists", "a", "a", "nope", "b"}), Int(3));  // duplicates count
  EXPECT_EQ(Run({"touch", "a", "nope", "c"}), Int(2));
  EXPECT_EQ(Run({"type", "a"}), "+string\r\n");
  EXPECT_EQ(Run({"type", "nope"}), "+none\r\n");
  EXPECT_EQ(Run({"del", "a", "nope", "a"}), Int(1));
  EXPECT_EQ(Run({"unlink", "b", "c"}), Int(2));
  EXPECT_EQ(Run({"exists", "a", "b", "c"}), Int(0));
  EXPECT_EQ(Run({"del"}), Err("ERR wrong number of arguments for 'del' command"));
}

TEST_F(KeyCommandsTest, DbSizeFlushRandomKey) {
  EXPECT_EQ(Run({"randomkey"}), kNil);
  Run({"mset", "a", "1", "b", "2"});
  EXPECT_EQ(Run({"dbsize"}), Int(2));
  Reply r = Decode(Run({"randomkey"}));
  EXPECT_TRUE(r.str == "a" || r.str == "b") << r.str;
  EXPECT_EQ(Run({"flushdb", "now"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"flushall", "async", "sync"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"dbsize"}), Int(2));
  EXPECT_EQ(Run({"flushdb"}), kOk);
  EXPECT_EQ(Run({"dbsize"}), Int(0));
  Run({"set", "a", "1"});
  EXPECT_EQ(Run({"flushall", "ASYNC"}), kOk);
  EXPECT_EQ(Run({"dbsize"}), Int(0));
  Run({"set", "a", "1"});
  EXPECT_EQ(Run({"flushdb", "sync"}), kOk);
  EXPECT_EQ(Run({"get", "a"}), kNil);
}

TEST_F(ExpireCommandsTest, TtlStates) {
  EXPECT_EQ(Run({"ttl", "k"}), Int(-2));
  EXPECT_EQ(Run({"pttl", "k"}), Int(-2));
  Run({"set", "k", "v"});
  EXPECT_EQ(Run({"ttl", "k"}), Int(-1));
  EXPECT_EQ(Run({"pttl", "k"}), Int(-1));
  EXPECT_EQ(Run({"pexpire", "k", "10499"}), Int(1));
  EXPECT_EQ(Run({"ttl", "k"}), Int(10));  // rounded to the nearest second
  EXPECT_EQ(Run({"pexpire", "k", "10500"}), Int(1));
  EXPECT_EQ(Run({"ttl", "k"}), Int(11));
  clock_.Advance(10000);
  EXPECT_EQ(Run({"pttl", "k"}), Int(500));
  clock_.Advance(500);
  EXPECT_EQ(Run({"pttl", "k"}), Int(-2));
  EXPECT_EQ(Run({"get", "k"}), kNil);
}

TEST_F(ExpireCommandsTest, ExpireVariants) {
  EXPECT_EQ(Run({"expire", "k", "10"}), Int(0));  // missing key
  Run({"set", "k", "v"});
  EXPECT_EQ(Run({"expire", "k", "10"}), Int(1));
  EXPECT_EQ(Run({"pttl", "k"}), Int(10000));
  EXPECT_EQ(Run({"pexpire", "k", "2000"}), Int(1));
  EXPECT_EQ(Run({"pttl", "k"}), Int(2000));
  EXPECT_EQ(Run({"expireat", "k", std::to_string(kStartMs / 1000 + 30)}), Int(1));
  EXPECT_EQ(Run({"ttl", "k"}), Int(30));
  EXPECT_EQ(Run({"pexpireat", "k", std::to_string(kStartMs + 777)}), Int(1));
  EXPECT_EQ(Run({"pttl", "k"}), Int(777));
  EXPECT_EQ(Run({"persist", "k"}), Int(1));
  EXPECT_EQ(Run({"persist", "k"}), Int(0));
  EXPECT_EQ(Run({"persist", "nope"}), Int(0));
  EXPECT_EQ(Run({"ttl", "k"}), Int(-1));
}

TEST_F(ExpireCommandsTest, PastTimeDeletes) {
  Run({"mset", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(Run({"expire", "a", "0"}), Int(1));
  EXPECT_EQ(Run({"pexpire", "b", "-100"}), Int(1));
  EXPECT_EQ(Run({"expireat", "c", "1"}), Int(1));
  EXPECT_EQ(Run({"exists", "a", "b", "c"}), Int(0));
}

TEST_F(ExpireCommandsTest, Options) {
  Run({"set", "k", "v"});
  EXPECT_EQ(Run({"expire", "k", "100", "xx"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "100", "gt"}), Int(0));  // no TTL counts as infinite
  EXPECT_EQ(Run({"expire", "k", "100", "lt"}), Int(1));
  EXPECT_EQ(Run({"expire", "k", "50", "NX"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "200", "gt"}), Int(1));
  EXPECT_EQ(Run({"expire", "k", "150", "gt"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "300", "lt"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "120", "lt", "xx"}), Int(1));
  EXPECT_EQ(Run({"ttl", "k"}), Int(120));
  Run({"set", "j", "v"});
  EXPECT_EQ(Run({"expire", "j", "5", "nx"}), Int(1));
  EXPECT_EQ(Run({"ttl", "j"}), Int(5));
}

TEST_F(ExpireCommandsTest, Errors) {
  Run({"set", "k", "v"});
  EXPECT_EQ(Run({"expire", "k", "10", "nx", "xx"}),
            Err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"expire", "k", "abc", "nx", "gt"}),
            Err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"expire", "k", "10", "gt", "lt"}),
            Err("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"expire", "k", "10", "foo"}), Err("ERR Unsupported option foo"));
  EXPECT_EQ(Run({"expire", "k", "1.5"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"expire", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(Run({"expire", "k", "-9223372036854775808"}),
            Err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(Run({"pexpire", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'pexpire' command"));
  EXPECT_EQ(Run({"expireat", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'expireat' command"));
  EXPECT_EQ(Run({"pexpireat", "k", "9223372036854775807"}), Int(1));
  EXPECT_EQ(Run({"expire", "k"}), Err("ERR wrong number of arguments for 'expire' command"));
  EXPECT_EQ(Run({"ttl", "k"}), Int((INT64_MAX - kStartMs + 500) / 1000));
}

class ScanTest : public CommandsTest {
 protected:
  // Collects every key of a full SCAN iteration; counts the calls made.
  std::multiset<std::string> ScanAll(const std::vector<std::string>& options, int* calls) {
    std::multiset<std::string> keys;
    std::string cursor = "0";
    *calls = 0;
    do {
      std::vector<std::string_view> args = {"scan", cursor};
      for (const std::string& o : options) args.push_back(o);
      Reply r = Decode(RunArgs(args));
      EXPECT_EQ(r.type, '*');
      if (r.elements.size() != 2) break;
      cursor = r.elements[0].str;
      for (const Reply& k : r.elements[1].elements) keys.insert(k.str);
      ++*calls;
    } while (cursor != "0" && *calls < 10000);
    return keys;
  }
};

TEST_F(ScanTest, IteratesEverythingWithMatchAndCount) {
  std::set<std::string> all, users;
  for (int i = 0; i < 300; ++i) {
    std::string k = (i % 3 == 0 ? "user:" : "item:") + std::to_string(i);
    Run({"set", k, "v"});
    all.insert(k);
    if (i % 3 == 0) users.insert(k);
  }
  int calls = 0;
  std::multiset<std::string> got = ScanAll({"COUNT", "7"}, &calls);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), all);
  EXPECT_GT(calls, 10);
  got = ScanAll({"match", "user:*", "count", "50"}, &calls);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), users);
  got = ScanAll({"type", "string", "match", "user:1?"}, &calls);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()),
            (std::set<std::string>{"user:12", "user:15", "user:18"}));
  got = ScanAll({"type", "hash"}, &calls);
  EXPECT_TRUE(got.empty());
}

TEST_F(ScanTest, Errors) {
  EXPECT_EQ(Run({"scan", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"scan", " 5"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"scan", "18446744073709551616"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"scan", "0", "count", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"scan", "0", "count", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"scan", "0", "match"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"scan", "0", "foo", "bar"}), Err("ERR syntax error"));
  int calls = 0;
  EXPECT_TRUE(ScanAll({"count", "1000"}, &calls).empty());  // empty keyspace
  EXPECT_GE(calls, 1);
}

TEST_F(KeyCommandsTest, Keys) {
  Run({"mset", "hello", "1", "hallo", "2", "hxllo", "3", "world", "4"});
  Reply r = Decode(Run({"keys", "h[ae]llo"}));
  std::set<std::string> got;
  for (const Reply& k : r.elements) got.insert(k.str);
  EXPECT_EQ(got, (std::set<std::string>{"hello", "hallo"}));
  EXPECT_EQ(Decode(Run({"keys", "*"})).elements.size(), 4u);
  EXPECT_EQ(Run({"keys", "nomatch*"}), "*0\r\n");
}

TEST_F(MetricsTest, CountsCommandsHitsMissesErrors) {
  Run({"set", "k", "v"});
  Run({"GET", "k"});
  Run({"get", "nope"});
  Run({"mget", "k", "nope", "k"});
  Run({"incr", "k"});  // error: not an integer
  Run({"bogus"});
  EXPECT_EQ(metrics_.command_calls("get"), 2u);
  EXPECT_EQ(metrics_.command_calls("GET"), 2u);
  EXPECT_EQ(metrics_.command_calls("set"), 1u);
  EXPECT_EQ(metrics_.command_calls("unknown"), 1u);
  EXPECT_EQ(metrics_.commands_total(), 6u);
  EXPECT_EQ(metrics_.hits(), 3u);
  EXPECT_EQ(metrics_.misses(), 2u);
  EXPECT_EQ(metrics_.errors(), 2u);
  metrics_.CountCommand("ping");
  metrics_.CountCommand("nosuchthing");
  EXPECT_EQ(metrics_.command_calls("ping"), 1u);
  EXPECT_EQ(metrics_.command_calls("unknown"), 2u);
}

TEST_F(MetricsTest, RenderPrometheus) {
  Run({"set", "k", "v"});
  Run({"get", "k"});
  Run({"get", "k"});
  Run({"get", "x"});
  state_.id = "node-a";
  state_.version = "0.1.0";
  state_.connected_clients = 2;
  std::string text = metrics_.RenderPrometheus(engine_->Stats(), state_);
  for (std::string_view line :
       {"# HELP ringkv_commands_total ", "# TYPE ringkv_commands_total counter\n",
        "ringkv_commands_total{cmd=\"get\"} 3\n", "ringkv_commands_total{cmd=\"set\"} 1\n",
        "ringkv_commands_total{cmd=\"del\"} 0\n", "# TYPE ringkv_keyspace_hits_total counter\n",
        "ringkv_keyspace_hits_total 2\n", "ringkv_keyspace_misses_total 1\n",
        "# TYPE ringkv_keys gauge\n", "ringkv_keys 1\n", "ringkv_connected_clients 2\n",
        "ringkv_evicted_keys_total 0\n", "ringkv_expired_keys_total 0\n",
        "# TYPE ringkv_used_memory_bytes gauge\n",
        "ringkv_info{node_id=\"node-a\",version=\"0.1.0\",engine=\"memory\"} 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST_F(MetricsTest, RenderJson) {
  Run({"set", "k", "v"});
  Run({"get", "k"});
  state_.id = "node-\"a\"";
  std::string json = metrics_.RenderJson(engine_->Stats(), state_);
  EXPECT_NE(json.find("\"get\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"keyspace_hits_total\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"keys\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"commands_total\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"node_id\":\"node-\\\"a\\\"\""), std::string::npos) << json;
}

}  // namespace
}  // namespace ringkv::node::testing

namespace ringkv::node::testing {
namespace {

TEST(MetricsConcurrencyTest, ShardedCountersSumAcrossThreads) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 10000; ++i) {
        m.CountCommand("get");
        m.CountHit();
        m.CountError();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(m.command_calls("get"), 80000u);
  EXPECT_EQ(m.commands_total(), 80000u);
  EXPECT_EQ(m.hits(), 80000u);
  EXPECT_EQ(m.errors(), 80000u);
  EXPECT_EQ(m.misses(), 0u);
}

}  // namespace
}  // namespace ringkv::node::testing
