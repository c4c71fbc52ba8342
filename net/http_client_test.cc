// HttpCall over HTTPS against a real HttpServer on 127.0.0.1 with
// certificates made once with the openssl CLI (a CA and a certificate it
// signs for 127.0.0.1, and a second CA with its own).
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "net/http_server.h"

namespace ringkv::net {
namespace {

class HttpsCallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/ringkv-https-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    std::ofstream(*dir_ + "/ext.cnf")
        << "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n";
    for (const char* ca : {"good", "rogue"}) {
      const std::string sh =
          "(cd " + *dir_ + " && " +
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + ca +
          "-ca.key -out " + ca + "-ca.crt -days 1 -subj /CN=" + ca +
          " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + ca +
          ".key -out " + ca + ".csr -subj /CN=" + ca + " && openssl x509 -req -in " + ca +
          ".csr -CA " + ca + "-ca.crt -CAkey " + ca + "-ca.key -CAcreateserial -days 1 " +
          "-extfile ext.cnf -out " + ca + ".crt) >/dev/null 2>&1";
      ASSERT_EQ(std::system(sh.c_str()), 0) << sh;
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }

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

  static std::string* dir_;
  std::unique_ptr<HttpServer> server_;
  std::string addr_;
};

std::string* HttpsCallTest::dir_ = nullptr;

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
