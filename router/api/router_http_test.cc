// HandleRouterHttp driven with request values, no HTTP server: the cluster
// API (get-node, add-node, remove-node, nodes), /config, the admin token,
// /metrics and /check-alive, over a MapOwner on a temporary directory, with
// changes applied at once or through a Migrator whose arc mover is a fake.
#include "router/api/router_http.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/map_store.h"
#include "cluster/membership.h"
#include "ring/ring.h"
#include "router/rebalance/migrator.h"

namespace ringkv::router {
namespace {

using cluster::ClusterMap;
using cluster::NodeInfo;
using cluster::NodeState;
using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;

NodeInfo Node(const std::string& id, int port) {
  NodeInfo n;
  n.id = id;
  n.addr = "127.0.0.1:" + std::to_string(port);
  n.http_addr = "127.0.0.1:" + std::to_string(port + 100);
  n.grpc_addr = "127.0.0.1:" + std::to_string(port + 200);
  return n;
}

HttpRequest Request(std::string method, std::string path, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.target = path;
  r.path = std::move(path);
  r.body = std::move(body);
  return r;
}

json BodyOf(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.body;
  return j;
}

// Copies block until released (so a migration stays running); every other
// step succeeds at once.
class BlockingMover final : public ArcMover {
 public:
  StatusOr<uint64_t> Begin(const cluster::Migration&, const std::string&) override {
    return uint64_t{0};
  }
  StatusOr<bool> HasPart(const cluster::Migration&, const std::string&) override { return true; }
  Status Move(const cluster::Migration&, const std::string&, MoveLimits,
              const std::function<void(const MoveCounts&)>&,
              const std::atomic<bool>& stop) override {
    while (block.load() && !stop.load()) std::this_thread::yield();
    return stop.load() ? Status(StatusCode::kCancelled, "stopped") : OkStatus();
  }
  Status End(const cluster::Migration&, const std::string&, bool, uint32_t) override {
    return OkStatus();
  }
  Status PushMap(const NodeInfo&, const std::string&) override { return OkStatus(); }

  std::atomic<bool> block{true};
};

class RouterHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "router_http_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ClusterMap m;
    m.epoch = 4;
    m.vnodes = 16;
    m.nodes = {Node("n0", 7000), Node("n1", 7001), Node("n2", 7002)};
    auto owner = MapOwner::Open(cluster::NewFileMapStore(dir_), m);
    ASSERT_TRUE(owner.ok()) << owner.status().ToString();
    owner_ = std::move(*owner);
    ctx_ = std::make_unique<RouterHttpContext>(RouterHttpContext{
        .map_owner = *owner_, .settings = settings_, .kv = kv_, .proxy_stats = stats_});
    ctx_->discovery_timeout_ms = 500;
    ctx_->http_port = 8088;
    ctx_->resp_port = 6388;
    ctx_->apply_log_level = [this](const std::string& level) { applied_levels_.push_back(level); };
  }
  void TearDown() override {
    if (migrator_) {
      mover_.block = false;
      migrator_->Stop();
      migrator_.reset();
    }
    std::filesystem::remove_all(dir_);
  }

  void UseMigrator() {
    MigratorOptions o;
    o.data_dir = dir_;
    o.grace_ms = 1;
    o.retry_min_ms = 1;
    o.retry_max_ms = 5;
    migrator_ = std::make_unique<Migrator>(o, *owner_, mover_, nullptr);
    ASSERT_TRUE(migrator_->Open().ok());
    ctx_->migrator = migrator_.get();
  }

  HttpResponse Call(const HttpRequest& r) { return HandleRouterHttp(r, *ctx_); }
  HttpResponse Call(std::string method, std::string path, std::string body = "") {
    return Call(Request(std::move(method), std::move(path), std::move(body)));
  }

  std::string dir_;
  std::unique_ptr<MapOwner> owner_;
  LiveSettings settings_;
  KvGateway kv_{net::RespCredentials{}, 500};
  ProxyStats stats_;
  BlockingMover mover_;
  std::unique_ptr<Migrator> migrator_;
  std::vector<std::string> applied_levels_;
  std::unique_ptr<RouterHttpContext> ctx_;
};

TEST_F(RouterHttpTest, GetNodeAnswersTheRingOwner) {
  auto ring = cluster::BuildRing(owner_->Map());
  ASSERT_TRUE(ring.ok());
  for (std::string key : {"a", "user:42", "zzz"}) {
    HttpResponse r = Call("POST", "/get-node", json({{"value", key}}).dump());
    ASSERT_EQ(r.status, 200) << r.body;
    json j = BodyOf(r);
    ClusterMap m = owner_->Map();
    const NodeInfo& owner = m.nodes[*m.Find((*ring)->OwnerOfKey(key))];
    EXPECT_EQ(j["node"], owner.addr) << key;
    EXPECT_EQ(j["index"], *m.Find(owner.id));
    EXPECT_EQ(j["count"], 3);
    EXPECT_EQ(j["hash"], std::to_string((*ring)->KeyPosition(key)));
  }
}

TEST_F(RouterHttpTest, GetNodeRejectsBadBodies) {
  for (std::string body : {"{not json", "[1,2]", "{}", R"({"value": 7})"}) {
    HttpResponse r = Call("POST", "/get-node", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_TRUE(BodyOf(r).contains("error")) << r.body;
  }
  EXPECT_EQ(Call("GET", "/get-node").status, 405);
}

TEST_F(RouterHttpTest, GetNodeWithNoNodeInServiceIs503) {
  ASSERT_TRUE(owner_
                  ->Apply([](const ClusterMap& m) -> StatusOr<ClusterMap> {
                    ClusterMap next = m;
                    for (auto& n : next.nodes) n.state = NodeState::kDown;
                    next.epoch++;
                    return next;
                  })
                  .ok());
  EXPECT_EQ(Call("POST", "/get-node", R"({"value": "k"})").status, 503);
}

TEST_F(RouterHttpTest, AddNodeRejectsBadRequestsAndChangesNothing) {
  for (std::string body :
       {R"({"value": "nohost"})", R"({"value": "127.0.0.1:0"})", R"({"addr": ":80"})",
        R"({"addr": "127.0.0.1:7100", "kind": "memcached"})",
        R"({"addr": "127.0.0.1:7100", "weight": 0})", R"({"addr": "127.0.0.1:7100", "id": ""})",
        R"({"other": 1})", "not json"}) {
    HttpResponse r = Call("POST", "/add-node", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_EQ(owner_->Map().epoch, 4u);
  EXPECT_EQ(owner_->Map().nodes.size(), 3u);
}

TEST_F(RouterHttpTest, AddNodeThatDoesNotAnswerIs400) {
  // A bound socket that does not listen: connecting to it is refused at once.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string addr = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  HttpResponse r = Call("POST", "/add-node", json({{"addr", addr}, {"kind", "redis"}}).dump());
  ::close(fd);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(BodyOf(r)["error"].get<std::string>().find("cannot add " + addr), std::string::npos)
      << r.body;
  EXPECT_EQ(owner_->Map().nodes.size(), 3u);
}

TEST_F(RouterHttpTest, RemoveNode) {
  HttpResponse unknown = Call("POST", "/remove-node/127.0.0.1:9999");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(owner_->Map().epoch, 4u);
  EXPECT_EQ(Call("POST", "/remove-node/").status, 400);

  // Without a migrator the change applies at once; the answer lists the arcs
  // that change owner, all from the removed node.
  HttpResponse r = Call("POST", "/remove-node/127.0.0.1:7001");
  ASSERT_EQ(r.status, 200) << r.body;
  json transfers = BodyOf(r);
  ASSERT_TRUE(transfers.is_array());
  ASSERT_FALSE(transfers.empty());
  for (const json& t : transfers) {
    EXPECT_EQ(t["source"], "127.0.0.1:7001") << t;
    EXPECT_NE(t["destination"], "127.0.0.1:7001") << t;
  }
  ClusterMap m = owner_->Map();
  EXPECT_GT(m.epoch, 4u);
  EXPECT_FALSE(m.Find("n1"));
  EXPECT_EQ(owner_->Current()->in_service, 2u);
}

TEST_F(RouterHttpTest, NodesListsTheMapWithShares) {
  HttpResponse r = Call("GET", "/nodes");
  ASSERT_EQ(r.status, 200);
  json j = BodyOf(r);
  EXPECT_EQ(j["epoch"], 4);
  ASSERT_EQ(j["nodes"].size(), 3u);
  double total = 0;
  for (const json& n : j["nodes"]) total += n["share"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_EQ(j["nodes"][1]["grpc_addr"], "127.0.0.1:7201");
}

TEST_F(RouterHttpTest, GetConfigShowsTheMapAndTheLiveSettings) {
  settings_.set_health({.interval_ms = 250, .timeout_ms = 100, .failures = 4, .successes = 1});
  settings_.set_log_level("warn");
  HttpResponse r = Call("GET", "/config");
  ASSERT_EQ(r.status, 200);
  json j = BodyOf(r);
  EXPECT_EQ(j["vnodes"], 16);
  EXPECT_EQ(j["hash"], "xxh3");
  EXPECT_EQ(j["health"], json({{"interval_ms", 250},
                               {"timeout_ms", 100},
                               {"failures", 4},
                               {"successes", 1},
                               {"replace_after_s", 0}}));
  EXPECT_EQ(j["log_level"], "warn");
}

TEST_F(RouterHttpTest, PutConfigValidatesEverythingBeforeApplyingAnything) {
  for (std::string body :
       {"{", "[]", R"({"vnodes": 0})", R"({"vnodes": 5000})", R"({"vnodes": "16"})",
        R"({"health": 3})", R"({"health": {"interval_ms": 5}})", R"({"health": {"failures": 0}})",
        R"({"health": {"replace_after_s": -1}})", R"({"vnodes": 32, "log_level": "loud"})",
        R"({"health": {"failures": 9}, "log_level": 1})"}) {
    HttpResponse r = Call("PUT", "/config", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_EQ(owner_->Map().vnodes, 16u);
  EXPECT_EQ(owner_->Map().epoch, 4u);
  EXPECT_EQ(settings_.health().failures, 3u);
  EXPECT_EQ(settings_.log_level(), "info");
  EXPECT_TRUE(applied_levels_.empty());
}

TEST_F(RouterHttpTest, PutConfigAppliesValidSettings) {
  HttpResponse r = Call(
      "PUT", "/config",
      R"({"vnodes": 32, "health": {"failures": 5, "replace_after_s": 30}, "log_level": "debug"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = BodyOf(r);
  EXPECT_EQ(j["vnodes"], 32);
  EXPECT_EQ(j["health"]["failures"], 5);
  EXPECT_EQ(j["health"]["replace_after_s"], 30);
  EXPECT_EQ(j["health"]["interval_ms"], 1000);  // untouched fields keep their value
  EXPECT_EQ(owner_->Map().vnodes, 32u);
  EXPECT_EQ(owner_->Current()->ring->options().vnodes_per_weight, 32u);
  EXPECT_EQ(settings_.health().failures, 5u);
  EXPECT_EQ(settings_.log_level(), "debug");
  EXPECT_EQ(applied_levels_, (std::vector<std::string>{"debug"}));
}

TEST_F(RouterHttpTest, GetNodeAddsTheReplicas) {
  // Replication 1: the owner alone.
  json one = BodyOf(Call("POST", "/get-node", R"({"value": "user:1"})"));
  EXPECT_EQ(one["replicas"], json::array({one["node"]}));
  ASSERT_TRUE(
      owner_->Apply([](const ClusterMap& m) { return cluster::SetReplication(m, 2); }).ok());
  RouteTablePtr t = owner_->Current();
  for (std::string key : {"a", "user:42", "zzz"}) {
    json j = BodyOf(Call("POST", "/get-node", json({{"value", key}}).dump()));
    std::vector<uint32_t> r = t->Replicas(key);
    ASSERT_EQ(j["replicas"].size(), 2u) << key;
    EXPECT_EQ(j["replicas"][0], j["node"]);
    EXPECT_EQ(j["replicas"][0], t->backends[r[0]].addr);
    EXPECT_EQ(j["replicas"][1], t->backends[r[1]].addr);
    EXPECT_EQ(j.size(), 5u);  // node, hash, index, count, replicas
  }
}

TEST_F(RouterHttpTest, PutConfigPublishesConsistencySettingsAtANewEpoch) {
  HttpResponse r = Call("PUT", "/config",
                        R"({"write_consistency": "all", "read_consistency": "one",
                            "tombstone_ttl_s": 7200, "hint_ttl_s": 600})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = BodyOf(r);
  EXPECT_EQ(j["write_consistency"], "all");
  EXPECT_EQ(j["read_consistency"], "one");
  EXPECT_EQ(j["epoch"], 5);
  ClusterMap m = owner_->Map();
  EXPECT_EQ(m.epoch, 5u);
  EXPECT_EQ(m.write_consistency, cluster::Consistency::kAll);
  EXPECT_EQ(m.read_consistency, cluster::Consistency::kOne);
  EXPECT_EQ(m.tombstone_ttl_s, 7200u);
  EXPECT_EQ(m.hint_ttl_s, 600u);
  EXPECT_EQ(m.vnodes, 16u);  // nothing else changed, no key moved
  // The same settings again: no new epoch.
  ASSERT_EQ(Call("PUT", "/config", R"({"read_consistency": "one"})").status, 200);
  EXPECT_EQ(owner_->Map().epoch, 5u);
  json nodes = BodyOf(Call("GET", "/nodes"));
  EXPECT_EQ(nodes["write_consistency"], "all");
  EXPECT_EQ(nodes["hint_ttl_s"], 600);
}

TEST_F(RouterHttpTest, PutConfigRefusesBadReplicationAndConsistency) {
  for (std::string body :
       {R"({"write_consistency": "most"})", R"({"read_consistency": 1})",
        R"({"tombstone_ttl_s": 100, "hint_ttl_s": 100})", R"({"hint_ttl_s": 0})",
        R"({"tombstone_ttl_s": "1d"})", R"({"vnodes": 32, "read_consistency": "few"})",
        R"({"replication": 0})", R"({"replication": 6})", R"({"replication": "2"})"}) {
    HttpResponse r = Call("PUT", "/config", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  // A new replication and a new vnode count are each a migration.
  HttpResponse r =
      Call("PUT", "/config", R"({"replication": 3, "vnodes": 32, "read_consistency": "one"})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("change one of them per request"), std::string::npos) << r.body;
  EXPECT_EQ(owner_->Map().epoch, 4u);
  EXPECT_EQ(owner_->Map().read_consistency, cluster::Consistency::kQuorum);
  EXPECT_EQ(Call("PUT", "/config", R"({"replication": 1})").status, 200);  // unchanged
  EXPECT_EQ(owner_->Map().epoch, 4u);
}

TEST_F(RouterHttpTest, DataAndJobsNeedThePasswordWhenSet) {
  ctx_->admin_token = "admin";
  ctx_->requirepass = "pw";
  for (const char* path : {"/kv/k", "/getQueueLen", "/jobs/abc"}) {
    HttpRequest r = Request("GET", path);
    EXPECT_EQ(Call(r).status, 401) << path;
    r.headers["authorization"] = "Bearer wrong";
    EXPECT_EQ(Call(r).status, 401) << path;
    r.headers["authorization"] = "Bearer pw";
    EXPECT_NE(Call(r).status, 401) << path;
    r.headers["authorization"] = "Bearer admin";  // the admin token also serves
    EXPECT_NE(Call(r).status, 401) << path;
  }
  EXPECT_EQ(Call("GET", "/nodes").status, 200);  // the map needs neither
  ctx_->requirepass.clear();                     // no password: open, as before
  EXPECT_NE(Call("GET", "/kv/k").status, 401);
}

TEST_F(RouterHttpTest, MutatingEndpointsNeedTheAdminToken) {
  ctx_->admin_token = "s3cret";
  struct Case {
    const char* method;
    const char* path;
    const char* body;
  };
  const Case mutating[] = {{"POST", "/add-node", R"({"value": "nohost"})"},
                           {"POST", "/remove-node/127.0.0.1:7001", ""},
                           {"PUT", "/config", R"({"vnodes": 32})"},
                           {"PUT", "/nodes/n1", R"({"weight": 2})"},
                           {"POST", "/migrations/pause", ""}};
  for (const Case& c : mutating) {
    HttpRequest r = Request(c.method, c.path, c.body);
    EXPECT_EQ(Call(r).status, 401) << c.method << " " << c.path;
    r.headers["authorization"] = "Bearer wrong!";
    EXPECT_EQ(Call(r).status, 401) << c.method << " " << c.path;
    r.headers["authorization"] = "s3cret";
    EXPECT_EQ(Call(r).status, 401) << c.method << " " << c.path;
  }
  EXPECT_EQ(owner_->Map().epoch, 4u);
  EXPECT_EQ(owner_->Map().vnodes, 16u);

  // With the token the request goes through to its handler.
  HttpRequest add = Request("POST", "/add-node", R"({"value": "nohost"})");
  add.headers["authorization"] = "Bearer s3cret";
  EXPECT_EQ(Call(add).status, 400);
  HttpRequest put = Request("PUT", "/config", R"({"vnodes": 32})");
  put.headers["authorization"] = "Bearer s3cret";
  EXPECT_EQ(Call(put).status, 200);
  EXPECT_EQ(owner_->Map().vnodes, 32u);

  // Reads need no token.
  EXPECT_EQ(Call("GET", "/config").status, 200);
  EXPECT_EQ(Call("GET", "/nodes").status, 200);
  EXPECT_EQ(Call("POST", "/get-node", R"({"value": "k"})").status, 200);
}

TEST_F(RouterHttpTest, MetricsRenderTheMapAndTheProxyCounters) {
  stats_.commands = 1234;
  stats_.errors = 5;
  stats_.connected_clients = 7;
  ASSERT_TRUE(
      owner_
          ->Apply([](const ClusterMap& m) { return cluster::SetState(m, "n2", NodeState::kDown); })
          .ok());
  HttpResponse r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u) << r.content_type;
  for (const char* line :
       {"# TYPE ringkv_router_epoch gauge\nringkv_router_epoch 5\n", "ringkv_router_vnodes 16\n",
        "ringkv_router_nodes{state=\"active\"} 2\n", "ringkv_router_nodes{state=\"down\"} 1\n",
        "ringkv_router_nodes{state=\"joining\"} 0\n", "ringkv_router_commands_total 1234\n",
        "ringkv_router_errors_total 5\n", "ringkv_router_connected_clients 7\n"}) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line << "\nin:\n" << r.body;
  }
}

TEST_F(RouterHttpTest, CheckAliveUnknownPathsAndMethods) {
  HttpResponse alive = Call("GET", "/check-alive");
  ASSERT_EQ(alive.status, 200);
  json j = BodyOf(alive);
  EXPECT_EQ(j["role"], "router");
  EXPECT_EQ(j["in_service"], 3);
  EXPECT_EQ(j["ports"], json({{"http", 8088}, {"resp", 6388}}));
  EXPECT_EQ(Call("GET", "/no-such-thing").status, 404);
  EXPECT_EQ(Call("DELETE", "/config").status, 405);
  EXPECT_EQ(Call("POST", "/metrics").status, 405);
  EXPECT_EQ(Call("GET", "/remove-node/x").status, 405);
  // Without a migrator or a jobs API, their routes say so.
  EXPECT_EQ(Call("GET", "/migrations").status, 503);
}

TEST_F(RouterHttpTest, ChangesGoThroughTheMigratorOneAtATime) {
  UseMigrator();
  HttpResponse weight = Call("PUT", "/nodes/n1", R"({"weight": 3})");
  ASSERT_EQ(weight.status, 200) << weight.body;
  json j = BodyOf(weight);
  EXPECT_EQ(j["status"], "processing");
  EXPECT_TRUE(j["migration"].is_object()) << j;
  EXPECT_EQ(j["node"]["weight"], 3);
  EXPECT_EQ(j["epoch"], 5);

  HttpResponse status = Call("GET", "/migrations");
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(BodyOf(status)["current"]["kind"], "weight") << status.body;

  // A second ring change while the first moves keys: 409, and a PUT /config
  // that carries it changes no other setting either.
  EXPECT_EQ(Call("POST", "/remove-node/n2").status, 409);
  HttpResponse config = Call("PUT", "/config", R"({"vnodes": 64, "log_level": "error"})");
  EXPECT_EQ(config.status, 409) << config.body;
  EXPECT_EQ(settings_.log_level(), "info");
  EXPECT_EQ(owner_->Map().vnodes, 16u);

  mover_.block = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (migrator_->Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_FALSE(migrator_->Running());
  ClusterMap m = owner_->Map();
  EXPECT_EQ(m.nodes[*m.Find("n1")].weight, 3u);
  EXPECT_EQ(Call("PUT", "/nodes/nope", R"({"weight": 2})").status, 404);
  EXPECT_EQ(Call("PUT", "/nodes/n1", R"({"weight": 0})").status, 400);
}

}  // namespace
}  // namespace ringkv::router
