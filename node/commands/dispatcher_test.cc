// Dispatcher tests for string commands, generic errors and connection
// commands. Key, expiry, scan and metrics tests live in
// internal/key_commands_test.cc; glob and number parsing in internal/.
#include "node/commands/dispatcher.h"

#include <gtest/gtest.h>

#include <string>

#include "node/commands/internal/test_fixture.h"

namespace ringkv::node::testing {
namespace {

using StringCommandsTest = CommandsTest;
using ServerCommandsTest = CommandsTest;

TEST_F(StringCommandsTest, GetSetRoundTripIsBinarySafe) {
  std::string_view key("k\0\r\n", 4);
  std::string_view value("v\0\r\nx", 5);
  EXPECT_EQ(Run({"GET", key}), kNil);
  EXPECT_EQ(Run({"set", key, value}), kOk);
  EXPECT_EQ(Run({"get", key}), Bulk(value));
  EXPECT_EQ(Run({"SeT", "k", ""}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk(""));
}

TEST_F(StringCommandsTest, WritesCarryIncreasingHlcVersions) {
  ASSERT_EQ(Run({"set", "k", "1"}), kOk);
  uint64_t v1 = engine_->Get("k", clock_.NowMs())->version;
  ASSERT_EQ(Run({"incr", "k"}), Int(2));
  uint64_t v2 = engine_->Get("k", clock_.NowMs())->version;
  EXPECT_GT(v1, 0u);
  EXPECT_GT(v2, v1);
  EXPECT_EQ(HybridClock::PhysicalMs(v2), kStartMs);
}

TEST_F(StringCommandsTest, SetNxXxGet) {
  EXPECT_EQ(Run({"set", "k", "a", "XX"}), kNil);
  EXPECT_EQ(Run({"set", "k", "a", "nx"}), kOk);
  EXPECT_EQ(Run({"set", "k", "b", "nx"}), kNil);
  EXPECT_EQ(Run({"get", "k"}), Bulk("a"));
  EXPECT_EQ(Run({"set", "k", "b", "xx", "get"}), Bulk("a"));
  EXPECT_EQ(Run({"set", "k", "c", "nx", "get"}), Bulk("b"));  // NX+GET allowed in 7.0
  EXPECT_EQ(Run({"get", "k"}), Bulk("b"));
  EXPECT_EQ(Run({"set", "new", "x", "get"}), kNil);
  EXPECT_EQ(Run({"get", "new"}), Bulk("x"));
  EXPECT_EQ(Run({"set", "k", "d", "nx", "nx"}), kNil);  // repeating a flag is fine
  EXPECT_EQ(Run({"set", "k", "d", "get", "get"}), Bulk("b"));
}

TEST_F(StringCommandsTest, SetSyntaxErrors) {
  const std::string syntax = Err("ERR syntax error");
  EXPECT_EQ(Run({"set", "k", "v", "nx", "xx"}), syntax);
  EXPECT_EQ(Run({"set", "k", "v", "ex", "10", "px", "10"}), syntax);
  EXPECT_EQ(Run({"set", "k", "v", "ex", "10", "keepttl"}), syntax);
  EXPECT_EQ(Run({"set", "k", "v", "keepttl", "pxat", "10"}), syntax);
  EXPECT_EQ(Run({"set", "k", "v", "ex"}), syntax);
  EXPECT_EQ(Run({"set", "k", "v", "foo"}), syntax);
  EXPECT_EQ(Run({"set", "k", "v", "persist"}), syntax);
  // Syntax is checked before the expire value.
  EXPECT_EQ(Run({"set", "k", "v", "ex", "abc", "nx", "xx"}), syntax);
  EXPECT_EQ(Run({"exists", "k"}), Int(0));
}

TEST_F(StringCommandsTest, SetExpireValueErrors) {
  const std::string invalid = Err("ERR invalid expire time in 'set' command");
  EXPECT_EQ(Run({"set", "k", "v", "ex", "0"}), invalid);
  EXPECT_EQ(Run({"set", "k", "v", "px", "-5"}), invalid);
  EXPECT_EQ(Run({"set", "k", "v", "ex", "99999999999999999"}), invalid);
  EXPECT_EQ(Run({"set", "k", "v", "px", "9223372036854775807"}), invalid);  // now + ms overflows
  EXPECT_EQ(Run({"set", "k", "v", "ex", "1.5"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"set", "k", "v", "ex", "10", "ex", "20"}), kOk);  // same option twice: last wins
  EXPECT_EQ(Run({"ttl", "k"}), Int(20));
}

TEST_F(StringCommandsTest, SetExpireOptions) {
  EXPECT_EQ(Run({"set", "k", "v", "EX", "10"}), kOk);
  EXPECT_EQ(Run({"pttl", "k"}), Int(10000));
  EXPECT_EQ(Run({"set", "k", "v", "px", "1500"}), kOk);
  EXPECT_EQ(Run({"pttl", "k"}), Int(1500));
  std::string at_s = std::to_string(kStartMs / 1000 + 100);
  EXPECT_EQ(Run({"set", "k", "v", "exat", at_s}), kOk);
  EXPECT_EQ(Run({"ttl", "k"}), Int(100));
  std::string at_ms = std::to_string(kStartMs + 2500);
  EXPECT_EQ(Run({"set", "k", "v", "pxat", at_ms}), kOk);
  EXPECT_EQ(Run({"pttl", "k"}), Int(2500));
  EXPECT_EQ(Run({"set", "k", "w", "keepttl"}), kOk);
  EXPECT_EQ(Run({"pttl", "k"}), Int(2500));
  EXPECT_EQ(Run({"set", "k", "w"}), kOk);  // plain SET clears the TTL
  EXPECT_EQ(Run({"ttl", "k"}), Int(-1));
  EXPECT_EQ(Run({"set", "k", "v", "exat", "1"}), kOk);  // in the past: gone at once
  EXPECT_EQ(Run({"get", "k"}), kNil);
}

TEST_F(StringCommandsTest, SetExpiresWithTheClock) {
  EXPECT_EQ(Run({"set", "k", "v", "px", "100"}), kOk);
  clock_.Advance(99);
  EXPECT_EQ(Run({"get", "k"}), Bulk("v"));
  clock_.Advance(1);
  EXPECT_EQ(Run({"get", "k"}), kNil);
  EXPECT_EQ(Run({"set", "k", "v2", "nx"}), kOk);  // an expired key counts as absent
}

TEST_F(StringCommandsTest, SetNxSetExPSetExGetSet) {
  EXPECT_EQ(Run({"setnx", "k", "a"}), Int(1));
  EXPECT_EQ(Run({"setnx", "k", "b"}), Int(0));
  EXPECT_EQ(Run({"setex", "k", "10", "c"}), kOk);
  EXPECT_EQ(Run({"ttl", "k"}), Int(10));
  EXPECT_EQ(Run({"setex", "k", "0", "c"}), Err("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(Run({"psetex", "k", "-1", "c"}), Err("ERR invalid expire time in 'psetex' command"));
  EXPECT_EQ(Run({"psetex", "k", "x", "c"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"psetex", "k", "1234", "d"}), kOk);
  EXPECT_EQ(Run({"pttl", "k"}), Int(1234));
  EXPECT_EQ(Run({"getset", "k", "e"}), Bulk("d"));
  EXPECT_EQ(Run({"ttl", "k"}), Int(-1));
  EXPECT_EQ(Run({"getset", "other", "f"}), kNil);
  EXPECT_EQ(Run({"get", "other"}), Bulk("f"));
}

TEST_F(StringCommandsTest, GetDelAndGetEx) {
  EXPECT_EQ(Run({"getdel", "k"}), kNil);
  Run({"set", "k", "v"});
  EXPECT_EQ(Run({"getdel", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"exists", "k"}), Int(0));

  EXPECT_EQ(Run({"getex", "k"}), kNil);
  EXPECT_EQ(Run({"getex", "k", "ex", "10"}), kNil);
  Run({"set", "k", "v"});
  EXPECT_EQ(Run({"getex", "k", "EX", "10"}), Bulk("v"));
  EXPECT_EQ(Run({"ttl", "k"}), Int(10));
  EXPECT_EQ(Run({"getex", "k", "persist"}), Bulk("v"));
  EXPECT_EQ(Run({"ttl", "k"}), Int(-1));
  EXPECT_EQ(Run({"getex", "k", "pxat", std::to_string(kStartMs + 50)}), Bulk("v"));
  EXPECT_EQ(Run({"pttl", "k"}), Int(50));
  EXPECT_EQ(Run({"getex", "k", "ex", "10", "ex", "20"}), Bulk("v"));
  EXPECT_EQ(Run({"ttl", "k"}), Int(20));
  EXPECT_EQ(Run({"getex", "k", "persist", "ex", "10"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"getex", "k", "keepttl"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"getex", "k", "nx"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"getex", "k", "ex", "0"}), Err("ERR invalid expire time in 'getex' command"));
  EXPECT_EQ(Run({"getex", "k", "exat", "1"}), Bulk("v"));  // past: returns, then deletes
  EXPECT_EQ(Run({"exists", "k"}), Int(0));
}

TEST_F(StringCommandsTest, MGetMSetMSetNx) {
  EXPECT_EQ(Run({"mset", "a", "1", "b", "2"}), kOk);
  EXPECT_EQ(Run({"mget", "a", "nope", "b", "a"}), Arr({Bulk("1"), kNil, Bulk("2"), Bulk("1")}));
  EXPECT_EQ(Run({"mset", "a"}), Err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(Run({"mset", "a", "1", "b"}), Err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(Run({"msetnx", "a", "1", "c"}),
            Err("ERR wrong number of arguments for 'msetnx' command"));
  EXPECT_EQ(Run({"msetnx", "c", "3", "a", "9"}), Int(0));  // a exists: nothing is written
  EXPECT_EQ(Run({"exists", "c"}), Int(0));
  EXPECT_EQ(Run({"get", "a"}), Bulk("1"));
  EXPECT_EQ(Run({"msetnx", "c", "3", "d", "4", "c", "5"}), Int(1));  // repeated key: last wins
  EXPECT_EQ(Run({"mget", "c", "d"}), Arr({Bulk("5"), Bulk("4")}));
}

TEST_F(StringCommandsTest, IncrDecrFamily) {
  EXPECT_EQ(Run({"incr", "n"}), Int(1));
  EXPECT_EQ(Run({"incrby", "n", "41"}), Int(42));
  EXPECT_EQ(Run({"decr", "n"}), Int(41));
  EXPECT_EQ(Run({"decrby", "n", "-9"}), Int(50));
  EXPECT_EQ(Run({"decrby", "m", "5"}), Int(-5));
  EXPECT_EQ(Run({"get", "n"}), Bulk("50"));
  const std::string not_int = Err("ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"incrby", "n", "1.0"}), not_int);
  EXPECT_EQ(Run({"incrby", "n", " 1"}), not_int);
  EXPECT_EQ(Run({"incrby", "n", "+1"}), not_int);
  Run({"set", "s", "abc"});
  EXPECT_EQ(Run({"incr", "s"}), not_int);
  Run({"set", "s", "007"});
  EXPECT_EQ(Run({"incr", "s"}), not_int);
  Run({"set", "s", ""});
  EXPECT_EQ(Run({"incr", "s"}), not_int);
}

TEST_F(StringCommandsTest, IncrOverflow) {
  const std::string overflow = Err("ERR increment or decrement would overflow");
  Run({"set", "n", "9223372036854775807"});
  EXPECT_EQ(Run({"incr", "n"}), overflow);
  EXPECT_EQ(Run({"get", "n"}), Bulk("9223372036854775807"));
  Run({"set", "n", "-9223372036854775808"});
  EXPECT_EQ(Run({"decr", "n"}), overflow);
  EXPECT_EQ(Run({"incrby", "n", "-1"}), overflow);
  EXPECT_EQ(Run({"incrby", "n", "9223372036854775807"}), Int(-1));
  EXPECT_EQ(Run({"decrby", "x", "-9223372036854775808"}), Err("ERR decrement would overflow"));
  EXPECT_EQ(Run({"incrby", "x", "9223372036854775808"}),
            Err("ERR value is not an integer or out of range"));
}

TEST_F(StringCommandsTest, IncrKeepsTtl) {
  Run({"set", "n", "1", "ex", "100"});
  EXPECT_EQ(Run({"incr", "n"}), Int(2));
  EXPECT_EQ(Run({"ttl", "n"}), Int(100));
  EXPECT_EQ(Run({"incrbyfloat", "n", "0.5"}), Bulk("2.5"));
  EXPECT_EQ(Run({"ttl", "n"}), Int(100));
}

TEST_F(StringCommandsTest, IncrByFloatFormatsLikeRedis) {
  Run({"set", "f", "10.50"});
  EXPECT_EQ(Run({"incrbyfloat", "f", "0.1"}), Bulk("10.6"));
  Run({"set", "f", "3.0e3"});
  EXPECT_EQ(Run({"incrbyfloat", "f", "0"}), Bulk("3000"));
  EXPECT_EQ(Run({"incrbyfloat", "f", "5.0e3"}), Bulk("8000"));
  Run({"set", "f", "1"});
  EXPECT_EQ(Run({"incrbyfloat", "f", "1.1"}), Bulk("2.1"));
  EXPECT_EQ(Run({"incrbyfloat", "f", "0x10"}), Bulk("18.1"));
  EXPECT_EQ(Run({"incrbyfloat", "z", "1.23456789012345678901"}), Bulk("1.23456789012345679"));
  EXPECT_EQ(Run({"incrbyfloat", "z", "-1.23456789012345678901"}), Bulk("0"));
  EXPECT_EQ(Run({"incrbyfloat", "neg", "-2.5"}), Bulk("-2.5"));
  EXPECT_EQ(Run({"incrbyfloat", "neg", "2.5"}), Bulk("0"));
}

TEST_F(StringCommandsTest, IncrByFloatErrors) {
  const std::string not_float = Err("ERR value is not a valid float");
  EXPECT_EQ(Run({"incrbyfloat", "f", "abc"}), not_float);
  EXPECT_EQ(Run({"incrbyfloat", "f", " 1"}), not_float);
  EXPECT_EQ(Run({"incrbyfloat", "f", "nan"}), not_float);
  EXPECT_EQ(Run({"incrbyfloat", "f", ""}), not_float);
  Run({"set", "s", "1x"});
  EXPECT_EQ(Run({"incrbyfloat", "s", "1"}), not_float);
  EXPECT_EQ(Run({"incrbyfloat", "f", "inf"}), Err("ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(Run({"exists", "f"}), Int(0));
}

TEST_F(StringCommandsTest, AppendAndStrlen) {
  EXPECT_EQ(Run({"strlen", "k"}), Int(0));
  EXPECT_EQ(Run({"append", "k", "ab"}), Int(2));
  EXPECT_EQ(Run({"append", "k", std::string_view("\0c", 2)}), Int(4));
  EXPECT_EQ(Run({"get", "k"}), Bulk(std::string_view("ab\0c", 4)));
  EXPECT_EQ(Run({"strlen", "k"}), Int(4));
}

TEST_F(StringCommandsTest, GetRange) {
  EXPECT_EQ(Run({"getrange", "k", "0", "-1"}), Bulk(""));
  Run({"set", "k", "hello"});
  EXPECT_EQ(Run({"getrange", "k", "0", "-1"}), Bulk("hello"));
  EXPECT_EQ(Run({"getrange", "k", "-3", "-1"}), Bulk("llo"));
  EXPECT_EQ(Run({"getrange", "k", "1", "2"}), Bulk("el"));
  EXPECT_EQ(Run({"getrange", "k", "0", "100"}), Bulk("hello"));
  EXPECT_EQ(Run({"getrange", "k", "-100", "1"}), Bulk("he"));
  EXPECT_EQ(Run({"getrange", "k", "5", "3"}), Bulk(""));
  EXPECT_EQ(Run({"getrange", "k", "-1", "-5"}), Bulk(""));
  EXPECT_EQ(Run({"getrange", "k", "10", "20"}), Bulk(""));
  EXPECT_EQ(Run({"getrange", "k", "a", "1"}), Err("ERR value is not an integer or out of range"));
}

TEST_F(StringCommandsTest, SetRange) {
  EXPECT_EQ(Run({"setrange", "k", "-1", "x"}), Err("ERR offset is out of range"));
  EXPECT_EQ(Run({"setrange", "k", "abc", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"setrange", "k", "536870912", "x"}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(Run({"setrange", "k", "536870911", ""}), Int(0));  // empty value: no key made
  EXPECT_EQ(Run({"exists", "k"}), Int(0));
  EXPECT_EQ(Run({"setrange", "k", "3", "ab"}), Int(5));
  EXPECT_EQ(Run({"get", "k"}), Bulk(std::string_view("\0\0\0ab", 5)));
  EXPECT_EQ(Run({"setrange", "k", "1", "XY"}), Int(5));
  EXPECT_EQ(Run({"get", "k"}), Bulk(std::string_view("\0XYab", 5)));
  EXPECT_EQ(Run({"setrange", "k", "100", ""}), Int(5));
  Run({"set", "h", "Hello World", "ex", "50"});
  EXPECT_EQ(Run({"setrange", "h", "6", "Redis"}), Int(11));
  EXPECT_EQ(Run({"get", "h"}), Bulk("Hello Redis"));
  EXPECT_EQ(Run({"ttl", "h"}), Int(50));
}

TEST_F(ServerCommandsTest, UnknownCommandText) {
  EXPECT_EQ(Run({"foo", "a", "b"}),
            Err("ERR unknown command 'foo', with args beginning with: 'a' 'b' "));
  EXPECT_EQ(Run({"FOO"}), Err("ERR unknown command 'FOO', with args beginning with: "));
  EXPECT_EQ(Run({"foo", "a\r\nb"}),
            Err("ERR unknown command 'foo', with args beginning with: 'a  b' "));
  std::string long_arg(200, 'x');
  std::string reply = Run({"averyveryverylongcommandname", long_arg, "next"});
  EXPECT_EQ(reply, Err("ERR unknown command 'averyveryverylongcommandname', with args "
                       "beginning with: '" +
                       std::string(128, 'x') + "' "));
  EXPECT_EQ(metrics_.command_calls("unknown"), 4u);
}

TEST_F(ServerCommandsTest, WrongArityText) {
  EXPECT_EQ(Run({"GET"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(Run({"get", "a", "b"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(Run({"set", "a"}), Err("ERR wrong number of arguments for 'set' command"));
  EXPECT_EQ(Run({"ping", "a", "b"}), Err("ERR wrong number of arguments for 'ping' command"));
  EXPECT_EQ(Run({"config", "get"}), Err("ERR wrong number of arguments for 'config|get' command"));
  EXPECT_EQ(Run({"echo"}), Err("ERR wrong number of arguments for 'echo' command"));
  EXPECT_EQ(Run({"client"}), Err("ERR wrong number of arguments for 'client' command"));
  EXPECT_EQ(metrics_.errors(), 7u);
}

TEST_F(ServerCommandsTest, PingEchoQuitSelect) {
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run({"ping", "hi there"}), Bulk("hi there"));
  EXPECT_EQ(Run({"echo", "x"}), Bulk("x"));
  EXPECT_EQ(Run({"select", "0"}), kOk);
  EXPECT_EQ(Run({"select", "1"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"select", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_FALSE(session_.close_after_reply);
  EXPECT_EQ(Run({"quit"}), kOk);
  EXPECT_TRUE(session_.close_after_reply);
}

TEST_F(ServerCommandsTest, AuthWithoutPasswordConfigured) {
  EXPECT_EQ(Run({"auth", "x"}),
            Err("ERR AUTH <password> called without any password configured for the default "
                "user. Are you sure your configuration is correct?"));
  EXPECT_EQ(Run({"auth", "default", "anything"}), kOk);
  EXPECT_EQ(Run({"auth", "bob", "x"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(Run({"auth", "a", "b", "c"}), Err("ERR syntax error"));
}

TEST_F(ServerCommandsTest, AuthFlow) {
  Reset("s3cret");
  const std::string noauth = Err("NOAUTH Authentication required.");
  EXPECT_EQ(Run({"get", "k"}), noauth);
  EXPECT_EQ(Run({"set", "k", "v"}), noauth);
  EXPECT_EQ(Run({"nosuch"}), Err("ERR unknown command 'nosuch', with args beginning with: "));
  EXPECT_EQ(Run({"get"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(Run({"ping"}), "+PONG\r\n");
  EXPECT_EQ(Run({"auth", "wrong"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(Run({"auth", "other", "s3cret"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_FALSE(session_.authenticated);
  EXPECT_EQ(Run({"auth", "s3cret"}), kOk);
  EXPECT_TRUE(session_.authenticated);
  EXPECT_EQ(Run({"set", "k", "v"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("v"));
}

TEST_F(ServerCommandsTest, AuthWithUserName) {
  Reset("pw");
  EXPECT_EQ(Run({"auth", "default", "pw"}), kOk);
  EXPECT_EQ(Run({"dbsize"}), Int(0));
}

TEST_F(ServerCommandsTest, Hello) {
  std::string map =
      Arr({Bulk("server"), Bulk("redis"), Bulk("version"), Bulk("7.0.0"), Bulk("proto"), Int(2),
           Bulk("id"), Int(7), Bulk("mode"), Bulk("standalone"), Bulk("role"), Bulk("master"),
           Bulk("modules"), "*0\r\n"});
  EXPECT_EQ(Run({"hello"}), map);
  EXPECT_EQ(Run({"hello", "2"}), map);
  EXPECT_EQ(Run({"hello", "3"}), Err("NOPROTO sorry, this protocol version is not supported."));
  EXPECT_EQ(Run({"hello", "1"}), Err("NOPROTO unsupported protocol version"));
  EXPECT_EQ(Run({"hello", "x"}), Err("ERR Protocol version is not an integer or out of range"));
  EXPECT_EQ(Run({"hello", "2", "setname"}), Err("ERR Syntax error in HELLO option 'setname'"));
  EXPECT_EQ(Run({"hello", "2", "auth", "a"}), Err("ERR Syntax error in HELLO option 'auth'"));
  EXPECT_EQ(Run({"hello", "2", "setname", "app1"}), map);
  EXPECT_EQ(session_.name, "app1");
}

TEST_F(ServerCommandsTest, HelloAuthenticates) {
  Reset("pw");
  EXPECT_EQ(Decode(Run({"hello", "2"})).str.substr(0, 6), "NOAUTH");
  EXPECT_EQ(Run({"hello", "2", "auth", "default", "bad"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  Reply r = Decode(Run({"hello", "2", "AUTH", "default", "pw"}));
  ASSERT_EQ(r.type, '*');
  EXPECT_EQ(r.elements.size(), 14u);
  EXPECT_TRUE(session_.authenticated);
}

TEST_F(ServerCommandsTest, Client) {
  EXPECT_EQ(Run({"client", "getname"}), kNil);
  EXPECT_EQ(Run({"client", "setname", "worker-1"}), kOk);
  EXPECT_EQ(Run({"client", "getname"}), Bulk("worker-1"));
  EXPECT_EQ(Run({"client", "setname", "a b"}),
            Err("ERR Client names cannot contain spaces, newlines or special characters."));
  EXPECT_EQ(Run({"client", "id"}), Int(7));
  EXPECT_EQ(Run({"client", "setinfo", "lib-name", "redis-py"}), kOk);
  EXPECT_EQ(Run({"client", "foo"}), Err("ERR unknown subcommand 'foo'. Try CLIENT HELP."));
  EXPECT_EQ(Run({"client", "setname"}),
            Err("ERR wrong number of arguments for 'client|setname' command"));
}

TEST_F(ServerCommandsTest, Command) {
  Reply all = Decode(Run({"command"}));
  ASSERT_EQ(all.type, '*');
  Reply count = Decode(Run({"command", "count"}));
  EXPECT_EQ(static_cast<size_t>(count.integer), all.elements.size());
  EXPECT_GT(count.integer, 40);
  EXPECT_EQ(Run({"command", "docs"}), "*0\r\n");
  Reply info = Decode(Run({"command", "info", "GET", "nosuch"}));
  ASSERT_EQ(info.elements.size(), 2u);
  EXPECT_EQ(info.elements[0].elements[0].str, "get");
  EXPECT_EQ(info.elements[0].elements[1].integer, 2);
  EXPECT_TRUE(info.elements[1].null);
  EXPECT_EQ(Run({"command", "bogus"}), Err("ERR unknown subcommand 'bogus'. Try COMMAND HELP."));
}

TEST_F(ServerCommandsTest, ConfigGet) {
  EXPECT_EQ(Run({"config", "get", "maxmemory"}), Arr({Bulk("maxmemory"), Bulk("0")}));
  EXPECT_EQ(Run({"config", "get", "save"}), Arr({Bulk("save"), Bulk("")}));
  EXPECT_EQ(Run({"config", "get", "APPENDONLY"}), Arr({Bulk("appendonly"), Bulk("no")}));
  EXPECT_EQ(Run({"config", "get", "databases"}), Arr({Bulk("databases"), Bulk("1")}));
  EXPECT_EQ(Run({"config", "get", "max*"}),
            Arr({Bulk("maxmemory"), Bulk("0"), Bulk("maxmemory-policy"), Bulk("allkeys-lru"),
                 Bulk("maxclients"), Bulk("10000"), Bulk("maxmemory-clients"),
                 Bulk("2147483648")}));
  EXPECT_EQ(Run({"config", "get", "client-output-buffer-limit"}),
            Arr({Bulk("client-output-buffer-limit"), Bulk("normal 1073741824 8388608 60")}));
  EXPECT_EQ(Run({"config", "get", "save", "sa*"}), Arr({Bulk("save"), Bulk("")}));
  EXPECT_EQ(Run({"config", "get", "nosuch"}), "*0\r\n");
  Reply all = Decode(Run({"config", "get", "*"}));
  EXPECT_GE(all.elements.size(), 16u);
  EXPECT_EQ(all.elements.size() % 2, 0u);
  EXPECT_EQ(Decode(Run({"config", "set", "maxmemory", "1"})).type, '-');
  EXPECT_EQ(Run({"config", "foo"}), Err("ERR unknown subcommand 'foo'. Try CONFIG HELP."));
}

TEST_F(ServerCommandsTest, ConfigNeverRevealsPassword) {
  Reset("topsecret");
  Run({"auth", "topsecret"});
  std::string reply = Run({"config", "get", "requirepass"});
  EXPECT_EQ(reply.find("topsecret"), std::string::npos);
  EXPECT_EQ(Decode(reply).elements.size(), 2u);
}

TEST_F(ServerCommandsTest, Info) {
  state_.resp_port = 6390;
  state_.version = "0.1.0";
  state_.start_ms = kStartMs - 5000;
  state_.connected_clients = 3;
  Run({"set", "a", "1", "ex", "100"});
  Run({"set", "b", "2"});
  Run({"get", "a"});
  Run({"get", "zz"});
  Reply r = Decode(Run({"info"}));
  ASSERT_EQ(r.type, '$');
  for (std::string_view line : {"# Server\r\n",
                                "redis_version:7.0.0-compatible\r\n",
                                "ringkv_version:0.1.0\r\n",
                                "tcp_port:6390\r\n",
                                "uptime_in_seconds:5\r\n",
                                "connected_clients:3\r\n",
                                "maxclients:10000\r\n",
                                "maxmemory_policy:allkeys-lru\r\n",
                                "keyspace_hits:1\r\n",
                                "keyspace_misses:1\r\n",
                                "total_commands_processed:4\r\n",
                                "db0:keys=2,expires=1,avg_ttl=0\r\n",
                                "used_memory:",
                                "used_memory_human:",
                                "process_id:",
                                "run_id:",
                                "evicted_keys:0\r\n",
                                "expired_keys:0\r\n",
                                "rejected_connections:0\r\n",
                                "total_connections_received:0\r\n"}) {
    EXPECT_NE(r.str.find(line), std::string::npos) << line;
  }
  Reply mem = Decode(Run({"info", "MEMORY"}));
  EXPECT_EQ(mem.str.rfind("# Memory\r\n", 0), 0u);
  EXPECT_EQ(mem.str.find("# Server"), std::string::npos);
  Reply two = Decode(Run({"info", "server", "keyspace"}));
  EXPECT_NE(two.str.find("# Keyspace"), std::string::npos);
  EXPECT_EQ(two.str.find("# Stats"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::node::testing
