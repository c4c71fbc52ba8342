#include "node/replication/replica_entry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "store/memory_engine.h"

namespace ringkv::node {
namespace {

ReplicaEntry Value(std::string v, uint64_t version, int64_t expire = 0) {
  return ReplicaEntry{false, store::Entry{std::move(v), version, expire}};
}
ReplicaEntry Tombstone(uint64_t version) {
  return ReplicaEntry{true, store::Entry{{}, version, 0}};
}

// The RINGKV.PEEK reply that holds `entries`.
std::string PeekReplyOf(const std::vector<std::optional<ReplicaEntry>>& entries) {
  std::string reply;
  net::resp::ReplyWriter w(reply);
  w.ArrayHeader(entries.size());
  for (const auto& e : entries) WritePeekElement(w, e);
  return reply;
}

TEST(ReplicaEntryTest, PeekReplyRoundTrip) {
  std::vector<std::optional<ReplicaEntry>> in = {Value(std::string("a\r\nb\0c", 6), 7, 99),
                                                 std::nullopt, Tombstone(12), Value("", 3)};
  auto out = DecodePeekReply(PeekReplyOf(in), in.size());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, in);
}

TEST(ReplicaEntryTest, PeekReplyOfAnotherShapeIsAnError) {
  EXPECT_FALSE(DecodePeekReply("*1\r\n$-1\r\n", 2).ok());
  EXPECT_FALSE(DecodePeekReply("-ERR nope\r\n", 1).ok());
  EXPECT_FALSE(DecodePeekReply("*1\r\n*2\r\n:1\r\n:0\r\n", 1).ok());
  EXPECT_FALSE(DecodePeekReply("*1\r\n", 1).ok());               // incomplete
  EXPECT_FALSE(DecodePeekReply("*1\r\n$-1\r\n:1\r\n", 1).ok());  // trailing bytes
  EXPECT_FALSE(DecodePeekReply("*1\r\n*4\r\n:1\r\n:0\r\n:0\r\n$5\r\nab\r\n", 1).ok());
}

// Random replies decode to what was written, and every strict prefix of one
// (a reply cut short) is an error, never a shorter answer.
TEST(ReplicaEntryTest, PeekReplyRandomRoundTripsAndPrefixesFail) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::optional<ReplicaEntry>> in(rng() % 6);
    for (auto& e : in) {
      switch (rng() % 3) {
        case 0:
          break;
        case 1:
          e = Tombstone(1 + rng() % 1000);
          break;
        default:
          e = Value(std::string(rng() % 40, static_cast<char>('\r' + rng() % 3)), 1 + rng(),
                    static_cast<int64_t>(rng() % 5));
      }
    }
    const std::string reply = PeekReplyOf(in);
    auto out = DecodePeekReply(reply, in.size());
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, in);
    for (size_t cut = 0; cut < reply.size(); ++cut) {
      EXPECT_FALSE(DecodePeekReply(std::string_view(reply).substr(0, cut), in.size()).ok())
          << "a prefix of " << cut << " bytes of " << reply.size();
    }
  }
}

// Found by the replica_entry fuzzer: a peer's version 0, a kind other than
// 0 and 1, and a negative expiry were taken; RINGKV.APPLY refuses all three.
TEST(ReplicaEntryTest, PeekReplyWithAnEntryApplyWouldRefuseIsAnError) {
  for (const char* element :
       {"*4\r\n:0\r\n:0\r\n:0\r\n$1\r\nv\r\n", "*4\r\n:5\r\n:2\r\n:0\r\n$1\r\nv\r\n",
        "*4\r\n:5\r\n:0\r\n:-7\r\n$1\r\nv\r\n"}) {
    auto out = DecodePeekReply(std::string("*1\r\n") + element, 1);
    ASSERT_FALSE(out.ok()) << element;
    EXPECT_EQ(out.status().message(), "RINGKV.PEEK: bad version, kind or expiry");
  }
  EXPECT_TRUE(DecodePeekReply("*1\r\n*4\r\n:5\r\n:1\r\n:0\r\n$0\r\n\r\n", 1).ok());
}

TEST(ReplicaEntryTest, ApplyArgsRoundTrip) {
  std::vector<std::string> args;
  AppendApplyArgs(args, "k1", Value("v", 5, 1000));
  AppendApplyArgs(args, "k2", Tombstone(6));
  std::vector<std::string_view> views(args.begin(), args.end());
  std::vector<std::pair<std::string, ReplicaEntry>> got;
  ASSERT_TRUE(ParseApplyArgs(views, [&](std::string_view k, const ReplicaEntry& e) {
                got.emplace_back(std::string(k), e);
              }).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, "k1");
  EXPECT_EQ(got[0].second, Value("v", 5, 1000));
  EXPECT_EQ(got[1].second, Tombstone(6));
}

TEST(ReplicaEntryTest, MalformedApplyArgsApplyNothing) {
  int calls = 0;
  auto count = [&](std::string_view, const ReplicaEntry&) { ++calls; };
  const std::vector<std::vector<std::string_view>> bad = {
      {},
      {"k", "1", "0", "0"},
      {"k", "x", "0", "0", "v"},
      {"k", "0", "0", "0", "v"},   // version 0 is "nothing"
      {"k", "1", "2", "0", "v"},   // kind
      {"k", "1", "0", "-5", "v"},  // expiry
      {"k", "1", "0", "0", "v", "k2", "1", "0", "0", "v", "extra"},
      {"k", "1", "0", "0", "v", "k2", "1x", "0", "0", "v"},  // the second is bad: neither applies
  };
  for (const auto& a : bad) EXPECT_FALSE(ParseApplyArgs(a, count).ok());
  EXPECT_EQ(calls, 0);
}

// Whatever order the versions of a key arrive in, the store ends with the
// newest, and installs report exactly the arrivals that were newer.
TEST(ReplicaEntryTest, InstallsConvergeOnTheNewestInAnyOrder) {
  FakeClock clock(1'000'000);
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    HybridClock hlc(clock);
    std::vector<ReplicaEntry> arrivals;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      const uint64_t v = 1 + rng() % 20;
      arrivals.push_back(rng() % 3 == 0 ? Tombstone(v) : Value("v" + std::to_string(v), v));
    }
    // Equal versions may carry different values (two nodes drew the same
    // timestamp): the winner is the same in every order.
    const int n2 = static_cast<int>(arrivals.size());
    for (int i = 0; i < n2; ++i) {
      if (rng() % 4 == 0)
        arrivals.push_back(Value("w" + std::to_string(rng() % 3), arrivals[i].version()));
    }
    uint64_t newest = 0;
    for (const ReplicaEntry& e : arrivals) newest = std::max(newest, e.version());
    std::optional<ReplicaEntry> first;
    for (int order = 0; order < 3; ++order) {
      auto engine = store::NewMemoryEngine({});
      std::shuffle(arrivals.begin(), arrivals.end(), rng);
      for (const ReplicaEntry& e : arrivals) {
        bool installed = false;
        ASSERT_TRUE(InstallIfNewer(*engine, hlc, "k", e, clock.NowMs(), &installed).ok());
      }
      std::optional<ReplicaEntry> here = PeekLocal(*engine, "k", clock.NowMs());
      ASSERT_TRUE(here.has_value());
      EXPECT_EQ(here->version(), newest);
      if (order == 0) {
        first = here;
      } else {
        EXPECT_EQ(here, first) << "replicas diverge on arrival order";
      }
    }
    // The clock moved past every version it saw.
    EXPECT_GT(hlc.Next(), newest);
  }
}

TEST(ReplicaEntryTest, ExpiredArrivalsAreNotInstalled) {
  FakeClock clock(5'000);
  auto engine = store::NewMemoryEngine({});
  HybridClock hlc(clock);
  bool installed = true;
  ASSERT_TRUE(
      InstallIfNewer(*engine, hlc, "k", Value("v", 9, 4'000), clock.NowMs(), &installed).ok());
  EXPECT_FALSE(installed);
  EXPECT_FALSE(PeekLocal(*engine, "k", clock.NowMs()).has_value());
}

TEST(ReplicaEntryTest, ATombstoneHidesOlderCopiesAndYieldsToNewer) {
  FakeClock clock(5'000);
  auto engine = store::NewMemoryEngine({});
  HybridClock hlc(clock);
  bool installed = false;
  ASSERT_TRUE(InstallIfNewer(*engine, hlc, "k", Value("old", 10), clock.NowMs(), &installed).ok());
  ASSERT_TRUE(InstallIfNewer(*engine, hlc, "k", Tombstone(20), clock.NowMs(), &installed).ok());
  EXPECT_TRUE(installed);
  EXPECT_FALSE(engine->Get("k", clock.NowMs()).has_value());
  // A late copy of the old value does not bring the key back.
  ASSERT_TRUE(InstallIfNewer(*engine, hlc, "k", Value("old", 10), clock.NowMs(), &installed).ok());
  EXPECT_FALSE(installed);
  EXPECT_EQ(PeekLocal(*engine, "k", clock.NowMs()), Tombstone(20));
  ASSERT_TRUE(InstallIfNewer(*engine, hlc, "k", Value("new", 30), clock.NowMs(), &installed).ok());
  EXPECT_TRUE(installed);
  EXPECT_EQ(engine->Get("k", clock.NowMs())->value, "new");
}

}  // namespace
}  // namespace ringkv::node
