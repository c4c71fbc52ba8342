#include "base/secret.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ringkv {
namespace {

class SecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv-secret-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

TEST_F(SecretTest, ReadsAFileWithoutItsTrailingNewline) {
  auto s = ReadSecretFile(Write("s", "hunter2\n", 0600));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, "hunter2");
  EXPECT_EQ(*ReadSecretFile(Write("crlf", "abc\r\n", 0400)), "abc");
}

TEST_F(SecretTest, RefusesAMissingEmptyOrSharedFile) {
  EXPECT_EQ(ReadSecretFile(dir_ + "/none").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadSecretFile(Write("empty", "\n", 0600)).status().code(),
            StatusCode::kInvalidArgument);
  auto shared = ReadSecretFile(Write("shared", "x", 0644));
  EXPECT_EQ(shared.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(shared.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(SecretTest, ResolvePrefersTheFileThenTheEnvironmentThenTheValue) {
  const std::string file = Write("s", "from-file", 0600);
  ::setenv("RINGKV_SECRET_TEST", "from-env", 1);
  EXPECT_EQ(*ResolveSecret("pw", "", file, "RINGKV_SECRET_TEST"), "from-file");
  EXPECT_EQ(*ResolveSecret("pw", "", "", "RINGKV_SECRET_TEST"), "from-env");
  ::unsetenv("RINGKV_SECRET_TEST");
  EXPECT_EQ(*ResolveSecret("pw", "inline", "", "RINGKV_SECRET_TEST"), "inline");
  EXPECT_EQ(*ResolveSecret("pw", "", "", nullptr), "");
  auto both = ResolveSecret("requirepass", "inline", file, nullptr);
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(both.status().message().find("requirepass_file"), std::string::npos);
}

TEST_F(SecretTest, RandomSecretsAreHexAndDiffer) {
  auto a = RandomSecret(16), b = RandomSecret(16);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
}

TEST_F(SecretTest, SecretEqualsComparesWholeValues) {
  EXPECT_TRUE(SecretEquals("s3cret", "s3cret"));
  EXPECT_FALSE(SecretEquals("s3cre", "s3cret"));
  EXPECT_FALSE(SecretEquals("s3cret!", "s3cret"));
  EXPECT_FALSE(SecretEquals("", "s3cret"));
}

TEST_F(SecretTest, WrittenSecretsAreOwnerOnlyAndReadBack) {
  const std::string path = dir_ + "/written";
  ASSERT_TRUE(WriteSecretFile(path, "abc").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadSecretFile(path), "abc");
  ASSERT_TRUE(WriteSecretFile(path, "def").ok());  // replaces
  EXPECT_EQ(*ReadSecretFile(path), "def");
}

}  // namespace
}  // namespace ringkv
