// The Migrator driven by a fake ArcMover: the state machine, its record, the
// registry's maps, cancel and resume, with no node and no network.
#include "router/rebalance/migrator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/thread_annotations.h"
#include "cluster/map_store.h"
#include "cluster/membership.h"

namespace ringkv::router {
namespace {

using cluster::ClusterMap;
using cluster::MigrationKind;
using cluster::NodeInfo;
using cluster::NodeState;
using json = nlohmann::json;

// Records calls; Move reports `keys` then succeeds, or (block) waits until stopped.
class FakeMover final : public ArcMover {
 public:
  StatusOr<uint64_t> Begin(const cluster::Migration& m, const std::string& node) override {
    MutexLock lock(mu);
    begun.insert(node);
    lost.erase(node);
    const bool switched = m.state == cluster::MigrationState::kSwitching;
    steps.push_back((switched ? "switch " : "begin ") + node);
    return uint64_t{1000};
  }
  StatusOr<bool> HasPart(const cluster::Migration&, const std::string& node) override {
    MutexLock lock(mu);
    return lost.count(node) == 0;
  }
  Status Move(const cluster::Migration&, const std::string& source, MoveLimits limits,
              const std::function<void(const MoveCounts&)>& progress,
              const std::atomic<bool>& stop) override {
    {
      MutexLock lock(mu);
      moves.push_back(source);
      last_limits = limits;
      max_inside = std::max(max_inside, ++inside);
    }
    progress({50, 500, 60});
    while (block.load() && !stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    {
      MutexLock lock(mu);
      --inside;
    }
    if (stop.load()) return Status(StatusCode::kCancelled, "stopped");
    progress({100, 1000, 120});
    return OkStatus();
  }
  Status End(const cluster::Migration&, const std::string& node, bool cancelled,
             uint32_t) override {
    MutexLock lock(mu);
    ended[node] = cancelled;
    steps.push_back("end " + node);
    return OkStatus();
  }
  Status PushMap(const NodeInfo&, const std::string&) override { return OkStatus(); }

  Mutex mu;
  std::set<std::string> begun GUARDED_BY(mu);
  std::vector<std::string> moves GUARDED_BY(mu);
  std::map<std::string, bool> ended GUARDED_BY(mu);
  std::vector<std::string> steps GUARDED_BY(mu);  // "begin n0", "switch n0", "end n0", ...
  std::set<std::string> lost GUARDED_BY(mu);      // nodes "restarted": HasPart says false
  MoveLimits last_limits GUARDED_BY(mu);
  int inside GUARDED_BY(mu) = 0;      // Move calls running now
  int max_inside GUARDED_BY(mu) = 0;  // the most at once
  std::atomic<bool> block{false};
};

NodeInfo Node(const std::string& id, int port) {
  NodeInfo n;
  n.id = id;
  n.addr = "127.0.0.1:" + std::to_string(port);
  n.grpc_addr = "127.0.0.1:" + std::to_string(port + 1000);
  return n;
}

template <typename F>
bool WaitFor(F f) {
  for (int i = 0; i < 2500; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

class MigratorTest : public ::testing::Test {
 public:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("migrator_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    ClusterMap m;
    m.epoch = 3;
    m.vnodes = 16;
    m.nodes = {Node("n0", 6000), Node("n1", 6001)};
    auto reg = MapOwner::Open(cluster::NewFileMapStore(dir_), m);
    ASSERT_TRUE(reg.ok());
    map_owner_ = std::move(*reg);
    Reopen();
  }
  void TearDown() override {
    migrator_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen(uint32_t max_parallel_copies = 0) {
    migrator_.reset();
    MigratorOptions o;
    o.max_parallel_copies = max_parallel_copies;
    o.data_dir = dir_;
    o.grace_ms = 5;
    o.retry_min_ms = 5;
    o.retry_max_ms = 20;
    migrator_ = std::make_unique<Migrator>(o, *map_owner_, mover_, nullptr);
    ASSERT_TRUE(migrator_->Open().ok());
  }
  StatusOr<Migrator::Started> AddN2() {
    return migrator_->Change(MigrationKind::kAdd, "n2", [](const ClusterMap& m) {
      NodeInfo n = Node("n2", 6002);
      n.state = NodeState::kJoining;
      return cluster::AddNode(m, n);
    });
  }
  json Status() { return json::parse(migrator_->StatusJson()); }
  bool Idle() { return Status()["current"].is_null(); }

  std::string dir_;
  FakeMover mover_;
  std::unique_ptr<MapOwner> map_owner_;
  std::unique_ptr<Migrator> migrator_;
};

TEST_F(MigratorTest, AddRunsToDoneAndSettlesTheMap) {
  auto started = AddN2();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ASSERT_TRUE(started->migration);
  EXPECT_EQ(started->after.epoch, 4u);
  EXPECT_EQ(started->after.nodes[2].state, NodeState::kJoining);
  ASSERT_TRUE(WaitFor([&] { return Idle(); }));
  ClusterMap map = map_owner_->Map();
  EXPECT_EQ(map.epoch, 5u);  // routing map, then settled
  ASSERT_EQ(map.nodes.size(), 3u);
  EXPECT_EQ(map.nodes[2].state, NodeState::kActive);
  json last = Status()["history"].back();
  EXPECT_EQ(last["state"], "done");
  EXPECT_EQ(last["kind"], "add");
  EXPECT_EQ(last["arcs_done"], last["arcs_total"]);
  EXPECT_GT(last["keys_moved"].get<uint64_t>(), 0u);
  EXPECT_FALSE(last.contains("from_map"));
  MutexLock lock(mover_.mu);
  EXPECT_EQ(mover_.begun, (std::set<std::string>{"n0", "n1", "n2"}));
  EXPECT_EQ(mover_.ended.size(), 3u);
  for (const auto& [node, cancelled] : mover_.ended) EXPECT_FALSE(cancelled) << node;
}

TEST_F(MigratorTest, AReplicatedAddSwitchesReadsOnEveryNodeBeforeAnyEnds) {
  ASSERT_TRUE(
      map_owner_->Apply([](const ClusterMap& m) { return cluster::SetReplication(m, 2); }).ok());
  auto started = AddN2();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ASSERT_TRUE(started->migration);
  ASSERT_TRUE(WaitFor([&] { return Idle(); }));
  EXPECT_EQ(Status()["history"].back()["state"], "done");
  EXPECT_FALSE(map_owner_->Current()->moves);  // replicas need no old ring in the proxy
  MutexLock lock(mover_.mu);
  // Every node that had a part: begun, switched, ended, every switch before every end.
  size_t last_switch = 0, first_end = mover_.steps.size();
  std::set<std::string> switched;
  for (size_t i = 0; i < mover_.steps.size(); ++i) {
    const std::string& step = mover_.steps[i];
    if (step.rfind("switch ", 0) == 0) {
      last_switch = i;
      switched.insert(step.substr(7));
    }
    if (step.rfind("end ", 0) == 0) first_end = std::min(first_end, i);
  }
  EXPECT_EQ(switched, mover_.begun);
  EXPECT_LT(last_switch, first_end);
  EXPECT_EQ(mover_.ended.size(), mover_.begun.size());
}

TEST_F(MigratorTest, AReplicaMoveTellsARestartedNodeItsPartAgainWhileCopying) {
  ASSERT_TRUE(
      map_owner_->Apply([](const ClusterMap& m) { return cluster::SetReplication(m, 2); }).ok());
  mover_.block = true;
  ASSERT_TRUE(AddN2().ok());
  ASSERT_TRUE(WaitFor([&] {  // every part told, the copies under way
    MutexLock lock(mover_.mu);
    return !mover_.moves.empty();
  }));
  {
    MutexLock lock(mover_.mu);
    mover_.lost.insert("n0");
  }
  ASSERT_TRUE(WaitFor([&] {
    MutexLock lock(mover_.mu);
    return mover_.lost.empty();
  }));
  {
    MutexLock lock(mover_.mu);
    EXPECT_EQ(std::count(mover_.steps.begin(), mover_.steps.end(), "begin n0"), 2);
  }
  mover_.block = false;
  ASSERT_TRUE(WaitFor([&] { return Idle(); }));
}

TEST_F(MigratorTest, OneAtATimeAndControls) {
  mover_.block = true;
  ASSERT_TRUE(AddN2().ok());
  ASSERT_TRUE(WaitFor([&] { return Status()["current"]["state"] == "copying"; }));
  auto second = migrator_->Change(MigrationKind::kVnodes, "vnodes 32",
                                  [](const ClusterMap& m) { return cluster::SetVnodes(m, 32); });
  EXPECT_EQ(second.status().code(), StatusCode::kAborted);
  EXPECT_NE(second.status().message().find("a migration is in progress (id "), std::string::npos);
  EXPECT_EQ(migrator_->Resume().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(migrator_->Pause().ok());
  EXPECT_EQ(migrator_->Pause().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Status()["current"]["paused"].get<bool>());
  migrator_->SetRate(7, 0);
  EXPECT_EQ(Status()["current"]["max_keys_per_sec"], 7);
  ASSERT_TRUE(migrator_->Resume().ok());
  mover_.block = false;
  ASSERT_TRUE(WaitFor([&] { return Idle(); }));
  {
    MutexLock lock(mover_.mu);
    EXPECT_EQ(mover_.last_limits.max_keys_per_sec, 7u);
  }
  EXPECT_EQ(migrator_->Pause().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(migrator_->Cancel().code(), StatusCode::kFailedPrecondition);
}

// Adds n2 to n0 and n1 (both give it arcs) with copies blocked, and checks
// how many copy at once.
void ExpectCopiesAtOnce(MigratorTest& t, FakeMover& mover, size_t want_at_once) {
  mover.block = true;
  ASSERT_TRUE(t.AddN2().ok());
  ASSERT_TRUE(WaitFor([&] {
    MutexLock lock(mover.mu);
    return mover.moves.size() == want_at_once;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // another would start by now
  {
    MutexLock lock(mover.mu);
    EXPECT_EQ(mover.moves.size(), want_at_once);
  }
  mover.block = false;
  ASSERT_TRUE(WaitFor([&] { return t.Idle(); }));
  MutexLock lock(mover.mu);
  EXPECT_EQ(std::set<std::string>(mover.moves.begin(), mover.moves.end()),
            (std::set<std::string>{"n0", "n1"}));
  EXPECT_EQ(mover.max_inside, static_cast<int>(want_at_once));
}

TEST_F(MigratorTest, EverySourceCopiesAtOnceByDefault) {
  ExpectCopiesAtOnce(*this, mover_, 2);
}

TEST_F(MigratorTest, ParallelCopiesBoundsTheSourcesCopyingAtOnce) {
  Reopen(1);
  ExpectCopiesAtOnce(*this, mover_, 1);
}

TEST_F(MigratorTest, CancelReturnsToTheOldMembership) {
  ClusterMap before = map_owner_->Map();
  mover_.block = true;
  ASSERT_TRUE(AddN2().ok());
  ASSERT_TRUE(WaitFor([&] { return map_owner_->Map().epoch == 4; }));
  ASSERT_TRUE(migrator_->Cancel().ok());
  ASSERT_TRUE(WaitFor([&] { return Idle(); }));
  ClusterMap after = map_owner_->Map();
  EXPECT_TRUE(cluster::SameMembership(after, before));
  EXPECT_EQ(after.epoch, 5u);  // a new epoch with the old ring
  EXPECT_EQ(Status()["history"].back()["state"], "cancelled");
  MutexLock lock(mover_.mu);
  for (const auto& [node, cancelled] : mover_.ended) EXPECT_TRUE(cancelled) << node;
}

TEST_F(MigratorTest, ResumesAfterARestart) {
  mover_.block = true;
  ASSERT_TRUE(AddN2().ok());
  ASSERT_TRUE(WaitFor([&] {
    MutexLock lock(mover_.mu);
    return !mover_.moves.empty();
  }));
  migrator_->Stop();  // as if killed: the record stays in copying
  auto text = cluster::ReadFileIfExists(dir_ + "/migration.json");
  ASSERT_TRUE(text.ok() && text->has_value());
  EXPECT_NE((*text)->find("\"state\":\"copying\""), std::string::npos);
  mover_.block = false;
  Reopen();
  EXPECT_FALSE(Idle());
  ASSERT_TRUE(WaitFor([&] { return Idle(); }));
  EXPECT_EQ(Status()["history"].back()["state"], "done");
  EXPECT_EQ(map_owner_->Map().nodes[2].state, NodeState::kActive);
}

TEST_F(MigratorTest, NothingToMoveAppliesAtOnce) {
  auto r = migrator_->Change(MigrationKind::kRemove, "n9", [](const ClusterMap& m) {
    NodeInfo down = Node("n9", 6009);
    down.state = NodeState::kDown;
    return cluster::AddNode(m, down);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->migration);
  EXPECT_FALSE(r->remapped);
  EXPECT_TRUE(Idle());
  EXPECT_TRUE(Status()["history"].empty());
  EXPECT_EQ(map_owner_->Map().nodes.size(), 3u);
}

TEST_F(MigratorTest, RedisBackEndsFallBackToARemap) {
  auto r = migrator_->Change(MigrationKind::kAdd, "redis", [](const ClusterMap& m) {
    NodeInfo n = Node("r0", 6379);
    n.kind = cluster::BackendKind::kRedis;
    n.grpc_addr.clear();
    n.state = NodeState::kJoining;
    return cluster::AddNode(m, n);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->migration);
  EXPECT_TRUE(r->remapped);
  EXPECT_EQ(map_owner_->Map().nodes[2].state, NodeState::kActive);
  EXPECT_EQ(map_owner_->Map().epoch, 4u);
}

}  // namespace
}  // namespace ringkv::router
