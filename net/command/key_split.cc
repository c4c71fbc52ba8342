#include "net/command/key_split.h"

#include <algorithm>
#include <optional>

#include "net/resp/resp_parser.h"
#include "net/resp/resp_writer.h"

namespace ringkv::net::command {
namespace {

// The elements of a complete RESP array reply of `n` elements, or nullopt
// if it is not one.
std::optional<std::vector<std::string_view>> ArrayElements(std::string_view reply, size_t n) {
  if (reply.empty() || reply[0] != '*') return std::nullopt;
  const size_t eol = reply.find("\r\n");
  if (eol == std::string_view::npos || reply.substr(1, eol - 1) != std::to_string(n)) {
    return std::nullopt;
  }
  std::vector<std::string_view> out;
  out.reserve(n);
  size_t pos = eol + 2;
  for (size_t i = 0; i < n; ++i) {
    const int64_t len = resp::CompleteReplyLength(reply.substr(pos));
    if (len <= 0) return std::nullopt;
    out.push_back(reply.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len);
  }
  if (pos != reply.size()) return std::nullopt;
  return out;
}

const std::string* FirstError(std::span<const std::string> parts) {
  for (const std::string& p : parts) {
    if (!p.empty() && p[0] == '-') return &p;
  }
  return nullptr;
}

}  // namespace

KeySplit SplitKeys(const CommandSpec& spec, std::span<const std::string_view> args,
                   OwnerOf owner_of) {
  const size_t step = spec.key_step > 1 ? static_cast<size_t>(spec.key_step) : 1;
  const size_t first = spec.first_key > 0 ? static_cast<size_t>(spec.first_key) : 0;
  const std::span<const std::string_view> prefix = args.first(std::min(first, args.size()));
  KeySplit split;
  split.where.reserve(KeyCount(spec, args.size()));
  ForEachKeyIndex(spec, args.size(), [&](size_t i) {
    const uint32_t owner = owner_of(args[i]);
    uint32_t part = 0;
    while (part < split.parts.size() && split.parts[part].owner != owner) ++part;
    if (part == split.parts.size()) {
      split.parts.push_back({owner, {prefix.begin(), prefix.end()}});
    }
    SplitPart& p = split.parts[part];
    split.where.emplace_back(part, static_cast<uint32_t>((p.args.size() - prefix.size()) / step));
    for (size_t k = 0; k < step && i + k < args.size(); ++k) p.args.push_back(args[i + k]);
  });
  return split;
}

KeySplit SplitByOwner(std::span<const std::string_view> args, size_t step, OwnerOf owner_of) {
  const CommandSpec spec{"", -2, 0, 1, -1, static_cast<int>(step), MergeKind::kNone};
  return SplitKeys(spec, args, owner_of);
}

std::string MergeArrays(std::span<const std::pair<uint32_t, uint32_t>> where,
                        std::span<const std::string> parts, std::string_view bad_shape) {
  if (const std::string* err = FirstError(parts)) return *err;
  std::vector<size_t> counts(parts.size());
  for (auto [part, index] : where) {
    if (part >= parts.size()) return std::string(bad_shape);
    ++counts[part];
  }
  std::vector<std::vector<std::string_view>> elements(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    std::optional<std::vector<std::string_view>> e = ArrayElements(parts[i], counts[i]);
    if (!e) return std::string(bad_shape);
    elements[i] = std::move(*e);
  }
  std::string out;
  resp::ReplyWriter w(out);
  w.ArrayHeader(where.size());
  for (auto [part, index] : where) {
    if (index >= elements[part].size()) return std::string(bad_shape);
    w.Raw(elements[part][index]);
  }
  return out;
}

std::string MergeStatus(std::span<const std::string> parts, std::string_view bad_shape) {
  if (const std::string* err = FirstError(parts)) return *err;
  for (const std::string& p : parts) {
    if (p != "+OK\r\n") return std::string(bad_shape);
  }
  return "+OK\r\n";
}

std::string MergeSum(std::span<const std::string> parts, std::string_view bad_shape) {
  if (const std::string* err = FirstError(parts)) return *err;
  int64_t sum = 0;
  for (const std::string& p : parts) {
    std::optional<resp::Reply> r = resp::DecodeReply(p);
    if (!r || r->type != resp::Reply::Type::kInteger) return std::string(bad_shape);
    sum += r->integer;
  }
  std::string out;
  resp::ReplyWriter(out).Integer(sum);
  return out;
}

std::string MergeReplies(MergeKind kind, std::span<const std::pair<uint32_t, uint32_t>> where,
                         std::span<const std::string> parts, std::string_view bad_shape) {
  switch (kind) {
    case MergeKind::kArray:
      return MergeArrays(where, parts, bad_shape);
    case MergeKind::kSum:
      return MergeSum(parts, bad_shape);
    case MergeKind::kOk:
      return MergeStatus(parts, bad_shape);
    case MergeKind::kNone:
      break;
  }
  return std::string(bad_shape);
}

}  // namespace ringkv::net::command
