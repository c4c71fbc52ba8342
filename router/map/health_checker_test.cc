// HealthChecker rounds (RunOnce) over a MapOwner, with the probes, discovery
// and FLUSHALL answered by the test: nodes go down after N failed probes,
// come back after M good ones (a redis back end flushed first, a ringkv node
// never), and a running migration defers both.
#include "router/map/health_checker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_annotations.h"
#include "cluster/map_store.h"

namespace ringkv::router {
namespace {

using cluster::BackendKind;
using cluster::ClusterMap;
using cluster::NodeInfo;
using cluster::NodeState;

NodeInfo Node(const std::string& id, int port, BackendKind kind = BackendKind::kRingkv) {
  NodeInfo n;
  n.id = id;
  n.kind = kind;
  n.addr = "127.0.0.1:" + std::to_string(port);
  if (kind == BackendKind::kRingkv) {
    n.http_addr = "127.0.0.1:" + std::to_string(port + 100);
    n.grpc_addr = "127.0.0.1:" + std::to_string(port + 200);
  }
  return n;
}

// The nodes as the test wants them to answer. Probes run on several threads.
class FakeNodes {
 public:
  void SetUp(const std::string& id, bool up) {
    MutexLock lock(mu_);
    if (up) {
      down_.erase(id);
    } else {
      down_.insert(id);
    }
  }
  HealthChecker::NodeCalls Calls() {
    HealthChecker::NodeCalls c;
    c.probe = [this](const NodeInfo& n, uint32_t) -> Status {
      MutexLock lock(mu_);
      ++probes_[n.id];
      return down_.count(n.id) ? Unavailable("connection refused") : OkStatus();
    };
    c.discover = [this](const std::string& http_addr, std::optional<BackendKind> hint,
                        uint32_t) -> StatusOr<NodeInfo> {
      MutexLock lock(mu_);
      log_.push_back("discover " + http_addr);
      if (!discovered_) return Unavailable("no answer");
      NodeInfo n = *discovered_;
      if (hint) n.kind = *hint;
      return n;
    };
    c.flush = [this](const NodeInfo& n, uint32_t) -> Status {
      MutexLock lock(mu_);
      log_.push_back("flush " + n.addr);
      return flush_fails_ ? Unavailable("flush refused") : OkStatus();
    };
    return c;
  }
  void set_discovered(std::optional<NodeInfo> n) {
    MutexLock lock(mu_);
    discovered_ = std::move(n);
  }
  void set_flush_fails(bool fails) {
    MutexLock lock(mu_);
    flush_fails_ = fails;
  }
  std::vector<std::string> log() {
    MutexLock lock(mu_);
    return log_;
  }
  int probes(const std::string& id) {
    MutexLock lock(mu_);
    return probes_[id];
  }

 private:
  Mutex mu_;
  std::set<std::string> down_ GUARDED_BY(mu_);
  std::map<std::string, int> probes_ GUARDED_BY(mu_);
  std::vector<std::string> log_ GUARDED_BY(mu_);
  std::optional<NodeInfo> discovered_ GUARDED_BY(mu_);
  bool flush_fails_ GUARDED_BY(mu_) = false;
};

class HealthCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "health_checker_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ClusterMap m;
    m.epoch = 1;
    m.vnodes = 16;
    m.nodes = {Node("n0", 7000), Node("n1", 7001), Node("r2", 7002, BackendKind::kRedis)};
    auto owner = MapOwner::Open(cluster::NewFileMapStore(dir_), m);
    ASSERT_TRUE(owner.ok()) << owner.status().ToString();
    owner_ = std::move(*owner);
    settings_.set_health({.interval_ms = 1000, .timeout_ms = 500, .failures = 3, .successes = 2});
    checker_ =
        std::make_unique<HealthChecker>(*owner_, settings_, net::RespCredentials{}, nodes_.Calls());
    checker_->set_migration_hooks({[this] { return migrating_.load(); },
                                   [this](const NodeInfo& n) {
                                     MutexLock lock(mu_);
                                     node_up_.push_back(n.id);
                                   }});
  }
  void TearDown() override {
    checker_.reset();
    std::filesystem::remove_all(dir_);
  }

  NodeState StateOf(const std::string& id) {
    ClusterMap m = owner_->Map();
    return m.nodes[*m.Find(id)].state;
  }
  bool Routed(const std::string& id) {
    for (const Backend& b : owner_->Current()->backends) {
      if (b.id == id) return true;
    }
    return false;
  }
  void Rounds(int n) {
    for (int i = 0; i < n; ++i) checker_->RunOnce();
  }
  std::vector<std::string> NodeUps() {
    MutexLock lock(mu_);
    return node_up_;
  }

  std::string dir_;
  std::unique_ptr<MapOwner> owner_;
  LiveSettings settings_;
  FakeNodes nodes_;
  std::atomic<bool> migrating_{false};
  Mutex mu_;
  std::vector<std::string> node_up_ GUARDED_BY(mu_);
  std::unique_ptr<HealthChecker> checker_;
};

TEST_F(HealthCheckerTest, AllAnsweringChangesNothing) {
  Rounds(5);
  EXPECT_EQ(owner_->Map().epoch, 1u);
  EXPECT_EQ(nodes_.probes("n0"), 5);
  EXPECT_EQ(nodes_.probes("r2"), 5);
  EXPECT_TRUE(nodes_.log().empty());
  EXPECT_TRUE(NodeUps().empty());
}

TEST_F(HealthCheckerTest, NFailuresInARowMarkANodeDown) {
  nodes_.SetUp("n1", false);
  Rounds(2);
  EXPECT_EQ(StateOf("n1"), NodeState::kActive);
  // A good probe in between starts the count again.
  nodes_.SetUp("n1", true);
  Rounds(1);
  nodes_.SetUp("n1", false);
  Rounds(2);
  EXPECT_EQ(StateOf("n1"), NodeState::kActive);
  EXPECT_TRUE(Routed("n1"));
  Rounds(1);
  EXPECT_EQ(StateOf("n1"), NodeState::kDown);
  EXPECT_EQ(owner_->Map().epoch, 2u);
  EXPECT_FALSE(Routed("n1"));
  EXPECT_TRUE(Routed("n0"));
  EXPECT_EQ(StateOf("n0"), NodeState::kActive);
  // Still failing: no further change.
  Rounds(3);
  EXPECT_EQ(owner_->Map().epoch, 2u);
}

TEST_F(HealthCheckerTest, MSuccessesBringADownNodeBackRediscoveredNotFlushed) {
  nodes_.SetUp("n1", false);
  Rounds(3);
  ASSERT_EQ(StateOf("n1"), NodeState::kDown);
  // It comes back on new ports (a restart).
  NodeInfo fresh = Node("n1", 7501);
  nodes_.set_discovered(fresh);
  nodes_.SetUp("n1", true);
  Rounds(1);
  EXPECT_EQ(StateOf("n1"), NodeState::kDown);
  EXPECT_TRUE(nodes_.log().empty());
  Rounds(1);
  EXPECT_EQ(StateOf("n1"), NodeState::kActive);
  EXPECT_EQ(owner_->Map().epoch, 3u);
  EXPECT_TRUE(Routed("n1"));
  // Discovered by its HTTP address and re-added; a ringkv node keeps its data.
  EXPECT_EQ(nodes_.log(), (std::vector<std::string>{"discover 127.0.0.1:7101"}));
  ClusterMap m = owner_->Map();
  const NodeInfo& back = m.nodes[*m.Find("n1")];
  EXPECT_EQ(back.addr, fresh.addr);
  EXPECT_EQ(back.grpc_addr, fresh.grpc_addr);
  EXPECT_EQ(NodeUps(), (std::vector<std::string>{"n1"}));
}

TEST_F(HealthCheckerTest, ARedisNodeIsFlushedWithoutDiscovery) {
  nodes_.SetUp("r2", false);
  Rounds(3);
  ASSERT_EQ(StateOf("r2"), NodeState::kDown);
  nodes_.SetUp("r2", true);
  Rounds(2);
  EXPECT_EQ(StateOf("r2"), NodeState::kActive);
  EXPECT_EQ(nodes_.log(), (std::vector<std::string>{"flush 127.0.0.1:7002"}));
}

TEST_F(HealthCheckerTest, ANodeThatCannotBeFlushedStaysDown) {
  nodes_.SetUp("r2", false);
  Rounds(3);
  nodes_.set_flush_fails(true);
  nodes_.SetUp("r2", true);
  Rounds(2);
  EXPECT_EQ(StateOf("r2"), NodeState::kDown);
  EXPECT_FALSE(Routed("r2"));
  // It is tried again after M more successes, and then succeeds.
  nodes_.set_flush_fails(false);
  Rounds(1);
  EXPECT_EQ(StateOf("r2"), NodeState::kDown);
  Rounds(1);
  EXPECT_EQ(StateOf("r2"), NodeState::kActive);
}

TEST_F(HealthCheckerTest, AMigrationDefersEjectionAndReAdd) {
  migrating_ = true;
  nodes_.SetUp("n1", false);
  Rounds(6);
  EXPECT_EQ(StateOf("n1"), NodeState::kActive);
  EXPECT_EQ(owner_->Map().epoch, 1u);
  // Answering again during the migration: handed to the migrator at once.
  nodes_.SetUp("n1", true);
  Rounds(1);
  EXPECT_EQ(NodeUps(), (std::vector<std::string>{"n1"}));

  // Once the migration is over, N fresh failures eject it.
  migrating_ = false;
  nodes_.SetUp("n1", false);
  Rounds(2);
  EXPECT_EQ(StateOf("n1"), NodeState::kActive);
  Rounds(1);
  ASSERT_EQ(StateOf("n1"), NodeState::kDown);

  // A down node is not re-added while a migration runs.
  migrating_ = true;
  nodes_.set_discovered(Node("n1", 7001));
  nodes_.SetUp("n1", true);
  Rounds(4);
  EXPECT_EQ(StateOf("n1"), NodeState::kDown);
  EXPECT_TRUE(nodes_.log().empty());
  migrating_ = false;
  Rounds(2);
  EXPECT_EQ(StateOf("n1"), NodeState::kActive);
}

// Replicas: a down node keeps its place in the ring (no key changes owner),
// is routed around (RouteTable::Live), and returns active without a flush.
// A good probe clears the suspect flag the proxy set.
TEST_F(HealthCheckerTest, WithReplicasADownNodeStaysInTheRingAndIsNeverFlushed) {
  std::string dir = dir_ + "/replicated";
  std::filesystem::create_directories(dir);
  ClusterMap m;
  m.epoch = 1;
  m.vnodes = 16;
  m.replication = 2;
  m.nodes = {Node("n0", 7000), Node("n1", 7001), Node("n2", 7002)};
  auto owner = MapOwner::Open(cluster::NewFileMapStore(dir), m);
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  HealthChecker checker(**owner, settings_, net::RespCredentials{}, nodes_.Calls());
  auto index_of = [&](const std::string& id) { return (*owner)->Current()->ring->IndexOf(id); };

  (*owner)->Current()->SetSuspect(index_of("n2"), true);  // a request failed on it
  EXPECT_FALSE((*owner)->Current()->Live(index_of("n2")));
  checker.RunOnce();  // it answers the probe
  EXPECT_TRUE((*owner)->Current()->Live(index_of("n2")));

  nodes_.SetUp("n1", false);
  for (int i = 0; i < 3; ++i) checker.RunOnce();
  RouteTablePtr t = (*owner)->Current();
  EXPECT_EQ(t->epoch, 2u);
  ASSERT_EQ(t->backends.size(), 3u);  // still in the ring
  EXPECT_TRUE(t->backends[index_of("n1")].down);
  EXPECT_FALSE(t->Live(index_of("n1")));
  EXPECT_EQ(t->in_service, 2u);

  nodes_.set_discovered(Node("n1", 7001));
  nodes_.SetUp("n1", true);
  for (int i = 0; i < 2; ++i) checker.RunOnce();
  t = (*owner)->Current();
  EXPECT_EQ(t->epoch, 3u);
  EXPECT_FALSE(t->backends[index_of("n1")].down);
  EXPECT_TRUE(t->Live(index_of("n1")));
  EXPECT_EQ(nodes_.log(), (std::vector<std::string>{"discover 127.0.0.1:7101"}));
}

TEST_F(HealthCheckerTest, ThresholdsFollowTheLiveSettings) {
  settings_.set_health({.interval_ms = 1000, .timeout_ms = 500, .failures = 1, .successes = 1});
  nodes_.SetUp("n0", false);
  Rounds(1);
  EXPECT_EQ(StateOf("n0"), NodeState::kDown);
  nodes_.set_discovered(Node("n0", 7000));
  nodes_.SetUp("n0", true);
  Rounds(1);
  EXPECT_EQ(StateOf("n0"), NodeState::kActive);
}

TEST_F(HealthCheckerTest, StopEndsTheLoopWithoutWaitingForTheInterval) {
  settings_.set_health({.interval_ms = 3600000, .timeout_ms = 500, .failures = 3, .successes = 2});
  checker_->Start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (nodes_.probes("n0") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(nodes_.probes("n0"), 1);
  auto start = std::chrono::steady_clock::now();
  checker_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_EQ(nodes_.probes("n0"), 1);
}

}  // namespace
}  // namespace ringkv::router
