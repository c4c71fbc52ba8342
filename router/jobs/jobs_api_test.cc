#include "router/jobs/jobs_api.h"

#include <gtest/gtest.h>

#include "net/http_status.h"
#include "router/jobs/autoscaler.h"
#include "router/jobs/jobs_codec.h"

namespace ringkv::router {
namespace {

using namespace jobs_codec;
using net::resp::Reply;
using Type = Reply::Type;

constexpr const char* kId = "0b6f6f9e-3c1a-4e0b-9a53-2b7f4a1d9c10";

net::HttpRequest Req(std::map<std::string, std::string> query, std::string body = "",
                     std::string content_type = "") {
  net::HttpRequest r;
  r.method = "PUT";
  r.path = "/enqueue";
  r.query = std::move(query);
  r.body = std::move(body);
  if (!content_type.empty()) r.headers["content-type"] = content_type;
  r.remote = "10.1.2.3:5555";
  return r;
}

Reply Bulk(std::string s) {
  Reply r;
  r.type = Type::kBulk;
  r.str = std::move(s);
  return r;
}
Reply Int(int64_t v) {
  Reply r;
  r.type = Type::kInteger;
  r.integer = v;
  return r;
}
Reply Array(std::vector<Reply> e) {
  Reply r;
  r.type = Type::kArray;
  r.elements = std::move(e);
  return r;
}

TEST(ParseEnqueue, RawBodyAndAlgorithm) {
  auto r = ParseEnqueue(Req({{"iterations", "5"}, {"algorithm", "sha256"}}, "\x01\x02"), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->iterations, 5u);
  EXPECT_EQ(r->algorithm, jobs::HashAlgorithm::kSha256);
  EXPECT_EQ(r->payload, "\x01\x02");
  auto d = ParseEnqueue(Req({{"iterations", "1"}}, "x"), {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm, jobs::HashAlgorithm::kSha512);
}

TEST(ParseEnqueue, JsonStringBodyIsDecoded) {
  auto r = ParseEnqueue(Req({{"iterations", "1"}}, R"("a\"b\u00e9")", "application/json"), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->payload, "a\"b\xc3\xa9");
  auto bad = ParseEnqueue(Req({{"iterations", "1"}}, R"({"x":1})", "application/json"), {});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  // Without a JSON content type the quotes are payload bytes.
  auto raw = ParseEnqueue(Req({{"iterations", "1"}}, R"("x")"), {});
  EXPECT_EQ(raw->payload, "\"x\"");
}

TEST(ParseEnqueue, IterationsValidation) {
  JobLimits limits;
  limits.max_iterations = 100;
  for (const char* bad : {"", "0", "-1", "abc", "1.5", "101", "99999999999999999999"}) {
    auto r = ParseEnqueue(Req({{"iterations", bad}}, "x"), limits);
    EXPECT_EQ(net::HttpStatusOf(r.status()), 400) << bad;
  }
  EXPECT_EQ(net::HttpStatusOf(ParseEnqueue(Req({}, "x"), limits).status()), 400);
  EXPECT_TRUE(ParseEnqueue(Req({{"iterations", "100"}}, "x"), limits).ok());
  auto alg = ParseEnqueue(Req({{"iterations", "1"}, {"algorithm", "md5"}}, "x"), limits);
  EXPECT_EQ(net::HttpStatusOf(alg.status()), 400);
}

TEST(ParseEnqueue, PayloadLimitIs413) {
  JobLimits limits;
  limits.max_payload = 4;
  EXPECT_TRUE(ParseEnqueue(Req({{"iterations", "1"}}, "abcd"), limits).ok());
  auto r = ParseEnqueue(Req({{"iterations", "1"}}, "abcde"), limits);
  EXPECT_EQ(net::HttpStatusOf(r.status()), 413);
  // The limit applies to the decoded payload.
  auto j = ParseEnqueue(Req({{"iterations", "1"}}, R"("abcd")", "application/json"), limits);
  EXPECT_TRUE(j.ok());
}

TEST(ParseCompleteWork, BothShapes) {
  auto obj = ParseCompleteWork(std::string(R"({"work_id": ")") + kId + R"(", "output": "ab"})");
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ(obj->work_id, kId);
  EXPECT_EQ(obj->output, "ab");
  auto arr = ParseCompleteWork(std::string(R"(["cd", ")") + kId + R"("])");
  ASSERT_TRUE(arr.ok());
  EXPECT_EQ(arr->work_id, kId);
  EXPECT_EQ(arr->output, "cd");
}

TEST(ParseCompleteWork, Malformed) {
  for (std::string bad :
       {std::string("not json"), std::string("[]"), std::string(R"(["a"])"),
        std::string(R"(["a", "b", "c"])"), std::string(R"({"work_id": 1, "output": "a"})"),
        std::string(R"({"output": "a"})"), std::string(R"(["ab", "not-a-uuid"])"),
        std::string(R"(["", ")") + kId + "\"]"}) {
    EXPECT_EQ(net::HttpStatusOf(ParseCompleteWork(bad).status()), 400) << bad;
  }
}

TEST(ParseBodies, WorkIdNotifyKilledIps) {
  EXPECT_EQ(*ParseWorkIdBody(std::string(R"({"work_id": ")") + kId + "\"}"), kId);
  EXPECT_FALSE(ParseWorkIdBody("{}").ok());
  EXPECT_EQ(*ParseNotifyKilled(""), "");
  EXPECT_EQ(*ParseNotifyKilled(R"({"worker": "w1"})"), "w1");
  EXPECT_FALSE(ParseNotifyKilled("[1]").ok());
  auto ips = ParseIps(R"({"ips": ["a:1", "b:2"]})");
  ASSERT_TRUE(ips.ok());
  EXPECT_EQ(ips->size(), 2u);
  EXPECT_FALSE(ParseIps(R"({"ips": [1]})").ok());
}

TEST(ParseQuery, WaitAndTop) {
  EXPECT_EQ(*ParseWaitMs(Req({}), 30000), 0u);
  EXPECT_EQ(*ParseWaitMs(Req({{"wait", "1.5"}}), 30000), 1500u);
  EXPECT_EQ(*ParseWaitMs(Req({{"wait", "100"}}), 30000), 30000u);
  EXPECT_FALSE(ParseWaitMs(Req({{"wait", "-1"}}), 30000).ok());
  EXPECT_FALSE(ParseWaitMs(Req({{"wait", "soon"}}), 30000).ok());
  EXPECT_EQ(*ParseTop(Req({})), kDefaultTop);
  EXPECT_EQ(*ParseTop(Req({{"top", "0"}})), 0u);
  EXPECT_EQ(*ParseTop(Req({{"top", "99999999"}})), kMaxTop);
  EXPECT_FALSE(ParseTop(Req({{"top", "x"}})).ok());
}

TEST(WorkerId, HeaderQueryThenPeerHost) {
  auto r = Req({});
  EXPECT_EQ(*WorkerIdOf(r), "10.1.2.3");
  r.remote = "[::1]:80";
  EXPECT_EQ(*WorkerIdOf(r), "::1");
  r.query["worker"] = "q";
  EXPECT_EQ(*WorkerIdOf(r), "q");
  r.headers["x-worker-id"] = "h";
  EXPECT_EQ(*WorkerIdOf(r), "h");
  r.headers["x-worker-id"] = std::string(201, 'x');
  EXPECT_FALSE(WorkerIdOf(r).ok());
}

TEST(WorkerId, PidSuffix) {
  EXPECT_EQ(PidFromWorkerId("worker-host-1234"), 1234);
  EXPECT_EQ(PidFromWorkerId("worker-2"), 0);  // an instance name, not a pid
  EXPECT_EQ(PidFromWorkerId("10.0.0.1"), 0);
  EXPECT_EQ(PidFromWorkerId("w-x"), 0);
}

TEST(NodeReplies, Lease) {
  Reply nil;
  auto none = ParseLeaseReply(nil);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  auto job = ParseLeaseReply(
      Array({Bulk(kId), Bulk("3"), Bulk("sha512"), Bulk("p\0q"), Int(100), Bulk("200"), Int(2)}));
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(*job);
  EXPECT_EQ((*job)->iterations, 3u);
  EXPECT_EQ((*job)->lease_expires_ms, 200);
  EXPECT_FALSE(ParseLeaseReply(Array({Bulk(kId)})).ok());
  std::string json = RenderLease(**job, 30000);
  EXPECT_NE(json.find(R"("payload":")" + Base64Encode((*job)->payload) + "\""), std::string::npos);
  EXPECT_NE(json.find(R"("payload_encoding":"base64")"), std::string::npos);
  EXPECT_NE(json.find(R"("lease_ms":30000)"), std::string::npos);
}

TEST(NodeReplies, StatsSum) {
  auto s = ParseStatsReply(Array({Int(2), Int(1), Int(0), Int(500)}));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->oldest_queued_ms, 500);
  ShardStats sum = SumStats({*s, {0, 3, 4, 0}, {1, 0, 0, 700}});
  EXPECT_EQ(sum.queued, 3u);
  EXPECT_EQ(sum.leased, 4u);
  EXPECT_EQ(sum.done, 4u);
  EXPECT_EQ(sum.oldest_queued_ms, 500);
  EXPECT_EQ(RenderQueueLen(sum, 1500, 2, 4),
            R"({"done":4,"leased":4,"max_workers":4,"oldest_queued_age_ms":1000,"queued":3,)"
            R"("workers":2})");
  auto bad = ParseStatsReply(Array({Int(1)}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(net::HttpStatusOf(bad.status()), 502);  // the node's fault: Bad Gateway
}

TEST(NodeReplies, PullAndGet) {
  auto p =
      ParsePullReply(Array({Bulk("a"), Bulk("o1"), Bulk("10"), Bulk("b"), Bulk("o2"), Int(20)}));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1].completed_ms, 20);
  EXPECT_EQ(RenderCompleted(*p),
            R"({"work_items":[{"output":"o1","work_id":"a"},{"output":"o2","work_id":"b"}]})");
  EXPECT_FALSE(ParsePullReply(Array({Bulk("a")})).ok());
  auto g = ParseGetReply(Array({Bulk("id"), Bulk(kId), Bulk("state"), Bulk("done"),
                                Bulk("iterations"), Bulk("7"), Bulk("pulled"), Bulk("1")}));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(*g);
  std::string j = RenderJob(**g);
  EXPECT_NE(j.find(R"("work_id":")" + std::string(kId)), std::string::npos);
  EXPECT_NE(j.find(R"("iterations":7)"), std::string::npos);
  EXPECT_NE(j.find(R"("pulled":true)"), std::string::npos);
  EXPECT_FALSE(*ParseGetReply(Reply{}));
}

TEST(Workers, RegistryExpiresAndMarksLaunched) {
  WorkerRegistry reg(1000);
  reg.Touch("a", 0, 100);
  reg.Touch("b", 42, 100, true);
  reg.MarkLaunched("worker-1", 42);
  auto l = reg.List(200);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_FALSE(l[0].launched_by_autoscaler);
  EXPECT_TRUE(l[1].launched_by_autoscaler);
  EXPECT_EQ(l[1].completed, 1u);
  reg.Touch("a", 0, 900);
  EXPECT_EQ(reg.List(1500).size(), 1u);  // b expired
  reg.Remove("a");
  EXPECT_TRUE(reg.List(1500).empty());
}

TEST(Workers, ATokenBelongsToOneLiveWorker) {
  WorkerRegistry reg(1000);
  auto a = reg.Register("a", 0, 100);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_TRUE(reg.CheckToken("a", *a));
  EXPECT_FALSE(reg.CheckToken("a", ""));
  EXPECT_FALSE(reg.CheckToken("a", *a + "x"));
  EXPECT_FALSE(reg.CheckToken("b", *a));  // another id, the same token: refused
  // While "a" lives nobody else can register as "a" and take its token.
  EXPECT_EQ(reg.Register("a", 0, 500).status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(reg.CheckToken("a", *a));
  // Once it left (or expired), its token is gone and the id is free again.
  reg.MarkLeft("a", 600);
  EXPECT_FALSE(reg.CheckToken("a", *a));
  auto again = reg.Register("a", 0, 700);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *a);
  reg.List(5000);  // prunes: expired
  EXPECT_FALSE(reg.CheckToken("a", *again));
}

TEST(Autoscaler, Decide) {
  using Kind = ScaleDecision::Kind;
  EXPECT_EQ(DecideScale({0, 0, 0, 4, 15000}).kind, Kind::kNoQueue);
  EXPECT_EQ(DecideScale({1, 15000, 0, 4, 15000}).kind, Kind::kYoung);
  ScaleDecision d = DecideScale({1, 16200, 1, 4, 15000});
  EXPECT_EQ(d.kind, Kind::kLaunch);
  EXPECT_EQ(d.reason, "oldest job waited 16.2 s > 15 s, workers 1/4");
  EXPECT_EQ(DecideScale({1, 16200, 4, 4, 15000}).kind, Kind::kAtMax);
}

TEST(Autoscaler, CountsWorkersOnce) {
  provider::Instance w1{"worker-1", "worker", 11, "127.0.0.1", 0, 0, 0, true};
  provider::Instance w2{"worker-2", "worker", 12, "127.0.0.1", 0, 0, 0, true};
  provider::Instance dead{"worker-3", "worker", 13, "127.0.0.1", 0, 0, 0, false};
  provider::Instance node{"node-1", "node", 14, "127.0.0.1", 0, 0, 0, true};
  WorkerRegistry::Worker by_name{"worker-1", 0, 0, true, 0};
  WorkerRegistry::Worker by_pid{"x", 0, 0, true, 12};
  WorkerRegistry::Worker external{"ext", 0, 0, false, 0};
  EXPECT_EQ(CountAliveWorkers({w1, w2, dead, node}, {}), 2u);
  EXPECT_EQ(CountAliveWorkers({}, {external}), 1u);
  EXPECT_EQ(CountAliveWorkers({w1, w2}, {by_name, by_pid}), 2u);
  EXPECT_EQ(CountAliveWorkers({w1, w2}, {by_name, by_pid, external}), 3u);
  // Unmatched on both sides: max, never the sum.
  EXPECT_EQ(CountAliveWorkers({w1, w2}, {external}), 2u);
  EXPECT_EQ(NextWorkerName({w1, dead, node}), "worker-2");
  EXPECT_EQ(NextWorkerName({}), "worker-1");
}

}  // namespace
}  // namespace ringkv::router
