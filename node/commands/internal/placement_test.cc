// The command path of a node in a cluster (internal/placement.h), driven
// through the Dispatcher: placement by the map, forwarding, split and merge,
// and the migration roles' pull-on-miss and write-through. No network: the
// peers are in-process fakes.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <thread>

#include "base/thread_annotations.h"
#include "base/worker_pool.h"
#include "node/commands/dispatcher.h"
#include "node/commands/forward_link.h"
#include "node/commands/internal/test_fixture.h"
#include "node/migration/migration_roles.h"
#include "node/view/cluster_view.h"
#include "store/memory_engine.h"

namespace ringkv::node {
namespace {

using testing::Bulk;
using testing::Int;
using testing::kNil;
using testing::kOk;

// Routes PeerLink calls to in-process nodes by address; no network.
class FakeLink final : public PeerLink {
 public:
  StatusOr<std::vector<WireEntry>> Fetch(const std::string& peer, const std::string& id,
                                         std::span<const std::string_view> keys) override {
    if (before_call) before_call();
    MigrationRoles* m = Find(peer);
    if (m == nullptr) return Unavailable("connection refused");
    if (Status s = m->CheckId(id); !s.ok()) return s;
    std::vector<WireEntry> out;
    for (std::string_view k : keys) {
      if (auto e = m->Read(k, clock->NowMs())) out.push_back(std::move(*e));
    }
    return out;
  }
  Status Apply(const std::string& peer, const std::string& id, uint64_t,
               std::span<const WireEntry> entries) override {
    if (before_call) before_call();
    MigrationRoles* m = Find(peer);
    if (m == nullptr) return Unavailable("connection refused");
    if (Status s = m->CheckId(id); !s.ok()) return s;
    MigrationRoles::Tally tally;
    for (const WireEntry& e : entries) {
      Status s = m->Install(e.key, e.entry.value, e.entry.version, e.entry.expire_at_ms,
                            e.tombstone, clock->NowMs(), tally);
      if (!s.ok()) return s;
    }
    return OkStatus();
  }

  MigrationRoles* Find(const std::string& addr) {
    auto it = nodes.find(addr);
    return it == nodes.end() || down ? nullptr : it->second;
  }

  std::map<std::string, MigrationRoles*> nodes;
  const Clock* clock = nullptr;
  bool down = false;
  std::function<void()> before_call;  // runs first in every call (a test may block in it)
};

// One node: engine, dispatcher and migration state, sharing a clock and link.
struct TestNode {
  TestNode(std::string node_id, FakeClock& clock, FakeLink& link, ForwardLink* forward = nullptr)
      : id(std::move(node_id)),
        hlc(clock),
        view(clock, metrics.cluster(), id),
        migration(view, *engine, clock, hlc, metrics.cluster(), link) {
    state.id = id;
    dispatcher = std::make_unique<Dispatcher>(
        *engine, clock, hlc, metrics, state,
        DispatcherOptions{.view = &view, .migration = &migration, .forward = forward});
    link.nodes[id + ":grpc"] = &migration;
  }
  std::string Run(std::vector<std::string_view> args) {
    std::string out;
    dispatcher->Execute(args, session, out);
    return out;
  }

  std::string id;
  std::unique_ptr<store::Engine> engine = store::NewMemoryEngine({});
  HybridClock hlc;
  Metrics metrics;
  ServerState state;
  ClusterView view;
  MigrationRoles migration;
  std::unique_ptr<Dispatcher> dispatcher;
  Session session;
};

const ring::Arc kWholeRing{0, 0};

MigrationPlan Plan(std::string id, MigrationRole::Kind kind, std::string peer,
                   std::vector<ring::Arc> arcs = {kWholeRing}) {
  MigrationPlan plan;
  plan.id = std::move(id);
  plan.epoch = 2;
  plan.roles.push_back(MigrationRole{kind, peer, peer + ":grpc", std::move(arcs)});
  return plan;
}

std::string TwoNodeMap(uint64_t epoch) {
  return R"({"epoch": )" + std::to_string(epoch) +
         R"(, "vnodes": 16, "hash": "xxh3", "replication": 1, "nodes": [
      {"id": "a", "addr": "10.0.0.1:6380", "grpc_addr": "a:grpc", "kind": "ringkv", "weight": 1, "state": "active"},
      {"id": "b", "addr": "10.0.0.2:6380", "grpc_addr": "b:grpc", "kind": "ringkv", "weight": 1, "state": "active"}]})";
}

class MigrationTest : public ::testing::Test {
 protected:
  MigrationTest() { link_.clock = &clock_; }

  // a exports the whole ring to b.
  void BeginWholeRing() {
    ASSERT_TRUE(a_.migration.Begin(Plan("m1", MigrationRole::Kind::kExport, "b")).ok());
    ASSERT_TRUE(b_.migration.Begin(Plan("m1", MigrationRole::Kind::kImport, "a")).ok());
  }

  // A key whose owner in TwoNodeMap is `owner`.
  std::string KeyOwnedBy(const std::string& owner) {
    const ClusterSnapshot& v = *a_.view.Snapshot();
    for (int i = 0;; ++i) {
      std::string k = "key" + std::to_string(i);
      if (v.ring->OwnerOfKey(k) == owner) return k;
    }
  }

  static void WaitForDrops(MigrationRoles& m) {
    for (int i = 0; i < 500 && m.pending_drops() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(m.pending_drops(), 0u);
  }

  FakeClock clock_;
  FakeLink link_;
  TestNode a_{"a", clock_, link_};
  TestNode b_{"b", clock_, link_};
};

TEST_F(MigrationTest, StandaloneNodeHasNoModeAndServesEverything) {
  EXPECT_EQ(a_.view.mode(), 0u);
  EXPECT_EQ(a_.Run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(a_.Run({"GET", "k"}), Bulk("v"));
}

TEST_F(MigrationTest, ReadAtImporterFallsBackToOldOwner) {
  ASSERT_EQ(a_.Run({"SET", "k", "v"}), kOk);
  BeginWholeRing();
  EXPECT_EQ(b_.view.mode(), ClusterView::kRoles);
  EXPECT_EQ(b_.Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(b_.Run({"GET", "missing"}), kNil);
  EXPECT_EQ(b_.metrics.cluster().fetched.load(), 1u);
  // Installed with the old owner's version: a second read is local.
  EXPECT_EQ(b_.engine->Get("k", clock_.NowMs())->version,
            a_.engine->Get("k", clock_.NowMs())->version);
}

TEST_F(MigrationTest, ReadModifyWriteActsOnTheCurrentValueAndLandsOnBoth) {
  ASSERT_EQ(a_.Run({"SET", "counter", "5"}), kOk);
  ASSERT_EQ(a_.Run({"SET", "s", "ab"}), kOk);
  BeginWholeRing();
  EXPECT_EQ(b_.Run({"INCR", "counter"}), Int(6));
  EXPECT_EQ(b_.Run({"APPEND", "s", "cd"}), Int(4));
  EXPECT_EQ(b_.Run({"SET", "n", "x", "NX"}), kOk);
  EXPECT_EQ(a_.Run({"GET", "counter"}), Bulk("6"));
  EXPECT_EQ(a_.Run({"GET", "s"}), Bulk("abcd"));
  EXPECT_EQ(a_.Run({"GET", "n"}), Bulk("x"));
  EXPECT_EQ(b_.Run({"MSET", "m1", "1", "m2", "2"}), kOk);
  EXPECT_EQ(a_.Run({"MGET", "m1", "m2"}), testing::Arr({Bulk("1"), Bulk("2")}));
  // The exporter writes through to the importer too.
  EXPECT_EQ(a_.Run({"SET", "from-old", "1"}), kOk);
  EXPECT_EQ(b_.engine->Get("from-old", clock_.NowMs())->value, "1");
}

TEST_F(MigrationTest, DeleteLeavesATombstoneSoAnOlderCopyCannotComeBack) {
  ASSERT_EQ(a_.Run({"SET", "k", "old"}), kOk);
  const store::Entry old = *a_.engine->Get("k", clock_.NowMs());
  BeginWholeRing();
  EXPECT_EQ(b_.Run({"DEL", "k"}), Int(1));
  EXPECT_EQ(a_.Run({"GET", "k"}), kNil);
  MigrationRoles::Tally tally;
  ASSERT_TRUE(
      b_.migration.Install("k", old.value, old.version, 0, false, clock_.NowMs(), tally).ok());
  EXPECT_EQ(tally.skipped, 1u);
  EXPECT_EQ(b_.Run({"GET", "k"}), kNil);
  // A delete of a key nobody holds also leaves one (without a fetch on the next read).
  EXPECT_EQ(b_.Run({"DEL", "never"}), Int(0));
  EXPECT_EQ(b_.migration.Read("never", clock_.NowMs())->tombstone, true);
}

TEST_F(MigrationTest, AFailedPeerFailsTheCommand) {
  BeginWholeRing();
  link_.down = true;
  std::string reply = b_.Run({"SET", "k", "v"});
  EXPECT_EQ(reply.rfind("-ERR migration peer a:grpc unavailable: connection refused", 0), 0u)
      << reply;
  reply = b_.Run({"GET", "other"});
  EXPECT_EQ(reply.rfind("-ERR migration peer a:grpc unavailable", 0), 0u) << reply;
}

TEST_F(MigrationTest, MapFencesWritesOfKeysOwnedElsewhere) {
  ASSERT_EQ(*a_.view.SetMap(TwoNodeMap(3)), 3u);
  EXPECT_EQ(a_.view.mode(), ClusterView::kFence);
  const std::string mine = KeyOwnedBy("a"), theirs = KeyOwnedBy("b");
  EXPECT_EQ(a_.Run({"SET", mine, "1"}), kOk);
  EXPECT_EQ(a_.Run({"SET", theirs, "1"}), "-MOVED 3 10.0.0.2:6380\r\n");
  EXPECT_EQ(a_.Run({"MSET", mine, "1", theirs, "2"}), "-MOVED 3 10.0.0.2:6380\r\n");
  EXPECT_EQ(a_.Run({"GET", theirs}), "-MOVED 3 10.0.0.2:6380\r\n");  // no forwarding here
  // Older maps are ignored; a bad one is an error.
  EXPECT_EQ(*a_.view.SetMap(TwoNodeMap(2)), 3u);
  EXPECT_FALSE(a_.view.SetMap("{").ok());
  // Keys in a role arc are not fenced.
  ASSERT_TRUE(a_.migration.Begin(Plan("m1", MigrationRole::Kind::kExport, "b")).ok());
  ASSERT_TRUE(b_.migration.Begin(Plan("m1", MigrationRole::Kind::kImport, "a")).ok());
  EXPECT_EQ(a_.Run({"SET", theirs, "1"}), kOk);
}

TEST_F(MigrationTest, ANodeMissingFromTheMapRefusesEveryWrite) {
  TestNode c{"c", clock_, link_};
  ASSERT_TRUE(c.view.SetMap(TwoNodeMap(4)).ok());
  ASSERT_TRUE(a_.view.SetMap(TwoNodeMap(4)).ok());
  EXPECT_EQ(c.Run({"SET", KeyOwnedBy("a"), "1"}), "-MOVED 4 10.0.0.1:6380\r\n");
}

TEST_F(MigrationTest, CompletedMigrationDropsExportedArcsOnTheExporter) {
  for (int i = 0; i < 100; ++i) {
    std::string k = "k" + std::to_string(i);
    ASSERT_EQ(a_.Run({"SET", k, "v"}), kOk);
  }
  ASSERT_TRUE(a_.view.SetMap(TwoNodeMap(5)).ok());
  BeginWholeRing();
  a_.migration.End("m1", false, 0);
  b_.migration.End("m1", false, 0);
  a_.migration.End("m1", false, 0);  // idempotent
  EXPECT_EQ(a_.view.mode(), ClusterView::kFence);
  WaitForDrops(a_.migration);
  // What the map gives to a stays; the rest is gone.
  const ClusterSnapshot& v = *a_.view.Snapshot();
  for (int i = 0; i < 100; ++i) {
    std::string k = "k" + std::to_string(i);
    EXPECT_EQ(a_.engine->Get(k, clock_.NowMs()).has_value(), v.ring->OwnerOfKey(k) == "a") << k;
  }
  EXPECT_GT(a_.metrics.cluster().dropped.load(), 0u);
}

// a gives the whole ring to b (m1, the drop still waiting out its grace),
// b changes the key, then m2 gives the ring back: a must not serve its stale
// copy.
TEST_F(MigrationTest, ANewMigrationDropsStaleCopiesBeforeItBegins) {
  ASSERT_EQ(a_.Run({"SET", "k", "old"}), kOk);
  ASSERT_EQ(a_.Run({"SET", "n", "1"}), kOk);
  BeginWholeRing();
  ASSERT_EQ(b_.Run({"GET", "k"}), Bulk("old"));  // fetched
  b_.migration.End("m1", false, 0);
  a_.migration.End("m1", false, 60'000);  // the drop waits a minute
  EXPECT_EQ(a_.migration.pending_drops(), 1u);
  MigrationRoles::Tally tally;  // b now holds the only current copy
  ASSERT_TRUE(b_.migration.Install("k", "new", b_.hlc.Next(), 0, false, 0, tally).ok());
  ASSERT_TRUE(b_.migration.Install("n", "5", b_.hlc.Next(), 0, false, 0, tally).ok());
  ASSERT_TRUE(b_.migration.Begin(Plan("m2", MigrationRole::Kind::kExport, "a")).ok());
  ASSERT_TRUE(a_.migration.Begin(Plan("m2", MigrationRole::Kind::kImport, "b")).ok());
  EXPECT_EQ(a_.migration.pending_drops(), 0u);
  EXPECT_EQ(a_.Run({"GET", "k"}), Bulk("new"));
  EXPECT_EQ(a_.Run({"INCR", "n"}), Int(6));
}

TEST_F(MigrationTest, CancelledMigrationDropsImportedArcsOnTheImporter) {
  ASSERT_EQ(a_.Run({"SET", "k", "v"}), kOk);
  BeginWholeRing();
  ASSERT_EQ(b_.Run({"GET", "k"}), Bulk("v"));
  b_.migration.End("m1", true, 0);
  a_.migration.End("m1", true, 0);
  WaitForDrops(b_.migration);
  WaitForDrops(a_.migration);
  EXPECT_FALSE(b_.engine->Get("k", clock_.NowMs()));
  EXPECT_TRUE(a_.engine->Get("k", clock_.NowMs()));
  EXPECT_EQ(b_.view.mode(), 0u);
}

TEST_F(MigrationTest, OnlyKeysInRoleArcsAreFetchedAndWrittenThrough) {
  // b imports positions (0, 2^63] from a.
  const ring::Arc half{0, uint64_t{1} << 63};
  ASSERT_TRUE(a_.migration.Begin(Plan("m1", MigrationRole::Kind::kExport, "b", {half})).ok());
  ASSERT_TRUE(b_.migration.Begin(Plan("m1", MigrationRole::Kind::kImport, "a", {half})).ok());
  std::string in, out;
  for (int i = 0; in.empty() || out.empty(); ++i) {
    std::string k = "key" + std::to_string(i);
    (half.Contains(ring::HashKey(ring::HashKind::kXxh3, k)) ? in : out) = k;
  }
  ASSERT_EQ(a_.Run({"SET", in, "1"}), kOk);
  ASSERT_EQ(a_.Run({"SET", out, "1"}), kOk);
  EXPECT_EQ(b_.Run({"GET", in}), Bulk("1"));
  EXPECT_EQ(b_.Run({"GET", out}), kNil);
  EXPECT_EQ(b_.Run({"SET", out, "2"}), kOk);
  EXPECT_EQ(a_.Run({"GET", out}), Bulk("1"));
}

// The replies a session defers (Session::defer), collected from any thread.
class DeferredReplies {
 public:
  std::function<ReplyCompletion()> Hook() {
    return [this] {
      ++defers;
      return [this](std::string reply) {
        MutexLock lock(mu_);
        replies_.push_back(std::move(reply));
      };
    };
  }
  std::vector<std::string> Get() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return replies_;
  }
  int defers = 0;  // completions taken

 private:
  Mutex mu_;
  std::vector<std::string> replies_ GUARDED_BY(mu_);
};

// Node b runs commands that wait for a peer on a worker pool, and its
// session can defer replies; every peer call waits until the test opens the
// gate.
class PeerWorkTest : public MigrationTest {
 protected:
  PeerWorkTest() {
    b_.dispatcher = std::make_unique<Dispatcher>(
        *b_.engine, clock_, b_.hlc, b_.metrics, b_.state,
        DispatcherOptions{.view = &b_.view, .migration = &b_.migration, .peer_work = &pool_});
    b_.session.defer = deferred_.Hook();
    link_.before_call = [this] { gate_.wait(); };
  }
  ~PeerWorkTest() override {
    Open();
    pool_.Drain();
  }
  void Open() {
    if (!opened_) open_.set_value();
    opened_ = true;
  }
  std::vector<std::string> Replies() {
    pool_.Drain();
    return deferred_.Get();
  }

  WorkerPool pool_{1, "test"};  // one thread: deferred replies arrive in order
  std::promise<void> open_;
  std::shared_future<void> gate_ = open_.get_future().share();
  bool opened_ = false;
  DeferredReplies deferred_;
};

TEST_F(PeerWorkTest, AMissWaitsForTheOldOwnerOffTheCallingThread) {
  ASSERT_EQ(a_.Run({"SET", "k", "v"}), kOk);
  BeginWholeRing();
  EXPECT_EQ(b_.Run({"GET", "k"}), "");  // deferred: the fetch waits at the gate
  EXPECT_EQ(deferred_.defers, 1);
  // The calling thread goes on: a key b holds (or a tombstone) needs no peer.
  MigrationRoles::Tally tally;
  ASSERT_TRUE(b_.migration.Install("here", "h", 1, 0, false, clock_.NowMs(), tally).ok());
  EXPECT_EQ(b_.Run({"GET", "here"}), Bulk("h"));
  EXPECT_EQ(deferred_.defers, 1);
  Open();
  EXPECT_EQ(Replies(), std::vector<std::string>{Bulk("v")});
  EXPECT_EQ(b_.metrics.cluster().fetched.load(), 1u);
}

TEST_F(PeerWorkTest, AWriteIsAcknowledgedOnceItIsWrittenThrough) {
  BeginWholeRing();
  EXPECT_EQ(b_.Run({"SET", "k", "new"}), "");
  EXPECT_EQ(b_.Run({"DEL", "gone"}), "");  // a delete writes its tombstone through as well
  EXPECT_EQ(deferred_.defers, 2);
  Open();
  EXPECT_EQ(Replies(), (std::vector<std::string>{kOk, Int(0)}));
  EXPECT_EQ(a_.engine->Get("k", clock_.NowMs())->value, "new");
  EXPECT_EQ(a_.engine->Get("k", clock_.NowMs())->version,
            b_.engine->Get("k", clock_.NowMs())->version);
}

TEST_F(PeerWorkTest, APeerFailureIsTheDeferredReplyAndCounted) {
  BeginWholeRing();
  link_.down = true;
  const uint64_t before = b_.metrics.errors();
  EXPECT_EQ(b_.Run({"GET", "k"}), "");
  Open();
  const std::vector<std::string> replies = Replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_NE(replies[0].find("-ERR migration peer a:grpc unavailable"), std::string::npos)
      << replies[0];
  EXPECT_EQ(b_.metrics.errors(), before + 1);
}

TEST_F(PeerWorkTest, WithoutRolesNothingIsDeferred) {
  EXPECT_EQ(b_.Run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(b_.Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(deferred_.defers, 0);
}

// Forwards to in-process nodes by gRPC address, as node/forwarder.cc does
// over the network: the receiver runs the command as a forwarded session; a
// -MOVED from a receiver with a newer map hands that map to the sender.
class FakeForward final : public ForwardLink {
 public:
  Outcome Forward(const ClusterSnapshot& view, uint32_t owner,
                  std::span<const std::string_view> args, std::string& out) override {
    ++calls;
    TestNode* to = nodes.at(view.grpc_addrs[owner]);
    Session s;
    s.authenticated = true;
    s.forwarded = true;
    std::string reply;
    to->dispatcher->Execute(args, s, reply);
    std::shared_ptr<const ClusterSnapshot> theirs = to->view.Snapshot();
    if (reply.rfind("-MOVED ", 0) == 0 && theirs->epoch > view.epoch) {
      TestNode* from = nodes.at(self);
      if (from->view.SetMap(theirs->map_json).ok()) return Outcome::kRetry;
    }
    out.append(reply);
    return Outcome::kDone;
  }
  std::map<std::string, TestNode*> nodes;
  std::string self;
  int calls = 0;
};

class ForwardTest : public ::testing::Test {
 protected:
  ForwardTest() {
    link_.clock = &clock_;
    fa_.self = "a:grpc";
    fb_.self = "b:grpc";
    for (FakeForward* f : {&fa_, &fb_}) f->nodes = {{"a:grpc", &a_}, {"b:grpc", &b_}};
    EXPECT_TRUE(a_.view.SetMap(TwoNodeMap(3)).ok());
    EXPECT_TRUE(b_.view.SetMap(TwoNodeMap(3)).ok());
  }
  std::string KeyOwnedBy(const std::string& owner, int skip = 0) {
    const ClusterSnapshot& v = *a_.view.Snapshot();
    for (int i = 0;; ++i) {
      std::string k = "key" + std::to_string(i);
      if (v.ring->OwnerOfKey(k) == owner && skip-- == 0) return k;
    }
  }

  FakeClock clock_{1'700'000'000'000};
  FakeLink link_;
  FakeForward fa_, fb_;
  TestNode a_{"a", clock_, link_, &fa_};
  TestNode b_{"b", clock_, link_, &fb_};
};

TEST_F(ForwardTest, AKeyOwnedElsewhereIsServedByItsOwnerInOneHop) {
  const std::string theirs = KeyOwnedBy("b");
  EXPECT_EQ(a_.Run({"SET", theirs, "v1"}), kOk);
  EXPECT_EQ(fa_.calls, 1);
  EXPECT_FALSE(a_.engine->Get(theirs, clock_.NowMs()).has_value());  // stored on b only
  EXPECT_EQ(b_.Run({"GET", theirs}), Bulk("v1"));
  EXPECT_EQ(a_.Run({"GET", theirs}), Bulk("v1"));
  EXPECT_EQ(a_.Run({"INCR", theirs}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(fb_.calls, 0);  // b owns it: nothing to forward
  // Keys a owns never leave a.
  const std::string mine = KeyOwnedBy("a");
  const int before = fa_.calls;
  EXPECT_EQ(a_.Run({"SET", mine, "m"}), kOk);
  EXPECT_EQ(fa_.calls, before);
}

TEST_F(ForwardTest, MultiKeyCommandsAreSplitByNodeAndMergedInOrder) {
  const std::string a1 = KeyOwnedBy("a"), a2 = KeyOwnedBy("a", 1);
  const std::string b1 = KeyOwnedBy("b"), b2 = KeyOwnedBy("b", 1);
  EXPECT_EQ(a_.Run({"MSET", b1, "1", a1, "2", b2, "3"}), kOk);
  EXPECT_EQ(b_.Run({"GET", b1}), Bulk("1"));
  EXPECT_EQ(a_.Run({"GET", a1}), Bulk("2"));
  EXPECT_EQ(b_.Run({"GET", b2}), Bulk("3"));
  EXPECT_FALSE(a_.engine->Get(b1, clock_.NowMs()).has_value());
  EXPECT_EQ(a_.Run({"MGET", a2, b2, a1, b1}), "*4\r\n$-1\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n");
  EXPECT_EQ(b_.Run({"EXISTS", a1, b1, a2, b2, a1}), Int(4));
  EXPECT_EQ(b_.Run({"DEL", a1, b1, a2}), Int(2));
  EXPECT_EQ(a_.Run({"MGET", a1, b1, b2}), "*3\r\n$-1\r\n$-1\r\n$1\r\n3\r\n");
  // MSETNX cannot be atomic over two nodes.
  EXPECT_EQ(a_.Run({"MSETNX", a1, "x", b1, "y"}).rfind("-CROSSSLOT", 0), 0u);
}

TEST_F(ForwardTest, AForwardedCommandIsNeverForwardedAgain) {
  Session s;
  s.authenticated = true;
  s.forwarded = true;
  std::string out;
  std::vector<std::string_view> args = {"GET", "x"};
  const std::string theirs = KeyOwnedBy("b");
  args[1] = theirs;
  a_.dispatcher->Execute(args, s, out);
  EXPECT_EQ(out, "-MOVED 3 10.0.0.2:6380\r\n");
  EXPECT_EQ(fa_.calls, 0);
}

TEST_F(ForwardTest, AStaleSenderTakesTheOwnersNewerMapAndRetries) {
  const std::string theirs = KeyOwnedBy("b");
  ASSERT_EQ(b_.Run({"SET", theirs, "on-b"}), kOk);
  // Epoch 4: b is leaving, so a owns every key; only b has heard of it.
  std::string map4 = TwoNodeMap(4);
  map4.replace(map4.rfind("\"active\""), 8, "\"leaving\"");
  ASSERT_EQ(*b_.view.SetMap(map4), 4u);
  ASSERT_EQ(a_.engine->Get(theirs, clock_.NowMs()).has_value(), false);
  // a forwards with epoch 3; b answers -MOVED with its map; a places the key again: its own.
  EXPECT_EQ(a_.Run({"GET", theirs}), kNil);
  EXPECT_EQ(a_.view.epoch(), 4u);
  EXPECT_EQ(fa_.calls, 1);
  EXPECT_EQ(a_.Run({"SET", theirs, "on-a"}), kOk);
  EXPECT_EQ(fa_.calls, 1);
}

TEST_F(ForwardTest, ANodeWithoutAMapYetRefusesDataUntilOneArrives) {
  TestNode c{"c", clock_, link_, &fa_};
  c.view.AwaitMap("joining through x:1");
  EXPECT_EQ(c.Run({"GET", "k"}), "-TRYAGAIN joining through x:1\r\n");
  EXPECT_EQ(c.Run({"PING"}), "+PONG\r\n");
  ASSERT_TRUE(c.view.SetMap(TwoNodeMap(3)).ok());
  EXPECT_EQ(c.Run({"SET", KeyOwnedBy("a"), "1"}), kOk);  // forwarded to a
  EXPECT_EQ(a_.Run({"GET", KeyOwnedBy("a")}), Bulk("1"));
}

// Answers like the synchronous fake, but hands the reply over later, from
// another thread, as node/forwarder.cc's gRPC callback does.
class AsyncForward final : public ForwardLink {
 public:
  explicit AsyncForward(FakeForward& inner) : inner_(inner) {}
  Outcome Forward(const ClusterSnapshot& view, uint32_t owner,
                  std::span<const std::string_view> args, std::string& out) override {
    ++sync_calls;
    return inner_.Forward(view, owner, args, out);
  }
  void ForwardAsync(const ClusterSnapshot& view, uint32_t owner,
                    std::span<const std::string_view> args, Done done) override {
    std::string reply;
    const Outcome outcome = inner_.Forward(view, owner, args, reply);
    pending.push_back(
        [done = std::move(done), outcome, reply = std::move(reply)] { done(outcome, reply); });
  }
  // Runs the oldest pending continuation on another thread.
  void CompleteOne() {
    ASSERT_FALSE(pending.empty());
    std::function<void()> fn = std::move(pending.front());
    pending.erase(pending.begin());
    std::thread(fn).join();
  }
  std::vector<std::function<void()>> pending;
  int sync_calls = 0;

 private:
  FakeForward& inner_;
};

// Node a forwards through AsyncForward; its session can defer replies.
class AsyncForwardTest : public ForwardTest {
 protected:
  AsyncForwardTest() {
    a_.dispatcher = std::make_unique<Dispatcher>(
        *a_.engine, clock_, a_.hlc, a_.metrics, a_.state,
        DispatcherOptions{.view = &a_.view, .migration = &a_.migration, .forward = &async_});
    a_.session.defer = deferred_.Hook();
  }
  std::vector<std::string> Replies() { return deferred_.Get(); }

  AsyncForward async_{fa_};
  DeferredReplies deferred_;
};

TEST_F(AsyncForwardTest, ASingleOwnerForwardRepliesThroughTheCompletion) {
  const std::string theirs = KeyOwnedBy("b");
  ASSERT_EQ(b_.Run({"SET", theirs, "v1"}), kOk);
  EXPECT_EQ(a_.Run({"GET", theirs}), "");  // nothing yet: the reply is deferred
  EXPECT_EQ(deferred_.defers, 1);
  ASSERT_EQ(async_.pending.size(), 1u);
  EXPECT_TRUE(Replies().empty());
  async_.CompleteOne();
  EXPECT_EQ(Replies(), std::vector<std::string>{Bulk("v1")});
  EXPECT_EQ(a_.Run({"SET", theirs, "v2"}), "");
  async_.CompleteOne();
  EXPECT_EQ(Replies().back(), kOk);
  EXPECT_EQ(b_.Run({"GET", theirs}), Bulk("v2"));
  EXPECT_EQ(async_.sync_calls, 0);
}

TEST_F(AsyncForwardTest, LocalKeysAndSplitCommandsAnswerAtOnce) {
  const std::string mine = KeyOwnedBy("a"), theirs = KeyOwnedBy("b");
  EXPECT_EQ(a_.Run({"SET", mine, "m"}), kOk);
  EXPECT_EQ(a_.Run({"MGET", mine, theirs}), "*2\r\n$1\r\nm\r\n$-1\r\n");  // split: synchronous
  EXPECT_EQ(deferred_.defers, 0);
  EXPECT_EQ(async_.sync_calls, 1);
  EXPECT_TRUE(async_.pending.empty());
}

TEST_F(AsyncForwardTest, ErrorsOfTheOwnerAreCountedWhenTheyArrive) {
  const std::string theirs = KeyOwnedBy("b");
  ASSERT_EQ(b_.Run({"SET", theirs, "x"}), kOk);
  const uint64_t before = a_.metrics.errors();
  EXPECT_EQ(a_.Run({"INCR", theirs}), "");
  EXPECT_EQ(a_.metrics.errors(), before);
  async_.CompleteOne();
  EXPECT_EQ(Replies(),
            std::vector<std::string>{"-ERR value is not an integer or out of range\r\n"});
  EXPECT_EQ(a_.metrics.errors(), before + 1);
}

TEST_F(AsyncForwardTest, AStaleSenderPlacesTheKeysAgainInTheContinuation) {
  const std::string theirs = KeyOwnedBy("b");
  std::string map4 = TwoNodeMap(4);
  map4.replace(map4.rfind("\"active\""), 8, "\"leaving\"");
  ASSERT_EQ(*b_.view.SetMap(map4), 4u);
  EXPECT_EQ(a_.Run({"SET", theirs, "on-a"}), "");
  EXPECT_EQ(a_.view.epoch(), 4u);  // the fake installs b's map at once
  async_.CompleteOne();
  EXPECT_EQ(Replies(), std::vector<std::string>{kOk});  // placed again: a owns every key now
  EXPECT_TRUE(a_.engine->Get(theirs, clock_.NowMs()).has_value());
  EXPECT_EQ(deferred_.defers, 1);
}

}  // namespace
}  // namespace ringkv::node
