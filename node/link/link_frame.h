// The peer link's wire format (docs/dht.md, "The peer link"). RESP2 both
// ways, so the receiver serves a link on a net::ConnectionLoop like a
// pipelined client, and the sender frames replies with
// resp::CompleteReplyLength:
//
//   sender, first   RINGKV.LINK <version> <token> <sender id> <sender gRPC addr>
//   receiver        +OK — or -ERR ..., and the connection closes
//   sender          RINGKV.BATCH <epoch> <first seq> <deadline> <argc> <arg>... <argc> <arg>...
//                   one multibulk per batch: every request of the batch was
//                   placed with map `epoch`; request i has seq first + i;
//                   none may start after `deadline` (Unix ms), when the
//                   sender gives up on it
//   receiver        *3 :<seq> :<epoch> $<length> <reply>
//                   one array per request, in any order: the receiver's map
//                   epoch and the command's own RESP2 reply, carried as a
//                   bulk string so that neither side scans it to find its
//                   end; *4 adds a bulk with the receiver's map (JSON) to a
//                   -MOVED reply when that map is newer than the batch's
//
// Pure: no sockets, no threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ringkv::node {

inline constexpr std::string_view kLinkHelloCommand = "RINGKV.LINK";
inline constexpr std::string_view kLinkBatchCommand = "RINGKV.BATCH";
inline constexpr uint32_t kLinkVersion = 2;  // 2: replies carried as bulk strings

// The first command on a link: who sends, and the token the receiver handed
// out over gRPC (ringkv.v1.Peer/OpenLink), which proves the sender may talk
// to its cluster-internal port.
struct LinkHello {
  std::string_view token;
  std::string_view from_id;
  std::string_view from_grpc;
};
std::string EncodeLinkHello(const LinkHello& hello);
// Errors (InvalidArgument): not a hello, another version.
StatusOr<LinkHello> ParseLinkHello(std::span<const std::string_view> args);

// One request as the sender encodes it once, off the link's thread: its
// argument count and arguments as bulk strings, ready to go into a batch.
struct EncodedLinkRequest {
  std::string body;
  uint32_t bulks = 0;  // bulk strings in `body`
};
EncodedLinkRequest EncodeLinkRequest(std::span<const std::string_view> args);
// The arguments of an encoded request; the views point into `body`.
// Errors (InvalidArgument): not EncodeLinkRequest's output.
StatusOr<std::vector<std::string_view>> DecodeLinkRequest(std::string_view body);

// The head of a batch whose requests hold `bulks` bulk strings in all; the
// requests' bodies follow it.
void AppendLinkBatchHead(std::string& out, uint64_t epoch, uint64_t first_seq,
                         int64_t deadline_unix_ms, uint64_t bulks);

// A batch as received; the spans point into the parsed arguments.
struct LinkBatch {
  uint64_t epoch = 0;
  uint64_t first_seq = 0;
  int64_t deadline_unix_ms = 0;
  std::vector<std::span<const std::string_view>> requests;
};
// Errors (InvalidArgument): not a batch, a bad number, a request with no
// arguments or more than are left.
StatusOr<LinkBatch> ParseLinkBatch(std::span<const std::string_view> args);

// Appends the reply frame of request `seq`. `reply` is one whole RESP2
// reply; `map_json` is sent when not empty.
void AppendLinkReply(std::string& out, uint64_t seq, uint64_t epoch, std::string_view reply,
                     std::string_view map_json = {});

struct LinkReplyFrame {
  uint64_t seq = 0;
  uint64_t epoch = 0;
  std::string_view reply;     // one whole RESP2 reply
  std::string_view map_json;  // empty unless sent
};
// Parses one complete frame (as framed by resp::CompleteReplyLength); the
// views point into `frame`. Errors (InvalidArgument): any other shape.
StatusOr<LinkReplyFrame> ParseLinkReply(std::string_view frame);

}  // namespace ringkv::node
