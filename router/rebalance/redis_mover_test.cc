// MoveRedisArcs and DropRedisArcs between two real redis-servers, each on a
// port picked at run time: keys in the moving arcs move, the others stay, a
// key the new owner already holds is not overwritten, and a stopped move
// continues where it left off.
#include "router/rebalance/redis_mover.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "net/resp_client.h"

extern char** environ;

namespace ringkv::router {
namespace {

using net::resp::Reply;

// A port free right now: bound to port 0 by the kernel, then released.
uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// One redis-server without persistence, stopped with the object.
class RedisServer {
 public:
  ~RedisServer() { Stop(); }

  // Starts it on a free port and waits until it answers PING. Retries on
  // another port if the chosen one was taken meanwhile.
  Status Start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      if (port_ == 0) continue;
      std::string port = std::to_string(port_);
      std::vector<std::string> args = {"redis-server", "--port",     port,     "--bind",
                                       "127.0.0.1",    "--save",     "",       "--appendonly",
                                       "no",           "--loglevel", "warning"};
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      // Its start-up banner would bury the test's output.
      posix_spawn_file_actions_t quiet;
      posix_spawn_file_actions_init(&quiet);
      posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
      int rc = ::posix_spawnp(&pid_, "redis-server", &quiet, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&quiet);
      if (rc != 0) {
        pid_ = 0;
        return Unavailable("cannot run redis-server");
      }
      if (WaitForPing()) return OkStatus();
      Stop();
    }
    return Unavailable("redis-server did not answer PING");
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }

  // Runs one command on a fresh connection.
  StatusOr<Reply> Run(std::initializer_list<std::string_view> args) {
    auto c = net::RespClient::Connect(addr(), 5000);
    if (!c.ok()) return c.status();
    return c->Call(args, 5000);
  }

 private:
  bool WaitForPing() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: port taken?
        pid_ = 0;
        return false;
      }
      auto r = Run({"PING"});
      if (r.ok() && r->str == "PONG") return true;
      std::this_thread::yield();
    }
    return false;
  }

  pid_t pid_ = 0;
  uint16_t port_ = 0;
};

bool RedisServerInstalled() {
  return ::system("command -v redis-server >/dev/null 2>&1") == 0;
}

class RedisMoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServerInstalled()) GTEST_SKIP() << "redis-server is not installed";
    ASSERT_TRUE(from_.Start().ok());
    ASSERT_TRUE(to_.Start().ok());
    // One plain arc and one that wraps past position 0.
    arcs_ = {ring::Arc{.lo = 1ull << 62, .hi = 1ull << 63, .from = "a", .to = "b"},
             ring::Arc{
                 .lo = 0xE000000000000000ull, .hi = 0x1000000000000000ull, .from = "a", .to = "b"}};
    for (int i = 0; i < kKeys; ++i) {
      std::string key = "key:" + std::to_string(i);
      ASSERT_TRUE(from_.Run({"SET", key, "v" + std::to_string(i)}).ok());
      if (InArcs(key)) moving_.push_back(key);
    }
    ASSERT_GT(moving_.size(), 50u);
    ASSERT_LT(moving_.size(), static_cast<size_t>(kKeys) - 50);
  }

  bool InArcs(const std::string& key) const {
    uint64_t p = ring::HashKey(ring::HashKind::kXxh3, key);
    for (const ring::Arc& a : arcs_) {
      if (a.Contains(p)) return true;
    }
    return false;
  }

  RedisMoveOptions Options(uint32_t scan_count = 1000) const {
    RedisMoveOptions o;
    o.from = from_.addr();
    o.to_host = "127.0.0.1";
    o.to_port = to_.port();
    o.arcs = arcs_;
    o.scan_count = scan_count;
    return o;
  }

  static std::optional<std::string> Get(RedisServer& s, const std::string& key) {
    auto r = s.Run({"GET", key});
    if (!r.ok() || r->type == Reply::Type::kNull) return std::nullopt;
    return r->str;
  }
  static int64_t DbSize(RedisServer& s) {
    auto r = s.Run({"DBSIZE"});
    return r.ok() ? r->integer : -1;
  }

  static constexpr int kKeys = 600;
  RedisServer from_;
  RedisServer to_;
  std::vector<ring::Arc> arcs_;
  std::vector<std::string> moving_;
};

TEST_F(RedisMoverTest, MovesTheKeysOfTheArcsAndOnlyThose) {
  RedisMoveProgress progress;
  std::vector<uint64_t> seen;
  Status s = MoveRedisArcs(
      Options(),
      [&](const RedisMoveProgress& p) {
        seen.push_back(p.keys_moved);
        return true;
      },
      &progress);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(progress.keys_scanned, static_cast<uint64_t>(kKeys));
  EXPECT_EQ(progress.keys_moved, moving_.size());
  EXPECT_EQ(progress.keys_kept, 0u);
  EXPECT_GT(progress.bytes_moved, 0u);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), moving_.size());

  EXPECT_EQ(DbSize(to_), static_cast<int64_t>(moving_.size()));
  EXPECT_EQ(DbSize(from_), static_cast<int64_t>(kKeys - moving_.size()));
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "key:" + std::to_string(i);
    std::string value = "v" + std::to_string(i);
    if (InArcs(key)) {
      EXPECT_EQ(Get(to_, key), value) << key;
      EXPECT_EQ(Get(from_, key), std::nullopt) << key;
    } else {
      EXPECT_EQ(Get(from_, key), value) << key;
      EXPECT_EQ(Get(to_, key), std::nullopt) << key;
    }
  }
}

TEST_F(RedisMoverTest, AKeyTheNewOwnerHoldsIsNotOverwrittenAndIsDroppedAfter) {
  const std::string& newer = moving_[0];
  ASSERT_TRUE(to_.Run({"SET", newer, "written-on-the-new-owner"}).ok());
  RedisMoveProgress progress;
  Status s = MoveRedisArcs(
      Options(), [](const RedisMoveProgress&) { return true; }, &progress);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_GE(progress.keys_kept, 1u);
  EXPECT_EQ(Get(to_, newer), "written-on-the-new-owner");
  EXPECT_EQ(Get(from_, newer), std::optional<std::string>("v" + newer.substr(4)));
  // Every other key of the arcs moved.
  for (size_t i = 1; i < moving_.size(); ++i) {
    EXPECT_EQ(Get(from_, moving_[i]), std::nullopt) << moving_[i];
    EXPECT_TRUE(Get(to_, moving_[i])) << moving_[i];
  }

  uint64_t dropped = 0;
  ASSERT_TRUE(DropRedisArcs(Options(), &dropped).ok());
  EXPECT_EQ(dropped, 1u);
  EXPECT_EQ(Get(from_, newer), std::nullopt);
  EXPECT_EQ(Get(to_, newer), "written-on-the-new-owner");
  EXPECT_EQ(DbSize(from_), static_cast<int64_t>(kKeys - moving_.size()));
}

TEST_F(RedisMoverTest, AStoppedMoveContinuesWhenCalledAgain) {
  RedisMoveProgress first;
  Status s = MoveRedisArcs(
      Options(/*scan_count=*/20), [](const RedisMoveProgress& p) { return p.keys_scanned < 100; },
      &first);
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  EXPECT_LT(first.keys_scanned, static_cast<uint64_t>(kKeys));
  int64_t moved_before = DbSize(to_);
  EXPECT_LT(moved_before, static_cast<int64_t>(moving_.size()));

  RedisMoveProgress second;
  s = MoveRedisArcs(
      Options(20), [](const RedisMoveProgress&) { return true; }, &second);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(DbSize(to_), static_cast<int64_t>(moving_.size()));
  EXPECT_EQ(DbSize(from_), static_cast<int64_t>(kKeys - moving_.size()));
  EXPECT_EQ(first.keys_moved + second.keys_moved, moving_.size());
}

TEST_F(RedisMoverTest, NoArcsMovesNothing) {
  RedisMoveOptions o = Options();
  o.arcs.clear();
  RedisMoveProgress progress;
  ASSERT_TRUE(MoveRedisArcs(
                  o, [](const RedisMoveProgress&) { return true; }, &progress)
                  .ok());
  EXPECT_EQ(progress.keys_scanned, static_cast<uint64_t>(kKeys));
  EXPECT_EQ(progress.keys_moved, 0u);
  EXPECT_EQ(DbSize(to_), 0);
}

TEST_F(RedisMoverTest, AnUnreachableOwnerIsAnError) {
  RedisMoveOptions o = Options();
  from_.Stop();
  RedisMoveProgress progress;
  EXPECT_FALSE(MoveRedisArcs(
                   o, [](const RedisMoveProgress&) { return true; }, &progress)
                   .ok());
  uint64_t dropped = 0;
  EXPECT_FALSE(DropRedisArcs(o, &dropped).ok());
}

}  // namespace
}  // namespace ringkv::router
