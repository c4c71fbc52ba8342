#include "cli/cluster_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>
#include <vector>

#include "base/secret.h"
#include "cli/cluster_tls.h"
#include "cli/rebalance_progress.h"
#include "cluster/cluster_map.h"
#include "net/http_client.h"
#include "provider/provider.h"

namespace ringkv::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using provider::Instance;
using provider::Provider;
using Clock = std::chrono::steady_clock;

constexpr char kRouter[] = "router";

// The secrets `cluster up` generates, each in a 0600 file of the run
// directory; processes get the file's path, never the value (a command line
// is readable by every user of the machine).
constexpr char kRequirepassFile[] = "requirepass";
constexpr char kAdminTokenFile[] = "admin-token";
constexpr char kClusterSecretFile[] = "cluster-secret";

std::string SecretPath(const std::string& run_dir, const char* name) {
  return (fs::absolute(run_dir) / name).string();
}

// Writes the three secrets (the admin token given with --admin-token, or
// random ones). The run directory is created 0700 when new.
Status WriteClusterSecrets(const std::string& run_dir, const std::string& admin_token) {
  std::error_code ec;
  if (fs::create_directories(run_dir, ec)) {
    fs::permissions(run_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  for (const char* name : {kRequirepassFile, kAdminTokenFile, kClusterSecretFile}) {
    std::string value = std::string_view(name) == kAdminTokenFile ? admin_token : "";
    if (value.empty()) {
      auto random = RandomSecret();
      if (!random.ok()) return random.status();
      value = *random;
    }
    if (Status s = WriteSecretFile(SecretPath(run_dir, name), value); !s.ok()) return s;
  }
  return OkStatus();
}

// The admin token for a command on a running cluster: --admin-token, else
// RINGKV_ADMIN_TOKEN, else the run directory's file (none for a cluster
// started before `cluster up` made one).
std::string AdminToken(const std::string& given, const std::string& run_dir) {
  auto token = ResolveSecret("admin_token", given, "", "RINGKV_ADMIN_TOKEN");
  if (token.ok() && !token->empty()) return *token;
  auto from_file = ReadSecretFile(SecretPath(run_dir, kAdminTokenFile));
  return from_file.ok() ? *from_file : "";
}

// The flags naming a node's secret files (ringkv nodes only; redis-servers
// run without a password, on loopback). Empty for a run directory without
// secrets.
std::vector<std::string> NodeSecretArgs(const std::string& run_dir) {
  std::vector<std::string> args;
  for (auto [flag, name] : {std::pair{"--requirepass-file", kRequirepassFile},
                            std::pair{"--cluster-secret-file", kClusterSecretFile}}) {
    const std::string path = SecretPath(run_dir, name);
    if (fs::exists(path)) args.insert(args.end(), {flag, path});
  }
  return args;
}

std::string SelfExe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "ringkv" : p.string();
}

std::unique_ptr<Provider> MakeProvider(const std::string& run_dir, const std::string& binary) {
  return provider::NewLocalProvider(run_dir, binary.empty() ? SelfExe() : binary);
}

std::string Addr(const std::string& host, uint16_t port) {
  return port == 0 ? "" : host + ":" + std::to_string(port);
}

// The address the router knows a back end by when it is added: a ringkv
// node's HTTP address (the router asks it for the rest), a redis-server's.
std::string AddAddr(const Instance& i) {
  return i.kind == "redis" ? Addr(i.host, i.resp_port) : Addr(i.host, i.http_port);
}

std::string BackendOf(const Instance& i) {
  return i.kind == "node" ? "ringkv" : i.kind;
}

// "node-10" after "node-9": names compare by prefix, then by number.
std::pair<std::string, long> SplitName(const std::string& name) {
  size_t dash = name.rfind('-');
  if (dash == std::string::npos) return {name, -1};
  std::string digits = name.substr(dash + 1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      digits.size() > 9)
    return {name, -1};
  return {name.substr(0, dash), std::stol(digits)};
}

void SortByName(std::vector<Instance>& v) {
  std::sort(v.begin(), v.end(), [](const Instance& a, const Instance& b) {
    return SplitName(a.name) < SplitName(b.name);
  });
}

std::optional<Instance> FindByName(const std::vector<Instance>& v, const std::string& name) {
  for (const auto& i : v)
    if (i.name == name) return i;
  return std::nullopt;
}

std::string StringOf(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The "nodes" array of a GET /nodes answer; empty if it has none.
const json& NodeList(const json& answer) {
  static const json kEmpty = json::array();
  if (!answer.is_object()) return kEmpty;
  auto it = answer.find("nodes");
  return it != answer.end() && it->is_array() ? *it : kEmpty;
}

// Calls the router; a 4xx/5xx answer becomes an error carrying its "error".
StatusOr<json> CallRouter(const std::string& method, const std::string& router,
                          const std::string& target, const std::string& body = "",
                          uint32_t timeout_ms = 10000, const std::string& token = "") {
  net::HttpCallOptions options;
  options.timeout_ms = timeout_ms;
  if (!token.empty()) options.headers["Authorization"] = "Bearer " + token;
  auto res = net::HttpCall(method, router, target, body, options);
  if (!res.ok()) return res.status();
  json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status >= 400) {
    std::string why = j.is_object() ? StringOf(j, "error") : "";
    return Status(res->status < 500 ? StatusCode::kFailedPrecondition : StatusCode::kUnavailable,
                  "router: " + method + " " + target + " answered " + std::to_string(res->status) +
                      ": " + (why.empty() ? res->body : why));
  }
  if (j.is_discarded()) return Internal("router: " + target + " answered with invalid JSON");
  return j;
}

// The router's GET /nodes "nodes" entry of a recorded instance, if any.
const json* FindRouterNode(const json& nodes, const Instance& i) {
  for (const auto& n : NodeList(nodes)) {
    std::string addr = StringOf(n, "addr"), http = StringOf(n, "http_addr");
    if ((!addr.empty() && addr == Addr(i.host, i.resp_port)) ||
        (!http.empty() && http == Addr(i.host, i.http_port)) || addr == AddAddr(i)) {
      return &n;
    }
  }
  return nullptr;
}

size_t CountActive(const json& nodes) {
  size_t n = 0;
  for (const auto& node : NodeList(nodes)) n += StringOf(node, "state") == "active";
  return n;
}

// Polls GET /nodes until `done` holds; returns the last answer or why not.
StatusOr<json> WaitForNodes(const std::string& router, uint32_t timeout_ms,
                            const std::function<bool(const json&)>& done, const std::string& what) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  Status last = Unavailable("no answer yet");
  for (;;) {
    auto nodes = CallRouter("GET", router, "/nodes", "", 2000);
    if (nodes.ok() && done(*nodes)) return nodes;
    if (!nodes.ok()) last = nodes.status();
    if (Clock::now() >= deadline) {
      std::string detail = nodes.ok() ? "last GET /nodes: " + nodes->dump() : last.message();
      std::string message = "timed out after " + std::to_string(timeout_ms) + " ms waiting for ";
      message.append(what).append("; ").append(detail);
      return Status(StatusCode::kDeadlineExceeded, message);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The running router of a run directory, or a message saying there is none.
StatusOr<Instance> RunningRouter(Provider& p, const std::string& run_dir,
                                 std::vector<Instance>* all = nullptr) {
  auto list = p.List();
  if (!list.ok()) return list.status();
  if (all != nullptr) *all = *list;
  auto router = FindByName(*list, kRouter);
  if (!router || !router->alive) {
    return FailedPrecondition("no router runs in " + run_dir +
                              "; start a cluster with `ringkv cluster up --run-dir " + run_dir +
                              "`");
  }
  return *router;
}

// The cluster_tls_* flags of process `name`, its certificates issued now;
// none for a run directory without TLS (cluster up without --tls).
StatusOr<std::vector<std::string>> TlsArgs(const std::string& run_dir, const std::string& name) {
  if (!HasLocalTls(run_dir)) return std::vector<std::string>{};
  auto files = IssueProcessTls(run_dir, name);
  if (!files.ok()) return files.status();
  return std::vector<std::string>{"--cluster-tls-cert-file", files->cert,
                                  "--cluster-tls-key-file",  files->key,
                                  "--cluster-tls-ca-file",   files->ca};
}

// With --tls the router reaches ringkv nodes over TLS only (docs/security.md,
// "TLS between router and nodes"): a node's RESP port speaks TLS with its
// client-plane certificate and takes client certificates from the client CA,
// which also signs the router's; the router verifies the nodes against the
// same CA. Its certificates must be issued first (TlsArgs).
std::vector<std::string> NodeRespTlsArgs(const std::string& run_dir, const std::string& name) {
  if (!HasLocalTls(run_dir)) return {};
  const TlsFiles f = TlsFilesOf(ClientTlsDir(run_dir), name);
  return {"--resp-tls-only", "true", "--tls-cert-file",    f.cert,
          "--tls-key-file",  f.key,  "--tls-ca-cert-file", f.ca};
}

std::vector<std::string> RouterBackendTlsArgs(const std::string& run_dir) {
  if (!HasLocalTls(run_dir)) return {};
  const TlsFiles f = TlsFilesOf(ClientTlsDir(run_dir), kRouter);
  return {"--backend-tls-ca-cert-file", f.ca, "--backend-tls-cert-file", f.cert,
          "--backend-tls-key-file",     f.key};
}

// The nodes' HTTP APIs are HTTPS (NodeHttpsArgs): the router calls them so.
std::vector<std::string> RouterBackendHttpsArgs(const std::string& run_dir) {
  if (!HasLocalTls(run_dir)) return {};
  return {"--backend-http-tls", "true"};
}

// With --tls a node's HTTP API (/metrics, /check-alive, ...) is HTTPS, with
// the certificate and client CA of its RESP port (NodeRespTlsArgs); the
// router reaches it with its back-end certificate.
std::vector<std::string> NodeHttpsArgs(const std::string& run_dir) {
  if (!HasLocalTls(run_dir)) return {};
  return {"--http-tls", "true"};
}

StatusOr<provider::LaunchSpec> NodeSpec(const std::string& backend, int index,
                                        const std::string& log_level, uint32_t timeout_ms,
                                        const std::string& run_dir) {
  provider::LaunchSpec spec;
  spec.ready_timeout_ms = timeout_ms;
  if (backend == "redis") {
    spec.name = "redis-" + std::to_string(index);
    spec.kind = "redis";
    return spec;
  }
  spec.name = "node-" + std::to_string(index);
  spec.kind = "node";
  spec.args = {"--resp-port", "0",    "--http-port", "0",           "--grpc-port",
               "0",           "--id", spec.name,     "--log-level", log_level};
  for (std::string& a : NodeSecretArgs(run_dir)) spec.args.push_back(std::move(a));
  auto tls = TlsArgs(run_dir, spec.name);
  if (!tls.ok()) return tls.status();
  spec.args.insert(spec.args.end(), tls->begin(), tls->end());
  for (std::string& a : NodeRespTlsArgs(run_dir, spec.name)) spec.args.push_back(std::move(a));
  for (std::string& a : NodeHttpsArgs(run_dir)) spec.args.push_back(std::move(a));
  return spec;
}

bool ValidBackend(const std::string& b) {
  return b == "ringkv" || b == "redis";
}

// ---- up ----

void PrintEndpoints(const Instance& router, const std::vector<Instance>& nodes, std::ostream& out) {
  out << "router  HTTP " << Addr(router.host, router.http_port) << "  RESP "
      << Addr(router.host, router.resp_port) << "  (pid " << router.pid << ")\n";
  for (const auto& n : nodes) {
    out << std::left << std::setw(8) << n.name << std::right << " RESP "
        << Addr(n.host, n.resp_port);
    if (n.http_port != 0) out << "  HTTP " << Addr(n.host, n.http_port);
    if (n.grpc_port != 0) out << "  gRPC " << Addr(n.host, n.grpc_port);
    out << "  (pid " << n.pid << ")\n";
  }
}

// Refuses a running cluster; forgets records of processes that are gone.
Status CheckRunDirFree(Provider& p, const std::string& run_dir, std::ostream& err) {
  auto list = p.List();
  if (!list.ok()) return list.status();
  std::string running;
  for (const auto& i : *list) {
    if (i.alive) running += (running.empty() ? "" : ", ") + i.name;
  }
  if (!running.empty()) {
    return AlreadyExists("a cluster already runs in " + run_dir + " (" + running +
                         "); stop it first with `ringkv cluster down --run-dir " + run_dir + "`");
  }
  for (const auto& i : *list) {
    err << "note: forgetting " << i.name << " (pid " << i.pid << ", no longer running)\n";
    (void)p.Stop(i.name);
  }
  return OkStatus();
}

StatusOr<std::vector<std::string>> RouterArgs(const ClusterUpArgs& a,
                                              const std::vector<Instance>& nodes) {
  fs::path run_dir = fs::absolute(a.run_dir);
  std::string addrs;
  for (const auto& n : nodes) addrs += (addrs.empty() ? "" : ",") + AddAddr(n);
  std::vector<std::string> args = {"--http-port", "0",
                                   "--resp-port", "0",
                                   "--grpc-port", "0",
                                   "--data-dir",  (run_dir / "router-data").string(),
                                   "--run-dir",   run_dir.string(),
                                   "--nodes",     addrs,
                                   "--log-level", a.log_level};
  if (a.vnodes > 0) args.insert(args.end(), {"--config", (run_dir / "router.yaml").string()});
  args.insert(args.end(), {"--requirepass-file", SecretPath(a.run_dir, kRequirepassFile),
                           "--admin-token-file", SecretPath(a.run_dir, kAdminTokenFile),
                           "--cluster-secret-file", SecretPath(a.run_dir, kClusterSecretFile)});
  // The nodes' password; redis-servers run without one.
  if (a.backend == "ringkv") {
    args.insert(args.end(), {"--backend-password-file", SecretPath(a.run_dir, kRequirepassFile)});
  }
  if (a.replication != 1) args.insert(args.end(), {"--replication", std::to_string(a.replication)});
  if (!a.write_consistency.empty())
    args.insert(args.end(), {"--write-consistency", a.write_consistency});
  if (!a.read_consistency.empty())
    args.insert(args.end(), {"--read-consistency", a.read_consistency});
  auto tls = TlsArgs(a.run_dir, kRouter);
  if (!tls.ok()) return tls.status();
  args.insert(args.end(), tls->begin(), tls->end());
  if (a.backend == "ringkv") {
    for (std::string& arg : RouterBackendTlsArgs(a.run_dir)) args.push_back(std::move(arg));
    for (std::string& arg : RouterBackendHttpsArgs(a.run_dir)) args.push_back(std::move(arg));
  }
  return args;
}

// What the router would refuse, refused before anything starts.
Status CheckReplicationArgs(const ClusterUpArgs& a) {
  if (a.replication < 1 || a.replication > cluster::kMaxReplication) {
    return InvalidArgument("--replication must be in [1, " +
                           std::to_string(cluster::kMaxReplication) + "], got " +
                           std::to_string(a.replication));
  }
  if (a.replication > 1 && a.backend == "redis") {
    return InvalidArgument("--replication " + std::to_string(a.replication) +
                           " needs ringkv nodes: a redis-server keeps no versions, so its "
                           "replicas could not converge (use --backend ringkv or --replication 1)");
  }
  if (a.replication > a.nodes) {
    return InvalidArgument("--replication " + std::to_string(a.replication) + " needs at least " +
                           std::to_string(a.replication) + " nodes (--nodes " +
                           std::to_string(a.nodes) + ")");
  }
  for (const auto& [flag, value] : {std::pair{"--write-consistency", &a.write_consistency},
                                    std::pair{"--read-consistency", &a.read_consistency}}) {
    if (!value->empty() && !cluster::ParseConsistency(*value)) {
      return InvalidArgument(std::string(flag) + " must be one, quorum or all, got '" + *value +
                             "'");
    }
  }
  return OkStatus();
}

// Launches the nodes and the router; on error the caller stops `launched`.
Status LaunchCluster(Provider& p, const ClusterUpArgs& a, std::vector<Instance>& launched) {
  std::vector<Instance> nodes;
  for (uint32_t i = 1; i <= a.nodes; ++i) {
    auto spec = NodeSpec(a.backend, static_cast<int>(i), a.log_level, a.timeout_ms, a.run_dir);
    if (!spec.ok()) return spec.status();
    auto inst = p.Launch(*spec);
    if (!inst.ok()) return inst.status();
    launched.push_back(*inst);
    nodes.push_back(*inst);
  }
  fs::path run_dir = fs::absolute(a.run_dir);
  std::error_code ec;
  // A new cluster: the map a previous one persisted names processes that are gone.
  fs::remove_all(run_dir / "router-data", ec);
  if (a.vnodes > 0) {
    std::ofstream(run_dir / "router.yaml") << "router:\n  vnodes: " << a.vnodes << "\n";
  }
  provider::LaunchSpec spec;
  spec.name = kRouter;
  spec.kind = "router";
  auto args = RouterArgs(a, nodes);
  if (!args.ok()) return args.status();
  spec.args = std::move(*args);
  spec.ready_timeout_ms = a.timeout_ms;
  auto router = p.Launch(spec);
  if (!router.ok()) return router.status();
  launched.push_back(*router);
  std::string http = Addr(router->host, router->http_port);
  auto ready = WaitForNodes(
      http, a.timeout_ms, [&](const json& j) { return CountActive(j) == a.nodes; },
      "the router to list " + std::to_string(a.nodes) + " active nodes");
  return ready.ok() ? OkStatus() : ready.status();
}

// Where `cluster up --tls` put the certificates (cli/cluster_tls.h).
void PrintTls(const std::string& run_dir, std::ostream& out) {
  if (!HasLocalTls(run_dir)) return;
  const TlsFiles op = TlsFilesOf(ClusterTlsDir(run_dir), "operator");
  const TlsFiles client = TlsFilesOf(ClientTlsDir(run_dir), "client");
  out << "cluster TLS (gRPC, mutual): CA " << op.ca << "\n"
      << "   process certificates: " << ClusterTlsDir(run_dir) << "/<name>.crt, .key (0600)\n"
      << "   operator certificate: " << op.cert << ", key " << op.key << "\n"
      << "client TLS files: CA " << client.ca << "\n"
      << "   server certificates: " << ClientTlsDir(run_dir) << "/<name>.crt, .key (0600)\n"
      << "   client certificate: " << client.cert << ", key " << client.key << "\n";
  out << "nodes' RESP ports speak TLS only: redis-cli --tls --cacert " << client.ca << " --cert "
      << client.cert << " --key " << client.key << " -p <port>\n";
  out << "nodes' HTTP ports speak HTTPS: curl --cacert " << client.ca << " --cert " << client.cert
      << " --key " << client.key << " https://127.0.0.1:<port>/metrics\n";
}

// How to reach the cluster with its generated secrets (never printing them).
void PrintConnect(const Instance& router, const std::string& run_dir, std::ostream& out) {
  const std::string pass = SecretPath(run_dir, kRequirepassFile);
  if (!fs::exists(pass)) {
    out << "connect: redis-cli -p " << router.resp_port << "\n";
    return;
  }
  const std::string token = SecretPath(run_dir, kAdminTokenFile);
  out << "secrets (mode 0600): " << pass << ", " << token << ", "
      << SecretPath(run_dir, kClusterSecretFile) << "\n"
      << "connect: REDISCLI_AUTH=$(cat " << pass << ") redis-cli -p " << router.resp_port << "\n"
      << "     or: redis-cli -p " << router.resp_port << " --askpass\n"
      << "   HTTP: curl -H \"Authorization: Bearer $(cat " << pass << ")\" http://"
      << Addr(router.host, router.http_port) << "/kv/hello\n"
      << "  admin: curl -H \"Authorization: Bearer $(cat " << token << ")\" -X POST http://"
      << Addr(router.host, router.http_port) << "/add-node ...\n";
  PrintTls(run_dir, out);
}

// ---- status ----

struct StatusRow {
  std::string name, kind, addr, http_addr, grpc_addr, state;
  int pid = 0;
  bool alive = false;
  std::optional<double> share;
};

std::optional<double> ShareOf(const json& node) {
  auto it = node.find("share");
  if (it == node.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::vector<StatusRow> StatusRows(const std::vector<Instance>& instances, const json& nodes) {
  std::vector<StatusRow> rows;
  std::vector<const json*> matched;
  for (const auto& i : instances) {
    if (i.name == kRouter) continue;
    StatusRow r{i.name,
                BackendOf(i),
                Addr(i.host, i.resp_port),
                Addr(i.host, i.http_port),
                Addr(i.host, i.grpc_port),
                "",
                i.pid,
                i.alive,
                std::nullopt};
    if (const json* n = FindRouterNode(nodes, i)) {
      matched.push_back(n);
      r.state = StringOf(*n, "state");
      r.share = ShareOf(*n);
      if (r.grpc_addr.empty()) r.grpc_addr = StringOf(*n, "grpc_addr");
    }
    rows.push_back(r);
  }
  // Members the router knows that this run directory did not start.
  for (const auto& n : NodeList(nodes)) {
    if (std::find(matched.begin(), matched.end(), &n) != matched.end()) continue;
    StatusRow r{StringOf(n, "id"),
                StringOf(n, "kind"),
                StringOf(n, "addr"),
                StringOf(n, "http_addr"),
                StringOf(n, "grpc_addr"),
                StringOf(n, "state"),
                0,
                false,
                ShareOf(n)};
    rows.push_back(r);
  }
  return rows;
}

json StatusJson(const Instance* router, const json& nodes, const std::vector<StatusRow>& rows) {
  json out;
  out["router"] = router == nullptr ? json(nullptr)
                                    : json{{"http", Addr(router->host, router->http_port)},
                                           {"resp", Addr(router->host, router->resp_port)},
                                           {"pid", router->pid},
                                           {"alive", router->alive}};
  out["epoch"] = nodes.is_object() && nodes.contains("epoch") ? nodes["epoch"] : json(nullptr);
  out["nodes"] = json::array();
  for (const auto& r : rows) {
    out["nodes"].push_back({{"name", r.name},
                            {"kind", r.kind},
                            {"pid", r.pid},
                            {"alive", r.alive},
                            {"addr", r.addr},
                            {"http_addr", r.http_addr},
                            {"grpc_addr", r.grpc_addr},
                            {"state", r.state.empty() ? json(nullptr) : json(r.state)},
                            {"share", r.share ? json(*r.share) : json(nullptr)}});
  }
  return out;
}

void PrintStatusTable(const Instance* router, const json& nodes, const std::vector<StatusRow>& rows,
                      std::ostream& out) {
  if (router != nullptr) {
    out << "router  HTTP " << Addr(router->host, router->http_port) << "  RESP "
        << Addr(router->host, router->resp_port) << "  pid " << router->pid
        << (router->alive ? "" : "  NOT RUNNING");
    if (nodes.is_object() && nodes.contains("epoch")) out << "  epoch " << nodes["epoch"].dump();
    out << "\n\n";
  }
  // The router reports shares as fractions of the ring.
  std::vector<std::vector<std::string>> table = {
      {"NAME", "KIND", "PID", "ALIVE", "ADDR", "HTTP", "STATE", "SHARE"}};
  for (const auto& r : rows) {
    std::ostringstream share;
    if (r.share) share << std::fixed << std::setprecision(1) << *r.share * 100 << "%";
    table.push_back({r.name.empty() ? "-" : r.name, r.kind, r.pid ? std::to_string(r.pid) : "-",
                     r.alive ? "yes" : "no", r.addr.empty() ? "-" : r.addr,
                     r.http_addr.empty() ? "-" : r.http_addr, r.state.empty() ? "-" : r.state,
                     r.share ? share.str() : "-"});
  }
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& row : table)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : table) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      out << std::left << std::setw(static_cast<int>(width[c] + 2)) << row[c];
    }
    out << row.back() << "\n";
  }
}

// ---- add-node / remove-node ----

int NextIndex(const std::vector<Instance>& all, const std::string& prefix) {
  long max = 0;
  for (const auto& i : all) {
    auto [p, n] = SplitName(i.name);
    if (p == prefix) max = std::max(max, n);
  }
  return static_cast<int>(max + 1);
}

// Summarises the consistent_hashing_server's transfers {source, destination, min, max, exception}
// per source -> destination pair: arcs and the fraction of the ring.
void PrintTransfers(const json& transfers, std::ostream& out) {
  if (!transfers.is_array() || transfers.empty()) {
    out << "no keys move\n";
    return;
  }
  std::map<std::pair<std::string, std::string>, std::pair<size_t, double>> pairs;
  for (const auto& t : transfers) {
    if (!t.is_object()) continue;
    auto& [arcs, fraction] = pairs[{StringOf(t, "source"), StringOf(t, "destination")}];
    ++arcs;
    if (t.contains("min") && t["min"].is_number_unsigned() && t.contains("max") &&
        t["max"].is_number_unsigned()) {
      uint64_t width = t["max"].get<uint64_t>() - t["min"].get<uint64_t>();  // wraps mod 2^64
      fraction += static_cast<double>(width) / 18446744073709551616.0;
    }
  }
  out << transfers.size() << " arc(s) change owner:\n";
  for (const auto& [pair, v] : pairs) {
    out << "  " << pair.first << " -> " << pair.second << "  " << v.first << " arc(s), "
        << std::fixed << std::setprecision(1) << v.second * 100 << "% of the ring\n";
  }
}

// The router's entry for `target`: an instance name, or an address or id.
StatusOr<json> ResolveMember(const std::string& target, const std::optional<Instance>& inst,
                             const json& nodes) {
  if (inst) {
    if (const json* n = FindRouterNode(nodes, *inst)) return *n;
    return NotFound(inst->name + " runs but is not a member of the cluster (router GET /nodes)");
  }
  for (const auto& n : NodeList(nodes)) {
    if (StringOf(n, "addr") == target || StringOf(n, "http_addr") == target ||
        StringOf(n, "id") == target)
      return n;
  }
  return NotFound("no instance and no cluster member named '" + target + "'");
}

std::optional<Instance> FindInstance(const std::vector<Instance>& all, const std::string& target) {
  for (const auto& i : all) {
    if (i.name == kRouter) continue;
    if (i.name == target || Addr(i.host, i.resp_port) == target ||
        Addr(i.host, i.http_port) == target)
      return i;
  }
  return std::nullopt;
}

int Fail(std::ostream& err, const Status& s) {
  err << "error: " << s.message() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int RunClusterUp(const ClusterUpArgs& a, std::ostream& out, std::ostream& err) {
  if (a.nodes < 1) return Fail(err, InvalidArgument("--nodes must be at least 1"));
  if (!ValidBackend(a.backend)) {
    return Fail(err, InvalidArgument("--backend must be ringkv or redis, got '" + a.backend + "'"));
  }
  if (Status s = CheckReplicationArgs(a); !s.ok()) return Fail(err, s);
  auto p = MakeProvider(a.run_dir, a.ringkv_binary);
  if (Status s = CheckRunDirFree(*p, a.run_dir, err); !s.ok()) return Fail(err, s);
  if (Status s = WriteClusterSecrets(a.run_dir, a.admin_token); !s.ok()) return Fail(err, s);
  if (Status s = a.tls ? MakeLocalTls(a.run_dir) : RemoveLocalTls(a.run_dir); !s.ok()) {
    return Fail(err, s);
  }
  std::vector<Instance> launched;
  if (Status s = LaunchCluster(*p, a, launched); !s.ok()) {
    err << "error: " << s.message() << "\n";
    for (auto it = launched.rbegin(); it != launched.rend(); ++it) (void)p->Stop(it->name);
    err << "stopped what had started; logs are in " << a.run_dir << "\n";
    return 1;
  }
  Instance router = launched.back();
  launched.pop_back();
  out << "cluster up in " << a.run_dir << ": " << a.nodes << " " << a.backend << " node(s)";
  if (a.replication > 1) out << ", " << a.replication << " replicas of each key";
  out << "\n";
  PrintEndpoints(router, launched, out);
  PrintConnect(router, a.run_dir, out);
  return 0;
}

int RunClusterStatus(const ClusterStatusArgs& a, std::ostream& out, std::ostream& err) {
  auto p = MakeProvider(a.run_dir, "");
  auto list = p->List();
  if (!list.ok()) return Fail(err, list.status());
  if (list->empty()) {
    err << "error: no cluster in " << a.run_dir << "; start one with `ringkv cluster up`\n";
    return 1;
  }
  SortByName(*list);
  auto router = FindByName(*list, kRouter);
  json nodes = json::object();
  int rc = 0;
  if (!router || !router->alive) {
    err << "warning: the router is not running; states and shares are unknown\n";
    rc = 1;
  } else if (auto n = CallRouter("GET", Addr(router->host, router->http_port), "/nodes"); n.ok()) {
    nodes = *n;
  } else {
    err << "warning: " << n.status().message() << "\n";
    rc = 1;
  }
  auto rows = StatusRows(*list, nodes);
  const Instance* r = router ? &*router : nullptr;
  if (a.json) {
    out << StatusJson(r, nodes, rows).dump(2) << "\n";
  } else {
    PrintStatusTable(r, nodes, rows, out);
    if (r != nullptr) {
      out << "\n";
      PrintConnect(*r, a.run_dir, out);
    }
  }
  return rc;
}

int RunClusterDown(const ClusterDownArgs& a, std::ostream& out, std::ostream& err) {
  auto p = MakeProvider(a.run_dir, "");
  auto list = p->List();
  if (!list.ok()) return Fail(err, list.status());
  if (list->empty()) {
    out << "nothing runs in " << a.run_dir << "\n";
    return 0;
  }
  SortByName(*list);
  // The router goes first, so no request is routed to a node being stopped.
  std::stable_partition(list->begin(), list->end(),
                        [](const Instance& i) { return i.name == kRouter; });
  int rc = 0;
  for (const auto& i : *list) {
    if (Status s = p->Stop(i.name); !s.ok()) {
      err << "error: stopping " << i.name << ": " << s.message() << "\n";
      rc = 1;
      continue;
    }
    out << (i.alive ? "stopped " : "forgot ") << i.name << " (pid " << i.pid
        << (i.alive ? ")\n" : ", was not running)\n");
  }
  out << "logs are kept in " << a.run_dir << "\n";
  return rc;
}

int RunClusterAddNode(const ClusterAddNodeArgs& a, std::ostream& out, std::ostream& err) {
  if (!a.backend.empty() && !ValidBackend(a.backend)) {
    return Fail(err, InvalidArgument("--backend must be ringkv or redis, got '" + a.backend + "'"));
  }
  auto p = MakeProvider(a.run_dir, a.ringkv_binary);
  std::vector<Instance> all;
  auto router = RunningRouter(*p, a.run_dir, &all);
  if (!router.ok()) return Fail(err, router.status());
  std::string backend = a.backend;
  if (backend.empty()) {
    bool redis = std::any_of(all.begin(), all.end(),
                             [](const Instance& i) { return i.kind == "redis" && i.alive; });
    backend = redis ? "redis" : "ringkv";
  }
  int index = NextIndex(all, backend == "redis" ? "redis" : "node");
  auto spec = NodeSpec(backend, index, a.log_level, a.timeout_ms, a.run_dir);
  if (!spec.ok()) return Fail(err, spec.status());
  auto inst = p->Launch(*spec);
  if (!inst.ok()) return Fail(err, inst.status());
  json body = {{"addr", AddAddr(*inst)}, {"kind", backend}};
  if (backend == "ringkv") body["id"] = inst->name;
  std::string http = Addr(router->host, router->http_port);
  const std::string token = AdminToken(a.admin_token, a.run_dir);
  auto answer = CallRouter("POST", http, "/add-node", body.dump(), a.timeout_ms, token);
  if (answer.ok() && !answer->is_object()) {
    answer = Internal("router: POST /add-node answered " + answer->dump() + ", not an object");
  }
  if (!answer.ok()) {
    (void)p->Stop(inst->name);
    err << "error: " << answer.status().message() << "\n(stopped " << inst->name << ")\n";
    return 1;
  }
  out << "started " << inst->name << " (pid " << inst->pid << "): RESP "
      << Addr(inst->host, inst->resp_port);
  if (inst->http_port != 0) out << "  HTTP " << Addr(inst->host, inst->http_port);
  out << "\n";
  out << "router: epoch " << (*answer)["epoch"].dump() << ", status " << (*answer)["status"].dump();
  if (answer->contains("note")) out << " (" << StringOf(*answer, "note") << ")";
  out << "\n";
  PrintTransfers((*answer)["transfers"], out);
  if (auto moved = WaitForMigration(http, a.timeout_ms, token, err); !moved.ok()) {
    return Fail(err, moved.status());
  }
  const Instance added = *inst;
  auto active = WaitForNodes(
      http, a.timeout_ms,
      [&](const json& j) {
        const json* n = FindRouterNode(j, added);
        return n != nullptr && StringOf(*n, "state") == "active";
      },
      inst->name + " to become active");
  if (!active.ok()) return Fail(err, active.status());
  out << inst->name << " is active, epoch " << (*active)["epoch"].dump() << "\n";
  return 0;
}

int RunClusterRemoveNode(const ClusterRemoveNodeArgs& a, std::ostream& out, std::ostream& err) {
  if (a.target.empty())
    return Fail(err, InvalidArgument("name or address of the node is required"));
  auto p = MakeProvider(a.run_dir, "");
  std::vector<Instance> all;
  auto router = RunningRouter(*p, a.run_dir, &all);
  if (!router.ok()) return Fail(err, router.status());
  std::string http = Addr(router->host, router->http_port);
  auto nodes = CallRouter("GET", http, "/nodes");
  if (!nodes.ok()) return Fail(err, nodes.status());
  std::optional<Instance> inst = FindInstance(all, a.target);
  auto member = ResolveMember(a.target, inst, *nodes);
  if (!member.ok()) return Fail(err, member.status());
  std::string addr = StringOf(*member, "addr");
  // A dead node's arcs are copied from its surviving replicas, which the
  // router does only once its health checks have marked the node down.
  if (inst && !inst->alive && StringOf(*member, "state") != "down") {
    out << inst->name << " is not running; waiting for the router to mark it down\n";
    auto down = WaitForNodes(
        http, a.timeout_ms,
        [&](const json& j) {
          for (const auto& n : NodeList(j))
            if (StringOf(n, "addr") == addr) return StringOf(n, "state") == "down";
          return true;
        },
        "the router to mark " + inst->name + " down");
    if (!down.ok()) return Fail(err, down.status());
  }
  const std::string token = AdminToken(a.admin_token, a.run_dir);
  auto transfers = CallRouter("POST", http, "/remove-node/" + addr, "", a.timeout_ms, token);
  if (!transfers.ok()) return Fail(err, transfers.status());
  out << "removing " << (inst ? inst->name + " (" + addr + ")" : addr) << "\n";
  PrintTransfers(*transfers, out);
  // Stopping the process before its keys have moved would lose them.
  if (auto moved = WaitForMigration(http, a.timeout_ms, token, err); !moved.ok()) {
    err << "error: " << moved.status().message()
        << "\nthe process keeps running so no key is lost; check `ringkv cluster status`\n";
    return 1;
  }
  auto gone = WaitForNodes(
      http, a.timeout_ms,
      [&](const json& j) {
        for (const auto& n : NodeList(j))
          if (StringOf(n, "addr") == addr) return false;
        return true;
      },
      "the router to finish moving keys off " + addr);
  if (!gone.ok()) {
    err << "error: " << gone.status().message()
        << "\nthe process keeps running so no key is lost; check `ringkv cluster status`\n";
    return 1;
  }
  if (!inst) {
    out << "removed " << addr << " (not started from " << a.run_dir << ", left running)\n";
    return 0;
  }
  if (Status s = p->Stop(inst->name); !s.ok()) return Fail(err, s);
  out << "removed and stopped " << inst->name << " (pid " << inst->pid << ")\n";
  return 0;
}

}  // namespace ringkv::cli
