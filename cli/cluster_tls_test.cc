#include "cli/cluster_tls.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace ringkv::cli {
namespace {

namespace fs = std::filesystem;

X509* ReadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return cert;
}

// Whether `leaf_path` verifies against the CA in `ca_path` for TLS use,
// with host 127.0.0.1 (as a peer dialing the loopback address checks it).
bool Verifies(const std::string& leaf_path, const std::string& ca_path) {
  X509* leaf = ReadCert(leaf_path);
  X509* ca = ReadCert(ca_path);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  bool ok = leaf != nullptr && ca != nullptr && X509_STORE_add_cert(store, ca) == 1 &&
            X509_STORE_CTX_init(ctx, store, leaf, nullptr) == 1;
  if (ok) {
    X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), "127.0.0.1");
    ok = X509_verify_cert(ctx) == 1 && X509_check_host(leaf, "localhost", 0, 0, nullptr) == 1;
  }
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(leaf);
  return ok;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class ClusterTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv-cluster-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    run_dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(run_dir_); }
  std::string run_dir_;
};

TEST_F(ClusterTlsTest, ProcessCertificatesChainToTheirOwnCaOnly) {
  EXPECT_FALSE(HasLocalTls(run_dir_));
  ASSERT_TRUE(MakeLocalTls(run_dir_).ok());
  EXPECT_TRUE(HasLocalTls(run_dir_));
  auto node = IssueProcessTls(run_dir_, "node-1");
  ASSERT_TRUE(node.ok()) << node.status().message();
  EXPECT_EQ(node->ca, ClusterTlsDir(run_dir_) + "/ca.crt");
  EXPECT_TRUE(Verifies(node->cert, node->ca));

  const TlsFiles server = TlsFilesOf(ClientTlsDir(run_dir_), "node-1");
  const TlsFiles client = TlsFilesOf(ClientTlsDir(run_dir_), "client");
  const TlsFiles op = TlsFilesOf(ClusterTlsDir(run_dir_), "operator");
  EXPECT_TRUE(Verifies(server.cert, server.ca));
  EXPECT_TRUE(Verifies(client.cert, client.ca));
  EXPECT_TRUE(Verifies(op.cert, op.ca));
  // A client's certificate never opens the cluster plane, and back.
  EXPECT_FALSE(Verifies(client.cert, op.ca));
  EXPECT_FALSE(Verifies(node->cert, server.ca));
}

TEST_F(ClusterTlsTest, KeysAreOwnerOnly) {
  ASSERT_TRUE(MakeLocalTls(run_dir_).ok());
  ASSERT_TRUE(IssueProcessTls(run_dir_, "router").ok());
  for (const std::string& dir : {ClusterTlsDir(run_dir_), ClientTlsDir(run_dir_)}) {
    EXPECT_EQ(Mode(dir), 0700u);
    for (const char* name : {"ca", "router"}) {
      EXPECT_EQ(Mode(TlsFilesOf(dir, name).key), 0600u) << dir << "/" << name;
    }
  }
}

TEST_F(ClusterTlsTest, IssuingWithoutACaFailsAndRemoveForgetsTheCas) {
  EXPECT_EQ(IssueProcessTls(run_dir_, "node-1").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(MakeLocalTls(run_dir_).ok());
  ASSERT_TRUE(RemoveLocalTls(run_dir_).ok());
  EXPECT_FALSE(HasLocalTls(run_dir_));
  EXPECT_FALSE(fs::exists(run_dir_ + "/tls"));
}

}  // namespace
}  // namespace ringkv::cli
