#include "net/grpc_client.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "net/grpc_server.h"
#include "net/test_pki.h"

namespace ringkv::net {
namespace {

TEST(GrpcClientTest, StatusConversionsKeepCodeAndMessage) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kUnauthenticated); ++c) {
    Status s(static_cast<StatusCode>(c), c == 0 ? "" : "why");
    grpc::Status g = ToGrpc(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), c);
    Status back = FromGrpc(g);
    EXPECT_EQ(back.code(), s.code());
    EXPECT_EQ(back.message(), s.message());
  }
}

TEST(GrpcClientTest, FromGrpcWithWhatNamesTheCallOnlyOnError) {
  Status s = FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"),
                      "SetMap on 127.0.0.1:1");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "SetMap on 127.0.0.1:1: connection refused");
  EXPECT_TRUE(FromGrpc(grpc::Status::OK, "SetMap").ok());
}

TEST(GrpcClientTest, OneChannelPerAddressEvenFromManyThreads) {
  GrpcChannels channels;
  std::vector<std::future<std::shared_ptr<grpc::Channel>>> got;
  got.reserve(8);
  for (int i = 0; i < 8; ++i) {
    got.push_back(std::async(std::launch::async, [&] { return channels.Get("127.0.0.1:1"); }));
  }
  std::shared_ptr<grpc::Channel> first = channels.Get("127.0.0.1:1");
  ASSERT_NE(first, nullptr);
  for (auto& f : got) EXPECT_EQ(f.get(), first);
  EXPECT_NE(channels.Get("127.0.0.1:2"), first);
}

// Calls `method` with an empty request through a generic stub.
grpc::Status Call(std::shared_ptr<grpc::Channel> channel, grpc::ClientContext& ctx,
                  const std::string& method, grpc::ByteBuffer& reply) {
  grpc::GenericStub stub(std::move(channel));
  grpc::Slice empty(std::string{});
  grpc::ByteBuffer request(&empty, 1);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &reply,
                 [&](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

class GrpcClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    addr_ = "127.0.0.1:" + std::to_string(server_.port());
  }

  GrpcServer server_{GrpcServerOptions{}};
  GrpcChannels channels_;
  std::string addr_;
};

TEST_F(GrpcClientServerTest, ACachedChannelReachesTheServer) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, 30000);
  grpc::ByteBuffer reply;
  // grpc.health.v1.Health/Check with service "" (an empty message).
  Status s = FromGrpc(Call(channels_.Get(addr_), ctx, "/grpc.health.v1.Health/Check", reply));
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(GrpcClientServerTest, ServerErrorsArriveAsRingkvStatuses) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, 30000);
  grpc::ByteBuffer reply;
  Status s = FromGrpc(Call(channels_.Get(addr_), ctx, "/ringkv.test.Nope/Call", reply), "Call");
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(s.message().rfind("Call: ", 0), 0u) << s.message();
}

TEST_F(GrpcClientServerTest, APassedDeadlineFailsTheCall) {
  grpc::ClientContext ctx;
  // Already past: a deadline of "now" may still be ahead when a fast call ends.
  ctx.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  grpc::ByteBuffer reply;
  Status s = FromGrpc(Call(channels_.Get(addr_), ctx, "/grpc.health.v1.Health/Check", reply));
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
}

// A server guarding "ringkv.test.Guarded" with a cluster secret: the guard
// runs before the (unimplemented) handler, health stays open, and a channel
// carrying the secret as metadata passes.
class GuardedServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    addr_ = "127.0.0.1:" + std::to_string(server_.port());
  }
  Status CallOn(GrpcChannels& channels, const std::string& method) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, 30000);
    grpc::ByteBuffer reply;
    return FromGrpc(Call(channels.Get(addr_), ctx, method, reply));
  }

  GrpcServer server_{GrpcServerOptions{.guards = {*ClusterGuard("ringkv.test.Guarded", "s3cret")}}};
  std::string addr_;
};

TEST_F(GuardedServerTest, ACallWithoutTheSecretIsUnauthenticated) {
  GrpcChannels none;
  EXPECT_EQ(CallOn(none, "/ringkv.test.Guarded/Call").code(), StatusCode::kUnauthenticated);
  GrpcChannels wrong(GrpcChannelOptions{.metadata = ClusterSecretMetadata("s3cre")});
  Status s = CallOn(wrong, "/ringkv.test.Guarded/Call");
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message().find("s3cret"), std::string::npos) << "the secret leaked: " << s.message();
}

TEST_F(GuardedServerTest, TheSecretPassesAndOtherServicesStayOpen) {
  GrpcChannels right(GrpcChannelOptions{.metadata = ClusterSecretMetadata("s3cret")});
  EXPECT_EQ(CallOn(right, "/ringkv.test.Guarded/Call").code(), StatusCode::kUnimplemented);
  GrpcChannels none;
  EXPECT_TRUE(CallOn(none, "/grpc.health.v1.Health/Check").ok());
  EXPECT_EQ(CallOn(none, "/ringkv.test.Open/Call").code(), StatusCode::kUnimplemented);
}

// Mutual TLS: certificates made once with the openssl CLI (a cluster CA and
// a certificate it signs for 127.0.0.1, and a second CA with its own).
class TlsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new testing::TestPki("ringkv-grpc-tls");
    ASSERT_EQ(pki_->error(), "");
  }
  static void TearDownTestSuite() { delete pki_; }
  static std::string Read(const std::string& name) {
    std::ifstream in(pki_->Path(name));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // `who`'s certificate and key, trusting the good CA.
  static GrpcTls Tls(const std::string& who) {
    return GrpcTls{Read(who + ".crt"), Read(who + ".key"), Read("good-ca.crt")};
  }

  void SetUp() override {
    server_ = std::make_unique<GrpcServer>(GrpcServerOptions{
        .guards = {*ClusterGuard("ringkv.test.Guarded", "s3cret")}, .tls = Tls("good")});
    ASSERT_TRUE(server_->Start().ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  Status CallOn(GrpcChannels& channels, const std::string& method) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, 10000);
    grpc::ByteBuffer reply;
    return FromGrpc(Call(channels.Get(addr_), ctx, method, reply));
  }

  static testing::TestPki* pki_;
  std::unique_ptr<GrpcServer> server_;
  std::string addr_;
};

testing::TestPki* TlsServerTest::pki_ = nullptr;

TEST_F(TlsServerTest, ACertificateFromTheCaAndTheSecretPass) {
  GrpcChannels right(
      GrpcChannelOptions{.metadata = ClusterSecretMetadata("s3cret"), .tls = Tls("good")});
  EXPECT_TRUE(CallOn(right, "/grpc.health.v1.Health/Check").ok());
  EXPECT_EQ(CallOn(right, "/ringkv.test.Guarded/Call").code(), StatusCode::kUnimplemented);
}

TEST_F(TlsServerTest, TheSecretIsStillCheckedOverTls) {
  GrpcChannels no_secret(GrpcChannelOptions{.tls = Tls("good")});
  EXPECT_EQ(CallOn(no_secret, "/ringkv.test.Guarded/Call").code(), StatusCode::kUnauthenticated);
}

TEST_F(TlsServerTest, PlaintextOrACertificateFromAnotherCaFailsTheHandshake) {
  GrpcChannels plain(GrpcChannelOptions{.metadata = ClusterSecretMetadata("s3cret")});
  EXPECT_EQ(CallOn(plain, "/grpc.health.v1.Health/Check").code(), StatusCode::kUnavailable);
  GrpcChannels rogue(
      GrpcChannelOptions{.metadata = ClusterSecretMetadata("s3cret"), .tls = Tls("rogue")});
  EXPECT_EQ(CallOn(rogue, "/grpc.health.v1.Health/Check").code(), StatusCode::kUnavailable);
}

TEST_F(TlsServerTest, AKeyThatIsNotPemFailsTheStart) {
  GrpcTls bad = Tls("good");
  bad.key_pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  GrpcServer server(GrpcServerOptions{.tls = bad});
  Status s = server.Start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("TLS"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ringkv::net
