#include "base/settings.h"

#include <gtest/gtest.h>

namespace ringkv::settings {
namespace {

enum class Color { kRed, kGreen };
constexpr std::pair<std::string_view, Color> kColors[] = {{"red", Color::kRed},
                                                          {"green", Color::kGreen}};

struct Opts {
  uint16_t port = 6380;
  uint32_t limit = 16 * 1024;
  uint64_t wait_ms = 30000;
  std::string idle = "10m";
  bool on = true;
  std::string name;
  Color color = Color::kGreen;
  std::string level = "info";
  std::vector<std::string> items;
  struct Inner {
    uint32_t n = 3;
  } inner;
};

const Table<Opts>& TestTable() {
  static const Table<Opts> table(
      "test", {
                  Bind("port", &Opts::port, Uint{}, "a port"),
                  Bind("limit", &Opts::limit, Bytes{}, "a size"),
                  Bind("wait", &Opts::wait_ms, Duration{.max_ms = 3600000}, "a wait"),
                  Bind("idle", &Opts::idle, Duration{}, "kept as text"),
                  Bind("on", &Opts::on, Bool{}, "a switch"),
                  Bind("name", &Opts::name,
                       String{.normalize = [](std::string_view v) -> StatusOr<std::string> {
                         if (v.starts_with("-")) return InvalidArgument("expected no leading dash");
                         return std::string(v);
                       }},
                       "a name"),
                  Bind("color", &Opts::color, Enum<Color>{kColors}, "a color"),
                  Bind("log_level", &Opts::level, OneOf{kLogLevels}, "a level"),
                  Bind("items", &Opts::items, List{.check = [](std::string_view v) -> Status {
                         return v == "bad" ? InvalidArgument("expected no 'bad' item") : OkStatus();
                       }},
                       "some items"),
                  Bind("inner_n", &Opts::inner, &Opts::Inner::n, Uint{.max = 10}, "nested"),
              });
  return table;
}

Status Apply(Opts& o, std::string_view name, std::string_view text) {
  return TestTable().Apply(o, name, text);
}

TEST(SettingsTest, UintTakesItsLimitAndTheFieldsWidth) {
  Opts o;
  EXPECT_TRUE(Apply(o, "port", "0").ok());
  EXPECT_EQ(o.port, 0);
  EXPECT_TRUE(Apply(o, "port", "65535").ok());
  EXPECT_EQ(o.port, 65535);
  EXPECT_EQ(Apply(o, "port", "65536").message(),
            "port: expected an integer in [0, 65535], got '65536'");
  EXPECT_FALSE(Apply(o, "port", "-1").ok());
  EXPECT_FALSE(Apply(o, "port", "").ok());
  EXPECT_FALSE(Apply(o, "port", "12ab").ok());
  EXPECT_FALSE(Apply(o, "port", " 1").ok());
  EXPECT_EQ(o.port, 65535);  // a failed Set leaves the field alone
  EXPECT_TRUE(Apply(o, "inner_n", "10").ok());
  EXPECT_EQ(o.inner.n, 10u);
  EXPECT_EQ(Apply(o, "inner_n", "11").message(),
            "inner_n: expected an integer in [0, 10], got '11'");
}

TEST(SettingsTest, BytesTakeUnitsAndRenderInTheLargestOne) {
  Opts o;
  EXPECT_TRUE(Apply(o, "limit", "64kb").ok());
  EXPECT_EQ(o.limit, 64u * 1024);
  EXPECT_TRUE(Apply(o, "limit", "3MB").ok());
  EXPECT_EQ(o.limit, 3u << 20);
  EXPECT_TRUE(Apply(o, "limit", "1000").ok());
  EXPECT_EQ(o.limit, 1000u);
  EXPECT_EQ(Apply(o, "limit", "lots").message(),
            "limit: expected a size such as 512kb, 64mb or 1gb, got 'lots'");
  EXPECT_EQ(Apply(o, "limit", "4gb").message(),  // wider than the uint32_t field
            "limit: expected a size up to 4294967295, got '4gb'");
  EXPECT_EQ(RenderBytes(0), "0");
  EXPECT_EQ(RenderBytes(512ull << 20), "512mb");
  EXPECT_EQ(RenderBytes(1ull << 30), "1gb");
  EXPECT_EQ(RenderBytes(1536), "1536");
  EXPECT_EQ(RenderBytes(uint64_t{16} * 1024), "16kb");
}

TEST(SettingsTest, DurationsHoldMillisecondsOrTheText) {
  Opts o;
  EXPECT_TRUE(Apply(o, "wait", "500ms").ok());
  EXPECT_EQ(o.wait_ms, 500u);
  EXPECT_TRUE(Apply(o, "wait", "2").ok());  // bare number: seconds
  EXPECT_EQ(o.wait_ms, 2000u);
  EXPECT_TRUE(Apply(o, "wait", "1h").ok());
  EXPECT_EQ(Apply(o, "wait", "61m").message(), "wait: expected a duration up to 1h, got '61m'");
  EXPECT_EQ(Apply(o, "wait", "soon").message(),
            "wait: expected a duration such as 500ms, 10s, 30m or 1h, got 'soon'");
  EXPECT_TRUE(Apply(o, "idle", "30s").ok());
  EXPECT_EQ(o.idle, "30s");
  EXPECT_FALSE(Apply(o, "idle", "30 s").ok());
  EXPECT_EQ(o.idle, "30s");
  EXPECT_EQ(RenderDurationMs(0), "0");
  EXPECT_EQ(RenderDurationMs(3600000), "1h");
  EXPECT_EQ(RenderDurationMs(600000), "10m");
  EXPECT_EQ(RenderDurationMs(30000), "30s");
  EXPECT_EQ(RenderDurationMs(1500), "1500ms");
}

TEST(SettingsTest, BoolsTakeTheUsualWords) {
  Opts o;
  for (const char* no : {"false", "no", "off", "0"}) {
    o.on = true;
    EXPECT_TRUE(Apply(o, "on", no).ok()) << no;
    EXPECT_FALSE(o.on) << no;
  }
  for (const char* yes : {"true", "yes", "on", "1"}) {
    o.on = false;
    EXPECT_TRUE(Apply(o, "on", yes).ok()) << yes;
    EXPECT_TRUE(o.on) << yes;
  }
  EXPECT_EQ(Apply(o, "on", "maybe").message(), "on: expected true or false, got 'maybe'");
}

TEST(SettingsTest, StringsMayBeNormalized) {
  Opts o;
  EXPECT_TRUE(Apply(o, "name", "a b").ok());
  EXPECT_EQ(o.name, "a b");
  EXPECT_TRUE(Apply(o, "name", "").ok());
  EXPECT_EQ(o.name, "");
  EXPECT_EQ(Apply(o, "name", "-x").message(), "name: expected no leading dash, got '-x'");
}

TEST(SettingsTest, EnumsAndOneOfTakeOnlyTheirNames) {
  Opts o;
  EXPECT_TRUE(Apply(o, "color", "red").ok());
  EXPECT_EQ(o.color, Color::kRed);
  EXPECT_EQ(Apply(o, "color", "blue").message(), "color: expected red or green, got 'blue'");
  EXPECT_EQ(Apply(o, "color", "Red").message(), "color: expected red or green, got 'Red'");
  EXPECT_EQ(EnumName<Color>(kColors, Color::kGreen), "green");
  EXPECT_TRUE(Apply(o, "log_level", "debug").ok());
  EXPECT_EQ(o.level, "debug");
  EXPECT_EQ(Apply(o, "log_level", "loud").message(),
            "log_level: expected trace, debug, info, warn, error, critical or off, got 'loud'");
}

TEST(SettingsTest, ListsSplitOnCommasAndCheckEachItem) {
  Opts o;
  EXPECT_TRUE(Apply(o, "items", "a,,b").ok());
  EXPECT_EQ(o.items, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(Apply(o, "items", "").ok());
  EXPECT_TRUE(o.items.empty());
  EXPECT_EQ(Apply(o, "items", "a,bad").message(), "items: expected no 'bad' item, got 'a,bad'");
  EXPECT_TRUE(TestTable().Find("items")->list);
  EXPECT_FALSE(TestTable().Find("name")->list);
}

TEST(SettingsTest, UnknownNamesAreRefused) {
  Opts o;
  EXPECT_EQ(Apply(o, "colour", "red").message(), "unknown test setting 'colour'");
}

TEST(SettingsTest, ApplyAllStopsAtTheFirstError) {
  Opts o;
  Status s = TestTable().ApplyAll(o, {{"name", "x"}, {"port", "nope"}});
  EXPECT_EQ(s.message(), "port: expected an integer in [0, 65535], got 'nope'");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(SettingsTest, HelpShowsTheDefaultsOfADefaultBuiltStruct) {
  std::map<std::string, FlagHelp> flags;
  for (auto& f : TestTable().Flags()) flags[f.name] = f;
  EXPECT_EQ(flags["port"].flag, "--port");
  EXPECT_EQ(flags["port"].help, "a port (default 6380)");
  EXPECT_EQ(flags["limit"].help, "a size (default 16kb)");
  EXPECT_EQ(flags["wait"].help, "a wait (default 30s)");
  EXPECT_EQ(flags["idle"].help, "kept as text (default 10m)");
  EXPECT_EQ(flags["on"].help, "a switch (default true)");
  EXPECT_EQ(flags["name"].help, "a name");  // empty default: nothing to show
  EXPECT_EQ(flags["color"].help, "a color (default green)");
  EXPECT_EQ(flags["log_level"].flag, "--log-level");
  EXPECT_EQ(flags["inner_n"].help, "nested (default 3)");
  EXPECT_EQ(TestTable().Default(*TestTable().Find("items")), "");
}

TEST(SettingsTest, Alternatives) {
  constexpr std::string_view one[] = {"a"};
  constexpr std::string_view two[] = {"a", "b"};
  EXPECT_EQ(Alternatives(one), "a");
  EXPECT_EQ(Alternatives(two), "a or b");
  EXPECT_EQ(Alternatives(kLogLevels), "trace, debug, info, warn, error, critical or off");
}

}  // namespace
}  // namespace ringkv::settings
