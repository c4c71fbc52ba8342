#include "cli/rebalance_progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "provider/provider.h"

namespace ringkv::cli {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kPollMs = 250;

uint64_t U64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer())
    return static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()));
  if (it->is_number_float()) return static_cast<uint64_t>(std::max(0.0, it->get<double>()));
  return 0;
}

double F64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}


// Fraction done: keys moved of those expected while copying, arcs otherwise.
double Fraction(const json& m) {
  const std::string state = Str(m, "state");
  if (state == "done") return 1.0;
  const uint64_t expected = U64(m, "keys_expected");
  if (expected > 0) return std::min(0.99, static_cast<double>(U64(m, "keys_moved")) / expected);
  const uint64_t total = U64(m, "arcs_total");
  return total == 0 ? 0.0 : static_cast<double>(U64(m, "arcs_done")) / total;
}

StatusOr<json> GetMigrations(const std::string& router, const std::string& token) {
  net::HttpCallOptions o;
  o.timeout_ms = 5000;
  if (!token.empty()) o.headers["Authorization"] = "Bearer " + token;
  auto res = net::HttpCall("GET", router, "/migrations", "", o);
  if (!res.ok()) return res.status();
  if (res->status != 200) {
    return Unavailable("router " + router + ": GET /migrations answered " +
                       std::to_string(res->status) + ": " + res->body);
  }
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object()) return Internal("router " + router + ": GET /migrations is not JSON");
  return j;
}

}  // namespace

std::string HumanBytes(uint64_t b) {
  char buf[32];
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  } else if (b < (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KB", b / 1024.0);
  } else if (b < (1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f MB", b / 1048576.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GB", b / 1073741824.0);
  }
  return buf;
}

std::string RenderMigration(const json& m, int width) {
  std::ostringstream out;
  const double f = Fraction(m);
  const int filled = static_cast<int>(std::floor(f * width));
  std::string state = Str(m, "state");
  if (m.value("paused", false)) state += " (paused)";
  char head[64];
  std::snprintf(head, sizeof head, "%-7s %-18s", Str(m, "kind").c_str(), state.c_str());
  out << head << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(std::lround(f * 100)));
  out << pct << "  arcs " << U64(m, "arcs_done") << "/" << U64(m, "arcs_total") << "  "
      << U64(m, "keys_moved") << " keys  " << HumanBytes(U64(m, "bytes_moved"));
  if (state.rfind("copying", 0) == 0) {
    out << "  " << static_cast<uint64_t>(F64(m, "rate")) << " keys/s";
    if (m.contains("eta_s") && m["eta_s"].is_number()) {
      out << "  ETA " << static_cast<uint64_t>(std::ceil(F64(m, "eta_s"))) << "s";
    }
  }
  if (std::string e = Str(m, "last_error"); !e.empty()) out << "  (retrying: " << e << ")";
  return out.str();
}

StatusOr<json> WaitForMigration(const std::string& router, uint32_t timeout_ms,
                                const std::string& admin_token, std::ostream& err) {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto last_line = Clock::now() - std::chrono::seconds(10);
  bool drew = false;
  while (true) {
    auto m = GetMigrations(router, admin_token);
    if (!m.ok()) return m.status();
    const json cur = m->value("current", json());
    if (cur.is_null()) {
      if (drew && tty) err << "\n";
      const json hist = m->value("history", json::array());
      if (!hist.is_array() || hist.empty()) return json();
      const json& done = hist.back();
      err << RenderMigration(done) << "\n";
      if (Str(done, "state") != "done") {
        return Status(StatusCode::kAborted,
                      "migration " + Str(done, "id") + " ended " + Str(done, "state") +
                          (Str(done, "last_error").empty() ? "" : ": " + Str(done, "last_error")));
      }
      return done;
    }
    if (tty) {
      err << "\r" << RenderMigration(cur) << "\033[K" << std::flush;
      drew = true;
    } else if (Clock::now() - last_line >= std::chrono::seconds(1)) {
      err << RenderMigration(cur) << "\n";
      last_line = Clock::now();
    }
    if (Clock::now() > deadline) {
      if (drew && tty) err << "\n";
      return Status(StatusCode::kDeadlineExceeded,
                    "migration " + Str(cur, "id") + " still " + Str(cur, "state") + " after " +
                        std::to_string(timeout_ms) +
                        " ms; it keeps running in the router (see `ringkv cluster "
                        "rebalance status`)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

std::string RouterAddr(const std::string& router, const std::string& run_dir, std::ostream& err) {
  if (!router.empty()) return router;
  auto list = provider::NewLocalProvider(run_dir, "ringkv")->List();
  if (!list.ok()) {
    err << "error: " << list.status().message() << "\n";
    return "";
  }
  for (const auto& i : *list) {
    if (i.name == "router" && i.alive && i.http_port != 0) {
      return i.host + ":" + std::to_string(i.http_port);
    }
  }
  err << "error: no running router in " << run_dir
      << "; start a cluster with `ringkv cluster up` or pass --router HOST:PORT\n";
  return "";
}

int RunRebalanceStatus(const RebalanceStatusArgs& a, std::ostream& out, std::ostream& err) {
  const std::string router = RouterAddr(a.router, a.run_dir, err);
  if (router.empty()) return 1;
  auto m = GetMigrations(router, "");
  if (!m.ok()) {
    err << "error: " << m.status().message() << "\n";
    return 1;
  }
  if (a.json) {
    out << m->dump(2) << "\n";
    return 0;
  }
  const json cur = m->value("current", json());
  if (cur.is_null()) {
    out << "no migration running";
    const json hist = m->value("history", json::array());
    if (hist.is_array() && !hist.empty()) out << "; last:\n" << RenderMigration(hist.back());
    out << "\n";
    return 0;
  }
  if (!a.watch) {
    out << RenderMigration(cur) << "\n";
    return 0;
  }
  auto done = WaitForMigration(router, a.timeout_ms, "", err);
  if (!done.ok()) {
    err << "error: " << done.status().message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace ringkv::cli
