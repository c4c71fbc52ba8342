#include "net/resp_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ringkv::net {
namespace {

// Completions taken by DEFER commands, in order, for the test to run.
class Deferred {
 public:
  void Push(ReplyDeferrer::Completion c) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(c));
    cv_.notify_all();
  }
  // Waits (bounded) for the next completion.
  ReplyDeferrer::Completion Pop() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !queue_.empty(); })) return {};
    auto c = std::move(queue_.front());
    queue_.pop_front();
    return c;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ReplyDeferrer::Completion> queue_;
};

// ECHO x answers +x at once (and records x in `ran`); DEFER parks the
// connection until the test completes it; ABANDON sets AbandonOnClose;
// STALL ms keeps the I/O thread busy, as a stopped process would.
class TestHandler final : public ConnectionHandler {
 public:
  TestHandler(Deferred& deferred, std::vector<std::string>& ran, std::mutex& mu)
      : deferred_(deferred), ran_(ran), mu_(mu) {}
  After Execute(std::span<const std::string_view> args, std::string& out,
                ReplyDeferrer& deferrer) override {
    if (args[0] == "DEFER") {
      deferred_.Push(deferrer.Defer());
      return {};
    }
    if (args[0] == "STALL") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(args[1]))));
    }
    if (args.size() > 1) {
      std::lock_guard lock(mu_);
      ran_.emplace_back(args[1]);
    }
    out.append("+").append(args.size() > 1 ? args[1] : "PONG").append("\r\n");
    return {.abandon_on_close = args[0] == "ABANDON"};
  }
  bool Authenticated() const override { return true; }

 private:
  Deferred& deferred_;
  std::vector<std::string>& ran_;
  std::mutex& mu_;
};

// A blocking client socket; reads time out after 10 s instead of hanging.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { Close(); }
  bool connected() const { return connected_; }
  void Send(std::string_view s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  // Reads until `n` bytes arrived, the server closed, or the timeout.
  std::string Read(size_t n) {
    std::string got;
    char buf[4096];
    while (got.size() < n) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r <= 0) break;
      got.append(buf, static_cast<size_t>(r));
    }
    return got;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool connected_ = false;
};

class RespServerDeferTest : public ::testing::Test {
 protected:
  void StartServer(RespServerOptions o = {}) {
    o.port = 0;
    server_ = std::make_unique<RespServer>(
        o, [this] { return std::make_unique<TestHandler>(deferred_, ran_, mu_); },
        [this](int64_t open, bool, bool) {
          std::lock_guard lock(mu_);
          open_ = open;
          cv_.notify_all();
        });
    ASSERT_TRUE(server_->Start().ok());
  }
  bool WaitOpen(int64_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return open_ == n; });
  }
  // Completes from another thread, as a gRPC callback would.
  static void CompleteElsewhere(ReplyDeferrer::Completion c, std::string reply) {
    std::thread([&c, &reply] { c(std::move(reply)); }).join();
  }

  std::vector<std::string> Ran() {
    std::lock_guard lock(mu_);
    return ran_;
  }

  Deferred deferred_;
  std::vector<std::string> ran_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t open_ = 0;
  std::unique_ptr<RespServer> server_;
};

TEST_F(RespServerDeferTest, PipelinedRepliesStayInOrder) {
  StartServer();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("ECHO a\r\nDEFER\r\nECHO b\r\nDEFER\r\nECHO c\r\n");
  EXPECT_EQ(c.Read(4), "+a\r\n");  // replies before the deferred one are sent at once
  auto first = deferred_.Pop();
  ASSERT_TRUE(first);
  CompleteElsewhere(first, "+one\r\n");
  EXPECT_EQ(c.Read(10), "+one\r\n+b\r\n");
  auto second = deferred_.Pop();
  ASSERT_TRUE(second);
  CompleteElsewhere(second, "+two\r\n");
  CompleteElsewhere(second, "+again\r\n");  // a second call of one completion is ignored
  EXPECT_EQ(c.Read(10), "+two\r\n+c\r\n");
  c.Send("ECHO d\r\n");
  EXPECT_EQ(c.Read(4), "+d\r\n");
}

TEST_F(RespServerDeferTest, OtherConnectionsAreServedWhileOneIsParked) {
  RespServerOptions o;
  o.threads = 1;
  StartServer(o);
  Client parked(server_->port()), other(server_->port());
  parked.Send("DEFER\r\n");
  auto done = deferred_.Pop();
  ASSERT_TRUE(done);
  other.Send("ECHO x\r\n");
  EXPECT_EQ(other.Read(4), "+x\r\n");
  parked.Send("ECHO later\r\n");  // buffered while parked
  other.Send("ECHO y\r\n");
  EXPECT_EQ(other.Read(4), "+y\r\n");
  CompleteElsewhere(done, "$3\r\nfoo\r\n");
  EXPECT_EQ(parked.Read(17), "$3\r\nfoo\r\n+later\r\n");
}

TEST_F(RespServerDeferTest, AClientGoneWhileParkedIsClosedAfterTheCompletion) {
  StartServer();
  {
    Client c(server_->port());
    c.Send("DEFER\r\nECHO never\r\n");
    ASSERT_TRUE(WaitOpen(1));
  }
  auto done = deferred_.Pop();
  ASSERT_TRUE(done);
  CompleteElsewhere(done, "+late\r\n");
  ASSERT_TRUE(WaitOpen(0));
  CompleteElsewhere(done, "+again\r\n");  // the connection is gone: dropped
  Client next(server_->port());
  next.Send("ECHO ok\r\n");
  EXPECT_EQ(next.Read(5), "+ok\r\n");
}

TEST_F(RespServerDeferTest, AHalfClosedClientGetsEveryReplyThenTheEnd) {
  StartServer();
  Client c(server_->port());
  c.Send("ECHO a\r\nDEFER\r\nECHO b\r\n");
  c.ShutdownWrite();
  auto done = deferred_.Pop();
  ASSERT_TRUE(done);
  CompleteElsewhere(done, "+late\r\n");
  EXPECT_EQ(c.Read(100), "+a\r\n+late\r\n+b\r\n");  // then EOF
  ASSERT_TRUE(WaitOpen(0));
}

// Replies owed to other nodes do not hold the requests after them: both
// deferrals are taken before either completes, and replies keep request order.
TEST_F(RespServerDeferTest, DeferredRepliesDoNotHoldLaterRequests) {
  StartServer();
  Client c(server_->port());
  c.Send("DEFER\r\nECHO mid\r\nDEFER\r\nECHO end\r\n");
  auto first = deferred_.Pop();
  auto second = deferred_.Pop();
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  CompleteElsewhere(second, "+two\r\n");
  CompleteElsewhere(first, "+one\r\n");
  EXPECT_EQ(c.Read(24), "+one\r\n+mid\r\n+two\r\n+end\r\n");
}

TEST_F(RespServerDeferTest, TheQueryBufferLimitAppliesWhileParked) {
  RespServerOptions o;
  o.max_query_buffer = 64;
  o.max_deferred_replies = 1;  // one owed reply parks the connection
  StartServer(o);
  Client c(server_->port());
  c.Send("DEFER\r\n");
  auto done = deferred_.Pop();
  ASSERT_TRUE(done);
  c.Send("ECHO " + std::string(200, 'x') + "\r\n");
  std::string got = c.Read(1000);
  EXPECT_EQ(got.rfind("-ERR Protocol error: query buffer of", 0), 0u) << got;
  ASSERT_TRUE(WaitOpen(0));
  CompleteElsewhere(done, "+late\r\n");
}

TEST_F(RespServerDeferTest, ACompletionAfterStopIsDropped) {
  StartServer();
  Client c(server_->port());
  c.Send("DEFER\r\n");
  auto done = deferred_.Pop();
  ASSERT_TRUE(done);
  server_->Stop();
  CompleteElsewhere(done, "+late\r\n");
  EXPECT_EQ(c.Read(1), "");  // closed, nothing sent
  server_.reset();
  CompleteElsewhere(done, "+later\r\n");  // the server is gone
}

// A process stopped in the middle of a pipelined batch (here: a request that
// keeps the thread 300 ms) must not run the rest of the batch once it
// resumes if the peer, which gave up and resent it elsewhere, has hung up.
TEST_F(RespServerDeferTest, AnAbandoningConnectionDropsTheRestOfAStalledBatchOnceThePeerIsGone) {
  StartServer();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("*1\r\n$7\r\nABANDON\r\n");
  ASSERT_EQ(c.Read(7), "+PONG\r\n");
  c.Send("*2\r\n$5\r\nSTALL\r\n$3\r\n300\r\n*2\r\n$4\r\nECHO\r\n$4\r\nlate\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.Close();
  ASSERT_TRUE(WaitOpen(0));
  EXPECT_EQ(Ran(), std::vector<std::string>{"300"});
}

// The same batch on a connection whose peer stays runs to the end.
TEST_F(RespServerDeferTest, AStalledBatchRunsToTheEndWhileThePeerStays) {
  StartServer();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("*1\r\n$7\r\nABANDON\r\n");
  ASSERT_EQ(c.Read(7), "+PONG\r\n");
  c.Send("*2\r\n$5\r\nSTALL\r\n$3\r\n300\r\n*2\r\n$4\r\nECHO\r\n$4\r\nlate\r\n");
  EXPECT_EQ(c.Read(13), "+300\r\n+late\r\n");
  EXPECT_EQ(Ran(), (std::vector<std::string>{"300", "late"}));
}

}  // namespace
}  // namespace ringkv::net
