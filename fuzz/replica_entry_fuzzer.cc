// What replicas exchange about a key (node/replication/replica_entry.*): a
// RINGKV.PEEK reply from a peer and RINGKV.APPLY's arguments. The first byte
// picks the side (even: PEEK reply, with the byte's upper bits as the key
// count; odd: APPLY arguments as one RESP command). Whatever decodes must
// encode back to the same entries, and both decoders accept the same entries.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "net/resp/resp_parser.h"
#include "net/resp/resp_writer.h"
#include "node/replication/replica_entry.h"

namespace {

using namespace ringkv::node;
using ringkv::net::resp::ParseStatus;
using ringkv::net::resp::ReplyWriter;
using ringkv::net::resp::RequestParser;

// What RINGKV.APPLY accepts: a version, a kind and an expiry it can encode.
void CheckValid(const ReplicaEntry& e) {
  FUZZ_CHECK(e.entry.version > 0);
  FUZZ_CHECK(e.entry.expire_at_ms >= 0);
}

// Sends `entries` through RINGKV.APPLY's encoding and parser.
void CheckApplyRoundTrip(const std::vector<std::pair<std::string, ReplicaEntry>>& entries) {
  if (entries.empty()) return;  // RINGKV.APPLY takes at least one key
  std::vector<std::string> args;
  for (const auto& [key, e] : entries) AppendApplyArgs(args, key, e);
  std::vector<std::string_view> views(args.begin(), args.end());
  size_t i = 0;
  ringkv::Status s = ParseApplyArgs(views, [&](std::string_view key, const ReplicaEntry& e) {
    FUZZ_CHECK(i < entries.size());
    FUZZ_CHECK(key == entries[i].first && e == entries[i].second);
    ++i;
  });
  FUZZ_CHECK(s.ok() && i == entries.size());
}

void Peek(std::string_view reply, size_t keys) {
  auto decoded = DecodePeekReply(reply, keys);
  if (!decoded.ok()) return;
  FUZZ_CHECK(decoded->size() == keys);
  std::string again;
  ReplyWriter w(again);
  w.ArrayHeader(keys);
  std::vector<std::pair<std::string, ReplicaEntry>> present;
  for (const std::optional<ReplicaEntry>& e : *decoded) {
    WritePeekElement(w, e);
    if (!e) continue;
    CheckValid(*e);
    present.emplace_back("k", *e);
  }
  auto redecoded = DecodePeekReply(again, keys);
  FUZZ_CHECK(redecoded.ok() && *redecoded == *decoded);
  CheckApplyRoundTrip(present);
}

void Apply(std::string_view stream) {
  RequestParser parser;
  if (parser.Parse(stream) != ParseStatus::kComplete) return;
  std::vector<std::pair<std::string, ReplicaEntry>> entries;
  ringkv::Status s =
      ParseApplyArgs(parser.args(), [&](std::string_view key, const ReplicaEntry& e) {
        CheckValid(e);
        entries.emplace_back(std::string(key), e);
      });
  if (!s.ok()) {
    FUZZ_CHECK(entries.empty());  // nothing called for a malformed list
    return;
  }
  CheckApplyRoundTrip(entries);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    Peek(rest, data[0] / 2 % 8);
  } else {
    Apply(rest);
  }
  return 0;
}
