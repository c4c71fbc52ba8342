// Node: one memory-engine entry in a single heap allocation.
//
// Layout (no padding between the variable fields, which are read with
// memcpy):
//
//   Node* next          bucket chain of the shard's hash table
//   uint64 version
//   uint32 stamp        shard-local LRU clock value of the last access
//   uint8  flags        kHasExpiry or kTombstone (never both)
//   varint32 key_len, varint32 value_len
//   [int64 expire_at_ms, uint32 expiry_slot]   only when kHasExpiry
//   [uint32 tombstone_slot]                    only when kTombstone
//   key bytes, value bytes                     a tombstone has no value bytes
//
// With a 16-byte key and a 32-byte value and no expiry this is 71 bytes,
// which glibc serves from an 80-byte chunk. There are no LRU list links:
// eviction samples entries and compares their stamps (see memory_engine.cc).
//
// Thread safety: none; nodes are owned by a shard and guarded by its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

namespace ringkv::store::internal {

struct Node {
  Node* next;
  uint64_t version;
  uint32_t stamp;
  uint8_t flags;
  char tail[3];  // the variable part starts here and runs to the allocation's end
};

inline constexpr uint8_t kHasExpiry = 1;
inline constexpr uint8_t kTombstone = 2;
inline constexpr size_t kTailOffset = offsetof(Node, tail);
inline constexpr size_t kExpiryFieldsSize = sizeof(int64_t) + sizeof(uint32_t);
inline constexpr size_t kTombstoneFieldsSize = sizeof(uint32_t);
inline constexpr uint64_t kMaxFieldLen = UINT32_MAX;

inline size_t VarintLen(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline char* PutVarint(char* p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline const char* GetVarint(const char* p, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0;; shift += 7) {
    uint8_t byte = static_cast<uint8_t>(*p++);
    result |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  *v = result;
  return p;
}

// Bytes requested from the allocator for a node with these fields.
// Never less than sizeof(Node), so the header struct always fits.
inline size_t NodeSize(size_t key_len, size_t value_len, bool has_expiry) {
  size_t size = kTailOffset + VarintLen(static_cast<uint32_t>(key_len)) +
                VarintLen(static_cast<uint32_t>(value_len)) + (has_expiry ? kExpiryFieldsSize : 0) +
                key_len + value_len;
  return size < sizeof(Node) ? sizeof(Node) : size;
}

// Bytes requested from the allocator for a tombstone of a key this long.
inline size_t TombstoneNodeSize(size_t key_len) {
  size_t size = kTailOffset + VarintLen(static_cast<uint32_t>(key_len)) + VarintLen(0) +
                kTombstoneFieldsSize + key_len;
  return size < sizeof(Node) ? sizeof(Node) : size;
}

// What glibc malloc really takes for a request of `n` bytes: an 8-byte
// header, 16-byte granularity and a 32-byte minimum. Used for accounting.
inline uint64_t AllocatedSize(size_t n) {
  size_t chunk = (n + 8 + 15) & ~size_t{15};
  return chunk < 32 ? 32 : chunk;
}

inline char* Tail(Node* n) {
  return reinterpret_cast<char*>(n) + kTailOffset;
}
inline const char* Tail(const Node* n) {
  return reinterpret_cast<const char*>(n) + kTailOffset;
}

// The decoded variable part of a node. Pointers alias the node.
struct NodeFields {
  std::string_view key;
  std::string_view value;
  char* expiry = nullptr;  // expire_at_ms then expiry_slot; nullptr without kHasExpiry
  char* tombstone_slot = nullptr;  // nullptr without kTombstone
};

// Where the key starts, given the first byte after the two lengths.
inline const char* SkipOptionalFields(const Node* n, const char* p) {
  if (n->flags & kHasExpiry) return p + kExpiryFieldsSize;
  if (n->flags & kTombstone) return p + kTombstoneFieldsSize;
  return p;
}

inline NodeFields Decode(const Node* n) {
  uint32_t key_len, value_len;
  const char* p = GetVarint(GetVarint(Tail(n), &key_len), &value_len);
  NodeFields f;
  if (n->flags & kHasExpiry) f.expiry = const_cast<char*>(p);
  if (n->flags & kTombstone) f.tombstone_slot = const_cast<char*>(p);
  p = SkipOptionalFields(n, p);
  f.key = {p, key_len};
  f.value = {p + key_len, value_len};
  return f;
}

// Just the key; the hot path of a bucket-chain lookup.
inline std::string_view NodeKey(const Node* n) {
  uint32_t key_len, value_len;
  const char* p = GetVarint(GetVarint(Tail(n), &key_len), &value_len);
  return {SkipOptionalFields(n, p), key_len};
}

inline int64_t ExpireAt(const Node* n) {
  NodeFields f = Decode(n);
  int64_t at = 0;
  if (f.expiry != nullptr) std::memcpy(&at, f.expiry, sizeof(at));
  return at;
}

inline bool IsTombstone(const Node* n) {
  return (n->flags & kTombstone) != 0;
}

// Tombstones never expire.
inline bool IsExpired(const Node* n, int64_t now_ms) {
  if (!(n->flags & kHasExpiry)) return false;
  int64_t at = ExpireAt(n);
  return at <= now_ms;
}

inline uint32_t ExpirySlot(const Node* n) {
  uint32_t slot;
  std::memcpy(&slot, Decode(n).expiry + sizeof(int64_t), sizeof(slot));
  return slot;
}

inline void SetExpirySlot(Node* n, uint32_t slot) {
  std::memcpy(Decode(n).expiry + sizeof(int64_t), &slot, sizeof(slot));
}

inline uint32_t TombstoneSlot(const Node* n) {
  uint32_t slot;
  std::memcpy(&slot, Decode(n).tombstone_slot, sizeof(slot));
  return slot;
}

inline void SetTombstoneSlot(Node* n, uint32_t slot) {
  std::memcpy(Decode(n).tombstone_slot, &slot, sizeof(slot));
}

// Allocated size of an existing node, recomputed from its fields.
inline uint64_t NodeAllocatedSize(const Node* n) {
  NodeFields f = Decode(n);
  if (f.tombstone_slot != nullptr) return AllocatedSize(TombstoneNodeSize(f.key.size()));
  return AllocatedSize(NodeSize(f.key.size(), f.value.size(), f.expiry != nullptr));
}

// A new node; the caller owns it and frees it with FreeNode. Field lengths
// must be <= kMaxFieldLen. expire_at_ms == 0 means no expiry.
inline Node* NewNode(std::string_view key, std::string_view value, uint64_t version,
                     int64_t expire_at_ms) {
  bool has_expiry = expire_at_ms != 0;
  void* mem = ::operator new(NodeSize(key.size(), value.size(), has_expiry));
  Node* n = new (mem) Node{nullptr, version, 0, has_expiry ? kHasExpiry : uint8_t{0}, {}};
  char* p = PutVarint(Tail(n), static_cast<uint32_t>(key.size()));
  p = PutVarint(p, static_cast<uint32_t>(value.size()));
  if (has_expiry) {
    std::memcpy(p, &expire_at_ms, sizeof(expire_at_ms));
    std::memset(p + sizeof(expire_at_ms), 0, sizeof(uint32_t));
    p += kExpiryFieldsSize;
  }
  if (!key.empty()) std::memcpy(p, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + key.size(), value.data(), value.size());
  return n;
}

// Overwrites version, expiry and value in place. Only valid when the new
// value has the same length and the expiry presence is unchanged.
inline void OverwriteNode(Node* n, std::string_view value, uint64_t version, int64_t expire_at_ms) {
  NodeFields f = Decode(n);
  n->version = version;
  if (f.expiry != nullptr) std::memcpy(f.expiry, &expire_at_ms, sizeof(expire_at_ms));
  if (!value.empty()) std::memcpy(const_cast<char*>(f.value.data()), value.data(), value.size());
}

// A new tombstone node (slot 0); the caller owns it as with NewNode.
inline Node* NewTombstoneNode(std::string_view key, uint64_t version) {
  void* mem = ::operator new(TombstoneNodeSize(key.size()));
  Node* n = new (mem) Node{nullptr, version, 0, kTombstone, {}};
  char* p = PutVarint(Tail(n), static_cast<uint32_t>(key.size()));
  p = PutVarint(p, 0);
  std::memset(p, 0, kTombstoneFieldsSize);
  p += kTombstoneFieldsSize;
  if (!key.empty()) std::memcpy(p, key.data(), key.size());
  return n;
}

inline void FreeNode(Node* n) {
  ::operator delete(static_cast<void*>(n));
}

}  // namespace ringkv::store::internal
