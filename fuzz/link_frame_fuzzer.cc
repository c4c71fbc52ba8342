// The peer link's wire format (node/link/link_frame.*). The first byte picks
// a side:
//  - even: the receiver. The bytes are parsed as RESP commands, as the
//    link's connection loop does; the first must be a hello, the rest
//    batches. A batch that parses must encode back to the same batch.
//  - odd: the sender. The bytes are reply frames, framed by
//    CompleteReplyLength as the outgoing link does, then ParseLinkReply'd.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "net/resp/resp_parser.h"
#include "node/link/link_frame.h"

namespace {

using ringkv::net::resp::ParseStatus;
using ringkv::net::resp::RequestParser;
using namespace ringkv::node;

using Args = std::vector<std::string>;

std::vector<Args> ParseCommands(std::string_view stream) {
  RequestParser parser;
  std::vector<Args> out;
  std::string_view rest = stream;
  while (parser.Parse(rest) == ParseStatus::kComplete) {
    out.emplace_back(parser.args().begin(), parser.args().end());
    rest.remove_prefix(parser.consumed());
  }
  return out;
}

std::vector<std::string_view> Views(const Args& args) {
  return {args.begin(), args.end()};
}

// Encodes `b` as the sender does and parses it again.
void CheckBatchRoundTrip(const LinkBatch& b) {
  std::string body;
  uint64_t bulks = 0;
  for (std::span<const std::string_view> r : b.requests) {
    EncodedLinkRequest e = EncodeLinkRequest(r);
    auto decoded = DecodeLinkRequest(e.body);
    FUZZ_CHECK(decoded.ok());
    FUZZ_CHECK(std::equal(decoded->begin(), decoded->end(), r.begin(), r.end()));
    body += e.body;
    bulks += e.bulks;
  }
  std::string wire;
  AppendLinkBatchHead(wire, b.epoch, b.first_seq, b.deadline_unix_ms, bulks);
  wire += body;
  std::vector<Args> commands = ParseCommands(wire);
  FUZZ_CHECK(commands.size() == 1);
  std::vector<std::string_view> views = Views(commands[0]);
  auto again = ParseLinkBatch(views);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->epoch == b.epoch && again->first_seq == b.first_seq &&
             again->deadline_unix_ms == b.deadline_unix_ms);
  FUZZ_CHECK(again->requests.size() == b.requests.size());
  for (size_t i = 0; i < b.requests.size(); ++i) {
    FUZZ_CHECK(std::equal(again->requests[i].begin(), again->requests[i].end(),
                          b.requests[i].begin(), b.requests[i].end()));
  }
}

void Receiver(std::string_view stream) {
  std::vector<Args> commands = ParseCommands(stream);
  for (size_t i = 0; i < commands.size(); ++i) {
    std::vector<std::string_view> args = Views(commands[i]);
    if (i == 0) {
      (void)ParseLinkHello(args);
      continue;
    }
    auto batch = ParseLinkBatch(args);
    if (!batch.ok()) continue;
    for (std::span<const std::string_view> r : batch->requests) FUZZ_CHECK(!r.empty());
    CheckBatchRoundTrip(*batch);
  }
}

void Sender(std::string_view stream) {
  for (;;) {
    const int64_t len = ringkv::net::resp::CompleteReplyLength(stream);
    if (len <= 0) return;
    std::string_view frame = stream.substr(0, static_cast<size_t>(len));
    auto f = ParseLinkReply(frame);
    if (f.ok()) {
      std::string again;
      AppendLinkReply(again, f->seq, f->epoch, f->reply, f->map_json);
      auto reparsed = ParseLinkReply(again);
      FUZZ_CHECK(reparsed.ok());
      FUZZ_CHECK(reparsed->seq == f->seq && reparsed->epoch == f->epoch &&
                 reparsed->reply == f->reply && reparsed->map_json == f->map_json);
    }
    stream.remove_prefix(static_cast<size_t>(len));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    Receiver(stream);
  } else {
    Sender(stream);
  }
  return 0;
}
