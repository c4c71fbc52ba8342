#include "node/migration/entry_chunks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringkv::node {
namespace {

constexpr uint64_t kChunk = 8;

// A value whose bytes differ, so a lost or reordered piece shows.
std::string ValueOf(size_t n) {
  std::string v(n, '\0');
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<char>('a' + i % 23);
  return v;
}

std::vector<ringkv::v1::Entry> Split(const std::string& key, const store::Entry& e,
                                     bool tombstone = false) {
  EntrySplitter splitter(kChunk);
  std::vector<ringkv::v1::Entry> pieces(splitter.Pieces(e.value.size()));
  for (size_t i = 0; i < pieces.size(); ++i) splitter.Piece(key, e, tombstone, i, pieces[i]);
  return pieces;
}

// Feeds `pieces` to an assembler; the entries it hands over, or its first error.
StatusOr<std::vector<WireEntry>> Join(std::vector<ringkv::v1::Entry> pieces,
                                      uint64_t max_value = 1 << 20) {
  EntryAssembler assembler(max_value);
  std::vector<WireEntry> out;
  for (ringkv::v1::Entry& p : pieces) {
    StatusOr<std::optional<WireEntry>> got = assembler.Add(p);
    if (!got.ok()) return got.status();
    if (*got) out.push_back(std::move(**got));
  }
  if (Status s = assembler.Finish(); !s.ok()) return s;
  return out;
}

TEST(EntryChunksTest, SplitThenJoinRoundTripsAroundTheChunkBoundary) {
  for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 64, 65}) {
    const store::Entry e{ValueOf(n), 42, 1234};
    std::vector<ringkv::v1::Entry> pieces = Split("k", e);
    EXPECT_EQ(pieces.size(), n <= kChunk ? 1u : (n + kChunk - 1) / kChunk) << n;
    for (const ringkv::v1::Entry& p : pieces) EXPECT_LE(p.value().size(), kChunk) << n;
    EXPECT_EQ(pieces[0].value_total(), n <= kChunk ? 0u : n) << n;
    StatusOr<std::vector<WireEntry>> joined = Join(pieces);
    ASSERT_TRUE(joined.ok()) << n << ": " << joined.status().message();
    ASSERT_EQ(joined->size(), 1u) << n;
    const WireEntry& w = (*joined)[0];
    EXPECT_EQ(w.key, "k");
    EXPECT_EQ(w.entry.value, e.value) << n;
    EXPECT_EQ(w.entry.version, 42u);
    EXPECT_EQ(w.entry.expire_at_ms, 1234);
    EXPECT_FALSE(w.tombstone);
  }
}

TEST(EntryChunksTest, EntriesFollowEachOtherAndTombstonesStayWhole) {
  std::vector<ringkv::v1::Entry> pieces = Split("a", {ValueOf(20), 1, 0});
  for (ringkv::v1::Entry& p : Split("b", {"", 2, 0}, /*tombstone=*/true)) pieces.push_back(p);
  for (ringkv::v1::Entry& p : Split("c", {ValueOf(3), 3, 0})) pieces.push_back(p);
  for (ringkv::v1::Entry& p : Split("d", {ValueOf(17), 4, 0})) pieces.push_back(p);
  StatusOr<std::vector<WireEntry>> joined = Join(pieces);
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  ASSERT_EQ(joined->size(), 4u);
  EXPECT_EQ((*joined)[0].entry.value, ValueOf(20));
  EXPECT_TRUE((*joined)[1].tombstone);
  EXPECT_EQ((*joined)[2].entry.value, ValueOf(3));
  EXPECT_EQ((*joined)[3].entry.value, ValueOf(17));
}

void ExpectRefused(std::vector<ringkv::v1::Entry> pieces, const std::string& why,
                   uint64_t max_value = 1 << 20) {
  StatusOr<std::vector<WireEntry>> joined = Join(std::move(pieces), max_value);
  ASSERT_FALSE(joined.ok()) << why;
  EXPECT_EQ(joined.status().code(), StatusCode::kInvalidArgument) << why;
  EXPECT_NE(joined.status().message().find(why), std::string::npos) << joined.status().message();
}

TEST(EntryChunksTest, OutOfOrderPiecesAreRefused) {
  std::vector<ringkv::v1::Entry> pieces = Split("k", {ValueOf(30), 1, 0});
  std::swap(pieces[1], pieces[2]);
  ExpectRefused(pieces, "offset 16, expected 8");
  pieces = Split("k", {ValueOf(30), 1, 0});
  ExpectRefused({pieces[1], pieces[2], pieces[3]}, "first piece starts at offset 8");
}

TEST(EntryChunksTest, DuplicatePiecesAreRefused) {
  std::vector<ringkv::v1::Entry> pieces = Split("k", {ValueOf(30), 1, 0});
  pieces.insert(pieces.begin() + 1, pieces[0]);
  ExpectRefused(pieces, "offset 0, expected 8");
}

TEST(EntryChunksTest, OversizeValuesAndPiecesPastTheTotalAreRefused) {
  ExpectRefused(Split("k", {ValueOf(30), 1, 0}), "over max_bulk_len (29)", 29);
  ExpectRefused(Split("k", {ValueOf(5), 1, 0}), "over max_bulk_len (4)", 4);
  std::vector<ringkv::v1::Entry> pieces = Split("k", {ValueOf(30), 1, 0});
  pieces.back().set_value(ValueOf(kChunk));  // 24 + 8 > 30
  ExpectRefused(pieces, "past value_total (30)");
}

TEST(EntryChunksTest, TruncatedOrInterleavedSequencesAreRefused) {
  std::vector<ringkv::v1::Entry> pieces = Split("k", {ValueOf(30), 1, 0});
  pieces.pop_back();
  ExpectRefused(pieces, "ended after 24 of 30 bytes");

  pieces = Split("k", {ValueOf(30), 1, 0});
  std::vector<ringkv::v1::Entry> other = Split("x", {ValueOf(3), 2, 0});
  ExpectRefused({pieces[0], other[0]}, "before the value was whole");

  std::vector<ringkv::v1::Entry> mixed = Split("k", {ValueOf(30), 1, 0});
  mixed[1].set_version(2);
  ExpectRefused(mixed, "another entry");
  mixed = Split("k", {ValueOf(30), 1, 0});
  mixed[2].set_key("j");
  ExpectRefused(mixed, "another entry");
  mixed = Split("k", {ValueOf(30), 1, 0});
  mixed[1].set_value("");
  ExpectRefused(mixed, "an empty piece");
}

TEST(EntryChunksTest, AHalfReceivedValueIsDroppedAfterARefusal) {
  EntryAssembler assembler(1 << 20);
  std::vector<ringkv::v1::Entry> pieces = Split("k", {ValueOf(30), 1, 0});
  ASSERT_TRUE(assembler.Add(pieces[0]).ok());
  EXPECT_TRUE(assembler.pending());
  ringkv::v1::Entry stray = Split("x", {ValueOf(2), 1, 0})[0];
  EXPECT_FALSE(assembler.Add(stray).ok());
  EXPECT_FALSE(assembler.pending());
  EXPECT_TRUE(assembler.Finish().ok());
}

TEST(EntryChunksTest, SendInPiecesKeepsEveryMessageNearOneChunkAndRoundTrips) {
  std::vector<WireEntry> entries;
  for (size_t n : {3, 40, 0, 9, 8, 100}) {
    entries.push_back(WireEntry{"key" + std::to_string(n), store::Entry{ValueOf(n), n + 1, 0}});
  }
  entries.push_back(WireEntry{"gone", store::Entry{"", 99, 0}, /*tombstone=*/true});
  ringkv::v1::EntryBatch batch;
  batch.set_migration_id("m1");
  std::vector<ringkv::v1::EntryBatch> sent;
  ASSERT_TRUE(
      SendInPieces(EntrySplitter(kChunk), entries, batch, [&](const ringkv::v1::EntryBatch& b) {
        sent.push_back(b);
        return true;
      }));
  std::vector<ringkv::v1::Entry> pieces;
  for (const ringkv::v1::EntryBatch& b : sent) {
    EXPECT_EQ(b.migration_id(), "m1");
    uint64_t values = 0;
    for (const ringkv::v1::Entry& e : b.entries()) values += e.value().size();
    EXPECT_LE(values, 2 * kChunk);  // below a chunk, plus the entry that filled it
    for (const ringkv::v1::Entry& e : b.entries()) pieces.push_back(e);
  }
  StatusOr<std::vector<WireEntry>> joined = Join(pieces);
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  ASSERT_EQ(joined->size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ((*joined)[i].key, entries[i].key);
    EXPECT_EQ((*joined)[i].entry.value, entries[i].entry.value);
    EXPECT_EQ((*joined)[i].tombstone, entries[i].tombstone);
  }
}

TEST(EntryChunksTest, SendInPiecesSendsOneMessageForNothingAndStopsOnABrokenStream) {
  ringkv::v1::FetchReply reply;
  int sends = 0;
  EXPECT_TRUE(SendInPieces(EntrySplitter(kChunk), {}, reply, [&](const ringkv::v1::FetchReply& r) {
    EXPECT_EQ(r.entries_size(), 0);
    return ++sends > 0;
  }));
  EXPECT_EQ(sends, 1);
  std::vector<WireEntry> big{WireEntry{"k", store::Entry{ValueOf(100), 1, 0}}};
  sends = 0;
  EXPECT_FALSE(SendInPieces(EntrySplitter(kChunk), big, reply,
                            [&](const ringkv::v1::FetchReply&) { return ++sends < 2; }));
  EXPECT_EQ(sends, 2);
}

TEST(EntryChunksTest, TheMessageCapDoesNotGrowWithTheValue) {
  EXPECT_EQ(MessageCapForChunks(1 << 20), (4u << 20) + kMessageHeadroomBytes);
}

}  // namespace
}  // namespace ringkv::node
