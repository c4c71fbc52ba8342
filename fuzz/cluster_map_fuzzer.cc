// The cluster-map JSON decoder (cluster/cluster_map.*), which reads maps
// from peers (ringkv.v1.Peer/SetMap, Forward replies, BeginMigration) and
// from the map file. A map it accepts must survive ToJson unchanged, and its
// ring must build or be refused with an error, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/cluster_map.h"
#include "fuzz/fuzz_check.h"

using ringkv::cluster::ClusterMap;
using ringkv::cluster::ClusterMapFromJson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  ringkv::StatusOr<ClusterMap> map = ClusterMapFromJson(json);
  if (!map.ok()) {
    FUZZ_CHECK(!map.status().message().empty());
    return 0;
  }
  ringkv::StatusOr<ClusterMap> again = ClusterMapFromJson(ringkv::cluster::ToJson(*map));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *map);
  (void)ringkv::cluster::CheckReplication(*map);
  auto ring = ringkv::cluster::BuildRing(*map);
  if (ring.ok()) FUZZ_CHECK(*ring != nullptr);
  return 0;
}
