// Key and vnode hashes: where a key or a virtual node sits on the 64-bit ring.
//
// These functions define placement. Every router and node that holds the same
// cluster map must compute the same positions, so they are pinned by golden
// tests and must never change for an existing HashKind.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace ringkv::ring {

enum class HashKind : uint8_t {
  kXxh3 = 0,    // XXH3_64bits(key), seed 0. The default.
  kSha256 = 1,  // first 8 bytes of SHA-256(key), read big-endian (crustyring).
};

// The names of the kinds, as settings, the cluster map and the peer protocol
// spell them; the one place they are defined.
inline constexpr std::pair<std::string_view, HashKind> kHashKindNames[] = {
    {"xxh3", HashKind::kXxh3},
    {"sha256", HashKind::kSha256},
};

// "xxh3" / "sha256".
std::string_view HashKindName(HashKind kind);
// Accepts "xxh3" and "sha256"; nullopt otherwise.
std::optional<HashKind> ParseHashKind(std::string_view name);

inline uint64_t HashXxh3(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

uint64_t HashSha256(std::string_view bytes);

// The ring position of a key.
inline uint64_t HashKey(HashKind kind, std::string_view key) {
  return kind == HashKind::kXxh3 ? HashXxh3(key) : HashSha256(key);
}

// The ring position of vnode `index` of node `node_id`: HashKey(kind,
// "<node_id>#<index>") with index in decimal, e.g. "node-a#0", "node-a#159".
// A function of the id and index only, never of list order or address.
uint64_t VnodePosition(HashKind kind, std::string_view node_id, uint32_t index);

}  // namespace ringkv::ring
