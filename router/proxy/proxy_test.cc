// Tests of the proxy's pure parts: command classification, local replies,
// route tables. Splitting and merging are tested in net/command.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "net/command/glob.h"
#include "net/resp/resp_parser.h"
#include "router/proxy/internal/proxy_commands.h"
#include "router/proxy/route_table.h"

namespace ringkv::router::internal {
namespace {

using Args = std::vector<std::string_view>;

TEST(LookupCommand, ClassifiesByName) {
  EXPECT_EQ(LookupCommand("GET").kind, CommandKind::kSingleKey);
  EXPECT_EQ(LookupCommand("get").kind, CommandKind::kSingleKey);
  EXPECT_EQ(LookupCommand("IncrByFloat").kind, CommandKind::kSingleKey);
  EXPECT_EQ(LookupCommand("hset").kind, CommandKind::kSingleKey);
  EXPECT_EQ(LookupCommand("MGET").kind, CommandKind::kMget);
  EXPECT_EQ(LookupCommand("mset").kind, CommandKind::kMset);
  for (const char* n : {"del", "unlink", "exists", "touch"})
    EXPECT_EQ(LookupCommand(n).kind, CommandKind::kSumKeys) << n;
  EXPECT_EQ(LookupCommand("dbsize").kind, CommandKind::kDbsize);
  EXPECT_EQ(LookupCommand("PING").local, LocalCommand::kPing);
  EXPECT_EQ(LookupCommand("config").local, LocalCommand::kConfig);
  EXPECT_EQ(LookupCommand("info").local, LocalCommand::kInfo);
}

TEST(LookupCommand, UnroutableCommandsSayWhy) {
  EXPECT_EQ(LookupCommand("KEYS").kind, CommandKind::kUnsupported);
  EXPECT_EQ(LookupCommand("keys").reason, "keys live on several nodes");
  EXPECT_EQ(LookupCommand("multi").kind, CommandKind::kUnsupported);
  EXPECT_EQ(LookupCommand("blpop").kind, CommandKind::kUnsupported);
  EXPECT_EQ(LookupCommand("nosuchcommand").reason, "unknown command");
  EXPECT_EQ(LookupCommand(std::string(100, 'x')).kind, CommandKind::kUnsupported);
  EXPECT_EQ(LookupCommand("").kind, CommandKind::kUnsupported);
}

TEST(Replies, ErrorTexts) {
  EXPECT_EQ(UnsupportedReply("KEYS", "keys live on several nodes"),
            "-ERR 'keys' is not supported by the ringkv router: keys live on several nodes\r\n");
  EXPECT_EQ(UnsupportedReply("a\r\nb", "x"),
            "-ERR 'a  b' is not supported by the ringkv router: x\r\n");
  EXPECT_EQ(ArityReply("GET"), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(BackendErrorReply("127.0.0.1:7001", "connect failed: refused"),
            "-ERR backend 127.0.0.1:7001 unavailable: connect failed: refused\r\n");
}

std::string Local(Args args, LocalState& st) {
  return LocalReply(LookupCommand(args[0]).local, args, st);
}

TEST(LocalReply, PingEchoSelectCommand) {
  LocalState st;
  EXPECT_EQ(Local({"PING"}, st), "+PONG\r\n");
  EXPECT_EQ(Local({"PING", "hi"}, st), "$2\r\nhi\r\n");
  EXPECT_EQ(Local({"PING", "a", "b"}, st), ArityReply("ping"));
  EXPECT_EQ(Local({"ECHO", "x y"}, st), "$3\r\nx y\r\n");
  EXPECT_EQ(Local({"SELECT", "0"}, st), "+OK\r\n");
  EXPECT_EQ(Local({"SELECT", "1"}, st).substr(0, 5), "-ERR ");
  EXPECT_EQ(Local({"COMMAND"}, st), "*0\r\n");
  EXPECT_EQ(Local({"COMMAND", "DOCS"}, st), "*0\r\n");
  EXPECT_EQ(Local({"COMMAND", "COUNT"}, st), ":0\r\n");
  EXPECT_FALSE(st.close_after_reply);
  EXPECT_EQ(Local({"QUIT"}, st), "+OK\r\n");
  EXPECT_TRUE(st.close_after_reply);
}

TEST(LocalReply, ConfigGetAnswersLikeAServer) {
  LocalState st;
  st.port = 7000;
  EXPECT_EQ(Local({"CONFIG", "GET", "save"}, st), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  EXPECT_EQ(Local({"CONFIG", "GET", "appendonly"}, st), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
  EXPECT_EQ(Local({"CONFIG", "GET", "nothing"}, st), "*0\r\n");
  EXPECT_EQ(Local({"CONFIG", "GET", "p*"}, st), "*2\r\n$4\r\nport\r\n$4\r\n7000\r\n");
  EXPECT_EQ(Local({"CONFIG", "SET", "save", ""}, st).substr(0, 5), "-ERR ");
}

TEST(LocalReply, Auth) {
  std::string pass = "secret";
  LocalState st;
  st.requirepass = &pass;
  st.authenticated = false;
  EXPECT_EQ(Local({"AUTH", "wrong"}, st).substr(0, 10), "-WRONGPASS");
  EXPECT_FALSE(st.authenticated);
  EXPECT_EQ(Local({"AUTH", "other", "secret"}, st).substr(0, 10), "-WRONGPASS");
  EXPECT_EQ(Local({"AUTH", "default", "secret"}, st), "+OK\r\n");
  EXPECT_TRUE(st.authenticated);
  std::string none;
  LocalState open;
  open.requirepass = &none;
  EXPECT_EQ(Local({"AUTH", "x"}, open).substr(0, 24), "-ERR AUTH <password> cal");
}

TEST(InfoReply, Sections) {
  InfoFacts f;
  f.commands = 42;
  f.connected_clients = 3;
  std::optional<ringkv::net::resp::Reply> all =
      ringkv::net::resp::DecodeReply(InfoReply(Args{"INFO"}, f));
  ASSERT_TRUE(all);
  EXPECT_NE(all->str.find("# Server\r\n"), std::string::npos);
  EXPECT_NE(all->str.find("total_commands_processed:42\r\n"), std::string::npos);
  EXPECT_NE(all->str.find("connected_clients:3\r\n"), std::string::npos);
  auto stats = ringkv::net::resp::DecodeReply(InfoReply(Args{"INFO", "stats"}, f));
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->str.find("# Server"), std::string::npos);
  EXPECT_NE(stats->str.find("# Stats"), std::string::npos);
}

TEST(GlobMatch, ConfigGetPatternsIgnoreCase) {
  auto GlobMatch = [](std::string_view p, std::string_view s) {
    return net::command::StringMatch(p, s, /*nocase=*/true);
  };
  EXPECT_TRUE(GlobMatch("*", "save"));
  EXPECT_TRUE(GlobMatch("sa?e", "save"));
  EXPECT_TRUE(GlobMatch("SAVE", "save"));
  EXPECT_TRUE(GlobMatch("*only", "appendonly"));
  EXPECT_TRUE(GlobMatch("[sp]*", "port"));
  EXPECT_FALSE(GlobMatch("a*", "save"));
  EXPECT_FALSE(GlobMatch("sav", "save"));
}

}  // namespace
}  // namespace ringkv::router::internal

namespace ringkv::router {
namespace {

cluster::ClusterMap ThreeNodes() {
  cluster::ClusterMap m;
  m.epoch = 7;
  for (const char* a : {"127.0.0.1:7003", "127.0.0.1:7001", "127.0.0.1:7002"}) {
    cluster::NodeInfo n;
    n.id = a;
    n.addr = a;
    n.kind = cluster::BackendKind::kRedis;
    m.nodes.push_back(n);
  }
  m.nodes[2].state = cluster::NodeState::kDown;
  return m;
}

TEST(MakeRouteTable, AlignsBackendsWithTheRing) {
  cluster::ClusterMap m = ThreeNodes();
  auto t = MakeRouteTable(m);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const RouteTable& rt = **t;
  EXPECT_EQ(rt.epoch, 7u);
  EXPECT_EQ(rt.in_service, 2u);
  ASSERT_EQ(rt.backends.size(), rt.ring->size());
  ASSERT_EQ(rt.backends.size(), 2u);
  for (size_t i = 0; i < rt.backends.size(); ++i) {
    EXPECT_EQ(rt.backends[i].id, rt.ring->nodes()[i].id);
    EXPECT_EQ(rt.backends[i].host, "127.0.0.1");
    EXPECT_EQ(m.nodes[rt.backends[i].map_index].addr, rt.backends[i].addr);
  }
  EXPECT_EQ(rt.backends[0].port, 7001);  // ring order is id order
  EXPECT_EQ(rt.backends[0].map_index, 1u);
  EXPECT_EQ(rt.backends[1].port, 7003);
  std::map<std::string, int> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string key = "key:" + std::to_string(i);
    const Backend* b = rt.Route(key);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->id, rt.ring->OwnerOfKey(key));
    ++seen[b->addr];
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST(MakeRouteTable, EmptyAndBadAddresses) {
  cluster::ClusterMap empty;
  auto t = MakeRouteTable(empty);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->Route("k"), nullptr);
  cluster::ClusterMap bad = ThreeNodes();
  bad.nodes[0].addr = "127.0.0.1";
  EXPECT_FALSE(MakeRouteTable(bad).ok());
  bad.nodes[0].addr = "127.0.0.1:99999";
  EXPECT_FALSE(MakeRouteTable(bad).ok());
}

}  // namespace
}  // namespace ringkv::router
