// The local provider against real processes: redis-server, and a fake
// `ringkv` (a shell script) that writes its ports file and waits, so these
// tests depend neither on the router nor on the node.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "provider/provider.h"

namespace ringkv::provider {
namespace {

namespace fs = std::filesystem;

// Behaviour is chosen by the instance's arguments:
//   --exit-now   print a message and exit 3
//   --no-ports   never write the ports file
const char kFakeRingkv[] = R"(#!/bin/sh
echo "fake ringkv: $*"
kind=$1; shift
ports=""
noports=0
while [ $# -gt 0 ]; do
  case "$1" in
    --ports-file) ports=$2; shift ;;
    --exit-now) echo "fake ringkv: failing on purpose" >&2; exit 3 ;;
    --no-ports) noports=1 ;;
  esac
  shift
done
if [ $noports = 0 ]; then
  printf '{"id":"%s","bind":"127.0.0.1","resp_port":1111,"http_port":2222,"grpc_port":3333,"pid":%d}' \
    "$kind" $$ > "$ports.tmp" && mv "$ports.tmp" "$ports"
fi
sleep 600 &
wait
)";

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Polls `cond` for up to 10 s; process state changes are asynchronous.
bool Eventually(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string RedisPing(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, "PING\r\n", 6) == 6) {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) reply.assign(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

LaunchSpec Spec(const std::string& name, const std::string& kind) {
  LaunchSpec spec;
  spec.name = name;
  spec.kind = kind;
  return spec;
}

class LocalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv-provider-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fake_ = dir_ / "fake-ringkv";
    std::ofstream(fake_) << kFakeRingkv;
    fs::permissions(fake_, fs::perms::owner_all);
    run_dir_ = dir_ / "run";
    provider_ = NewLocalProvider(run_dir_.string(), fake_.string());
  }

  void TearDown() override {
    if (auto list = provider_->List(); list.ok()) {
      for (const auto& i : *list) (void)provider_->Stop(i.name);
    }
    fs::remove_all(dir_);
  }

  StatusOr<Instance> LaunchFake(const std::string& name, std::vector<std::string> args = {},
                                uint32_t timeout_ms = 10000) {
    return provider_->Launch(
        {.name = name, .kind = "node", .args = std::move(args), .ready_timeout_ms = timeout_ms});
  }

  fs::path dir_, fake_, run_dir_;
  std::unique_ptr<Provider> provider_;
};

TEST_F(LocalProviderTest, LaunchListStopFakeRingkv) {
  auto inst = LaunchFake("node-1", {"--id", "node-1"});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(inst->name, "node-1");
  EXPECT_EQ(inst->kind, "node");
  EXPECT_GT(inst->pid, 0);
  EXPECT_EQ(inst->host, "127.0.0.1");
  EXPECT_EQ(inst->resp_port, 1111);
  EXPECT_EQ(inst->http_port, 2222);
  EXPECT_EQ(inst->grpc_port, 3333);
  EXPECT_TRUE(inst->alive);
  EXPECT_EQ(getsid(inst->pid), inst->pid);  // its own session: outlives whoever launched it
  EXPECT_TRUE(fs::exists(run_dir_ / "node-1.json"));
  std::string log = ReadAll(run_dir_ / "node-1.log");
  EXPECT_NE(log.find("fake ringkv: node --id node-1 --ports-file " +
                     (run_dir_ / "node-1.ports").string()),
            std::string::npos)
      << log;

  auto list = provider_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "node-1");
  EXPECT_EQ((*list)[0].pid, inst->pid);
  EXPECT_EQ((*list)[0].http_port, 2222);
  EXPECT_TRUE((*list)[0].alive);

  ASSERT_TRUE(provider_->Stop("node-1").ok());
  EXPECT_NE(kill(inst->pid, 0), 0);  // Stop reaped our child
  EXPECT_FALSE(fs::exists(run_dir_ / "node-1.json"));
  EXPECT_TRUE(fs::exists(run_dir_ / "node-1.log"));
  list = provider_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(LocalProviderTest, StopUnknownIsNotFound) {
  EXPECT_EQ(provider_->Stop("nope").code(), StatusCode::kNotFound);
  ASSERT_TRUE(LaunchFake("node-1").ok());
  ASSERT_TRUE(provider_->Stop("node-1").ok());
  EXPECT_EQ(provider_->Stop("node-1").code(), StatusCode::kNotFound);
}

TEST_F(LocalProviderTest, DuplicateLiveNameRefused) {
  auto first = LaunchFake("node-1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = LaunchFake("node-1");
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find("node-1"), std::string::npos);
  auto list = provider_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].pid, first->pid);  // the first one is untouched
  EXPECT_TRUE((*list)[0].alive);
}

TEST_F(LocalProviderTest, ExitBeforeServingReportsLogTail) {
  auto inst = LaunchFake("node-1", {"--exit-now"});
  ASSERT_FALSE(inst.ok());
  EXPECT_NE(inst.status().message().find("exited with status 3"), std::string::npos)
      << inst.status().message();
  EXPECT_NE(inst.status().message().find("failing on purpose"), std::string::npos)
      << inst.status().message();
  EXPECT_FALSE(fs::exists(run_dir_ / "node-1.json"));
  auto list = provider_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(LocalProviderTest, NotServingInTimeIsKilled) {
  auto inst = LaunchFake("node-1", {"--no-ports"}, 200);
  ASSERT_EQ(inst.status().code(), StatusCode::kDeadlineExceeded) << inst.status().ToString();
  EXPECT_NE(inst.status().message().find("fake ringkv: node --no-ports"), std::string::npos)
      << inst.status().message();
  auto list = provider_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(LocalProviderTest, KilledProcessIsNotAliveAndNameIsReusable) {
  auto inst = LaunchFake("node-1");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  ASSERT_EQ(kill(inst->pid, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] {
    auto list = provider_->List();
    return list.ok() && list->size() == 1 && !(*list)[0].alive;
  }));
  auto again = LaunchFake("node-1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(again->pid, inst->pid);
  // The record of the dead process is forgotten without signalling anything.
  ASSERT_TRUE(provider_->Stop("node-1").ok());
}

TEST_F(LocalProviderTest, RecordOfAnUnrelatedPidIsNotAlive) {
  // A record whose pid now belongs to some other program (here: ourselves,
  // the test binary, which is neither ringkv nor redis-server).
  fs::create_directories(run_dir_);
  std::ofstream(run_dir_ / "node-9.json") << R"({"name":"node-9","kind":"node","pid":)" << getpid()
                                          << R"(,"http_port":1,"start_ticks":1})";
  auto list = provider_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_FALSE((*list)[0].alive);
  ASSERT_TRUE(provider_->Stop("node-9").ok());  // forgets it, signals nothing
}

TEST_F(LocalProviderTest, BadSpecsRejected) {
  EXPECT_EQ(LaunchFake("../escape").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LaunchFake("").status().code(), StatusCode::kInvalidArgument);
  auto bad_kind = provider_->Launch(Spec("x", "nginx"));
  EXPECT_EQ(bad_kind.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(provider_->Stop("../x").code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalProviderTest, MissingBinaryIsAnError) {
  auto p = NewLocalProvider(run_dir_.string(), (dir_ / "no-such-ringkv").string());
  auto inst = p->Launch(Spec("node-1", "node"));
  ASSERT_FALSE(inst.ok());
  EXPECT_NE(inst.status().message().find("no-such-ringkv"), std::string::npos)
      << inst.status().message();
}

TEST_F(LocalProviderTest, RedisLaunchListStop) {
  auto inst = provider_->Launch(Spec("redis-1", "redis"));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(inst->kind, "redis");
  ASSERT_GT(inst->resp_port, 0);
  EXPECT_EQ(RedisPing(inst->resp_port), "+PONG\r\n");

  auto list = provider_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].alive);
  EXPECT_EQ((*list)[0].resp_port, inst->resp_port);
  EXPECT_EQ(provider_->Launch(Spec("redis-1", "redis")).status().code(),
            StatusCode::kAlreadyExists);

  ASSERT_TRUE(provider_->Stop("redis-1").ok());
  EXPECT_EQ(RedisPing(inst->resp_port), "");
  list = provider_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

}  // namespace
}  // namespace ringkv::provider
