// RESP2 parsing: requests from clients (multibulk and inline) and replies
// from back ends. Pure functions over bytes: no sockets, no allocation based
// on what a header claims (buffers grow only as bytes arrive).
//
// Thread safety: one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net::resp {

struct Limits {
  size_t max_bulk_len = 512ull << 20;  // bytes in one argument (Redis proto-max-bulk-len)
  size_t max_args = 1024 * 1024;       // arguments in one multibulk command
  size_t max_inline_len = 64 * 1024;   // bytes in one inline command line
};

enum class ParseStatus : uint8_t {
  kComplete,    // one command parsed: see args() and consumed()
  kIncomplete,  // need more bytes; call Parse again with the grown buffer
  kError,       // protocol error: see error(); the connection must be closed
};

// Incremental request parser. The caller keeps a buffer of unconsumed bytes
// and calls Parse(buffer) whenever bytes arrive. After kComplete the caller
// drops the first consumed() bytes and calls Parse again for the next
// pipelined command. After kIncomplete the parser remembers its progress, so
// the next call with the same buffer plus new bytes does not rescan.
class RequestParser {
 public:
  explicit RequestParser(const Limits& limits = {});

  // `buffer` holds the unconsumed bytes, starting at the first byte of the
  // command in progress. After kIncomplete it must be the same bytes plus
  // more; a shorter buffer makes the parser start the command over. After
  // kError every call returns kError until Reset().
  ParseStatus Parse(std::string_view buffer);

  // Valid after kComplete until the buffer changes. An empty inline line
  // yields kComplete with no args (the caller skips it, as Redis does).
  std::span<const std::string_view> args() const { return args_; }
  size_t consumed() const { return consumed_; }
  // Redis's wording, e.g. "Protocol error: invalid multibulk length".
  const std::string& error() const { return error_; }
  // Bytes the parser knows it still needs before it can complete (0 if
  // unknown): lets a server cap or pre-size reads without trusting headers.
  size_t pending_hint() const;
  // Forget partial progress (e.g. after the caller discarded its buffer).
  void Reset();

 private:
  // Implementation detail: offsets, not views, so the caller may reallocate
  // the buffer between calls.
  struct ArgRef {
    size_t offset;
    size_t length;
  };
  enum class Mode : uint8_t { kIdle, kMultibulk, kInline };
  // Outcome of looking for the CR that ends a header line.
  enum class LineStatus : uint8_t { kFound, kNeedMore, kTooLong };

  ParseStatus ParseMultibulk(std::string_view buf);
  ParseStatus ParseInline(std::string_view buf);
  ParseStatus ReadCount(std::string_view buf);
  ParseStatus ReadBulkHeader(std::string_view buf);
  LineStatus FindLineEnd(std::string_view buf, size_t* cr);
  ParseStatus Complete(std::string_view base, size_t consumed);
  ParseStatus Fail(std::string message);
  void StartCommand();

  Limits limits_;
  std::vector<std::string_view> args_;  // built from refs_ on completion
  std::vector<ArgRef> refs_;            // completed arguments of the current command
  std::string error_;
  std::string inline_buf_;  // unescaped inline arguments, back to back
  size_t consumed_ = 0;
  Mode mode_ = Mode::kIdle;
  size_t pos_ = 0;              // multibulk: start of the next header line or bulk payload
  size_t scan_ = 0;             // bytes before this offset hold no terminator of the current line
  size_t seen_ = 0;             // buffer size at the last call
  int64_t expected_args_ = -1;  // -1 while reading the "*<n>" line
  int64_t bulk_len_ = -1;       // length of the bulk being read, -1 when reading a header
};

// Reply framing for a client of RESP servers (router -> back end, tests).
// Returns the length of the first complete reply in `buffer`, 0 if more
// bytes are needed, or -1 if the bytes are not valid RESP2 (nested arrays
// included).
int64_t CompleteReplyLength(std::string_view buffer, const Limits& limits = {});

// A decoded reply, for tests and for the few places that need to look inside.
struct Reply {
  enum class Type : uint8_t { kSimple, kError, kInteger, kBulk, kNull, kArray, kNullArray };
  Type type = Type::kNull;
  std::string str;  // simple, error (without '-'), bulk
  int64_t integer = 0;
  std::vector<Reply> elements;
};

// Arrays nested deeper than this are refused by DecodeReply: Reply's
// destructor recurses, so unbounded depth could exhaust the stack.
inline constexpr size_t kMaxReplyDepth = 512;

// Decodes the first complete reply in `bytes`; nullopt if incomplete,
// malformed or nested deeper than kMaxReplyDepth.
std::optional<Reply> DecodeReply(std::string_view bytes);

// Encodes a command as a RESP multibulk array of bulk strings.
std::string EncodeCommand(std::span<const std::string_view> args);

}  // namespace ringkv::net::resp
