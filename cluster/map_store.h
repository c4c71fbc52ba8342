// MapStore: where the registry persists its cluster map. Behind an interface
// so several routers can later share one map in etcd.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "cluster/cluster_map.h"

namespace ringkv::cluster {

class MapStore {
 public:
  virtual ~MapStore() = default;
  // The saved map, or nullopt when none was ever saved.
  virtual StatusOr<std::optional<ClusterMap>> Load() = 0;
  // Durably replaces the saved map: after Save returns OK a crash at any
  // point leaves either this map or the previous one, never a torn file.
  virtual Status Save(const ClusterMap& map) = 0;
};

// A JSON file `cluster-map.json` in `dir` (created if missing), written as
// tmp file + fsync + rename + fsync of the directory.
std::unique_ptr<MapStore> NewFileMapStore(const std::string& dir);

// Replaces `dir`/`name` (creating `dir` if missing) the same way: a crash at
// any point leaves the old content or the new one. Also used for the
// router's migration record.
Status WriteFileDurably(const std::string& dir, const std::string& name, std::string_view content);
// The whole file, or nullopt when it does not exist.
StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path);

}  // namespace ringkv::cluster
