#include "node/link/link_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/resp/resp_parser.h"

namespace ringkv::node {
namespace {

// Parses `bytes` as one request, as the receiver's connection loop does.
std::vector<std::string> ParseRequest(const std::string& bytes) {
  net::resp::Limits limits;
  limits.max_args = 1 << 20;
  net::resp::RequestParser parser(limits);
  EXPECT_EQ(parser.Parse(bytes), net::resp::ParseStatus::kComplete);
  EXPECT_EQ(parser.consumed(), bytes.size());
  return {parser.args().begin(), parser.args().end()};
}

std::vector<std::string_view> Views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

std::string Batch(uint64_t epoch, uint64_t first,
                  const std::vector<std::vector<std::string_view>>& requests,
                  int64_t deadline = 1'700'000'002'000) {
  std::string body;
  uint64_t bulks = 0;
  for (const auto& r : requests) {
    EncodedLinkRequest e = EncodeLinkRequest(r);
    body += e.body;
    bulks += e.bulks;
  }
  std::string out;
  AppendLinkBatchHead(out, epoch, first, deadline, bulks);
  return out + body;
}

TEST(LinkFrameTest, AHelloRoundTripsAndNamesItsVersion) {
  const std::string bytes = EncodeLinkHello(LinkHello{"t0k", "n1", "10.0.0.1:50051"});
  const std::vector<std::string> args = ParseRequest(bytes);
  EXPECT_EQ(args, (std::vector<std::string>{"RINGKV.LINK", std::to_string(kLinkVersion), "t0k",
                                            "n1", "10.0.0.1:50051"}));
  StatusOr<LinkHello> hello = ParseLinkHello(Views(args));
  ASSERT_TRUE(hello.ok()) << hello.status().message();
  EXPECT_EQ(hello->token, "t0k");
  EXPECT_EQ(hello->from_id, "n1");
  EXPECT_EQ(hello->from_grpc, "10.0.0.1:50051");
}

TEST(LinkFrameTest, AHelloOfAnotherVersionOrShapeIsRefused) {
  std::vector<std::string_view> v1 = {"ringkv.link", "1", "t", "n", "g"};
  EXPECT_FALSE(ParseLinkHello(v1).ok());
  std::vector<std::string_view> get = {"GET", "k"};
  EXPECT_FALSE(ParseLinkHello(get).ok());
  std::vector<std::string_view> short_hello = {"RINGKV.LINK", "2", "t"};
  EXPECT_FALSE(ParseLinkHello(short_hello).ok());
}

TEST(LinkFrameTest, ABatchCarriesItsEpochSequenceDeadlineAndEveryRequestIntact) {
  const std::string binary("a\r\nb\0c", 6);
  const std::string bytes =
      Batch(7, 41, {{"GET", "k1"}, {"SET", binary, ""}, {"PING"}, {"MSET", "a", "1", "b", "2"}});
  const std::vector<std::string> args = ParseRequest(bytes);
  // The batch's requests are spans into `views`, which must outlive it.
  const std::vector<std::string_view> views = Views(args);
  StatusOr<LinkBatch> batch = ParseLinkBatch(views);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->epoch, 7u);
  EXPECT_EQ(batch->first_seq, 41u);
  EXPECT_EQ(batch->deadline_unix_ms, 1'700'000'002'000);
  ASSERT_EQ(batch->requests.size(), 4u);
  auto req = [&](size_t i) {
    return std::vector<std::string>(batch->requests[i].begin(), batch->requests[i].end());
  };
  EXPECT_EQ(req(0), (std::vector<std::string>{"GET", "k1"}));
  EXPECT_EQ(req(1), (std::vector<std::string>{"SET", binary, ""}));
  EXPECT_EQ(req(2), (std::vector<std::string>{"PING"}));
  EXPECT_EQ(req(3), (std::vector<std::string>{"MSET", "a", "1", "b", "2"}));
}

TEST(LinkFrameTest, AnEmptyBatchIsValid) {
  const std::vector<std::string> args = ParseRequest(Batch(1, 1, {}));
  const std::vector<std::string_view> views = Views(args);
  StatusOr<LinkBatch> batch = ParseLinkBatch(views);
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->requests.empty());
}

TEST(LinkFrameTest, AMalformedBatchIsRefused) {
  const std::vector<std::vector<std::string_view>> bad = {
      {"GET", "k"},                                      // not a batch
      {"RINGKV.BATCH", "x", "1", "9"},                   // epoch not a number
      {"RINGKV.BATCH", "1", "1"},                        // no deadline
      {"RINGKV.BATCH", "1", "1", "-9"},                  // a deadline before 1970
      {"RINGKV.BATCH", "1", "1", "9", "0"},              // a request without arguments
      {"RINGKV.BATCH", "1", "1", "9", "3", "GET", "k"},  // more arguments than are left
      {"RINGKV.BATCH", "1", "1", "9", "-1", "GET"},      // negative count
  };
  for (const auto& args : bad) EXPECT_FALSE(ParseLinkBatch(args).ok()) << args.size();
}

TEST(LinkFrameTest, AnEncodedRequestDecodesToItsArguments) {
  std::vector<std::string_view> args = {"SET", "k", std::string_view("v\r\n\0", 4)};
  EncodedLinkRequest e = EncodeLinkRequest(args);
  EXPECT_EQ(e.bulks, 4u);
  StatusOr<std::vector<std::string_view>> back = DecodeLinkRequest(e.body);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, args);
  EXPECT_FALSE(DecodeLinkRequest(e.body.substr(0, e.body.size() - 1)).ok());
  EXPECT_FALSE(DecodeLinkRequest(e.body + "x").ok());
  EXPECT_FALSE(DecodeLinkRequest("").ok());
}

TEST(LinkFrameTest, ReplyFramesAreWholeRespRepliesAndRoundTrip) {
  const std::vector<std::string> replies = {"+OK\r\n",     "$-1\r\n",
                                            ":42\r\n",     "$5\r\nhe\r\no\r\n",
                                            "-ERR no\r\n", "*2\r\n$1\r\na\r\n*1\r\n:1\r\n"};
  uint64_t seq = 1;
  for (const std::string& reply : replies) {
    std::string frame;
    AppendLinkReply(frame, seq, 9, reply);
    EXPECT_EQ(net::resp::CompleteReplyLength(frame), static_cast<int64_t>(frame.size()));
    StatusOr<LinkReplyFrame> f = ParseLinkReply(frame);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->seq, seq);
    EXPECT_EQ(f->epoch, 9u);
    EXPECT_EQ(f->reply, reply);
    EXPECT_TRUE(f->map_json.empty());
    ++seq;
  }
}

TEST(LinkFrameTest, AMovedReplyMayCarryTheReceiversMap) {
  std::string frame;
  AppendLinkReply(frame, 3, 12, "-MOVED 12 10.0.0.2:6380\r\n", R"({"epoch": 12})");
  EXPECT_EQ(net::resp::CompleteReplyLength(frame), static_cast<int64_t>(frame.size()));
  StatusOr<LinkReplyFrame> f = ParseLinkReply(frame);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->reply, "-MOVED 12 10.0.0.2:6380\r\n");
  EXPECT_EQ(f->map_json, R"({"epoch": 12})");
}

TEST(LinkFrameTest, FramesOfOtherShapesAreRefused) {
  for (std::string bad :
       {"+OK\r\n", "*2\r\n:1\r\n:2\r\n", "*3\r\n:1\r\n:2\r\n", "*3\r\n$1\r\n1\r\n:2\r\n+OK\r\n",
        "*3\r\n:1\r\n:2\r\n+OK\r\n", "*3\r\n:1\r\n:2\r\n$4\r\n+OK\r\r\n",
        "*3\r\n:1\r\n:2\r\n$10\r\n+OK\r\n+OK\r\n\r\n", "*3\r\n:1\r\n:2\r\n$5\r\n+OK\r\n",
        "*3\r\n:1\r\n:2\r\n$0\r\n\r\n", "*3\r\n:1\r\n:2\r\n$5\r\n+OK\r\n\r\n+OK\r\n",
        "*4\r\n:1\r\n:2\r\n$5\r\n+OK\r\n\r\n:5\r\n"}) {
    EXPECT_FALSE(ParseLinkReply(bad).ok()) << bad;
  }
}

TEST(LinkFrameTest, ALargeRequestGetsTimeForItsBytes) {
  EXPECT_EQ(LinkTimeoutMs(2000, 100), 2000u);  // small requests: peer_timeout_ms
  // 100 MB at 10 MB/s, four times over: 40 s more.
  EXPECT_EQ(LinkTimeoutMs(2000, 100'000'000), 2000u + 40'000u);
}

}  // namespace
}  // namespace ringkv::node
