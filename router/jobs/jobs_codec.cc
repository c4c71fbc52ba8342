#include "router/jobs/jobs_codec.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace ringkv::router::jobs_codec {

namespace {

using nlohmann::json;
using Type = net::resp::Reply::Type;

constexpr size_t kMaxWorkerId = 200;
constexpr size_t kMaxIps = 64;

// Dumps JSON; bytes that are not UTF-8 are replaced rather than thrown on.
std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<json> ParseJson(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<int64_t> ToInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// An integer element: a RESP integer or a decimal bulk string.
std::optional<int64_t> IntOf(const net::resp::Reply& r) {
  if (r.type == Type::kInteger) return r.integer;
  if (r.type == Type::kBulk || r.type == Type::kSimple) return ToInt(r.str);
  return std::nullopt;
}

std::optional<std::string> StrOf(const net::resp::Reply& r) {
  if (r.type == Type::kBulk || r.type == Type::kSimple) return r.str;
  if (r.type == Type::kInteger) return std::to_string(r.integer);
  return std::nullopt;
}

// "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "::1".
std::string PeerHost(const std::string& remote) {
  if (!remote.empty() && remote.front() == '[') {
    size_t end = remote.find(']');
    return end == std::string::npos ? remote : remote.substr(1, end - 1);
  }
  size_t colon = remote.find(':');
  if (colon != std::string::npos && colon == remote.rfind(':')) return remote.substr(0, colon);
  return remote;
}

// kUnknown: the node's fault, not the router's (HTTP 502, net/http_status.h).
Status Malformed(std::string_view what) {
  return Status(StatusCode::kUnknown, "malformed " + std::string(what) + " reply from node");
}

}  // namespace

StatusOr<EnqueueRequest> ParseEnqueue(const net::HttpRequest& req, const JobLimits& limits) {
  EnqueueRequest out;
  auto it = req.Query("iterations");
  if (!it) return InvalidArgument("iterations is required: PUT /enqueue?iterations=N");
  auto n = ToInt(*it);
  if (!n || *n <= 0 || uint64_t(*n) > limits.max_iterations) {
    return InvalidArgument("iterations must be an integer in [1, " +
                           std::to_string(limits.max_iterations) + "], got '" + *it + "'");
  }
  out.iterations = uint32_t(*n);
  if (auto a = req.Query("algorithm")) {
    auto alg = jobs::ParseHashAlgorithm(*a);
    if (!alg) return InvalidArgument("algorithm must be sha512 or sha256, got '" + *a + "'");
    out.algorithm = *alg;
  }
  if (req.Header("content-type").find("application/json") != std::string_view::npos) {
    auto j = ParseJson(req.body);
    if (!j || !j->is_string())
      return InvalidArgument("a JSON body must be a JSON string: \"<payload>\"");
    out.payload = j->get<std::string>();
  } else {
    out.payload = req.body;
  }
  if (out.payload.size() > limits.max_payload) {
    return OutOfRange("payload of " + std::to_string(out.payload.size()) +
                      " bytes is above job_max_payload (" + std::to_string(limits.max_payload) +
                      ")");
  }
  return out;
}

StatusOr<CompleteRequest> ParseCompleteWork(std::string_view body) {
  auto j = ParseJson(body);
  CompleteRequest out;
  if (j && j->is_object() && j->contains("work_id") && j->contains("output") &&
      (*j)["work_id"].is_string() && (*j)["output"].is_string()) {
    out.work_id = (*j)["work_id"];
    out.output = (*j)["output"];
  } else if (j && j->is_array() && j->size() == 2 && (*j)[0].is_string() && (*j)[1].is_string()) {
    out.output = (*j)[0];
    out.work_id = (*j)[1];
  } else {
    return InvalidArgument(
        "body must be {\"work_id\": \"<id>\", \"output\": \"<hex>\"} or [\"<hex>\", \"<id>\"]");
  }
  if (!jobs::IsJobId(out.work_id)) return InvalidArgument("work_id is not a job id");
  if (out.output.empty()) return InvalidArgument("output must not be empty");
  return out;
}

StatusOr<std::string> ParseWorkIdBody(std::string_view body) {
  auto j = ParseJson(body);
  if (!j || !j->is_object() || !j->contains("work_id") || !(*j)["work_id"].is_string())
    return InvalidArgument("body must be {\"work_id\": \"<id>\"}");
  std::string id = (*j)["work_id"];
  if (!jobs::IsJobId(id)) return InvalidArgument("work_id is not a job id");
  return id;
}

StatusOr<std::string> ParseNotifyKilled(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string();
  auto j = ParseJson(body);
  if (!j || !j->is_object() || (j->contains("worker") && !(*j)["worker"].is_string()))
    return InvalidArgument("body must be {\"worker\": \"<id>\"}");
  std::string id = j->value("worker", "");
  if (id.size() > kMaxWorkerId) return InvalidArgument("worker id is too long");
  return id;
}

StatusOr<std::vector<std::string>> ParseIps(std::string_view body) {
  auto j = ParseJson(body);
  if (!j || !j->is_object() || !j->contains("ips") || !(*j)["ips"].is_array())
    return InvalidArgument("body must be {\"ips\": [\"host:port\", ...]}");
  std::vector<std::string> out;
  for (const json& ip : (*j)["ips"]) {
    if (!ip.is_string() || ip.get<std::string>().empty() || ip.get<std::string>().size() > 255)
      return InvalidArgument("each of ips must be a non-empty \"host:port\" string");
    out.push_back(ip);
  }
  if (out.size() > kMaxIps) return InvalidArgument("at most 64 ips");
  return out;
}

StatusOr<uint32_t> ParseWaitMs(const net::HttpRequest& req, uint32_t max_wait_ms) {
  auto w = req.Query("wait");
  if (!w || w->empty()) return uint32_t{0};
  double s = 0;
  auto [p, ec] = std::from_chars(w->data(), w->data() + w->size(), s);
  if (ec != std::errc() || p != w->data() + w->size() || !std::isfinite(s) || s < 0)
    return InvalidArgument("wait must be a number of seconds >= 0, got '" + *w + "'");
  double ms = s * 1000.0;
  return ms >= max_wait_ms ? max_wait_ms : uint32_t(ms);
}

StatusOr<size_t> ParseTop(const net::HttpRequest& req) {
  auto t = req.Query("top");
  if (!t) return kDefaultTop;
  auto n = ToInt(*t);
  if (!n || *n < 0) return InvalidArgument("top must be an integer >= 0, got '" + *t + "'");
  return std::min<size_t>(size_t(*n), kMaxTop);
}

StatusOr<std::string> WorkerIdOf(const net::HttpRequest& req) {
  std::string id(req.Header("x-worker-id"));
  if (id.empty()) id = req.Query("worker").value_or("");
  if (id.empty()) id = PeerHost(req.remote);
  if (id.empty()) id = "unknown";
  if (id.size() > kMaxWorkerId) return InvalidArgument("worker id is longer than 200 bytes");
  return id;
}

int PidFromWorkerId(std::string_view id) {
  size_t dash = id.rfind('-');
  if (dash == std::string_view::npos || id.find('-') == dash) return 0;
  auto n = ToInt(id.substr(dash + 1));
  return n && *n > 0 && *n <= (1 << 30) ? int(*n) : 0;
}

StatusOr<std::optional<LeasedJob>> ParseLeaseReply(const net::resp::Reply& r) {
  if (r.type == Type::kNull || r.type == Type::kNullArray) return std::optional<LeasedJob>();
  if (r.type != Type::kArray || r.elements.size() < 7) return Malformed("JOB.LEASE");
  const auto& e = r.elements;
  LeasedJob j;
  auto id = StrOf(e[0]), alg = StrOf(e[2]), payload = StrOf(e[3]);
  auto it = IntOf(e[1]), enq = IntOf(e[4]), exp = IntOf(e[5]), att = IntOf(e[6]);
  if (!id || !alg || !payload || !it || !enq || !exp || !att) return Malformed("JOB.LEASE");
  j.work_id = *id;
  j.iterations = uint32_t(*it);
  j.algorithm = *alg;
  j.payload = std::move(*payload);
  j.enqueued_ms = *enq;
  j.lease_expires_ms = *exp;
  j.attempts = uint32_t(*att);
  return std::optional<LeasedJob>(std::move(j));
}

StatusOr<ShardStats> ParseStatsReply(const net::resp::Reply& r) {
  if (r.type != Type::kArray || r.elements.size() < 4) return Malformed("JOB.STATS");
  std::optional<int64_t> v[4];
  for (size_t i = 0; i < 4; ++i) {
    v[i] = IntOf(r.elements[i]);
    if (!v[i] || *v[i] < 0) return Malformed("JOB.STATS");
  }
  return ShardStats{uint64_t(*v[0]), uint64_t(*v[1]), uint64_t(*v[2]), *v[3]};
}

ShardStats SumStats(const std::vector<ShardStats>& shards) {
  ShardStats out;
  for (const ShardStats& s : shards) {
    out.queued += s.queued;
    out.leased += s.leased;
    out.done += s.done;
    if (s.queued > 0 && s.oldest_queued_ms > 0 &&
        (out.oldest_queued_ms == 0 || s.oldest_queued_ms < out.oldest_queued_ms)) {
      out.oldest_queued_ms = s.oldest_queued_ms;
    }
  }
  return out;
}

StatusOr<std::vector<Completed>> ParsePullReply(const net::resp::Reply& r) {
  if (r.type == Type::kNull || r.type == Type::kNullArray) return std::vector<Completed>();
  if (r.type != Type::kArray || r.elements.size() % 3 != 0) return Malformed("JOB.PULL");
  std::vector<Completed> out;
  for (size_t i = 0; i < r.elements.size(); i += 3) {
    auto id = StrOf(r.elements[i]), output = StrOf(r.elements[i + 1]);
    auto ms = IntOf(r.elements[i + 2]);
    if (!id || !output || !ms) return Malformed("JOB.PULL");
    out.push_back({*id, *output, *ms});
  }
  return out;
}

StatusOr<std::optional<std::map<std::string, std::string>>> ParseGetReply(
    const net::resp::Reply& r) {
  using Fields = std::map<std::string, std::string>;
  if (r.type == Type::kNull || r.type == Type::kNullArray) return std::optional<Fields>();
  if (r.type != Type::kArray || r.elements.size() % 2 != 0) return Malformed("JOB.GET");
  Fields f;
  for (size_t i = 0; i < r.elements.size(); i += 2) {
    auto k = StrOf(r.elements[i]), v = StrOf(r.elements[i + 1]);
    if (!k || !v) return Malformed("JOB.GET");
    f[*k] = *v;
  }
  return std::optional<Fields>(std::move(f));
}

std::string RenderLease(const LeasedJob& job, uint32_t lease_ms) {
  json j = {{"work_id", job.work_id},
            {"iterations", job.iterations},
            {"algorithm", job.algorithm},
            {"payload", Base64Encode(job.payload)},
            {"payload_encoding", "base64"},
            {"lease_ms", lease_ms},
            {"lease_expires_ms", job.lease_expires_ms},
            {"attempts", job.attempts}};
  return Dump(j);
}

std::string RenderJob(const std::map<std::string, std::string>& f) {
  auto str = [&f](const char* k) {
    auto it = f.find(k);
    return it == f.end() ? std::string() : it->second;
  };
  auto num = [&f](const char* k) -> int64_t {
    auto it = f.find(k);
    if (it == f.end()) return 0;
    return ToInt(it->second).value_or(0);
  };
  std::string p = str("pulled");
  json j = {{"work_id", str("id")},
            {"state", str("state")},
            {"iterations", num("iterations")},
            {"algorithm", str("algorithm")},
            {"enqueued_ms", num("enqueued_ms")},
            {"leased_ms", num("leased_ms")},
            {"lease_expires_ms", num("lease_expires_ms")},
            {"completed_ms", num("completed_ms")},
            {"worker", str("worker")},
            {"output", str("output")},
            {"attempts", num("attempts")},
            {"pulled", p == "1" || p == "true"}};
  return Dump(j);
}

std::string RenderCompleted(const std::vector<Completed>& items) {
  json arr = json::array();
  for (const Completed& c : items) arr.push_back({{"work_id", c.work_id}, {"output", c.output}});
  return Dump(json{{"work_items", arr}});
}

std::string RenderQueueLen(const ShardStats& s, int64_t now_ms, size_t workers,
                           uint32_t max_workers) {
  int64_t age = s.oldest_queued_ms > 0 ? std::max<int64_t>(0, now_ms - s.oldest_queued_ms) : 0;
  json j = {{"queued", s.queued},          {"leased", s.leased}, {"done", s.done},
            {"oldest_queued_age_ms", age}, {"workers", workers}, {"max_workers", max_workers}};
  return Dump(j);
}

}  // namespace ringkv::router::jobs_codec
