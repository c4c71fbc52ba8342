// The router's settings through their public functions only (defaults,
// ApplyRouterSetting, ValidateRouterOptions, LoadRouterConfig from a YAML
// file), so the tests hold whatever table of settings sits behind them.
#include "router/router_options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ringkv::router {
namespace {

// The message of a failed status contains `part`.
::testing::AssertionResult FailsMentioning(const Status& s, const std::string& part) {
  if (s.ok()) return ::testing::AssertionFailure() << "succeeded; expected an error with " << part;
  if (s.code() != StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "code " << s.ToString();
  }
  if (s.message().find(part) == std::string::npos) {
    return ::testing::AssertionFailure() << "'" << s.message() << "' does not mention " << part;
  }
  return ::testing::AssertionSuccess();
}

TEST(RouterOptionsTest, DefaultsAreValid) {
  RouterOptions o;
  EXPECT_EQ(o.bind, "127.0.0.1");
  EXPECT_EQ(o.http_port, 8080);
  EXPECT_EQ(o.resp_port, 6379);
  EXPECT_EQ(o.grpc_port, 50000);
  EXPECT_EQ(o.vnodes, 160u);
  EXPECT_EQ(o.hash, ring::HashKind::kXxh3);
  EXPECT_EQ(o.health.interval_ms, 1000u);
  EXPECT_EQ(o.health.timeout_ms, 500u);
  EXPECT_EQ(o.health.failures, 3u);
  EXPECT_EQ(o.health.successes, 2u);
  EXPECT_EQ(o.log_level, "info");
  EXPECT_TRUE(o.nodes.empty());
  EXPECT_TRUE(o.admin_token.empty());
  EXPECT_TRUE(o.autoscale);
  EXPECT_EQ(o.rebalance_parallel_copies, 1u);
  EXPECT_TRUE(ValidateRouterOptions(o).ok()) << ValidateRouterOptions(o).ToString();
}

TEST(RouterOptionsTest, GraceDefaultsToTwiceTheBackendTimeoutAndAtLeastOneSecond) {
  RouterOptions o;
  EXPECT_EQ(RebalanceGraceMs(o), 2000u);
  o.backend_timeout_ms = 200;
  EXPECT_EQ(RebalanceGraceMs(o), 1000u);
  o.rebalance_grace_ms = 300;
  EXPECT_EQ(RebalanceGraceMs(o), 300u);
}

TEST(RouterOptionsTest, ApplySettingParsesEachKindOfValue) {
  RouterOptions o;
  ASSERT_TRUE(ApplyRouterSetting(o, "http_port", "0").ok());
  EXPECT_EQ(o.http_port, 0);
  ASSERT_TRUE(ApplyRouterSetting(o, "resp_port", "65535").ok());
  EXPECT_EQ(o.resp_port, 65535);
  ASSERT_TRUE(ApplyRouterSetting(o, "bind", "0.0.0.0").ok());
  EXPECT_EQ(o.bind, "0.0.0.0");
  ASSERT_TRUE(ApplyRouterSetting(o, "nodes", "127.0.0.1:7001,,127.0.0.1:7002").ok());
  EXPECT_EQ(o.nodes, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  ASSERT_TRUE(ApplyRouterSetting(o, "nodes", "").ok());
  EXPECT_TRUE(o.nodes.empty());
  ASSERT_TRUE(ApplyRouterSetting(o, "health_failures", "5").ok());
  EXPECT_EQ(o.health.failures, 5u);
  ASSERT_TRUE(ApplyRouterSetting(o, "health_interval_ms", "250").ok());
  EXPECT_EQ(o.health.interval_ms, 250u);
  ASSERT_TRUE(ApplyRouterSetting(o, "http_body_limit", "1mb").ok());
  EXPECT_EQ(o.http_body_limit, 1u << 20);
  ASSERT_TRUE(ApplyRouterSetting(o, "job_max_wait", "2s").ok());
  EXPECT_EQ(o.job_max_wait_ms, 2000u);
  ASSERT_TRUE(ApplyRouterSetting(o, "autoscale", "off").ok());
  EXPECT_FALSE(o.autoscale);
  ASSERT_TRUE(ApplyRouterSetting(o, "autoscale", "yes").ok());
  EXPECT_TRUE(o.autoscale);
  ASSERT_TRUE(ApplyRouterSetting(o, "rebalance_max_keys_per_sec", "18446744073709551615").ok());
  EXPECT_EQ(o.rebalance_max_keys_per_sec, UINT64_MAX);
  ASSERT_TRUE(ApplyRouterSetting(o, "rebalance_max_bytes_per_sec", "2kb").ok());
  EXPECT_EQ(o.rebalance_max_bytes_per_sec, 2048u);
  ASSERT_TRUE(ApplyRouterSetting(o, "worker_idle_exit", "90s").ok());
  EXPECT_EQ(o.worker_idle_exit, "90s");
  ASSERT_TRUE(ApplyRouterSetting(o, "log_level", "debug").ok());
  EXPECT_EQ(o.log_level, "debug");
}

TEST(RouterOptionsTest, ApplySettingRejectsBadValuesNamingTheSetting) {
  RouterOptions o;
  EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "no_such_setting", "1"), "no_such_setting"));
  for (const char* bad : {"65536", "-1", "80x", "", " 80"}) {
    EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "http_port", bad), "http_port")) << bad;
  }
  EXPECT_EQ(o.http_port, 8080);  // a refused value leaves the option as it was
  EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "vnodes", "4097"), "vnodes"));
  EXPECT_EQ(o.vnodes, 160u);
  EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "nodes", "127.0.0.1:1,nohost"), "nodes"));
  EXPECT_TRUE(
      FailsMentioning(ApplyRouterSetting(o, "health_timeout_ms", "3600001"), "health_timeout_ms"));
  EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "autoscale", "maybe"), "autoscale"));
  EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "job_max_wait", "2h"), "job_max_wait"));
  EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "http_body_limit", "lots"), "http_body_limit"));
  EXPECT_TRUE(
      FailsMentioning(ApplyRouterSetting(o, "worker_idle_exit", "soon"), "worker_idle_exit"));
  EXPECT_EQ(o.worker_idle_exit, "10m");
}

TEST(RouterOptionsTest, EverySettingWithHelpIsKnown) {
  ASSERT_FALSE(RouterSettings().Flags().empty());
  for (const auto& flag : RouterSettings().Flags()) {
    const std::string& name = flag.name;
    EXPECT_FALSE(flag.help.empty()) << name;
    RouterOptions o;
    Status s = ApplyRouterSetting(o, name, "1");
    EXPECT_EQ(s.message().find("unknown"), std::string::npos) << name << ": " << s.ToString();
  }
}

TEST(RouterOptionsTest, ValidateNamesTheFirstBadOption) {
  struct Case {
    const char* what;
    void (*edit)(RouterOptions&);
  };
  const Case cases[] = {
      {"vnodes", [](RouterOptions& o) { o.vnodes = 0; }},
      {"interval_ms", [](RouterOptions& o) { o.health.interval_ms = 5; }},
      {"timeout_ms", [](RouterOptions& o) { o.health.timeout_ms = 0; }},
      {"failures", [](RouterOptions& o) { o.health.failures = 0; }},
      {"io_threads", [](RouterOptions& o) { o.io_threads = 0; }},
      {"backend_timeout_ms", [](RouterOptions& o) { o.backend_timeout_ms = 0; }},
      {"log_level", [](RouterOptions& o) { o.log_level = "loud"; }},
      {"data_dir", [](RouterOptions& o) { o.data_dir.clear(); }},
      {"job_lease_ms", [](RouterOptions& o) { o.job_lease_ms = 99; }},
      {"worker_threads", [](RouterOptions& o) { o.worker_threads = 0; }},
      {"rpc_timeout_ms", [](RouterOptions& o) { o.rebalance_rpc_timeout_ms = 0; }},
  };
  for (const Case& c : cases) {
    RouterOptions o;
    c.edit(o);
    EXPECT_TRUE(FailsMentioning(ValidateRouterOptions(o), c.what)) << c.what;
  }
  RouterOptions cpus;
  cpus.io_cpus = "zero";
  EXPECT_FALSE(ValidateRouterOptions(cpus).ok());
}

class RouterConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "router_options_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& yaml) {
    std::string path = dir_ + "/ringkv.yaml";
    std::ofstream(path) << yaml;
    return path;
  }
  std::string dir_;
};

TEST_F(RouterConfigFileTest, LoadsTheRouterSection) {
  RouterOptions base;
  base.admin_token = "from-flags";  // not in the file: kept
  auto o = LoadRouterConfig(Write(R"(
node:
  resp_port: 1234
router:
  http_port: 0
  hash: sha256
  vnodes: 64
  nodes:
    - 127.0.0.1:7001
    - 127.0.0.1:7002
  health:
    failures: 4
    interval_ms: 200
  rebalance:
    max_keys_per_sec: 500
    parallel_copies: 0
  autoscale: false
  log_level: warn
)"),
                            base);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->http_port, 0);
  EXPECT_EQ(o->resp_port, 6379);
  EXPECT_EQ(o->hash, ring::HashKind::kSha256);
  EXPECT_EQ(o->vnodes, 64u);
  EXPECT_EQ(o->nodes, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_EQ(o->health.failures, 4u);
  EXPECT_EQ(o->health.interval_ms, 200u);
  EXPECT_EQ(o->health.successes, 2u);
  EXPECT_EQ(o->rebalance_max_keys_per_sec, 500u);
  EXPECT_EQ(o->rebalance_parallel_copies, 0u);
  EXPECT_FALSE(o->autoscale);
  EXPECT_EQ(o->log_level, "warn");
  EXPECT_EQ(o->admin_token, "from-flags");
}

TEST_F(RouterConfigFileTest, AFileWithoutARouterSectionChangesNothing) {
  RouterOptions base;
  base.vnodes = 99;
  auto o = LoadRouterConfig(Write("node:\n  resp_port: 1\n"), base);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->vnodes, 99u);
  EXPECT_EQ(o->http_port, 8080);
}

TEST_F(RouterConfigFileTest, ErrorsNameTheFileAndTheSetting) {
  std::string missing = dir_ + "/missing.yaml";
  EXPECT_TRUE(FailsMentioning(LoadRouterConfig(missing, {}).status(), missing));
  EXPECT_TRUE(FailsMentioning(LoadRouterConfig(Write("router: [1, 2]\n"), {}).status(), "router"));
  EXPECT_TRUE(FailsMentioning(LoadRouterConfig(Write("router:\n  http_port: 70000\n"), {}).status(),
                              "router.http_port"));
  EXPECT_TRUE(
      FailsMentioning(LoadRouterConfig(Write("router:\n  bogus: 1\n"), {}).status(), "bogus"));
  EXPECT_TRUE(
      FailsMentioning(LoadRouterConfig(Write("router:\n  health:\n    failures: x\n"), {}).status(),
                      "health_failures"));
  EXPECT_TRUE(FailsMentioning(
      LoadRouterConfig(Write("router:\n  http_port: [1, 2]\n"), {}).status(), "http_port"));
  EXPECT_TRUE(FailsMentioning(LoadRouterConfig(Write("router: {unclosed\n"), {}).status(),
                              dir_ + "/ringkv.yaml"));
  // Each value is fine alone; the options they make together are not.
  EXPECT_TRUE(FailsMentioning(LoadRouterConfig(Write("router:\n  log_level: loud\n"), {}).status(),
                              "log_level"));
}

TEST(RouterOptionsTest, ReplicationSettingsParseAndAreCheckedTogether) {
  RouterOptions o;
  EXPECT_EQ(o.replication, 1u);
  EXPECT_EQ(o.write_consistency, cluster::Consistency::kQuorum);
  EXPECT_EQ(o.read_consistency, cluster::Consistency::kQuorum);
  EXPECT_EQ(o.tombstone_ttl_s, 86400u);
  EXPECT_EQ(o.hint_ttl_s, 10800u);
  ASSERT_TRUE(ApplyRouterSetting(o, "replication", "3").ok());
  ASSERT_TRUE(ApplyRouterSetting(o, "write_consistency", "all").ok());
  ASSERT_TRUE(ApplyRouterSetting(o, "read_consistency", "one").ok());
  ASSERT_TRUE(ApplyRouterSetting(o, "hint_ttl_s", "60").ok());
  EXPECT_TRUE(ValidateRouterOptions(o).ok());
  cluster::ClusterMap m = ReplicationSettings(o);
  EXPECT_EQ(m.replication, 3u);
  EXPECT_EQ(m.write_consistency, cluster::Consistency::kAll);
  EXPECT_EQ(m.read_consistency, cluster::Consistency::kOne);
  EXPECT_EQ(m.hint_ttl_s, 60u);
  EXPECT_EQ(m.epoch, 0u);
  EXPECT_TRUE(m.nodes.empty());

  EXPECT_TRUE(FailsMentioning(ApplyRouterSetting(o, "replication", "6"), "replication"));
  EXPECT_TRUE(
      FailsMentioning(ApplyRouterSetting(o, "write_consistency", "most"), "write_consistency"));
  RouterOptions zero;
  zero.replication = 0;
  EXPECT_TRUE(FailsMentioning(ValidateRouterOptions(zero), "replication"));
  RouterOptions ttl;
  ttl.tombstone_ttl_s = 60;
  ttl.hint_ttl_s = 60;
  EXPECT_TRUE(FailsMentioning(ValidateRouterOptions(ttl), "tombstone_ttl_s"));
}
TEST(RouterOptionsTest, SecretsComeFromFilesThenTheEnvironment) {
  char dir[] = "/tmp/ringkv-router-secrets-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/token";
  { std::ofstream(file) << "from-file\n"; }
  std::filesystem::permissions(
      file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  RouterOptions o;
  ASSERT_TRUE(ApplyRouterSetting(o, "admin_token_file", file).ok());
  ::setenv("RINGKV_CLUSTER_SECRET", "from-env", 1);
  auto loaded = LoadRouterSecrets(o);
  ::unsetenv("RINGKV_CLUSTER_SECRET");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->admin_token, "from-file");
  EXPECT_EQ(loaded->cluster_secret, "from-env");
  EXPECT_EQ(loaded->requirepass, "");
  o.admin_token = "inline";  // both a value and a file: which one was meant?
  EXPECT_TRUE(FailsMentioning(LoadRouterSecrets(o).status(), "admin_token_file"));
  std::filesystem::remove_all(dir);
}

TEST(RouterOptionsTest, ListeningBeyondLoopbackNeedsCredentials) {
  RouterOptions o;
  EXPECT_TRUE(CheckRouterExposure(o).ok());  // loopback: open is fine
  o.bind = "0.0.0.0";
  EXPECT_TRUE(FailsMentioning(CheckRouterExposure(o), "requirepass_file"));
  o.requirepass = "pw";
  EXPECT_TRUE(FailsMentioning(CheckRouterExposure(o), "admin_token_file"));
  o.admin_token = "t";
  EXPECT_TRUE(CheckRouterExposure(o).ok());
  o.cluster_bind = "10.0.0.1";
  EXPECT_TRUE(FailsMentioning(CheckRouterExposure(o), "cluster_secret_file"));
  o.insecure = true;
  EXPECT_TRUE(CheckRouterExposure(o).ok());
  o.insecure = false;
  o.cluster_secret = "s";
  EXPECT_TRUE(CheckRouterExposure(o).ok());
}

}  // namespace
}  // namespace ringkv::router
