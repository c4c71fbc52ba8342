#include "cli/repair_command.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <iomanip>
#include <iterator>
#include <ostream>
#include <sstream>

#include "base/secret.h"
#include "cli/rebalance_progress.h"
#include "net/http_client.h"

namespace ringkv::cli {
namespace {

using nlohmann::json;

uint64_t U64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() && it->get<int64_t>() > 0 ? it->get<uint64_t>()
                                                                            : 0;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10000 ? "%.1fs" : "%.0fs", static_cast<double>(ms) / 1000);
  return buf;
}

// "request 12s ago", "periodic, running"; "-" without a pass.
std::string PassWhen(const json& pass, bool running, int64_t now_ms) {
  if (!pass.is_object()) return "-";
  std::string s = Str(pass, "trigger");
  if (running) return s + ", running";
  const auto finished = static_cast<int64_t>(U64(pass, "finished_ms"));
  return s + " " + Seconds(std::max<int64_t>(0, now_ms - finished)) + " ago";
}

std::string Took(const json& pass, int64_t now_ms) {
  const auto start = static_cast<int64_t>(U64(pass, "started_ms"));
  const auto end = static_cast<int64_t>(U64(pass, "finished_ms"));
  return Seconds(std::max<int64_t>(0, (end == 0 ? now_ms : end) - start));
}

// One table row: each cell padded to its column, and at least one space after it.
void Row(std::ostream& o, std::initializer_list<std::string> cells) {
  static constexpr size_t kWidths[] = {10, 12, 20, 8, 19, 8, 8, 11, 0};
  size_t i = 0;
  for (const std::string& c : cells) {
    const size_t w = kWidths[std::min(i++, std::size(kWidths) - 1)];
    o << c;
    if (i < cells.size()) o << std::string(c.size() < w ? w - c.size() : 1, ' ');
  }
  o << "\n";
}

std::string Differing(const json& j) {
  return std::to_string(U64(j, "buckets_differing")) + " of " +
         std::to_string(U64(j, "buckets_compared"));
}

// StatusOr<json> of the router's answer to `method /repair`.
int CallRouter(const RepairArgs& a, const std::string& method, json* out, std::ostream& err) {
  const std::string router = RouterAddr(a.router, a.run_dir, err);
  if (router.empty()) return 1;
  net::HttpCallOptions o;
  o.timeout_ms = 30000;
  // --admin-token, else RINGKV_ADMIN_TOKEN, else the one `cluster up` kept in the run directory.
  std::string token = a.admin_token;
  if (const char* env = std::getenv("RINGKV_ADMIN_TOKEN"); token.empty() && env != nullptr) {
    token = env;
  }
  if (auto kept = ReadSecretFile(a.run_dir + "/admin-token"); token.empty() && kept.ok()) {
    token = *kept;
  }
  if (!token.empty()) o.headers["Authorization"] = "Bearer " + token;
  auto res = net::HttpCall(method, router, "/repair", "", o);
  if (!res.ok()) {
    err << "error: router " << router << ": " << res.status().message() << "\n";
    return 1;
  }
  *out = json::parse(res->body, nullptr, false);
  if (res->status / 100 != 2 || !out->is_object()) {
    err << "error: router " << router << ": " << method << " /repair answered " << res->status
        << ": " << res->body << "\n";
    return 1;
  }
  return 0;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string RenderRepair(const json& r, int64_t now_ms) {
  std::ostringstream o;
  const json totals = r.value("totals", json::object());
  const json nodes = r.value("nodes", json::array());
  o << "repair: " << Str(r, "state") << "; " << nodes.size() << " nodes; " << U64(totals, "passes")
    << " passes: " << U64(totals, "keys_pushed") << " keys pushed, " << U64(totals, "keys_pulled")
    << " pulled, " << HumanBytes(U64(totals, "bytes")) << " exchanged\n";
  Row(o, {"node", "state", "last pass", "took", "buckets differing", "pushed", "pulled", "bytes",
          "errors"});
  for (const json& n : nodes) {
    if (n.contains("error")) {
      o << std::left << std::setw(10) << Str(n, "id") << "unreachable: " << Str(n, "error") << "\n";
      continue;
    }
    const bool running = !n.value("current", json()).is_null();
    const json pass = running ? n["current"] : n.value("last", json());
    if (!pass.is_object()) {
      Row(o, {Str(n, "id"), Str(n, "state"), "-"});
      continue;
    }
    Row(o, {Str(n, "id"), Str(n, "state"), PassWhen(pass, running, now_ms), Took(pass, now_ms),
            Differing(pass), std::to_string(U64(pass, "keys_pushed")),
            std::to_string(U64(pass, "keys_pulled")), HumanBytes(U64(pass, "bytes")),
            std::to_string(U64(pass, "errors"))});
    for (const json& p : pass.value("peers", json::array())) {
      const std::string err = Str(p, "error");
      Row(o, {"", "-> " + Str(p, "id"), std::to_string(U64(p, "bits")) + " bits", "", Differing(p),
              std::to_string(U64(p, "keys_pushed")), std::to_string(U64(p, "keys_pulled")),
              HumanBytes(U64(p, "bytes")), err});
    }
  }
  return o.str();
}

int RunRepairStart(const RepairArgs& a, std::ostream& out, std::ostream& err) {
  json answer;
  if (int rc = CallRouter(a, "POST", &answer, err); rc != 0) return rc;
  if (a.json) {
    out << answer.dump(2) << "\n";
    return 0;
  }
  out << "repair requested on " << U64(answer, "requested") << " node(s)";
  for (const json& n : answer.value("nodes", json::array())) {
    if (n.contains("error")) out << "\n  " << Str(n, "id") << ": " << Str(n, "error");
  }
  out << "\nfollow it with `ringkv cluster repair status`\n";
  return 0;
}

int RunRepairStatus(const RepairArgs& a, std::ostream& out, std::ostream& err) {
  json answer;
  if (int rc = CallRouter(a, "GET", &answer, err); rc != 0) return rc;
  if (a.json) {
    out << answer.dump(2) << "\n";
  } else {
    out << RenderRepair(answer, NowMs());
  }
  return 0;
}

}  // namespace ringkv::cli
