// RESP2 request parsing with Redis's semantics (multibulk and inline), reply
// framing and a small reply decoder. See net/resp/resp_parser.h for the contracts.
#include "net/resp/resp_parser.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

namespace ringkv::net::resp {
namespace {

constexpr size_t kNpos = std::string_view::npos;
// Longest integer header line a reply may carry: sign, 19 digits, CRLF, slack.
constexpr size_t kMaxReplyNumberLine = 24;

const char kErrMultibulkLen[] = "Protocol error: invalid multibulk length";
const char kErrBulkLen[] = "Protocol error: invalid bulk length";
const char kErrBigCount[] = "Protocol error: too big mbulk count string";
const char kErrBigBulkCount[] = "Protocol error: too big bulk count string";
const char kErrBigInline[] = "Protocol error: too big inline request";
const char kErrQuotes[] = "Protocol error: unbalanced quotes in request";
const char kErrBulkCrlf[] = "Protocol error: expected CRLF after bulk data";

// Redis's string2ll rules: optional '-', digits only, no leading zeros (and
// no "-0"), must fit in int64. Returns nullopt otherwise.
std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s.size() == 1 && s[0] == '0') return 0;
  const bool negative = s[0] == '-';
  size_t i = negative ? 1 : 0;
  if (i == s.size() || s[i] < '1' || s[i] > '9') return std::nullopt;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    const unsigned d = static_cast<unsigned char>(s[i]) - unsigned{'0'};
    if (d > 9 || v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (v > kMax + (negative ? 1 : 0)) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// ---- Inline splitting, following sdssplitargs. ----

// The byte at `i`, or NUL past the end (the line is cut at its first NUL, so
// NUL means "end of line" exactly as in the C original).
char At(std::string_view s, size_t i) {
  return i < s.size() ? s[i] : '\0';
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char Unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

// A closing quote must be followed by whitespace or the end of the line.
size_t AfterClosingQuote(std::string_view line, size_t quote) {
  const char next = At(line, quote + 1);
  return next == '\0' || IsSpace(next) ? quote + 1 : kNpos;
}

// Appends the body of a "..." token starting just after the opening quote.
// Returns the index past the closing quote, or kNpos if unbalanced.
size_t ReadDoubleQuoted(std::string_view line, size_t i, std::string& out) {
  for (;;) {
    const char c = At(line, i);
    if (c == '\0') return kNpos;
    if (c == '\\' && At(line, i + 1) == 'x' && HexValue(At(line, i + 2)) >= 0 &&
        HexValue(At(line, i + 3)) >= 0) {
      out.push_back(static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
      i += 4;
    } else if (c == '\\' && At(line, i + 1) != '\0') {
      out.push_back(Unescape(line[i + 1]));
      i += 2;
    } else if (c == '"') {
      return AfterClosingQuote(line, i);
    } else {
      out.push_back(c);
      ++i;
    }
  }
}

// Same for a '...' token, where only \' is an escape.
size_t ReadSingleQuoted(std::string_view line, size_t i, std::string& out) {
  for (;;) {
    const char c = At(line, i);
    if (c == '\0') return kNpos;
    if (c == '\\' && At(line, i + 1) == '\'') {
      out.push_back('\'');
      i += 2;
    } else if (c == '\'') {
      return AfterClosingQuote(line, i);
    } else {
      out.push_back(c);
      ++i;
    }
  }
}

// Appends one token starting at a non-space byte; a quote inside a bare
// token starts a quoted part that ends the token. Returns the index after the
// token, or kNpos on unbalanced quotes.
size_t ReadToken(std::string_view line, size_t i, std::string& out) {
  for (;;) {
    const char c = At(line, i);
    switch (c) {
      case ' ':
      case '\n':
      case '\r':
      case '\t':
      case '\0':
        return i;
      case '"':
        return ReadDoubleQuoted(line, i + 1, out);
      case '\'':
        return ReadSingleQuoted(line, i + 1, out);
      default:
        out.push_back(c);
        ++i;
    }
  }
}

}  // namespace

// ---- RequestParser ----

RequestParser::RequestParser(const Limits& limits) : limits_(limits) {}

void RequestParser::StartCommand() {
  args_.clear();
  refs_.clear();
  consumed_ = 0;
  pos_ = 0;
  scan_ = 0;
  seen_ = 0;
  expected_args_ = -1;
  bulk_len_ = -1;
  mode_ = Mode::kIdle;
}

void RequestParser::Reset() {
  StartCommand();
  error_.clear();
}

size_t RequestParser::pending_hint() const {
  if (mode_ != Mode::kMultibulk || bulk_len_ < 0) return 0;
  const size_t needed = pos_ + static_cast<size_t>(bulk_len_) + 2;
  return needed > seen_ ? needed - seen_ : 0;
}

ParseStatus RequestParser::Fail(std::string message) {
  error_ = std::move(message);
  return ParseStatus::kError;
}

ParseStatus RequestParser::Parse(std::string_view buf) {
  if (!error_.empty()) return ParseStatus::kError;
  if (mode_ == Mode::kIdle || buf.size() < seen_) {
    StartCommand();
    if (buf.empty()) return ParseStatus::kIncomplete;
    mode_ = buf[0] == '*' ? Mode::kMultibulk : Mode::kInline;
  }
  seen_ = buf.size();
  return mode_ == Mode::kMultibulk ? ParseMultibulk(buf) : ParseInline(buf);
}

// Finishes the command: views into `base` (the request buffer or
// inline_buf_), progress cleared for the next command.
ParseStatus RequestParser::Complete(std::string_view base, size_t consumed) {
  args_.clear();
  for (const ArgRef& r : refs_) args_.push_back(base.substr(r.offset, r.length));
  consumed_ = consumed;
  mode_ = Mode::kIdle;
  return ParseStatus::kComplete;
}

// Looks for the CR ending the header line that starts at pos_, resuming the
// search at scan_. A line longer than max_inline_len is kTooLong whether or
// not its CR has arrived, so the outcome does not depend on chunking. On
// kFound, *cr is the CR's index and the byte after it exists.
RequestParser::LineStatus RequestParser::FindLineEnd(std::string_view buf, size_t* cr) {
  const size_t from = std::max(scan_, pos_);
  const void* hit =
      from < buf.size() ? std::memchr(buf.data() + from, '\r', buf.size() - from) : nullptr;
  if (hit == nullptr) {
    scan_ = buf.size();
    return buf.size() - pos_ > limits_.max_inline_len ? LineStatus::kTooLong
                                                      : LineStatus::kNeedMore;
  }
  const size_t at = static_cast<size_t>(static_cast<const char*>(hit) - buf.data());
  if (at - pos_ > limits_.max_inline_len) return LineStatus::kTooLong;
  scan_ = at;
  if (at + 1 >= buf.size()) return LineStatus::kNeedMore;
  *cr = at;
  return LineStatus::kFound;
}

// Reads "*<n>\r\n". n <= 0 means an empty command, as in Redis.
ParseStatus RequestParser::ReadCount(std::string_view buf) {
  size_t cr = 0;
  switch (FindLineEnd(buf, &cr)) {
    case LineStatus::kNeedMore:
      return ParseStatus::kIncomplete;
    case LineStatus::kTooLong:
      return Fail(kErrBigCount);
    case LineStatus::kFound:
      break;
  }
  const std::optional<int64_t> n = ParseInt(buf.substr(pos_ + 1, cr - pos_ - 1));
  if (!n || buf[cr + 1] != '\n' || (*n > 0 && static_cast<uint64_t>(*n) > limits_.max_args)) {
    return Fail(kErrMultibulkLen);
  }
  pos_ = cr + 2;
  scan_ = pos_;
  expected_args_ = std::max<int64_t>(*n, 0);
  return ParseStatus::kComplete;
}

// Reads "$<len>\r\n" into bulk_len_. kComplete means the header is done.
ParseStatus RequestParser::ReadBulkHeader(std::string_view buf) {
  size_t cr = 0;
  switch (FindLineEnd(buf, &cr)) {
    case LineStatus::kNeedMore:
      return ParseStatus::kIncomplete;
    case LineStatus::kTooLong:
      return Fail(kErrBigBulkCount);
    case LineStatus::kFound:
      break;
  }
  if (buf[pos_] != '$') {
    return Fail(std::string("Protocol error: expected '$', got '") + buf[pos_] + "'");
  }
  const std::optional<int64_t> len = ParseInt(buf.substr(pos_ + 1, cr - pos_ - 1));
  if (!len || *len < 0 || buf[cr + 1] != '\n' ||
      static_cast<uint64_t>(*len) > limits_.max_bulk_len) {
    return Fail(kErrBulkLen);
  }
  bulk_len_ = *len;
  pos_ = cr + 2;
  scan_ = pos_;
  return ParseStatus::kComplete;
}

ParseStatus RequestParser::ParseMultibulk(std::string_view buf) {
  if (expected_args_ < 0) {
    const ParseStatus s = ReadCount(buf);
    if (s != ParseStatus::kComplete) return s;
  }
  while (refs_.size() < static_cast<size_t>(expected_args_)) {
    if (bulk_len_ < 0) {
      const ParseStatus s = ReadBulkHeader(buf);
      if (s != ParseStatus::kComplete) return s;
    }
    const size_t len = static_cast<size_t>(bulk_len_);
    if (buf.size() - pos_ < len + 2) return ParseStatus::kIncomplete;
    if (buf[pos_ + len] != '\r' || buf[pos_ + len + 1] != '\n') return Fail(kErrBulkCrlf);
    refs_.push_back({pos_, len});
    pos_ += len + 2;
    scan_ = pos_;
    bulk_len_ = -1;
  }
  return Complete(buf, pos_);
}

// One line ending in \n (optionally \r\n), split like sdssplitargs. scan_
// remembers how far we looked for the newline.
ParseStatus RequestParser::ParseInline(std::string_view buf) {
  const void* hit =
      scan_ < buf.size() ? std::memchr(buf.data() + scan_, '\n', buf.size() - scan_) : nullptr;
  if (hit == nullptr) {
    scan_ = buf.size();
    return buf.size() > limits_.max_inline_len ? Fail(kErrBigInline) : ParseStatus::kIncomplete;
  }
  const size_t newline = static_cast<size_t>(static_cast<const char*>(hit) - buf.data());
  if (newline > limits_.max_inline_len) return Fail(kErrBigInline);
  std::string_view line = buf.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  line = line.substr(0, line.find('\0'));  // the C original stops at NUL

  inline_buf_.clear();
  refs_.clear();
  size_t i = 0;
  for (;;) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size()) break;
    const size_t start = inline_buf_.size();
    i = ReadToken(line, i, inline_buf_);
    if (i == kNpos) return Fail(kErrQuotes);
    refs_.push_back({start, inline_buf_.size() - start});
  }
  return Complete(inline_buf_, newline + 1);
}

// ---- Reply framing and decoding ----

namespace {

// One RESP2 element's own bytes (for an array: just its header).
struct Element {
  enum class Status : uint8_t { kOk, kNeedMore, kInvalid };
  Status status = Status::kInvalid;
  char type = 0;
  size_t next = 0;        // index past this element's own bytes
  int64_t value = 0;      // integer, bulk length or array count; -1 = null
  std::string_view text;  // simple/error line or bulk payload
};

Element NeedMore() {
  Element e;
  e.status = Element::Status::kNeedMore;
  return e;
}
Element Invalid() {
  return {};
}

// Scans the element at `pos`. Header numbers are bounded by `limits`.
Element ScanElement(std::string_view buf, size_t pos, const Limits& limits) {
  if (pos >= buf.size()) return NeedMore();
  const char type = buf[pos];
  if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') return Invalid();
  const bool numeric = type != '+' && type != '-';
  const void* hit = std::memchr(buf.data() + pos, '\r', buf.size() - pos);
  if (hit == nullptr) {
    return numeric && buf.size() - pos > kMaxReplyNumberLine ? Invalid() : NeedMore();
  }
  const size_t cr = static_cast<size_t>(static_cast<const char*>(hit) - buf.data());
  if (cr + 1 >= buf.size()) return NeedMore();
  if (buf[cr + 1] != '\n') return Invalid();
  Element e{Element::Status::kOk, type, cr + 2, 0, buf.substr(pos + 1, cr - pos - 1)};
  if (!numeric) return e;
  const std::optional<int64_t> v = ParseInt(e.text);
  if (!v) return Invalid();
  e.value = *v;
  e.text = {};
  if (type == ':') return e;
  const size_t limit = type == '$' ? limits.max_bulk_len : limits.max_args;
  if (*v < -1 || (*v > 0 && static_cast<uint64_t>(*v) > limit)) return Invalid();
  if (type == '*' || *v == -1) return e;
  const size_t len = static_cast<size_t>(*v);
  if (buf.size() - e.next < len + 2) return NeedMore();
  if (buf[e.next + len] != '\r' || buf[e.next + len + 1] != '\n') return Invalid();
  e.text = buf.substr(e.next, len);
  e.next += len + 2;
  return e;
}

// Fills `out` from a scanned element; returns how many children follow.
size_t FillReply(const Element& e, Reply& out) {
  switch (e.type) {
    case '+':
      out.type = Reply::Type::kSimple;
      out.str = e.text;
      return 0;
    case '-':
      out.type = Reply::Type::kError;
      out.str = e.text;
      return 0;
    case ':':
      out.type = Reply::Type::kInteger;
      out.integer = e.value;
      return 0;
    case '$':
      out.type = e.value < 0 ? Reply::Type::kNull : Reply::Type::kBulk;
      out.str = e.text;
      return 0;
    default:
      if (e.value < 0) {
        out.type = Reply::Type::kNullArray;
        return 0;
      }
      out.type = Reply::Type::kArray;
      // Safe to reserve: the caller has framed the whole reply already.
      out.elements.reserve(static_cast<size_t>(e.value));
      return static_cast<size_t>(e.value);
  }
}

}  // namespace

// Iterative, so deeply nested input cannot exhaust the stack: `pending`
// counts elements still to read, each array header adding its count.
int64_t CompleteReplyLength(std::string_view buffer, const Limits& limits) {
  size_t pos = 0;
  uint64_t pending = 1;
  while (pending > 0) {
    const Element e = ScanElement(buffer, pos, limits);
    if (e.status == Element::Status::kNeedMore) return 0;
    if (e.status == Element::Status::kInvalid) return -1;
    pos = e.next;
    --pending;
    if (e.type == '*' && e.value > 0) pending += static_cast<uint64_t>(e.value);
  }
  return static_cast<int64_t>(pos);
}

std::optional<Reply> DecodeReply(std::string_view bytes) {
  const Limits limits;
  if (CompleteReplyLength(bytes, limits) <= 0) return std::nullopt;
  struct Open {
    Reply* array;
    size_t remaining;
  };
  std::vector<Open> open;
  Reply root;
  Reply* slot = &root;
  size_t pos = 0;
  for (;;) {
    const Element e = ScanElement(bytes, pos, limits);
    pos = e.next;
    const size_t children = FillReply(e, *slot);
    if (children > 0) {
      if (open.size() == kMaxReplyDepth) return std::nullopt;
      open.push_back({slot, children});
    }
    while (!open.empty() && open.back().remaining == 0) open.pop_back();
    if (open.empty()) return root;
    --open.back().remaining;
    // No reallocation: elements were reserved to their final size.
    slot = &open.back().array->elements.emplace_back();
  }
}

std::string EncodeCommand(std::span<const std::string_view> args) {
  size_t total = 16;
  for (std::string_view a : args) total += a.size() + 24;
  std::string out;
  out.reserve(total);
  char num[24];
  auto append_header = [&](char prefix, size_t n) {
    num[0] = prefix;
    char* end = std::to_chars(num + 1, num + sizeof num - 2, n).ptr;
    end[0] = '\r';
    end[1] = '\n';
    out.append(num, static_cast<size_t>(end + 2 - num));
  };
  append_header('*', args.size());
  for (std::string_view a : args) {
    append_header('$', a.size());
    out.append(a);
    out.append("\r\n");
  }
  return out;
}

}  // namespace ringkv::net::resp
