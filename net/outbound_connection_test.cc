#include "net/outbound_connection.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/connection_loop.h"
#include "net/resp/resp_parser.h"
#include "net/test_pki.h"
#include "net/tls.h"

namespace ringkv::net {
namespace {

// ECHO x answers the bulk x; BIG n a bulk of n bytes; BYE closes after the replies.
class Server final : public RequestHandler {
 public:
  void OnRequest(Connection& conn, std::span<const std::string_view> args,
                 std::string_view /*raw*/) override {
    std::string body = args.size() > 1 ? std::string(args[1]) : "";
    if (args[0] == "BIG") body.assign(std::stoul(body), 'x');
    if (args[0] == "BYE") {
      conn.out().append("+BYE\r\n");
      conn.CloseAfterReplies();
      return;
    }
    conn.out().append("$" + std::to_string(body.size()) + "\r\n" + body + "\r\n");
  }
};

// A client loop on its own thread and what its handler saw.
class Client final : public OutboundConnection::Handler {
 public:
  Client() {
    loop_ = std::move(*EventLoop::Create(0));
    conn_ = std::make_unique<OutboundConnection>(*loop_, *this);
    thread_ = std::thread([this] { loop_->Run(); });
  }
  ~Client() {
    loop_->Post([this] {
      conn_->Close();
      loop_->Quit();
    });
    thread_.join();
  }
  // Runs `fn` on the loop's thread.
  void Do(std::function<void(OutboundConnection&)> fn) {
    loop_->Post([this, fn = std::move(fn)] { fn(*conn_); });
  }
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return pred(); });
  }

  void OnConnected() override {
    Note([&] { ++connected; });
  }
  void OnReply(std::string_view reply) override {
    Note([&] { replies.emplace_back(reply); });
  }
  void OnClosed(const std::string& reason) override {
    Note([&] { closed.push_back(reason); });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int connected = 0;
  std::vector<std::string> replies;
  std::vector<std::string> closed;

 private:
  template <typename Fn>
  void Note(Fn fn) {
    std::lock_guard lock(mu_);
    fn();
    cv_.notify_all();
  }
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<OutboundConnection> conn_;
  std::thread thread_;
};

std::string Command(std::initializer_list<std::string_view> args) {
  return resp::EncodeCommand(std::span<const std::string_view>(args.begin(), args.size()));
}

class OutboundConnectionTest : public ::testing::Test {
 protected:
  OutboundConnectionTest()
      : server_(ConnectionLoopOptions{.port = 0, .threads = 1},
                [](Connection&) { return std::make_shared<Server>(); }) {
    EXPECT_TRUE(server_.Start().ok());
    addr_ = *ResolveTcp("127.0.0.1:" + std::to_string(server_.port()));
  }
  ConnectionLoop server_;
  SocketAddress addr_;
};

TEST_F(OutboundConnectionTest, PipelinedRepliesArriveWholeAndInOrder) {
  Client c;
  const size_t big = size_t{8} << 20;  // more than a socket buffer holds
  c.Do([&](OutboundConnection& conn) {
    ASSERT_TRUE(conn.Connect(addr_).ok());
    // Appended before the handshake ends: sent once connected.
    conn.out() +=
        Command({"ECHO", "a"}) + Command({"BIG", std::to_string(big)}) + Command({"ECHO", "c\r\n"});
    conn.Flush();
  });
  ASSERT_TRUE(c.WaitFor([&] { return c.replies.size() == 3; }));
  EXPECT_EQ(c.connected, 1);
  EXPECT_EQ(c.replies[0], "$1\r\na\r\n");
  EXPECT_EQ(c.replies[1].size(), big + std::to_string(big).size() + 5);
  EXPECT_EQ(c.replies[2], "$3\r\nc\r\n\r\n");
  EXPECT_TRUE(c.closed.empty());
}

TEST_F(OutboundConnectionTest, APeerThatClosesIsReportedAfterItsReplies) {
  Client c;
  c.Do([&](OutboundConnection& conn) {
    ASSERT_TRUE(conn.Connect(addr_).ok());
    conn.out() += Command({"ECHO", "x"}) + Command({"BYE"});
    conn.Flush();
  });
  ASSERT_TRUE(c.WaitFor([&] { return !c.closed.empty(); }));
  EXPECT_EQ(c.replies, (std::vector<std::string>{"$1\r\nx\r\n", "+BYE\r\n"}));
  EXPECT_NE(c.closed[0].find("closed"), std::string::npos) << c.closed[0];
  // The same object connects again.
  c.Do([&](OutboundConnection& conn) {
    ASSERT_FALSE(conn.open());
    ASSERT_TRUE(conn.Connect(addr_).ok());
    conn.out() += Command({"ECHO", "again"});
    conn.Flush();
  });
  ASSERT_TRUE(c.WaitFor([&] { return c.replies.size() == 3; }));
  EXPECT_EQ(c.replies[2], "$5\r\nagain\r\n");
}

TEST_F(OutboundConnectionTest, ARefusedConnectIsReported) {
  const uint16_t port = server_.port();
  server_.Stop();
  Client c;
  c.Do([&](OutboundConnection& conn) {
    Status s = conn.Connect(*ResolveTcp("127.0.0.1:" + std::to_string(port)));
    if (!s.ok()) c.OnClosed(s.message());  // refused at once: as good as an event
  });
  ASSERT_TRUE(c.WaitFor([&] { return !c.closed.empty(); }));
  EXPECT_NE(c.closed[0].find("connect"), std::string::npos) << c.closed[0];
  EXPECT_EQ(c.connected, 0);
}

// TLS: certificates made once with the openssl CLI — a "good" and a
// "rogue" CA, each signing one certificate for 127.0.0.1 / localhost that
// serves as both a server and a client certificate.
class OutboundTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new testing::TestPki("ringkv-outbound-tls");
    ASSERT_EQ(pki_->error(), "");
  }
  static void TearDownTestSuite() { delete pki_; }
  static std::string File(const std::string& name) { return pki_->Path(name); }

  // A TLS-only server with `who`'s certificate, asking for a client
  // certificate from the good CA.
  void StartServer(const std::string& who) {
    ConnectionLoopOptions o{.port = 0, .threads = 1};
    o.tls_only = true;
    o.tls = TlsOptions{.cert_file = File(who + ".crt"),
                       .key_file = File(who + ".key"),
                       .ca_cert_file = File("good-ca.crt"),
                       .auth_clients = TlsAuthClients::kYes};
    server_ =
        std::make_unique<ConnectionLoop>(o, [](Connection&) { return std::make_shared<Server>(); });
    ASSERT_TRUE(server_->Start().ok());
    addr_ = *ResolveTcp("127.0.0.1:" + std::to_string(server_->port()));
  }
  // A client context trusting `ca`, presenting `who`'s certificate (none: "").
  static std::shared_ptr<const TlsContext> ClientTls(const std::string& ca,
                                                     const std::string& who) {
    TlsClientOptions o{.ca_cert_file = File(ca + "-ca.crt")};
    if (!who.empty()) {
      o.cert_file = File(who + ".crt");
      o.key_file = File(who + ".key");
    }
    StatusOr<std::shared_ptr<const TlsContext>> ctx = TlsContext::CreateClient(o);
    EXPECT_TRUE(ctx.ok()) << ctx.status().message();
    return ctx.ok() ? *ctx : nullptr;
  }
  // Connects over TLS and sends ECHO hello; the client's events tell the rest.
  void ConnectAndEcho(Client& c, std::shared_ptr<const TlsContext> tls, const std::string& name) {
    c.Do([this, tls, name](OutboundConnection& conn) {
      ASSERT_TRUE(conn.Connect(addr_, tls, name).ok());
      conn.out() += Command({"ECHO", "hello"});
      conn.Flush();
    });
  }

  static testing::TestPki* pki_;
  std::unique_ptr<ConnectionLoop> server_;
  SocketAddress addr_;
};

testing::TestPki* OutboundTlsTest::pki_ = nullptr;

TEST_F(OutboundTlsTest, PipelinedRepliesArriveWholeAndInOrderOverMutualTls) {
  StartServer("good");
  Client c;
  const size_t big = size_t{8} << 20;  // many TLS records, more than a socket buffer holds
  auto tls = ClientTls("good", "good");
  c.Do([&](OutboundConnection& conn) {
    ASSERT_TRUE(conn.Connect(addr_, tls, "127.0.0.1").ok());
    EXPECT_TRUE(conn.tls());
    // Appended before either handshake ends: sent once both are done.
    conn.out() +=
        Command({"ECHO", "a"}) + Command({"BIG", std::to_string(big)}) + Command({"ECHO", "c\r\n"});
    conn.Flush();
  });
  ASSERT_TRUE(c.WaitFor([&] { return c.replies.size() == 3; }));
  EXPECT_EQ(c.connected, 1);
  EXPECT_EQ(c.replies[0], "$1\r\na\r\n");
  EXPECT_EQ(c.replies[1].size(), big + std::to_string(big).size() + 5);
  EXPECT_EQ(c.replies[2], "$3\r\nc\r\n\r\n");
  // Many small requests, each answered: decrypted bytes OpenSSL holds are read too.
  c.Do([&](OutboundConnection& conn) {
    for (int i = 0; i < 1000; ++i) conn.out() += Command({"ECHO", std::to_string(i)});
    conn.Flush();
  });
  ASSERT_TRUE(c.WaitFor([&] { return c.replies.size() == 1003; }));
  EXPECT_EQ(c.replies[1002], "$3\r\n999\r\n");
  EXPECT_TRUE(c.closed.empty());
}

TEST_F(OutboundTlsTest, AServerClosingAfterItsRepliesIsReportedAndTheConnectionRedials) {
  StartServer("good");
  Client c;
  auto tls = ClientTls("good", "good");
  c.Do([&](OutboundConnection& conn) {
    ASSERT_TRUE(conn.Connect(addr_, tls, "localhost").ok());
    conn.out() += Command({"ECHO", "x"}) + Command({"BYE"});
    conn.Flush();
  });
  ASSERT_TRUE(c.WaitFor([&] { return !c.closed.empty(); }));
  EXPECT_EQ(c.replies, (std::vector<std::string>{"$1\r\nx\r\n", "+BYE\r\n"}));
  EXPECT_NE(c.closed[0].find("closed"), std::string::npos) << c.closed[0];
  ConnectAndEcho(c, tls, "127.0.0.1");
  ASSERT_TRUE(c.WaitFor([&] { return c.replies.size() == 3; }));
  EXPECT_EQ(c.replies[2], "$5\r\nhello\r\n");
  EXPECT_EQ(c.connected, 2);
}

TEST_F(OutboundTlsTest, AServerCertificateFromAnotherCaFailsNamingTheReason) {
  StartServer("rogue");
  Client c;
  ConnectAndEcho(c, ClientTls("good", "good"), "127.0.0.1");
  ASSERT_TRUE(c.WaitFor([&] { return !c.closed.empty(); }));
  EXPECT_NE(c.closed[0].find("TLS handshake with 127.0.0.1 failed"), std::string::npos)
      << c.closed[0];
  EXPECT_NE(c.closed[0].find("certificate verify failed"), std::string::npos) << c.closed[0];
  EXPECT_EQ(c.connected, 0);
  EXPECT_TRUE(c.replies.empty());
}

TEST_F(OutboundTlsTest, AServerCertificateForAnotherNameFails) {
  StartServer("good");
  Client c;
  ConnectAndEcho(c, ClientTls("good", "good"), "node-9.example");
  ASSERT_TRUE(c.WaitFor([&] { return !c.closed.empty(); }));
  EXPECT_NE(c.closed[0].find("certificate verify failed"), std::string::npos) << c.closed[0];
  EXPECT_NE(c.closed[0].find("mismatch"), std::string::npos) << c.closed[0];
  EXPECT_EQ(c.connected, 0);
}

TEST_F(OutboundTlsTest, AServerAskingForAClientCertificateRefusesNoneOrAnotherCas) {
  StartServer("good");
  for (const std::string who : {"", "rogue"}) {
    Client c;
    ConnectAndEcho(c, ClientTls("good", who), "127.0.0.1");
    ASSERT_TRUE(c.WaitFor([&] { return !c.closed.empty(); })) << who;
    EXPECT_TRUE(c.replies.empty()) << who;
    EXPECT_FALSE(c.closed[0].empty()) << who;
  }
}

TEST_F(OutboundTlsTest, APlaintextClientGetsNoReplyFromATlsOnlyPort) {
  StartServer("good");
  Client c;
  c.Do([&](OutboundConnection& conn) {
    ASSERT_TRUE(conn.Connect(addr_).ok());
    conn.out() += Command({"ECHO", "hello"});
    conn.Flush();
  });
  // The server reads our bytes as a broken ClientHello and closes (or sends
  // an alert, which is no RESP reply either).
  ASSERT_TRUE(c.WaitFor([&] { return !c.closed.empty(); }));
  EXPECT_TRUE(c.replies.empty());
}

TEST(ResolveTcpTest, TakesIpv4Ipv6AndNamesAndRefusesTheRest) {
  EXPECT_TRUE(ResolveTcp("127.0.0.1:80").ok());
  EXPECT_TRUE(ResolveTcp("[::1]:80").ok());
  EXPECT_TRUE(ResolveTcp("localhost:80").ok());
  EXPECT_FALSE(ResolveTcp("127.0.0.1").ok());
  EXPECT_FALSE(ResolveTcp("127.0.0.1:").ok());
  EXPECT_FALSE(ResolveTcp("127.0.0.1:http").ok());
}

}  // namespace
}  // namespace ringkv::net
