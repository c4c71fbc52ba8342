#include "cluster/map_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ringkv::cluster {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ringkv_map_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ClusterMap SampleMap(uint64_t epoch) {
  ClusterMap m;
  m.epoch = epoch;
  m.vnodes = 40;
  m.hash = ring::HashKind::kSha256;
  NodeInfo a;
  a.id = "node-a";
  a.addr = "127.0.0.1:7001";
  a.http_addr = "127.0.0.1:8001";
  NodeInfo b;
  b.id = b.addr = "127.0.0.1:7002";
  b.kind = BackendKind::kRedis;
  b.state = NodeState::kDown;
  b.weight = 3;
  m.nodes = {a, b};
  return m;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

TEST(FileMapStoreTest, MissingFileIsNoMap) {
  TempDir dir;
  auto store = NewFileMapStore(dir.path());
  StatusOr<std::optional<ClusterMap>> got = store->Load();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
}

TEST(FileMapStoreTest, MissingDirectoryIsNoMapAndIsCreatedOnSave) {
  TempDir dir;
  std::string sub = dir.path() + "/a/b";
  auto store = NewFileMapStore(sub);
  StatusOr<std::optional<ClusterMap>> got = store->Load();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
  ASSERT_TRUE(store->Save(SampleMap(1)).ok());
  EXPECT_TRUE(fs::exists(sub + "/cluster-map.json"));
}

TEST(FileMapStoreTest, SaveThenLoad) {
  TempDir dir;
  ASSERT_TRUE(NewFileMapStore(dir.path())->Save(SampleMap(7)).ok());
  // A fresh store, as after a restart.
  StatusOr<std::optional<ClusterMap>> got = NewFileMapStore(dir.path())->Load();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, SampleMap(7));
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{"cluster-map.json"});
}

TEST(FileMapStoreTest, SaveOverwrites) {
  TempDir dir;
  auto store = NewFileMapStore(dir.path() + "/");
  ClusterMap big = SampleMap(1);
  for (int i = 0; i < 50; ++i) {
    NodeInfo n;
    n.id = n.addr = "10.0.0." + std::to_string(i) + ":6379";
    big.nodes.push_back(n);
  }
  ASSERT_TRUE(store->Save(big).ok());
  ASSERT_TRUE(store->Save(SampleMap(2)).ok());  // shorter: no tail of the old file survives
  StatusOr<std::optional<ClusterMap>> got = store->Load();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(**got, SampleMap(2));
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{"cluster-map.json"});
}

TEST(FileMapStoreTest, StaleTmpFileIsIgnoredAndReplaced) {
  TempDir dir;
  auto store = NewFileMapStore(dir.path());
  ASSERT_TRUE(store->Save(SampleMap(3)).ok());
  WriteFile(dir.path() + "/cluster-map.json.tmp", "{\"epoch\": 4, \"nod");  // a torn write
  StatusOr<std::optional<ClusterMap>> got = store->Load();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)->epoch, 3u);
  ASSERT_TRUE(store->Save(SampleMap(4)).ok());
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{"cluster-map.json"});
  EXPECT_EQ((*store->Load())->epoch, 4u);
}

TEST(FileMapStoreTest, CorruptFileIsAnErrorNamingThePath) {
  TempDir dir;
  std::string path = dir.path() + "/cluster-map.json";
  for (const char* text :
       {"", "{\"epoch\": 1, \"nodes\": [", "{\"epoch\": 1, \"nodes\": [{}]}", "garbage"}) {
    WriteFile(path, text);
    StatusOr<std::optional<ClusterMap>> got = NewFileMapStore(dir.path())->Load();
    ASSERT_FALSE(got.ok()) << text;
    EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(got.status().message().find(path), std::string::npos) << got.status().message();
  }
}

TEST(FileMapStoreTest, UnreadableFileIsAnErrorNamingThePath) {
  TempDir dir;
  std::string path = dir.path() + "/cluster-map.json";
  fs::create_directory(path);  // open succeeds, read fails with EISDIR (even as root)
  StatusOr<std::optional<ClusterMap>> got = NewFileMapStore(dir.path())->Load();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find(path), std::string::npos) << got.status().message();
}

TEST(FileMapStoreTest, SaveFailsWhenTheDirectoryIsAFile) {
  TempDir dir;
  std::string file = dir.path() + "/file";
  WriteFile(file, "x");
  Status s = NewFileMapStore(file)->Save(SampleMap(1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(file), std::string::npos) << s.message();
}

TEST(FileMapStoreTest, FailedRenameLeavesTheOldMapAndNoTmpFile) {
  TempDir dir;
  auto store = NewFileMapStore(dir.path());
  // A non-empty directory in the way makes rename fail after the tmp file was written.
  fs::create_directories(dir.path() + "/cluster-map.json/x");
  EXPECT_FALSE(store->Save(SampleMap(1)).ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/cluster-map.json.tmp"));
}

}  // namespace
}  // namespace ringkv::cluster
