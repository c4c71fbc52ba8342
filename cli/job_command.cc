#include "cli/job_command.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <variant>

#include "jobs/job.h"
#include "net/http_client.h"
#include "worker/work_item.h"

namespace ringkv::cli {
namespace {

using json = nlohmann::json;

constexpr uint32_t kTimeoutMs = 30000;
constexpr uint32_t kMaxTop = 10000;

// A failed call: the message for `err` and the exit code.
struct Failure {
  std::string message;
  int code;
};

// Calls the router; a 4xx other than 404 is the caller's bad argument (2),
// anything else that is not 2xx is a failure (1).
std::variant<json, Failure> Call(const std::string& method, const std::string& url,
                                 const std::string& target, const std::string& body = "",
                                 const std::string& content_type = "application/json") {
  auto addr = worker::RouterAddrFromUrl(url);
  if (!addr.ok()) return Failure{"--router: " + addr.status().message(), 2};
  net::HttpCallOptions options;
  options.timeout_ms = kTimeoutMs;
  options.headers["Content-Type"] = content_type;
  // The router's password (its /kv and jobs API need it when set), from the
  // environment so it stays off the command line.
  if (const char* pass = std::getenv("RINGKV_REQUIREPASS"); pass != nullptr && *pass != '\0') {
    options.headers["Authorization"] = std::string("Bearer ") + pass;
  }
  auto res = net::HttpCall(method, *addr, target, body, options);
  if (!res.ok()) return Failure{"router " + url + ": " + res.status().message(), 1};
  json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status >= 300) {
    std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? j["error"].get<std::string>()
                          : res->body;
    int code = res->status >= 400 && res->status < 500 && res->status != 404 ? 2 : 1;
    return Failure{method + " " + target + ": " + std::to_string(res->status) + " " + why, code};
  }
  if (res->status == 204) return json::object();
  if (j.is_discarded()) return Failure{method + " " + target + ": answer is not JSON", 1};
  return j;
}

int Report(const Failure& f, std::ostream& err) {
  err << "error: " << f.message << "\n";
  return f.code;
}

bool IsPositiveDecimal(const std::string& s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && v >= 1;
}

std::optional<std::string> ReadPayload(const std::string& file, std::istream& in) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(in), {});
  std::ifstream f(file, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream s;
  s << f.rdbuf();
  if (f.bad()) return std::nullopt;
  return s.str();
}

std::string Field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

int RunJobEnqueue(const JobEnqueueArgs& args, std::istream& in, std::ostream& out,
                  std::ostream& err) {
  if (!IsPositiveDecimal(args.iterations)) {
    err << "error: --iterations must be a whole number >= 1, got '" << args.iterations << "'\n";
    return 2;
  }
  if (!jobs::ParseHashAlgorithm(args.algorithm)) {
    err << "error: --algorithm must be sha512 or sha256, got '" << args.algorithm << "'\n";
    return 2;
  }
  if (args.file.empty()) {
    err << "error: give a payload FILE, or - for standard input\n";
    return 2;
  }
  auto payload = ReadPayload(args.file, in);
  if (!payload) {
    err << "error: cannot read " << args.file << "\n";
    return 2;
  }
  std::string target = "/enqueue?iterations=" + args.iterations + "&algorithm=" + args.algorithm;
  auto r = Call("PUT", args.router, target, *payload, "application/octet-stream");
  if (auto* f = std::get_if<Failure>(&r)) return Report(*f, err);
  const json& j = std::get<json>(r);
  if (args.json) {
    out << j.dump() << "\n";
  } else {
    out << Field(j, "work_id") << "\n";
  }
  return 0;
}

int RunJobStatus(const JobStatusArgs& args, std::ostream& out, std::ostream& err) {
  if (!jobs::IsJobId(args.id)) {
    err << "error: '" << args.id << "' is not a work id (a UUID)\n";
    return 2;
  }
  auto r = Call("GET", args.router, "/jobs/" + args.id);
  if (auto* f = std::get_if<Failure>(&r)) return Report(*f, err);
  const json& j = std::get<json>(r);
  if (args.json) {
    out << j.dump() << "\n";
    return 0;
  }
  for (const char* name : {"work_id", "state", "output", "iterations", "algorithm", "attempts",
                           "worker", "enqueued_ms", "leased_ms", "completed_ms"}) {
    std::string v = Field(j, name);
    if (!v.empty()) out << name << ": " << v << "\n";
  }
  return 0;
}

int RunJobPull(const JobPullArgs& args, std::ostream& out, std::ostream& err) {
  if (args.top < 1 || args.top > kMaxTop) {
    err << "error: --top must be 1.." << kMaxTop << "\n";
    return 2;
  }
  auto r = Call("POST", args.router, "/pullCompleted?top=" + std::to_string(args.top));
  if (auto* f = std::get_if<Failure>(&r)) return Report(*f, err);
  const json& j = std::get<json>(r);
  if (args.json) {
    out << j.dump() << "\n";
    return 0;
  }
  auto items = j.find("work_items");
  if (items == j.end() || !items->is_array()) {
    err << "error: pullCompleted answer has no work_items\n";
    return 1;
  }
  for (const auto& item : *items)
    out << Field(item, "work_id") << " " << Field(item, "output") << "\n";
  return 0;
}

}  // namespace ringkv::cli
