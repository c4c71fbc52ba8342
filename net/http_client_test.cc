// HttpCall over HTTPS against a real HttpServer on 127.0.0.1 with
// certificates made once with the openssl CLI (a CA and a certificate it
// signs for 127.0.0.1, and a second CA with its own).
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "net/http_server.h"
#include "net/test_pki.h"

namespace ringkv::net {
namespace {

class HttpsCallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new testing::TestPki("ringkv-https");
    ASSERT_EQ(pki_->error(), "");
  }
  static void TearDownTestSuite() { delete pki_; }
  static std::string Path(const std::string& name) { return pki_->Path(name); }

  // An HTTPS server with the good CA's certificate; client certificates as
  // `auth`.
  void Serve(TlsAuthClients auth) {
    HttpServerOptions o;
    o.tls = TlsOptions{.cert_file = Path("good.crt"),
                       .key_file = Path("good.key"),
                       .ca_cert_file = Path("good-ca.crt"),
                       .auth_clients = auth};
    server_ = std::make_unique<HttpServer>(
        o, [](const HttpRequest& r) { return HttpResponse::Text(200, "hello " + r.path); });
    ASSERT_TRUE(server_->Start().ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  // A client trusting `ca`'s CA and presenting `cert`'s certificate (none
  // when empty).
  static HttpCallOptions Client(const std::string& ca, const std::string& cert = "") {
    auto ctx = TlsContext::CreateClient({.cert_file = cert.empty() ? "" : Path(cert + ".crt"),
                                         .key_file = cert.empty() ? "" : Path(cert + ".key"),
                                         .ca_cert_file = Path(ca + "-ca.crt")});
    EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
    HttpCallOptions o;
    o.timeout_ms = 10000;
    if (ctx.ok()) o.tls = *ctx;
    return o;
  }

  static testing::TestPki* pki_;
  std::unique_ptr<HttpServer> server_;
  std::string addr_;
};

testing::TestPki* HttpsCallTest::pki_ = nullptr;

TEST_F(HttpsCallTest, AServerTheCaSignedAnswers) {
  Serve(TlsAuthClients::kNo);
  auto r = HttpCall("GET", addr_, "/check-alive", "", Client("good"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello /check-alive");
}

TEST_F(HttpsCallTest, AServerAnotherCaSignedIsRefused) {
  Serve(TlsAuthClients::kNo);
  auto r = HttpCall("GET", addr_, "/check-alive", "", Client("rogue"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("https://"), std::string::npos) << r.status().ToString();
}

TEST_F(HttpsCallTest, PlainHttpToAnHttpsPortGetsNoAnswer) {
  Serve(TlsAuthClients::kNo);
  HttpCallOptions plain;
  plain.timeout_ms = 10000;
  auto r = HttpCall("GET", addr_, "/check-alive", "", plain);
  EXPECT_TRUE(!r.ok() || r->status != 200);
}

TEST_F(HttpsCallTest, AClientCertificateIsPresentedWhenRequired) {
  Serve(TlsAuthClients::kYes);
  auto with = HttpCall("GET", addr_, "/x", "", Client("good", "good"));
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->status, 200);
  EXPECT_FALSE(HttpCall("GET", addr_, "/x", "", Client("good")).ok());
}

}  // namespace
}  // namespace ringkv::net
