#include "node/replication/replica_entry.h"

#include <charconv>

#include "net/resp/resp_parser.h"

namespace ringkv::node {
namespace {

constexpr size_t kApplyArity = 5;  // key version kind expire_at_ms value

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

void WritePeekElement(net::resp::ReplyWriter& w, const std::optional<ReplicaEntry>& e) {
  if (!e) {
    w.Null();
    return;
  }
  w.ArrayHeader(4);
  w.Integer(static_cast<int64_t>(e->entry.version));
  w.Integer(e->tombstone ? 1 : 0);
  w.Integer(e->entry.expire_at_ms);
  w.Bulk(e->tombstone ? std::string_view() : std::string_view(e->entry.value));
}

StatusOr<std::vector<std::optional<ReplicaEntry>>> DecodePeekReply(std::string_view reply,
                                                                   size_t keys) {
  using Type = net::resp::Reply::Type;
  std::optional<net::resp::Reply> r = net::resp::DecodeReply(reply);
  if (!r) return InvalidArgument("RINGKV.PEEK: malformed reply");
  if (r->type == Type::kError) return Unavailable("RINGKV.PEEK: " + r->str);
  if (r->type != Type::kArray || r->elements.size() != keys) {
    return InvalidArgument("RINGKV.PEEK: expected an array of " + std::to_string(keys));
  }
  std::vector<std::optional<ReplicaEntry>> out;
  out.reserve(keys);
  for (net::resp::Reply& el : r->elements) {
    if (el.type == Type::kNull || el.type == Type::kNullArray) {
      out.emplace_back();
      continue;
    }
    if (el.type != Type::kArray || el.elements.size() != 4 ||
        el.elements[0].type != Type::kInteger || el.elements[1].type != Type::kInteger ||
        el.elements[2].type != Type::kInteger || el.elements[3].type != Type::kBulk) {
      return InvalidArgument("RINGKV.PEEK: malformed element");
    }
    // What RINGKV.APPLY accepts: a version of 0 would never be repaired, and a
    // negative one would become a version past any clock's.
    if (el.elements[0].integer <= 0 || (el.elements[1].integer & ~int64_t{1}) != 0 ||
        el.elements[2].integer < 0) {
      return InvalidArgument("RINGKV.PEEK: bad version, kind or expiry");
    }
    ReplicaEntry e;
    e.entry.version = static_cast<uint64_t>(el.elements[0].integer);
    e.tombstone = el.elements[1].integer == 1;
    e.entry.expire_at_ms = el.elements[2].integer;
    if (!e.tombstone) e.entry.value = std::move(el.elements[3].str);
    out.emplace_back(std::move(e));
  }
  return out;
}

void AppendApplyArgs(std::vector<std::string>& args, std::string_view key, const ReplicaEntry& e) {
  args.emplace_back(key);
  args.push_back(std::to_string(e.entry.version));
  args.push_back(e.tombstone ? "1" : "0");
  args.push_back(std::to_string(e.entry.expire_at_ms));
  args.emplace_back(e.tombstone ? std::string_view() : std::string_view(e.entry.value));
}

Status ParseApplyArgs(std::span<const std::string_view> args,
                      FunctionRef<void(std::string_view, const ReplicaEntry&)> fn) {
  if (args.empty() || args.size() % kApplyArity != 0) {
    return InvalidArgument("RINGKV.APPLY takes key version kind expire_at_ms value, repeated");
  }
  std::vector<ReplicaEntry> entries(args.size() / kApplyArity);
  for (size_t i = 0; i < entries.size(); ++i) {
    std::span<const std::string_view> a = args.subspan(i * kApplyArity, kApplyArity);
    ReplicaEntry& e = entries[i];
    int kind = -1;
    if (!ParseNumber(a[1], &e.entry.version) || e.entry.version == 0 || !ParseNumber(a[2], &kind) ||
        (kind != 0 && kind != 1) || !ParseNumber(a[3], &e.entry.expire_at_ms) ||
        e.entry.expire_at_ms < 0) {
      return InvalidArgument("RINGKV.APPLY: bad version, kind or expiry for key #" +
                             std::to_string(i + 1));
    }
    e.tombstone = kind == 1;
    if (!e.tombstone) e.entry.value = std::string(a[4]);
  }
  for (size_t i = 0; i < entries.size(); ++i) fn(args[i * kApplyArity], entries[i]);
  return OkStatus();
}

}  // namespace ringkv::node
