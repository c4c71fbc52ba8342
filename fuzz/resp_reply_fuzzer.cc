// RESP reply framing and decoding (net/resp) on a back end's or a peer's
// bytes. The framed length must be a length no shorter prefix reaches, and
// DecodeReply must decode only what CompleteReplyLength frames.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "net/resp/resp_parser.h"

using ringkv::net::resp::CompleteReplyLength;
using ringkv::net::resp::DecodeReply;
using ringkv::net::resp::Limits;
using ringkv::net::resp::Reply;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Limits small{.max_bulk_len = 4096, .max_args = 64};
  const int64_t length = CompleteReplyLength(bytes, small);
  FUZZ_CHECK(length >= -1 && length <= static_cast<int64_t>(size));
  if (length > 0) {
    std::string_view framed = bytes.substr(0, static_cast<size_t>(length));
    FUZZ_CHECK(CompleteReplyLength(framed, small) == length);
    FUZZ_CHECK(CompleteReplyLength(framed.substr(0, framed.size() - 1), small) <= 0);
  }
  std::optional<Reply> reply = DecodeReply(bytes);
  if (reply) FUZZ_CHECK(CompleteReplyLength(bytes) > 0);
  return 0;
}
