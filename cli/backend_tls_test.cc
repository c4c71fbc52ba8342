// The certificates `ringkv cluster up --tls` makes carry the router's RESP
// connections to a node whose only RESP port speaks TLS (docs/security.md,
// "TLS between router and nodes"): net::RespClient with the router's
// client-plane certificate reaches a TLS-only net::RespServer; plaintext, a
// client trusting another CA, and a client without a certificate do not.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "cli/cluster_tls.h"
#include "net/resp_client.h"
#include "net/resp_server.h"

namespace ringkv::cli {
namespace {

namespace fs = std::filesystem;

// Answers PING with +PONG, and PING <message> with the message, as Redis.
class Pong final : public net::ConnectionHandler {
 public:
  After Execute(std::span<const std::string_view> args, std::string& out,
                net::ReplyDeferrer&) override {
    if (args.size() < 2) {
      out.append("+PONG\r\n");
    } else {
      out.append("$" + std::to_string(args[1].size()) + "\r\n");
      out.append(args[1]);
      out.append("\r\n");
    }
    return {};
  }
  bool Authenticated() const override { return true; }
};

class BackendTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv-backend-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    run_dir_ = tmpl;
    ASSERT_TRUE(MakeLocalTls(run_dir_).ok());
    ASSERT_TRUE(IssueProcessTls(run_dir_, "node-1").ok());
    ASSERT_TRUE(IssueProcessTls(run_dir_, "router").ok());
    const TlsFiles node = TlsFilesOf(ClientTlsDir(run_dir_), "node-1");
    net::RespServerOptions o;
    o.threads = 1;
    o.tls_only = true;
    o.tls.cert_file = node.cert;
    o.tls.key_file = node.key;
    o.tls.ca_cert_file = node.ca;
    server_ = std::make_unique<net::RespServer>(o, [] { return std::make_unique<Pong>(); });
    ASSERT_TRUE(server_->Start().ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(run_dir_);
  }

  // A client context trusting `ca`, presenting `who`'s client-plane
  // certificate (none when empty).
  std::shared_ptr<const net::TlsContext> Client(const std::string& ca, const std::string& who) {
    net::TlsClientOptions o{.ca_cert_file = ca};
    if (!who.empty()) {
      const TlsFiles f = TlsFilesOf(ClientTlsDir(run_dir_), who);
      o.cert_file = f.cert;
      o.key_file = f.key;
    }
    auto ctx = net::TlsContext::CreateClient(o);
    EXPECT_TRUE(ctx.ok()) << ctx.status().message();
    return ctx.ok() ? *ctx : nullptr;
  }
  // PING over a new connection: the reply, or why there is none.
  std::string Ping(std::shared_ptr<const net::TlsContext> tls) {
    auto c = net::RespClient::Connect(addr_, 2000, net::RespCredentials{.tls = std::move(tls)});
    if (!c.ok()) return "connect: " + c.status().message();
    auto r = c->Call({"PING"}, 2000);
    return r.ok() ? r->str : "call: " + r.status().message();
  }

  std::string run_dir_;
  std::string addr_;
  std::unique_ptr<net::RespServer> server_;
};

TEST_F(BackendTlsTest, TheRoutersCertificateReachesATlsOnlyNode) {
  EXPECT_EQ(server_->tls_port(), server_->port());
  const std::string ca = ClientTlsDir(run_dir_) + "/ca.crt";
  EXPECT_EQ(Ping(Client(ca, "router")), "PONG");
  // Requests and replies larger than one TLS record (16 KB) go through whole.
  auto c = net::RespClient::Connect(addr_, 2000, net::RespCredentials{.tls = Client(ca, "router")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  for (int i = 0; i < 100; ++i) {
    const std::string message(40000 + i, static_cast<char>('a' + i % 26));
    auto r = c->Call({"PING", message}, 2000);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->str, message);
  }
}

TEST_F(BackendTlsTest, PlaintextAnotherCaOrNoCertificateGetNoAnswer) {
  EXPECT_NE(Ping(nullptr), "PONG");
  const std::string cluster_ca = ClusterTlsDir(run_dir_) + "/ca.crt";
  const std::string wrong = Ping(Client(cluster_ca, "router"));
  EXPECT_NE(wrong.find("TLS handshake"), std::string::npos) << wrong;
  EXPECT_NE(Ping(Client(ClientTlsDir(run_dir_) + "/ca.crt", "")), "PONG");
}

}  // namespace
}  // namespace ringkv::cli
