#include "node/replication/replica_entry.h"

#include <charconv>

#include "net/resp/resp_writer.h"

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

namespace {

// A one-pass reader of RINGKV.PEEK's reply: the shape is fixed, so it is
// read straight into entries, without a generic reply tree (the coordinator
// decodes one per peer for every replicated read).
class PeekReader {
 public:
  explicit PeekReader(std::string_view in) : in_(in) {}

  // "<type><number>\r\n": the number after `type`.
  bool Header(char type, int64_t* n) {
    if (at_ >= in_.size() || in_[at_] != type) return false;
    const size_t eol = in_.find("\r\n", at_ + 1);
    if (eol == std::string_view::npos) return false;
    if (!ParseNumber(in_.substr(at_ + 1, eol - at_ - 1), n)) return false;
    at_ = eol + 2;
    return true;
  }
  bool Peek(char type) const { return at_ < in_.size() && in_[at_] == type; }
  // A bulk string of `len` bytes and its "\r\n".
  bool Bulk(int64_t len, std::string_view* out) {
    if (len < 0 || in_.size() - at_ < static_cast<uint64_t>(len) + 2) return false;
    *out = in_.substr(at_, static_cast<size_t>(len));
    if (in_.substr(at_ + static_cast<size_t>(len), 2) != "\r\n") return false;
    at_ += static_cast<size_t>(len) + 2;
    return true;
  }
  bool AtEnd() const { return at_ == in_.size(); }

 private:
  std::string_view in_;
  size_t at_ = 0;
};

}  // namespace

StatusOr<std::vector<std::optional<ReplicaEntry>>> DecodePeekReply(std::string_view reply,
                                                                   size_t keys) {
  if (reply.starts_with('-')) {
    return Unavailable("RINGKV.PEEK: " + std::string(reply.substr(1, reply.find('\r') - 1)));
  }
  PeekReader r(reply);
  int64_t n = 0;
  if (!r.Header('*', &n)) return InvalidArgument("RINGKV.PEEK: malformed reply");
  if (n < 0 || static_cast<uint64_t>(n) != keys) {
    return InvalidArgument("RINGKV.PEEK: expected an array of " + std::to_string(keys));
  }
  std::vector<std::optional<ReplicaEntry>> out;
  out.reserve(keys);
  for (size_t i = 0; i < keys; ++i) {
    int64_t len = 0;
    if ((r.Peek('$') && r.Header('$', &len) && len == -1) ||
        (r.Peek('*') && r.Header('*', &len) && len == -1)) {
      out.emplace_back();
      continue;
    }
    int64_t version = 0, kind = 0, expire_at_ms = 0;
    std::string_view value;
    if (len != 4 || !r.Header(':', &version) || !r.Header(':', &kind) ||
        !r.Header(':', &expire_at_ms) || !r.Header('$', &len) || !r.Bulk(len, &value)) {
      return InvalidArgument("RINGKV.PEEK: malformed element");
    }
    // What RINGKV.APPLY accepts: a version of 0 (a reply element carries a
    // version as its int64 bits) would never be repaired.
    if (version == 0 || (kind & ~int64_t{1}) != 0 || expire_at_ms < 0) {
      return InvalidArgument("RINGKV.PEEK: bad version, kind or expiry");
    }
    ReplicaEntry& e = out.emplace_back().emplace();
    e.entry.version = static_cast<uint64_t>(version);
    e.tombstone = kind == 1;
    e.entry.expire_at_ms = expire_at_ms;
    if (!e.tombstone) e.entry.value = std::string(value);
  }
  if (!r.AtEnd()) return InvalidArgument("RINGKV.PEEK: trailing bytes after the reply");
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
