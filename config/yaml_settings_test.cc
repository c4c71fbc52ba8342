#include "config/yaml_settings.h"

#include <gtest/gtest.h>

#include <fstream>

namespace ringkv::config {
namespace {

struct Opts {
  uint32_t port = 1;
  std::string name = "n";
  std::vector<std::string> nodes;
  struct Health {
    uint32_t interval_ms = 1000;
  } health;
};

const settings::Table<Opts>& TestTable() {
  static const settings::Table<Opts> table(
      "svc", {
                 settings::Bind("port", &Opts::port, settings::Uint{.max = 65535}, "a port"),
                 settings::Bind("name", &Opts::name, settings::String{}, "a name"),
                 settings::Bind("nodes", &Opts::nodes, settings::List{}, "addresses"),
                 settings::Bind("health_interval_ms", &Opts::health, &Opts::Health::interval_ms,
                                settings::Uint{}, "probe period"),
             });
  return table;
}

std::string WriteConfig(const std::string& name, const std::string& text) {
  std::string path = testing::TempDir() + "/yaml_settings_test_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigYamlTest, ReadsItsSectionOnly) {
  std::string path = WriteConfig("section", R"(
other:
  port: 9
svc:
  port: 7
  name: x
  nodes: [a:1, b:2]
  health:
    interval_ms: 250
)");
  auto o = LoadYaml(TestTable(), path, Opts{});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->port, 7u);
  EXPECT_EQ(o->name, "x");
  EXPECT_EQ(o->nodes, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(o->health.interval_ms, 250u);
}

TEST(ConfigYamlTest, AListMayAlsoBeCommaSeparated) {
  auto o = LoadYaml(TestTable(), WriteConfig("commas", "svc:\n  nodes: a:1,b:2\n"), Opts{});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->nodes, (std::vector<std::string>{"a:1", "b:2"}));
}

TEST(ConfigYamlTest, AMissingSectionKeepsTheOptions) {
  Opts start;
  start.port = 42;
  auto o = LoadYaml(TestTable(), WriteConfig("missing", "other: {port: 1}\n"), start);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->port, 42u);
}

TEST(ConfigYamlTest, ErrorsNameTheFileTheSettingAndTheValue) {
  std::string path = WriteConfig("bad", "svc:\n  port: 70000\n");
  auto o = LoadYaml(TestTable(), path, Opts{});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "config " + path + ": svc.port: expected an integer in [0, 65535], got '70000'");

  path = WriteConfig("unknown", "svc:\n  colour: red\n");
  EXPECT_EQ(LoadYaml(TestTable(), path, Opts{}).status().message(),
            "config " + path + ": unknown setting svc.colour");

  path = WriteConfig("list", "svc:\n  name: [a, b]\n");
  EXPECT_EQ(LoadYaml(TestTable(), path, Opts{}).status().message(),
            "config " + path + ": svc.name takes one value, not a list");

  path = WriteConfig("shape", "svc:\n  nodes: [{a: 1}]\n");
  EXPECT_EQ(LoadYaml(TestTable(), path, Opts{}).status().message(),
            "config " + path + ": svc.nodes has the wrong shape");

  path = WriteConfig("notmap", "svc: 3\n");
  EXPECT_EQ(LoadYaml(TestTable(), path, Opts{}).status().message(),
            "config " + path + ": 'svc' must be a map");

  path = WriteConfig("syntax", "svc: [\n");
  EXPECT_FALSE(LoadYaml(TestTable(), path, Opts{}).ok());
  EXPECT_FALSE(LoadYaml(TestTable(), testing::TempDir() + "/no-such.yaml", Opts{}).ok());
}

// Found by the yaml_config fuzzer: an alias inside its own anchor made a
// cycle that recursed until the stack overflowed.
TEST(ConfigYamlTest, ASelfReferencingAliasIsRefused) {
  const std::string path =
      WriteConfig("cycle", "defaults: &d\n  : 6\n  : *d\nsvc:\n  health: *d\n  port: 2\n");
  auto loaded = LoadYaml(TestTable(), path, Opts{});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            "config " + path + ": svc.health nests maps deeper than 8 levels");
}

// Aliases that multiply one another (16^4 settings here) stop at a bound.
TEST(ConfigYamlTest, MultiplyingAliasesAreRefused) {
  auto map_of = [](const std::string& value) {
    std::string m = "{";
    for (int i = 0; i < 16; ++i) m += (i ? ", k" : "k") + std::to_string(i) + ": " + value;
    return m + "}";
  };
  const std::string text = "a: &a " + map_of("1") + "\nb: &b " + map_of("*a") + "\nc: &c " +
                           map_of("*b") + "\nd: &d " + map_of("*c") + "\nsvc:\n  health: *d\n";
  const std::string path = WriteConfig("laughs", text);
  auto loaded = LoadYaml(TestTable(), path, Opts{});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            "config " + path + ": svc.health makes more than 4096 settings");
}

TEST(ConfigYamlTest, FlagsWinOverTheFile) {
  std::string path = WriteConfig("flags", "svc:\n  port: 7\n  name: file\n");
  auto o = Load(TestTable(), path, {{"name", "flag"}});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->port, 7u);
  EXPECT_EQ(o->name, "flag");
  auto bad = Load(TestTable(), "", {{"port", "x"}});
  EXPECT_EQ(bad.status().message(), "port: expected an integer in [0, 65535], got 'x'");
  auto defaults = Load(TestTable(), "", {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->port, 1u);
}

}  // namespace
}  // namespace ringkv::config
