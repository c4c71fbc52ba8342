#include "node/link/link_window.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "net/resp/resp_parser.h"
#include "node/link/link_frame.h"

namespace ringkv::node {
namespace {

// Unix ms minus the test's clock: deadlines in batches are Unix ms.
constexpr int64_t kUnixOffset = 1'700'000'000'000;

// Requests whose callbacks record what they got, by name.
class WindowTest : public ::testing::Test {
 protected:
  LinkRequest Request(const std::string& name, uint64_t epoch = 5, int64_t deadline = 1000,
                      size_t value_bytes = 1) {
    const std::string value(value_bytes, 'v');
    std::vector<std::string_view> args = {"SET", name, value};
    EncodedLinkRequest e = EncodeLinkRequest(args);
    return LinkRequest{epoch, std::move(e.body), e.bulks, deadline,
                       [this, name](LinkReply r) { got[name] = std::move(r); }};
  }
  bool Admit(LinkWindow& w, const std::string& name, uint64_t epoch = 5, int64_t deadline = 1000,
             size_t value_bytes = 1) {
    LinkRequest r = Request(name, epoch, deadline, value_bytes);
    return w.Admit(r);
  }
  // The batches in `bytes`, as the receiver parses them: {epoch, first seq, keys}.
  struct Sent {
    uint64_t epoch;
    uint64_t first;
    int64_t deadline;
    std::vector<std::string> keys;
  };
  static std::vector<Sent> Batches(const std::string& bytes) {
    std::vector<Sent> out;
    net::resp::Limits limits;
    limits.max_args = 1 << 20;
    net::resp::RequestParser parser(limits);
    std::string_view rest = bytes;
    while (!rest.empty()) {
      EXPECT_EQ(parser.Parse(rest), net::resp::ParseStatus::kComplete);
      StatusOr<LinkBatch> b = ParseLinkBatch(parser.args());
      EXPECT_TRUE(b.ok());
      Sent s{b->epoch, b->first_seq, b->deadline_unix_ms, {}};
      for (auto req : b->requests) s.keys.emplace_back(req[1]);
      out.push_back(std::move(s));
      rest.remove_prefix(parser.consumed());
    }
    return out;
  }
  static void Answer(const LinkCallback& done, const std::string& reply) {
    ASSERT_TRUE(done);
    done(LinkReply{OkStatus(), reply, 5, ""});
  }

  std::map<std::string, LinkReply> got;
};

TEST_F(WindowTest, RequestsGoOutInOrderAsOneBatchAndRepliesMatchBySeqInAnyOrder) {
  LinkWindow w(LinkLimits{});
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(Admit(w, k));
  std::string out;
  EXPECT_EQ(w.Fill(out, kUnixOffset), 3u);
  const std::vector<Sent> sent = Batches(out);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].epoch, 5u);
  EXPECT_EQ(sent[0].first, 1u);
  EXPECT_EQ(sent[0].keys, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(w.inflight(), 3u);
  const LinkWindow::Completed third = w.Complete(3);
  EXPECT_EQ(third.deadline_ms, 1000);
  Answer(third.done, "+c\r\n");
  Answer(w.Complete(1).done, "+a\r\n");
  EXPECT_FALSE(w.Complete(1).done);  // answered already
  EXPECT_FALSE(w.Complete(9).done);  // never sent
  EXPECT_FALSE(w.Complete(0).done);
  Answer(w.Complete(2).done, "+b\r\n");
  EXPECT_EQ(got["a"].reply, "+a\r\n");
  EXPECT_EQ(got["b"].reply, "+b\r\n");
  EXPECT_EQ(got["c"].reply, "+c\r\n");
  EXPECT_EQ(w.inflight(), 0u);
  EXPECT_EQ(w.inflight_bytes(), 0u);
  // Numbers go on: the next request is seq 4.
  ASSERT_TRUE(Admit(w, "d"));
  out.clear();
  w.Fill(out, kUnixOffset);
  EXPECT_EQ(Batches(out)[0].first, 4u);
}

TEST_F(WindowTest, ABatchHoldsOneEpochAndCarriesItsFirstRequestsDeadline) {
  LinkWindow w(LinkLimits{});
  ASSERT_TRUE(Admit(w, "a", 5, 100));
  ASSERT_TRUE(Admit(w, "b", 5, 110));
  ASSERT_TRUE(Admit(w, "c", 6, 120));
  ASSERT_TRUE(Admit(w, "d", 5, 130));
  std::string out;
  EXPECT_EQ(w.Fill(out, kUnixOffset), 4u);
  const std::vector<Sent> sent = Batches(out);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].epoch, 5u);
  EXPECT_EQ(sent[0].keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sent[0].deadline, kUnixOffset + 100);  // none of them may start later
  EXPECT_EQ(sent[1].epoch, 6u);
  EXPECT_EQ(sent[1].first, 3u);
  EXPECT_EQ(sent[1].deadline, kUnixOffset + 120);
  EXPECT_EQ(sent[2].epoch, 5u);
  EXPECT_EQ(sent[2].first, 4u);
  EXPECT_EQ(sent[2].deadline, kUnixOffset + 130);
}

TEST_F(WindowTest, TheWindowBoundsWhatIsInFlightAndTheQueueWhatWaits) {
  LinkWindow w(
      LinkLimits{.window = 2, .window_bytes = 1 << 20, .queue = 3, .queue_bytes = 1 << 20});
  // window + queue = 5 admitted; the sixth is refused, untouched.
  for (const char* k : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(Admit(w, k)) << k;
  LinkRequest sixth = Request("f");
  EXPECT_FALSE(w.Admit(sixth));
  EXPECT_TRUE(sixth.done);  // still the caller's to fail
  std::string out;
  EXPECT_EQ(w.Fill(out, kUnixOffset), 2u);
  EXPECT_EQ(w.inflight(), 2u);
  EXPECT_EQ(w.queued(), 3u);
  EXPECT_FALSE(Admit(w, "f"));  // 2 in flight + 3 queued
  // An answer frees a slot of the window: one more goes, one more is admitted.
  Answer(w.Complete(1).done, "+OK\r\n");
  out.clear();
  EXPECT_EQ(w.Fill(out, kUnixOffset), 1u);
  EXPECT_EQ(Batches(out)[0].keys, (std::vector<std::string>{"c"}));
  EXPECT_TRUE(Admit(w, "f"));
  EXPECT_FALSE(Admit(w, "g"));
}

TEST_F(WindowTest, FitsOnlyWhatGoesIntoFlightAtOnceWithNothingQueued) {
  LinkWindow w(LinkLimits{.window = 3, .window_bytes = 100, .queue = 8, .queue_bytes = 1 << 20});
  EXPECT_TRUE(w.Fits(3, 100));
  EXPECT_FALSE(w.Fits(4, 10));   // more than the window
  EXPECT_FALSE(w.Fits(1, 101));  // more bytes than the window
  ASSERT_TRUE(Admit(w, "a"));
  EXPECT_FALSE(w.Fits(1, 1));  // "a" waits ahead
  std::string out;
  ASSERT_EQ(w.Fill(out, kUnixOffset), 1u);
  EXPECT_TRUE(w.Fits(2, 1));
  EXPECT_FALSE(w.Fits(3, 1));  // "a" holds a slot
}

TEST_F(WindowTest, BytesBoundTheWindowAndTheQueueButALargeRequestStillGoesAlone) {
  // Each request body is ~1 KB.
  LinkWindow w(LinkLimits{.window = 100, .window_bytes = 2500, .queue = 100, .queue_bytes = 3000});
  for (const char* k : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(Admit(w, k, 5, 1000, 1000)) << k;
  EXPECT_FALSE(Admit(w, "f", 5, 1000, 1000));  // 6 KB would pass the bounds' sum
  std::string out;
  EXPECT_EQ(w.Fill(out, kUnixOffset), 2u);  // 2 KB fit the window, a third would not
  LinkWindow big(LinkLimits{.window = 100, .window_bytes = 100, .queue = 100, .queue_bytes = 100});
  ASSERT_TRUE(Admit(big, "huge", 5, 1000, 10000));  // nothing else waits: admitted
  EXPECT_FALSE(Admit(big, "x", 5, 1000, 10));       // behind it, the bounds apply
  out.clear();
  EXPECT_EQ(big.Fill(out, kUnixOffset), 1u);  // and it is sent alone
  EXPECT_TRUE(Admit(big, "x", 5, 1000, 10));
  out.clear();
  EXPECT_EQ(big.Fill(out, kUnixOffset), 0u);  // the window is over its bytes until the answer
  Answer(big.Complete(1).done, "+OK\r\n");
  EXPECT_EQ(big.Fill(out, kUnixOffset), 1u);
}

TEST_F(WindowTest, ExpireFailsWhatIsDueInFlightAndQueuedAndLateRepliesFindNothing) {
  LinkWindow w(
      LinkLimits{.window = 2, .window_bytes = 1 << 20, .queue = 10, .queue_bytes = 1 << 20});
  ASSERT_TRUE(Admit(w, "a", 5, 100));
  ASSERT_TRUE(Admit(w, "b", 5, 200));
  ASSERT_TRUE(Admit(w, "c", 5, 200));
  ASSERT_TRUE(Admit(w, "d", 5, 300));
  std::string out;
  EXPECT_EQ(w.Fill(out, kUnixOffset), 2u);  // a, b in flight; c, d queued
  EXPECT_TRUE(w.Expire(99).empty());
  std::vector<LinkCallback> due = w.Expire(200);
  EXPECT_EQ(due.size(), 3u);  // a, b in flight and c queued
  EXPECT_EQ(w.inflight(), 0u);
  EXPECT_EQ(w.queued(), 1u);
  EXPECT_FALSE(w.Complete(1).done);  // a late reply is dropped
  for (LinkCallback& done : due) done(LinkReply{Unavailable("late")});
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(got.count("d"), 0u);
}

TEST_F(WindowTest, TakeEmptiesTheWindowAndTheQueue) {
  LinkWindow w(
      LinkLimits{.window = 1, .window_bytes = 1 << 20, .queue = 10, .queue_bytes = 1 << 20});
  ASSERT_TRUE(Admit(w, "a"));
  ASSERT_TRUE(Admit(w, "b"));
  std::string out;
  w.Fill(out, kUnixOffset);
  EXPECT_EQ(w.TakeInflight().size(), 1u);
  std::vector<LinkRequest> queued = w.TakeQueued();
  ASSERT_EQ(queued.size(), 1u);
  StatusOr<std::vector<std::string_view>> args = DecodeLinkRequest(queued[0].body);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ((*args)[1], "b");
  EXPECT_EQ(w.inflight() + w.queued(), 0u);
  EXPECT_EQ(w.queued_bytes() + w.inflight_bytes(), 0u);
  // Sequence numbers are never reused: a reply for the failed request finds nothing.
  ASSERT_TRUE(Admit(w, "c"));
  out.clear();
  w.Fill(out, kUnixOffset);
  EXPECT_EQ(Batches(out)[0].first, 2u);
  EXPECT_FALSE(w.Complete(1).done);
}

}  // namespace
}  // namespace ringkv::node
