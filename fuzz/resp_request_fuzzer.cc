// The RESP request parser (net/resp) on client bytes. The first byte picks
// where the stream is cut in two; the rest is parsed once whole and once in
// two pieces, as a socket may deliver it, and both parses must see the same
// commands, the same error and the same unconsumed tail.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "net/resp/resp_parser.h"

namespace {

using ringkv::net::resp::Limits;
using ringkv::net::resp::ParseStatus;
using ringkv::net::resp::RequestParser;

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  bool error = false;
  std::string rest;  // bytes left unconsumed

  bool operator==(const Outcome&) const = default;
};

// Small limits, so the fuzzer reaches every limit check.
constexpr Limits kLimits{.max_bulk_len = 4096, .max_args = 64, .max_inline_len = 512};

// Drains every complete command from `buffer`; false on a protocol error.
bool Drain(RequestParser& parser, std::string& buffer, Outcome& out) {
  for (;;) {
    ParseStatus s = parser.Parse(buffer);
    if (s == ParseStatus::kIncomplete) return true;
    if (s == ParseStatus::kError) {
      FUZZ_CHECK(!parser.error().empty());
      FUZZ_CHECK(parser.Parse(buffer) == ParseStatus::kError);  // sticky until Reset
      return false;
    }
    FUZZ_CHECK(parser.consumed() > 0 && parser.consumed() <= buffer.size());
    std::vector<std::string> args;
    for (std::string_view a : parser.args()) {
      FUZZ_CHECK(a.size() <= kLimits.max_bulk_len);
      args.emplace_back(a);
    }
    // An inline line is bounded by its length, not by max_args (as in Redis).
    FUZZ_CHECK(args.size() <= std::max(kLimits.max_args, kLimits.max_inline_len));
    if (!args.empty()) out.commands.push_back(std::move(args));
    buffer.erase(0, parser.consumed());
  }
}

Outcome ParseInPieces(std::string_view stream, size_t cut) {
  RequestParser parser(kLimits);
  Outcome out;
  std::string buffer;
  for (std::string_view piece : {stream.substr(0, cut), stream.substr(cut)}) {
    buffer.append(piece);
    if (!Drain(parser, buffer, out)) {
      out.error = true;
      return out;
    }
  }
  out.rest = buffer;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = stream.empty() ? 0 : data[0] % (stream.size() + 1);
  Outcome whole = ParseInPieces(stream, stream.size());
  Outcome pieces = ParseInPieces(stream, cut);
  FUZZ_CHECK(whole == pieces);
  return 0;
}
