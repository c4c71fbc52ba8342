// Entry chunks: how a value larger than one chunk crosses gRPC between nodes
// (docs/dht.md, "Large values on the wire"). Pure: no sockets, no threads.
//
// A value of more than `chunk_bytes` bytes is sent as consecutive
// ringkv.v1.Entry pieces with the same key, version and expiry; each piece
// carries `value_total` (the whole value's size) and `value_offset` (where
// its bytes start). The pieces of one value follow each other with nothing
// between them, in order, and may span several messages of a stream. A value
// of at most `chunk_bytes` bytes (and every tombstone) is one Entry with
// value_total = 0, as before chunking.
//
// EntrySplitter cuts an entry into pieces; EntryAssembler joins them on the
// receiving side with bounds: value_total <= max_value_bytes, pieces
// contiguous and non-empty, the same key, version and expiry throughout. A
// value is handed over only when whole; a half-received one is dropped when
// a piece breaks the rules or the stream ends (Finish), never installed.
//
// Thread safety: a splitter is immutable; an assembler belongs to one stream.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "node/migration/peer_link.h"
#include "ringkv/v1/peer.pb.h"

namespace ringkv::node {

class EntrySplitter {
 public:
  // `chunk_bytes` >= 1: the most value bytes one piece carries.
  explicit EntrySplitter(uint64_t chunk_bytes) : chunk_bytes_(chunk_bytes) {}

  uint64_t chunk_bytes() const { return chunk_bytes_; }
  // How many pieces a value of `value_size` bytes takes: 1 up to chunk_bytes.
  uint64_t Pieces(uint64_t value_size) const;
  // Writes piece `i` (< Pieces(value.size())) of the entry into `out`,
  // replacing what it held. A tombstone is always one piece with no value.
  void Piece(std::string_view key, const store::Entry& entry, bool tombstone, uint64_t i,
             ringkv::v1::Entry& out) const;

 private:
  const uint64_t chunk_bytes_;
};

class EntryAssembler {
 public:
  // `max_value_bytes`: the largest value accepted (the node's max_bulk_len).
  explicit EntryAssembler(uint64_t max_value_bytes) : max_value_bytes_(max_value_bytes) {}

  // Takes the next piece of the stream (its key and value are moved out).
  // Returns the whole entry when `piece` ends one, nullopt when the value
  // needs more pieces. InvalidArgument, and the half-received value dropped,
  // when the piece is out of order, repeats or skips bytes, changes key,
  // version or expiry, goes past value_total, announces a value over
  // max_value_bytes, or starts another entry before the value is whole.
  StatusOr<std::optional<WireEntry>> Add(ringkv::v1::Entry& piece);
  // The end of the stream: InvalidArgument (and the value dropped) when a
  // value is half received, OK otherwise.
  Status Finish();
  bool pending() const { return pending_.has_value(); }

 private:
  Status Refuse(const std::string& why);

  const uint64_t max_value_bytes_;
  std::optional<WireEntry> pending_;  // the value being joined
  uint64_t total_ = 0;                // its announced size
};

// The gRPC message cap between nodes for pieces of `chunk_bytes`: a message
// holds about one chunk of values plus a last entry of up to one chunk, and
// its keys; the rest is headroom for keys, maps and key lists. It does not
// grow with max_bulk_len (docs/configuration.md, transfer_chunk_bytes).
constexpr uint64_t kMessageHeadroomBytes = 4ull << 20;
constexpr uint64_t MessageCapForChunks(uint64_t chunk_bytes) {
  return 4 * chunk_bytes + kMessageHeadroomBytes;
}

// Sends `entries` as messages of type Msg (EntryBatch, FetchReply: any with
// `repeated Entry entries`), about chunk_bytes of keys and values in each, a
// large value as pieces; `msg`'s other fields go in every message. `send`
// writes one message and returns false when the stream broke, which stops
// the sending (false). At least one message is sent, empty when `entries` is.
template <typename Msg, typename Send>
bool SendInPieces(const EntrySplitter& splitter, std::span<const WireEntry> entries, Msg& msg,
                  Send send) {
  uint64_t bytes = 0;
  bool sent = false;
  for (const WireEntry& w : entries) {
    const uint64_t pieces = w.tombstone ? 1 : splitter.Pieces(w.entry.value.size());
    for (uint64_t i = 0; i < pieces; ++i) {
      ringkv::v1::Entry* e = msg.add_entries();
      splitter.Piece(w.key, w.entry, w.tombstone, i, *e);
      bytes += w.key.size() + e->value().size();
      if (bytes < splitter.chunk_bytes()) continue;
      if (!send(msg)) return false;
      msg.clear_entries();
      bytes = 0;
      sent = true;
    }
  }
  if (msg.entries_size() > 0 || !sent) return send(msg);
  return true;
}

}  // namespace ringkv::node
