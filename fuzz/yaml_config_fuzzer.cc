// The YAML config loader (config/yaml_settings.*) with the node's settings
// table: the bytes become a config file, which must load or be refused with
// a "config <path>: ..." error, never crash or throw.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/yaml_settings.h"
#include "fuzz/fuzz_check.h"
#include "node/node_settings.h"

namespace {

// One file per fuzzing process, rewritten for each input.
const std::string& ConfigPath() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/ringkv-fuzz-config-" +
           std::to_string(getpid()) + ".yaml";
  }();
  return path;
}

bool WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = ConfigPath();
  FUZZ_CHECK(WriteFile(path, data, size));
  auto options =
      ringkv::config::LoadYaml(ringkv::node::NodeSettings(), path, ringkv::node::NodeOptions{});
  if (!options.ok()) FUZZ_CHECK(options.status().message().rfind("config " + path + ": ", 0) == 0);
  std::remove(path.c_str());
  return 0;
}
