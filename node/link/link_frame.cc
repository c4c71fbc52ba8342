#include "node/link/link_frame.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "net/resp/resp_parser.h"

namespace ringkv::node {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// Digits only, the whole string, fits in 64 bits.
bool ParseU64(std::string_view s, uint64_t& v) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

void AppendHeader(std::string& out, char prefix, uint64_t n) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  end[0] = '\r';
  end[1] = '\n';
  out.append(buf, static_cast<size_t>(end + 2 - buf));
}

void AppendBulk(std::string& out, std::string_view s) {
  AppendHeader(out, '$', s.size());
  out.append(s);
  out.append("\r\n");
}

void AppendNumberBulk(std::string& out, uint64_t n) {
  char digits[20];
  char* end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  AppendBulk(out, std::string_view(digits, static_cast<size_t>(end - digits)));
}

// Reads "<prefix><digits>\r\n" at `pos`; advances `pos` past it.
bool ReadLine(std::string_view frame, size_t& pos, char prefix, uint64_t& v) {
  if (pos >= frame.size() || frame[pos] != prefix) return false;
  const size_t cr = frame.find('\r', pos);
  if (cr == std::string_view::npos || cr + 1 >= frame.size() || frame[cr + 1] != '\n') return false;
  if (!ParseU64(frame.substr(pos + 1, cr - pos - 1), v)) return false;
  pos = cr + 2;
  return true;
}

Status BadFrame(std::string_view what) {
  return InvalidArgument("link: malformed reply frame (" + std::string(what) + ")");
}

}  // namespace

std::string EncodeLinkHello(const LinkHello& hello) {
  const std::string version = std::to_string(kLinkVersion);
  const std::string_view args[] = {kLinkHelloCommand, version, hello.token, hello.from_id,
                                   hello.from_grpc};
  return net::resp::EncodeCommand(args);
}

StatusOr<LinkHello> ParseLinkHello(std::span<const std::string_view> args) {
  if (args.empty() || !EqualsIgnoreCase(args[0], kLinkHelloCommand)) {
    return InvalidArgument("link: the first command must be " + std::string(kLinkHelloCommand));
  }
  if (args.size() != 5) return InvalidArgument("link: wrong number of arguments for the hello");
  uint64_t version = 0;
  if (!ParseU64(args[1], version) || version != kLinkVersion) {
    return InvalidArgument("link: version " + std::string(args[1]) +
                           " is not supported (this node speaks " + std::to_string(kLinkVersion) +
                           ")");
  }
  return LinkHello{args[2], args[3], args[4]};
}

EncodedLinkRequest EncodeLinkRequest(std::span<const std::string_view> args) {
  EncodedLinkRequest r;
  size_t total = 32;
  for (std::string_view a : args) total += a.size() + 16;
  r.body.reserve(total);
  AppendNumberBulk(r.body, args.size());
  for (std::string_view a : args) AppendBulk(r.body, a);
  r.bulks = static_cast<uint32_t>(args.size() + 1);
  return r;
}

StatusOr<std::vector<std::string_view>> DecodeLinkRequest(std::string_view body) {
  // A bulk string at `pos`: "$<len>\r\n<bytes>\r\n".
  size_t pos = 0;
  auto bulk = [&](std::string_view& s) {
    uint64_t len = 0;
    if (!ReadLine(body, pos, '$', len) || len > body.size() - pos || body.size() - pos - len < 2 ||
        body.substr(pos + len, 2) != "\r\n") {
      return false;
    }
    s = body.substr(pos, len);
    pos += len + 2;
    return true;
  };
  std::string_view count;
  uint64_t argc = 0;
  if (!bulk(count) || !ParseU64(count, argc) || argc == 0) {
    return InvalidArgument("link: not an encoded request");
  }
  std::vector<std::string_view> args;
  args.reserve(std::min<uint64_t>(argc, body.size()));
  for (uint64_t i = 0; i < argc; ++i) {
    if (!bulk(args.emplace_back())) return InvalidArgument("link: not an encoded request");
  }
  if (pos != body.size()) return InvalidArgument("link: not an encoded request");
  return args;
}

void AppendLinkBatchHead(std::string& out, uint64_t epoch, uint64_t first_seq,
                         int64_t deadline_unix_ms, uint64_t bulks) {
  AppendHeader(out, '*', bulks + 4);
  AppendBulk(out, kLinkBatchCommand);
  AppendNumberBulk(out, epoch);
  AppendNumberBulk(out, first_seq);
  AppendNumberBulk(out, static_cast<uint64_t>(std::max<int64_t>(deadline_unix_ms, 0)));
}

StatusOr<LinkBatch> ParseLinkBatch(std::span<const std::string_view> args) {
  if (args.empty() || !EqualsIgnoreCase(args[0], kLinkBatchCommand)) {
    return InvalidArgument("link: expected " + std::string(kLinkBatchCommand) + ", got '" +
                           std::string(args.empty() ? "" : args[0].substr(0, 64)) + "'");
  }
  LinkBatch b;
  uint64_t deadline = 0;
  if (args.size() < 4 || !ParseU64(args[1], b.epoch) || !ParseU64(args[2], b.first_seq) ||
      !ParseU64(args[3], deadline) || deadline > uint64_t{INT64_MAX}) {
    return InvalidArgument("link: a batch needs an epoch, a first sequence number and a deadline");
  }
  b.deadline_unix_ms = static_cast<int64_t>(deadline);
  size_t i = 4;
  while (i < args.size()) {
    uint64_t argc = 0;
    if (!ParseU64(args[i], argc) || argc == 0 || argc > args.size() - i - 1) {
      return InvalidArgument("link: bad argument count of request " +
                             std::to_string(b.requests.size()) + " in a batch");
    }
    b.requests.push_back(args.subspan(i + 1, argc));
    i += 1 + argc;
  }
  return b;
}

void AppendLinkReply(std::string& out, uint64_t seq, uint64_t epoch, std::string_view reply,
                     std::string_view map_json) {
  AppendHeader(out, '*', map_json.empty() ? 3 : 4);
  AppendHeader(out, ':', seq);
  AppendHeader(out, ':', epoch);
  AppendBulk(out, reply);
  if (!map_json.empty()) AppendBulk(out, map_json);
}

StatusOr<LinkReplyFrame> ParseLinkReply(std::string_view frame) {
  size_t pos = 0;
  uint64_t count = 0;
  LinkReplyFrame f;
  if (!ReadLine(frame, pos, '*', count) || (count != 3 && count != 4)) return BadFrame("header");
  if (!ReadLine(frame, pos, ':', f.seq) || !ReadLine(frame, pos, ':', f.epoch)) {
    return BadFrame("seq, epoch");
  }
  uint64_t len = 0;
  if (!ReadLine(frame, pos, '$', len) || len == 0 || len > frame.size() - pos ||
      frame.size() - pos - len < 2 || frame.substr(pos + len, 2) != "\r\n") {
    return BadFrame("reply");
  }
  f.reply = frame.substr(pos, len);
  // One whole reply: it may go straight to a client. (The frame around it
  // was found without scanning the reply: it is a bulk string.)
  if (net::resp::CompleteReplyLength(f.reply) != static_cast<int64_t>(len)) {
    return BadFrame("reply");
  }
  pos += len + 2;
  if (count == 4) {
    uint64_t n = 0;
    if (!ReadLine(frame, pos, '$', n) || n > frame.size() - pos || frame.size() - pos - n != 2 ||
        frame.substr(pos + n) != "\r\n") {
      return BadFrame("map");
    }
    f.map_json = frame.substr(pos, n);
    pos += n + 2;
  }
  if (pos != frame.size()) return BadFrame("trailing bytes");
  return f;
}

}  // namespace ringkv::node
