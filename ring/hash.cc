#include "ring/hash.h"

#include <openssl/sha.h>

namespace ringkv::ring {

std::string_view HashKindName(HashKind kind) {
  for (const auto& [name, k] : kHashKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<HashKind> ParseHashKind(std::string_view name) {
  for (const auto& [n, kind] : kHashKindNames) {
    if (n == name) return kind;
  }
  return std::nullopt;
}

uint64_t HashSha256(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  uint64_t out = 0;
  for (int i = 0; i < 8; ++i) out = (out << 8) | digest[i];
  return out;
}

uint64_t VnodePosition(HashKind kind, std::string_view node_id, uint32_t index) {
  std::string label;
  label.reserve(node_id.size() + 11);
  label.append(node_id);
  label.push_back('#');
  label.append(std::to_string(index));
  return HashKey(kind, label);
}

}  // namespace ringkv::ring
