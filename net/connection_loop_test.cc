#include "net/connection_loop.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ringkv::net {
namespace {

constexpr size_t kBigReply = size_t{32} << 20;  // more than any socket buffer holds

// What the handlers saw, across threads.
struct Log {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> raw;  // each request's bytes as received
  std::vector<size_t> unsent;    // conn.unsent() when each request ran
  int64_t open = 0;
  int rejected = 0;
  int closed = 0;  // OnClose calls

  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), pred);
  }
};

// ECHO x answers +x; BIG answers a kBigReply-byte bulk string.
class EchoHandler final : public RequestHandler {
 public:
  explicit EchoHandler(Log& log) : log_(log) {}
  void OnRequest(Connection& conn, std::span<const std::string_view> args,
                 std::string_view raw) override {
    {
      std::lock_guard lock(log_.mu);
      log_.raw.emplace_back(raw);
      log_.unsent.push_back(conn.unsent());
    }
    if (args[0] == "BIG") {
      conn.out().append("$" + std::to_string(kBigReply) + "\r\n");
      conn.out().append(kBigReply, 'x');
      conn.out().append("\r\n");
    } else {
      conn.out().append("+").append(args.size() > 1 ? args[1] : "PONG").append("\r\n");
    }
  }
  void OnClose() override {
    std::lock_guard lock(log_.mu);
    ++log_.closed;
    log_.cv.notify_all();
  }

 private:
  Log& log_;
};

// A blocking client socket; reads time out after 10 s instead of hanging.
class Client {
 public:
  explicit Client(uint16_t port, int rcvbuf = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
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
  // Sends what the server takes before it closes; false if it closed first.
  bool TrySend(std::string_view s) {
    for (size_t off = 0; off < s.size();) {
      ssize_t r = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (r <= 0) return false;
      off += static_cast<size_t>(r);
    }
    return true;
  }
  // Reads until `n` bytes arrived, the server closed, or the timeout.
  std::string Read(size_t n) {
    std::string got;
    std::vector<char> buf(size_t{64} * 1024);
    while (got.size() < n) {
      ssize_t r = ::recv(fd_, buf.data(), std::min(buf.size(), n - got.size()), 0);
      if (r <= 0) break;
      got.append(buf.data(), static_cast<size_t>(r));
    }
    return got;
  }
  // True if the server closed the connection (EOF) before the timeout.
  bool ReadsEnd() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool connected_ = false;
};

class ConnectionLoopTest : public ::testing::Test {
 protected:
  void Start(ConnectionLoopOptions o = {}) {
    o.port = 0;
    loop_ = std::make_unique<ConnectionLoop>(
        o,
        [this](Connection&) -> std::shared_ptr<RequestHandler> {
          return std::make_shared<EchoHandler>(log_);
        },
        [this](int64_t open, bool, bool rejected) {
          std::lock_guard lock(log_.mu);
          log_.open = open;
          if (rejected) ++log_.rejected;
          log_.cv.notify_all();
        });
    ASSERT_TRUE(loop_->Start().ok());
  }

  Log log_;
  // Outlives loop_: the connections still open when the test body ends
  // update the counters as the loop's destructor closes them.
  ClientCounters counters_;
  std::unique_ptr<ConnectionLoop> loop_;
};

TEST_F(ConnectionLoopTest, PipelinedRequestsAreAnsweredInOrderWithTheirBytes) {
  Start();
  Client c(loop_->port());
  ASSERT_TRUE(c.connected());
  const std::string multibulk = "*2\r\n$4\r\nECHO\r\n$1\r\nc\r\n";
  c.Send("ECHO a\r\nECHO b\r\n" + multibulk + "\r\nECHO d\r\n");  // an empty inline line is skipped
  EXPECT_EQ(c.Read(16), "+a\r\n+b\r\n+c\r\n+d\r\n");
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.raw,
            (std::vector<std::string>{"ECHO a\r\n", "ECHO b\r\n", multibulk, "ECHO d\r\n"}));
}

TEST_F(ConnectionLoopTest, AClientClosingMidRequestIsClosedWithoutRunningIt) {
  Start();
  {
    Client c(loop_->port());
    c.Send("ECHO a\r\n*2\r\n$4\r\nECHO\r\n$5\r\nab");
    EXPECT_EQ(c.Read(4), "+a\r\n");
  }
  ASSERT_TRUE(log_.WaitFor([&] { return log_.open == 0 && log_.closed == 1; }));
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.raw.size(), 1u);
}

TEST_F(ConnectionLoopTest, AProtocolErrorIsAnsweredAfterEarlierRepliesThenCloses) {
  Start();
  Client c(loop_->port());
  c.Send("ECHO a\r\n*x\r\nECHO never\r\n");
  EXPECT_EQ(c.Read(100), "+a\r\n-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_TRUE(c.ReadsEnd());
}

TEST_F(ConnectionLoopTest, ConnectionsBeyondMaxclientsAreRefused) {
  ConnectionLoopOptions o;
  o.maxclients = 1;
  Start(o);
  Client first(loop_->port());
  ASSERT_TRUE(log_.WaitFor([&] { return log_.open == 1; }));
  Client second(loop_->port());
  EXPECT_EQ(second.Read(100), "-ERR max number of clients reached\r\n");
  ASSERT_TRUE(log_.WaitFor([&] { return log_.rejected == 1; }));
  first.Send("ECHO still\r\n");
  EXPECT_EQ(first.Read(8), "+still\r\n");
}

TEST_F(ConnectionLoopTest, ASlowReaderGetsEveryByteAndIsNotReadMeanwhile) {
  ConnectionLoopOptions o;
  o.threads = 1;
  Start(o);
  Client c(loop_->port());
  c.Send("BIG\r\n");
  const std::string header = "$" + std::to_string(kBigReply) + "\r\n";
  EXPECT_EQ(c.Read(header.size()), header);
  // The reply does not fit the socket buffers: the rest waits for EPOLLOUT,
  // and this request is read only once the reply is out.
  c.Send("ECHO after\r\n");
  std::string rest = c.Read(kBigReply + 2 + 8);
  ASSERT_EQ(rest.size(), kBigReply + 2 + 8);
  EXPECT_EQ(rest.substr(kBigReply), "\r\n+after\r\n");
  EXPECT_EQ(rest.find_first_not_of('x'), kBigReply);
  std::lock_guard lock(log_.mu);
  ASSERT_EQ(log_.unsent.size(), 2u);
  EXPECT_EQ(log_.unsent[1], 0u);
}

TEST_F(ConnectionLoopTest, RequestsRunOnlyWhileFewRepliesWaitToBeSent) {
  ConnectionLoopOptions o;
  o.threads = 1;
  o.client.output_pause_bytes = size_t{1} << 20;
  Start(o);
  Client c(loop_->port(), 4096);
  c.Send("BIG\r\nBIG\r\nBIG\r\n");
  const std::string header = "$" + std::to_string(kBigReply) + "\r\n";
  const size_t reply = header.size() + kBigReply + 2;
  EXPECT_EQ(c.Read(3 * reply).size(), 3 * reply);
  std::lock_guard lock(log_.mu);
  ASSERT_EQ(log_.unsent.size(), 3u);
  for (size_t u : log_.unsent) EXPECT_LT(u, o.client.output_pause_bytes);
}

TEST_F(ConnectionLoopTest, AClientAtTheHardOutputLimitIsClosed) {
  ClientCounters& counters = counters_;
  ConnectionLoopOptions o;
  o.client.output_pause_bytes = 0;
  o.client.output = {.hard_bytes = 8u << 20, .soft_bytes = 0, .soft_seconds = 0};
  o.counters = &counters;
  Start(o);
  Client c(loop_->port(), 4096);
  c.Send("BIG\r\nECHO never\r\n");
  ASSERT_TRUE(log_.WaitFor([&] { return log_.closed == 1; }));
  EXPECT_EQ(counters.output_limit_disconnects.load(), 1u);
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.raw.size(), 1u);
}

TEST_F(ConnectionLoopTest, AClientThatStopsReadingMeetsTheSoftLimit) {
  ClientCounters& counters = counters_;
  ConnectionLoopOptions o;
  o.client.output = {.hard_bytes = 0, .soft_bytes = 1u << 20, .soft_seconds = 1};
  o.counters = &counters;
  Start(o);
  Client c(loop_->port(), 4096);
  c.Send("BIG\r\n");
  ASSERT_TRUE(log_.WaitFor([&] { return log_.closed == 1; }));
  EXPECT_EQ(counters.output_limit_disconnects.load(), 1u);
  EXPECT_EQ(counters.buffer_bytes.load(), 0);
}

TEST_F(ConnectionLoopTest, OverMaxmemoryClientsTheLargestClientIsClosed) {
  ClientCounters& counters = counters_;
  ConnectionLoopOptions o;
  o.threads = 1;
  o.client.maxmemory_clients = 6u << 20;
  o.counters = &counters;
  Start(o);
  Client small(loop_->port());
  small.Send("*2\r\n$4\r\nECHO\r\n$100000000\r\n" + std::string(size_t{1} << 20, 'x'));
  ASSERT_TRUE(log_.WaitFor([&] { return log_.open == 1; }));
  while (counters.buffer_bytes.load() < (int64_t{1} << 20)) std::this_thread::yield();
  Client large(loop_->port());
  // Closed while it sends: the send may stop short.
  (void)large.TrySend("*2\r\n$4\r\nECHO\r\n$100000000\r\n" + std::string(size_t{8} << 20, 'x'));
  ASSERT_TRUE(log_.WaitFor([&] { return log_.closed == 1; }));
  EXPECT_EQ(counters.memory_evictions.load(), 1u);
  EXPECT_TRUE(large.ReadsEnd());
  small.Send("x");  // still open
  EXPECT_LE(counters.buffer_bytes.load(), int64_t{6} << 20);
}

TEST_F(ConnectionLoopTest, StopClosesOpenConnections) {
  Start();
  Client c(loop_->port());
  ASSERT_TRUE(log_.WaitFor([&] { return log_.open == 1; }));
  loop_->Stop();
  EXPECT_TRUE(c.ReadsEnd());
  std::lock_guard lock(log_.mu);
  EXPECT_EQ(log_.closed, 1);
}

}  // namespace
}  // namespace ringkv::net
