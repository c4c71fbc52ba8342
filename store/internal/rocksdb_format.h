// The RocksDB engine's on-disk format (docs/design.md, "Storage"): pure
// encoding and decoding, no RocksDB.
//
// Column families:
//   default     data key -> value. Data key = 8-byte big-endian ring position
//               + key bytes. Value = 17-byte header (format byte, version u64
//               BE, expire_at_ms i64 BE) + value bytes. Format 1 is an
//               entry (the only format before tombstones, so directories
//               written before them read unchanged); format 2 is a
//               tombstone (expire 0, no value bytes). Any other byte is
//               corruption.
//   meta        "hash_kind" -> the hash kind the directory was created with.
//   tombstones  purge index: version u64 BE + data key -> "". One record per
//               tombstone, written in the same batch, so PurgeTombstones
//               reads the oldest first and stops at the first young one.
//   hints       u32 BE target length + target + key -> created_ms i64 BE.
//               Apart from the data, so no read of entries meets a hint.
//
// A directory gains the two new families when first opened by this version;
// a version before tombstones cannot open it again (RocksDB refuses unknown
// column families), so a downgrade needs a fresh directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/engine.h"

namespace ringkv::store::internal {

inline constexpr size_t kPositionBytes = 8;
inline constexpr size_t kHeaderBytes = 17;
inline constexpr char kFormatEntry = 1;
inline constexpr char kFormatTombstone = 2;
inline constexpr char kTombstoneFamily[] = "tombstones";
inline constexpr char kHintFamily[] = "hints";

inline void PutBigEndian64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

inline uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline std::string EncodePosition(uint64_t position) {
  std::string out(kPositionBytes, '\0');
  PutBigEndian64(out.data(), position);
  return out;
}

inline std::string EncodeKey(uint64_t position, std::string_view key) {
  std::string out = EncodePosition(position);
  out.append(key);
  return out;
}

// Data keys are always at least kPositionBytes long (nothing else is written).
inline uint64_t DecodePosition(std::string_view data_key) {
  return GetBigEndian64(data_key.data());
}

inline std::string_view DecodeUserKey(std::string_view data_key) {
  return data_key.substr(kPositionBytes);
}

inline std::string EncodeValue(const Entry& entry) {
  std::string out(kHeaderBytes, '\0');
  out[0] = kFormatEntry;
  PutBigEndian64(out.data() + 1, entry.version);
  PutBigEndian64(out.data() + 9, static_cast<uint64_t>(entry.expire_at_ms));
  out.append(entry.value);
  return out;
}

inline std::string EncodeTombstone(uint64_t version) {
  std::string out(kHeaderBytes, '\0');
  out[0] = kFormatTombstone;
  PutBigEndian64(out.data() + 1, version);
  return out;
}

struct Header {
  uint64_t version = 0;
  int64_t expire_at_ms = 0;
  bool tombstone = false;
};

inline std::optional<Header> DecodeHeader(std::string_view stored) {
  if (stored.size() < kHeaderBytes) return std::nullopt;
  if (stored[0] != kFormatEntry && stored[0] != kFormatTombstone) return std::nullopt;
  return Header{GetBigEndian64(stored.data() + 1),
                static_cast<int64_t>(GetBigEndian64(stored.data() + 9)),
                stored[0] == kFormatTombstone};
}

inline std::optional<VersionedEntry> DecodeValue(std::string_view stored) {
  std::optional<Header> header = DecodeHeader(stored);
  if (!header) return std::nullopt;
  return VersionedEntry{
      Entry{std::string(stored.substr(kHeaderBytes)), header->version, header->expire_at_ms},
      header->tombstone};
}

// A header whose entry is live: not a tombstone and not expired at now_ms.
inline bool IsLive(const Header& header, int64_t now_ms) {
  return !header.tombstone && (header.expire_at_ms == 0 || header.expire_at_ms > now_ms);
}

inline std::string EncodeTombstoneIndexKey(uint64_t version, std::string_view data_key) {
  std::string out = EncodePosition(version);
  out.append(data_key);
  return out;
}

// The version and data key of a tombstone index record; nullopt if malformed.
inline std::optional<std::pair<uint64_t, std::string_view>> DecodeTombstoneIndexKey(
    std::string_view index_key) {
  if (index_key.size() < 8 + kPositionBytes) return std::nullopt;
  return std::pair{GetBigEndian64(index_key.data()), index_key.substr(8)};
}

// The prefix every hint record of `target` starts with.
inline std::string EncodeHintPrefix(std::string_view target) {
  std::string out(4, '\0');
  const auto n = static_cast<uint32_t>(target.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(n >> (8 * (3 - i)));
  out.append(target);
  return out;
}

inline std::string EncodeHintKey(std::string_view target, std::string_view key) {
  std::string out = EncodeHintPrefix(target);
  out.append(key);
  return out;
}

inline std::string EncodeHintValue(int64_t created_ms) {
  return EncodePosition(static_cast<uint64_t>(created_ms));
}

struct HintRecord {
  std::string_view target;
  std::string_view key;
  int64_t created_ms = 0;
};

// A hint record read back; nullopt if malformed.
inline std::optional<HintRecord> DecodeHint(std::string_view stored_key, std::string_view value) {
  if (stored_key.size() < 4 || value.size() != 8) return std::nullopt;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(stored_key[i]);
  if (stored_key.size() - 4 < n) return std::nullopt;
  return HintRecord{stored_key.substr(4, n), stored_key.substr(4 + n),
                    static_cast<int64_t>(GetBigEndian64(value.data()))};
}

}  // namespace ringkv::store::internal
