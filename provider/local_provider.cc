// The local provider: instances are child processes in their own session
// (setsid), so they outlive the CLI that launched them. Everything the
// provider knows lives in the run directory (see provider.h), so a later
// `ringkv cluster ...` invocation finds them again.
//
// A record names a pid; before trusting it the provider checks that the pid
// still runs, is not a zombie, started at the recorded time and runs ringkv or
// redis-server, so a reused pid is never mistaken for (or killed as) ours.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "provider/provider.h"

extern char** environ;

namespace ringkv::provider {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kStopGraceMs = 5000;
constexpr int kKillWaitMs = 2000;
constexpr int kRedisPortAttempts = 5;
constexpr auto kPoll = std::chrono::milliseconds(20);

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

Status WriteFileAtomic(const fs::path& path, const std::string& content) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!(f << content) || !f.flush()) return Unavailable("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Unavailable("cannot rename " + tmp.string() + ": " + ec.message());
  return OkStatus();
}

// The last lines of a log, from `offset` (where this launch started writing).
std::string LogTail(const fs::path& path, uint64_t offset, size_t max_bytes = 2048) {
  std::string log = ReadFile(path).value_or("");
  log = offset < log.size() ? log.substr(offset) : "";
  if (log.size() > max_bytes) {
    log = log.substr(log.size() - max_bytes);
    if (size_t nl = log.find('\n'); nl != std::string::npos) log = log.substr(nl + 1);
  }
  return log.empty() ? "(log is empty)" : log;
}

struct ProcStat {
  char state = '?';
  uint64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat
};

std::optional<ProcStat> ReadProcStat(int pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  size_t paren = text->rfind(')');  // the command name may hold spaces and ')'
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream in(text->substr(paren + 1));
  ProcStat st;
  in >> st.state;
  std::string skip;
  for (int field = 4; field < 22 && in >> skip; ++field) {
  }
  in >> st.start_ticks;
  return st;
}

bool CmdlineIsOurs(int pid) {
  std::string cmd = ReadFile("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
  return cmd.find("ringkv") != std::string::npos || cmd.find("redis-server") != std::string::npos;
}

// Reaps `pid` if it is an exited child of this process; true if it did.
bool ReapIfExited(int pid, int* wait_status = nullptr) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return false;
  if (wait_status != nullptr) *wait_status = status;
  return true;
}

bool ProcessAlive(int pid, uint64_t start_ticks) {
  if (pid <= 0 || ReapIfExited(pid)) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  auto st = ReadProcStat(pid);
  if (!st || st->state == 'Z') return false;
  // The start time names the process we launched (a reused pid starts
  // later). Only without it is the command line the check: a process that
  // is exiting shows an empty one before it becomes a zombie, and must still
  // count as alive until then.
  if (start_ticks != 0) return st->start_ticks == start_ticks;
  return CmdlineIsOurs(pid);
}

// Signals the whole process group when the instance leads one (it does, after
// setsid), so helpers it forked go too.
void SignalInstance(int pid, int sig) {
  if (getpgid(pid) == pid) {
    kill(-pid, sig);
  } else {
    kill(pid, sig);
  }
}

bool WaitGone(int pid, uint64_t start_ticks, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (ProcessAlive(pid, start_ticks)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPoll);
  }
  return true;
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

// Runs argv[0] (searched in PATH) in a new session, stdin from /dev/null,
// stdout and stderr appended to `log`, default signal handling, no inherited
// descriptors.
StatusOr<int> Spawn(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Unavailable("cannot run " + argv[0] + ": " + std::strerror(rc));
  return static_cast<int>(pid);
}

StatusOr<uint16_t> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(Errno("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  if (!ok) return Unavailable(Errno("cannot find a free port"));
  return ntohs(addr.sin_port);
}

bool CanConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

uint16_t PortField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return 0;
  return static_cast<uint16_t>(std::min<uint64_t>(it->get<uint64_t>(), 65535));
}

std::string StringField(const json& j, const char* key, std::string fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// What a record holds besides the public Instance.
struct Record {
  Instance instance;
  uint64_t start_ticks = 0;
  std::vector<std::string> argv;
};

json RecordJson(const Record& r) {
  const Instance& i = r.instance;
  return {{"name", i.name},           {"kind", i.kind},           {"pid", i.pid},
          {"host", i.host},           {"resp_port", i.resp_port}, {"http_port", i.http_port},
          {"grpc_port", i.grpc_port}, {"args", r.argv},           {"start_ticks", r.start_ticks}};
}

std::optional<Record> ParseRecord(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) return std::nullopt;
  Record r;
  r.instance.name = StringField(j, "name");
  r.instance.kind = StringField(j, "kind");
  r.instance.pid = j["pid"].get<int>();
  r.instance.host = StringField(j, "host", "127.0.0.1");
  r.instance.resp_port = PortField(j, "resp_port");
  r.instance.http_port = PortField(j, "http_port");
  r.instance.grpc_port = PortField(j, "grpc_port");
  if (j.contains("start_ticks") && j["start_ticks"].is_number_unsigned())
    r.start_ticks = j["start_ticks"].get<uint64_t>();
  if (j.contains("args") && j["args"].is_array()) {
    for (const auto& a : j["args"])
      if (a.is_string()) r.argv.push_back(a.get<std::string>());
  }
  return r;
}

Status ValidateName(const std::string& name) {
  bool ok =
      !name.empty() && name.size() <= 64 && name[0] != '.' &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (ok) return OkStatus();
  return InvalidArgument("instance name must be 1-64 letters, digits, '-', '_' or '.', got '" +
                         name + "'");
}

Status ValidateSpec(const LaunchSpec& spec) {
  static const char* kKinds[] = {"router", "node", "redis", "worker"};
  if (std::find_if(std::begin(kKinds), std::end(kKinds),
                   [&](const char* k) { return spec.kind == k; }) == std::end(kKinds)) {
    return InvalidArgument("kind must be router, node, redis or worker, got '" + spec.kind + "'");
  }
  return ValidateName(spec.name);
}

// An exclusive flock on <run_dir>/.lock, so that concurrent launches agree on
// which names are taken. Released on destruction.
class RunDirLock {
 public:
  static StatusOr<std::unique_ptr<RunDirLock>> Acquire(const fs::path& dir) {
    int fd = open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Unavailable(Errno("cannot open " + (dir / ".lock").string()));
    if (flock(fd, LOCK_EX) != 0) {
      close(fd);
      return Unavailable(Errno("cannot lock " + (dir / ".lock").string()));
    }
    return std::unique_ptr<RunDirLock>(new RunDirLock(fd));
  }
  ~RunDirLock() { close(fd_); }

 private:
  explicit RunDirLock(int fd) : fd_(fd) {}
  int fd_;
};

class LocalProvider final : public Provider {
 public:
  LocalProvider(fs::path run_dir, std::string binary)
      : run_dir_(std::move(run_dir)), binary_(std::move(binary)) {}

  StatusOr<std::vector<Instance>> List() override;
  StatusOr<Instance> Launch(const LaunchSpec& spec) override;
  Status Stop(const std::string& name) override;

 private:
  // A process that was spawned and recorded but may not serve yet.
  struct Started {
    Record record;
    uint64_t log_offset = 0;
  };

  fs::path PathOf(const std::string& name, const char* ext) const {
    return run_dir_ / (name + ext);
  }
  std::optional<Record> ReadRecord(const std::string& name) const;
  StatusOr<Started> Start(const LaunchSpec& spec, std::vector<std::string> argv);
  // Polls `ready` until it yields the instance's ports, the process exits, or
  // the timeout passes; on failure the process is killed and forgotten.
  StatusOr<Instance> AwaitReady(const LaunchSpec& spec, Started started,
                                const std::function<std::optional<Instance>()>& ready);
  void Discard(const Record& r);
  StatusOr<Instance> LaunchRedis(const LaunchSpec& spec);
  StatusOr<Instance> LaunchRingkv(const LaunchSpec& spec);

  fs::path run_dir_;
  std::string binary_;
};

std::optional<Record> LocalProvider::ReadRecord(const std::string& name) const {
  auto text = ReadFile(PathOf(name, ".json"));
  if (!text) return std::nullopt;
  return ParseRecord(*text);
}

StatusOr<std::vector<Instance>> LocalProvider::List() {
  std::error_code ec;
  std::vector<Instance> out;
  if (!fs::exists(run_dir_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(run_dir_, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto r = ReadRecord(entry.path().stem().string());
    if (!r) continue;  // not ours, or torn by a crash mid-write (we write tmp + rename)
    r->instance.alive = ProcessAlive(r->instance.pid, r->start_ticks);
    out.push_back(r->instance);
  }
  if (ec)
    return Unavailable("cannot read run directory " + run_dir_.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const Instance& a, const Instance& b) { return a.name < b.name; });
  return out;
}

StatusOr<LocalProvider::Started> LocalProvider::Start(const LaunchSpec& spec,
                                                      std::vector<std::string> argv) {
  auto lock = RunDirLock::Acquire(run_dir_);
  if (!lock.ok()) return lock.status();
  if (auto old = ReadRecord(spec.name); old && ProcessAlive(old->instance.pid, old->start_ticks)) {
    return AlreadyExists("instance '" + spec.name + "' already runs (pid " +
                         std::to_string(old->instance.pid) + ") in " + run_dir_.string());
  }
  std::error_code ec;
  fs::remove(PathOf(spec.name, ".ports"), ec);
  fs::path log = PathOf(spec.name, ".log");
  Started s;
  s.log_offset = fs::exists(log, ec) ? fs::file_size(log, ec) : 0;
  auto pid = Spawn(argv, log);
  if (!pid.ok()) return pid.status();
  s.record.instance.name = spec.name;
  s.record.instance.kind = spec.kind;
  s.record.instance.pid = *pid;
  auto st = ReadProcStat(*pid);
  s.record.start_ticks = st ? st->start_ticks : 0;
  s.record.argv = std::move(argv);
  // Recorded before it serves, so `cluster down` finds it even if we die now.
  if (Status w = WriteFileAtomic(PathOf(spec.name, ".json"), RecordJson(s.record).dump(2));
      !w.ok()) {
    Discard(s.record);
    return w;
  }
  return s;
}

void LocalProvider::Discard(const Record& r) {
  if (ProcessAlive(r.instance.pid, r.start_ticks)) {
    SignalInstance(r.instance.pid, SIGKILL);
    WaitGone(r.instance.pid, r.start_ticks, kKillWaitMs);
  }
  std::error_code ec;
  fs::remove(PathOf(r.instance.name, ".json"), ec);
  fs::remove(PathOf(r.instance.name, ".ports"), ec);
}

StatusOr<Instance> LocalProvider::AwaitReady(
    const LaunchSpec& spec, Started s, const std::function<std::optional<Instance>()>& ready) {
  auto deadline = Clock::now() + std::chrono::milliseconds(spec.ready_timeout_ms);
  const int pid = s.record.instance.pid;
  fs::path log = PathOf(spec.name, ".log");
  for (;;) {
    if (auto ports = ready()) {
      Instance& i = s.record.instance;
      i.host = ports->host;
      i.resp_port = ports->resp_port;
      i.http_port = ports->http_port;
      i.grpc_port = ports->grpc_port;
      i.alive = true;
      if (Status w = WriteFileAtomic(PathOf(spec.name, ".json"), RecordJson(s.record).dump(2));
          !w.ok()) {
        Discard(s.record);
        return w;
      }
      return i;
    }
    int status = 0;
    if (ReapIfExited(pid, &status)) {
      Discard(s.record);
      return Unavailable(spec.kind + " '" + spec.name + "' " + DescribeExit(status) +
                         " before serving; end of " + log.string() + ":\n" +
                         LogTail(log, s.log_offset));
    }
    if (Clock::now() >= deadline) {
      Discard(s.record);
      return Status(StatusCode::kDeadlineExceeded,
                    spec.kind + " '" + spec.name + "' did not serve within " +
                        std::to_string(spec.ready_timeout_ms) + " ms; end of " + log.string() +
                        ":\n" + LogTail(log, s.log_offset));
    }
    std::this_thread::sleep_for(kPoll);
  }
}

StatusOr<Instance> LocalProvider::LaunchRingkv(const LaunchSpec& spec) {
  std::vector<std::string> argv = {binary_, spec.kind};
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  fs::path ports_file = PathOf(spec.name, ".ports");
  argv.insert(argv.end(), {"--ports-file", ports_file.string()});
  auto started = Start(spec, std::move(argv));
  if (!started.ok()) return started.status();
  return AwaitReady(spec, std::move(*started), [&]() -> std::optional<Instance> {
    auto text = ReadFile(ports_file);
    if (!text) return std::nullopt;
    json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;  // written by rename, but be lenient
    Instance i;
    i.host = StringField(j, "bind", "127.0.0.1");
    if (i.host == "0.0.0.0" || i.host.empty()) i.host = "127.0.0.1";
    i.resp_port = PortField(j, "resp_port");
    i.http_port = PortField(j, "http_port");
    i.grpc_port = PortField(j, "grpc_port");
    return i;
  });
}

StatusOr<Instance> LocalProvider::LaunchRedis(const LaunchSpec& spec) {
  Status last;
  for (int attempt = 0; attempt < kRedisPortAttempts; ++attempt) {
    auto port = FreePort();
    if (!port.ok()) return port.status();
    std::vector<std::string> argv = {
        "redis-server",   "--port", std::to_string(*port), "--bind", "127.0.0.1",
        "--save",         "",       "--appendonly",        "no",     "--dir",
        run_dir_.string()};
    argv.insert(argv.end(), spec.args.begin(), spec.args.end());
    auto started = Start(spec, std::move(argv));
    if (!started.ok()) return started.status();
    uint16_t p = *port;
    auto ready = AwaitReady(spec, std::move(*started), [p]() -> std::optional<Instance> {
      if (!CanConnect(p)) return std::nullopt;
      Instance i;
      i.resp_port = p;
      return i;
    });
    // Another process may take the port between our probe and redis's bind.
    if (ready.ok() || ready.status().message().find("in use") == std::string::npos) return ready;
    last = ready.status();
  }
  return last;
}

StatusOr<Instance> LocalProvider::Launch(const LaunchSpec& spec) {
  if (Status s = ValidateSpec(spec); !s.ok()) return s;
  std::error_code ec;
  fs::create_directories(run_dir_, ec);
  if (ec)
    return Unavailable("cannot create run directory " + run_dir_.string() + ": " + ec.message());
  return spec.kind == "redis" ? LaunchRedis(spec) : LaunchRingkv(spec);
}

Status LocalProvider::Stop(const std::string& name) {
  if (Status s = ValidateName(name); !s.ok()) return s;
  auto r = ReadRecord(name);
  if (!r) return NotFound("no instance named '" + name + "' in " + run_dir_.string());
  const int pid = r->instance.pid;
  if (ProcessAlive(pid, r->start_ticks)) {
    SignalInstance(pid, SIGTERM);
    if (!WaitGone(pid, r->start_ticks, kStopGraceMs)) {
      SignalInstance(pid, SIGKILL);
      if (!WaitGone(pid, r->start_ticks, kKillWaitMs)) {
        return Internal("instance '" + name + "' (pid " + std::to_string(pid) +
                        ") survived SIGKILL");
      }
    }
  }
  std::error_code ec;
  fs::remove(PathOf(name, ".json"), ec);
  fs::remove(PathOf(name, ".ports"), ec);
  return OkStatus();
}

}  // namespace

std::unique_ptr<Provider> NewLocalProvider(const std::string& run_dir,
                                           const std::string& ringkv_binary) {
  std::error_code ec;
  fs::path dir = fs::absolute(run_dir, ec);
  if (ec) dir = run_dir;
  return std::make_unique<LocalProvider>(dir.lexically_normal(), ringkv_binary);
}

}  // namespace ringkv::provider
