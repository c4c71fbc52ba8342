#include "node/migration/entry_chunks.h"

#include <algorithm>
#include <utility>

namespace ringkv::node {

uint64_t EntrySplitter::Pieces(uint64_t value_size) const {
  if (value_size <= chunk_bytes_) return 1;
  return (value_size + chunk_bytes_ - 1) / chunk_bytes_;
}

void EntrySplitter::Piece(std::string_view key, const store::Entry& entry, bool tombstone,
                          uint64_t i, ringkv::v1::Entry& out) const {
  out.Clear();
  out.set_key(key.data(), key.size());
  out.set_version(entry.version);
  out.set_expire_at_ms(entry.expire_at_ms);
  out.set_tombstone(tombstone);
  if (tombstone) return;
  const uint64_t size = entry.value.size();
  if (size <= chunk_bytes_) {
    out.set_value(entry.value);
    return;
  }
  const uint64_t offset = i * chunk_bytes_;
  out.set_value(entry.value.data() + offset, std::min(chunk_bytes_, size - offset));
  out.set_value_offset(offset);
  out.set_value_total(size);
}

Status EntryAssembler::Refuse(const std::string& why) {
  std::string key = pending_ ? pending_->key : std::string();
  pending_.reset();  // a half-received value is never installed
  total_ = 0;
  if (key.size() > 64) key = key.substr(0, 64) + "...";
  return InvalidArgument("chunked value" + (key.empty() ? "" : " of key '" + key + "'") + ": " +
                         why);
}

StatusOr<std::optional<WireEntry>> EntryAssembler::Add(ringkv::v1::Entry& piece) {
  if (piece.value_total() == 0) {
    if (pending_) return Refuse("another entry arrived before the value was whole");
    if (piece.value_offset() != 0) return Refuse("an offset without value_total");
    if (piece.value().size() > max_value_bytes_) {
      return Refuse("a value of " + std::to_string(piece.value().size()) +
                    " bytes is over max_bulk_len (" + std::to_string(max_value_bytes_) + ")");
    }
    return std::optional<WireEntry>(WireEntry{
        std::move(*piece.mutable_key()),
        store::Entry{std::move(*piece.mutable_value()), piece.version(), piece.expire_at_ms()},
        piece.tombstone()});
  }
  if (piece.tombstone()) return Refuse("a tombstone carries no value");
  if (piece.value().empty()) return Refuse("an empty piece");
  if (!pending_) {
    if (piece.value_offset() != 0) {
      return Refuse("the first piece starts at offset " + std::to_string(piece.value_offset()));
    }
    if (piece.value_total() > max_value_bytes_) {
      return Refuse("a value of " + std::to_string(piece.value_total()) +
                    " bytes is over max_bulk_len (" + std::to_string(max_value_bytes_) + ")");
    }
    pending_ = WireEntry{std::move(*piece.mutable_key()),
                         store::Entry{std::string(), piece.version(), piece.expire_at_ms()}, false};
    total_ = piece.value_total();
  } else if (piece.key() != pending_->key || piece.version() != pending_->entry.version ||
             piece.expire_at_ms() != pending_->entry.expire_at_ms ||
             piece.value_total() != total_) {
    return Refuse("a piece of another entry arrived before the value was whole");
  }
  std::string& value = pending_->entry.value;
  if (piece.value_offset() != value.size()) {
    return Refuse("a piece at offset " + std::to_string(piece.value_offset()) + ", expected " +
                  std::to_string(value.size()));
  }
  if (piece.value().size() > total_ - value.size()) {
    return Refuse("pieces past value_total (" + std::to_string(total_) + ")");
  }
  value.append(piece.value());
  if (value.size() < total_) return std::optional<WireEntry>();
  std::optional<WireEntry> whole = std::move(pending_);
  pending_.reset();
  total_ = 0;
  return whole;
}

Status EntryAssembler::Finish() {
  if (!pending_) return OkStatus();
  const uint64_t got = pending_->entry.value.size();
  return Refuse("the stream ended after " + std::to_string(got) + " of " + std::to_string(total_) +
                " bytes");
}

}  // namespace ringkv::node
