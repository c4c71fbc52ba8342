#include "router/rebalance/redis_arc_mover.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "net/resp_client.h"
#include "router/rebalance/redis_mover.h"

namespace ringkv::router {
namespace {

using cluster::BackendKind;
using cluster::Migration;
using cluster::NodeInfo;

const NodeInfo* FindNode(const Migration& m, const std::string& id) {
  for (const cluster::ClusterMap* map : {&m.to_map, &m.from_map}) {
    for (const NodeInfo& n : map->nodes)
      if (n.id == id) return &n;
  }
  return nullptr;
}

StatusOr<std::pair<std::string, uint16_t>> SplitAddr(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("bad address " + addr);
  int port = std::atoi(addr.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return InvalidArgument("bad port in " + addr);
  return std::make_pair(addr.substr(0, colon), static_cast<uint16_t>(port));
}

class RedisArcMover final : public ArcMover {
 public:
  RedisArcMover(net::RespCredentials backend, uint32_t timeout_ms)
      : backend_(std::move(backend)), timeout_ms_(timeout_ms) {}

  StatusOr<uint64_t> Begin(const Migration& m, const std::string& node_id) override {
    const NodeInfo* n = FindNode(m, node_id);
    if (!n) return NotFound("node " + node_id + " is not in migration " + m.id);
    auto c = net::RespClient::Connect(n->addr, timeout_ms_, backend_);
    if (!c.ok()) return c.status();
    auto r = c->Call({"DBSIZE"}, timeout_ms_);
    if (!r.ok()) return r.status();
    return static_cast<uint64_t>(std::max<int64_t>(0, r->integer));
  }

  StatusOr<bool> HasPart(const Migration&, const std::string&) override { return true; }

  Status Move(const Migration& m, const std::string& source_id, MoveLimits limits,
              const std::function<void(const MoveCounts&)>& progress,
              const std::atomic<bool>& stop) override {
    MoveCounts total;
    const auto started = std::chrono::steady_clock::now();
    for (const cluster::MigrationPair& p : m.pairs) {
      if (p.source != source_id) continue;
      auto o = Options(m, p);
      if (!o.ok()) return o.status();
      const MoveCounts base = total;
      RedisMoveProgress rp;
      Status s = MoveRedisArcs(
          *o,
          [&](const RedisMoveProgress& now) {
            total.keys_sent = base.keys_sent + now.keys_moved;
            total.bytes_sent = base.bytes_sent + now.bytes_moved;
            total.keys_scanned = base.keys_scanned + now.keys_scanned;
            progress(total);
            Pace(limits, total, started, stop);
            return !stop.load();
          },
          &rp);
      if (s.code() == StatusCode::kAborted) return Status(StatusCode::kCancelled, "move stopped");
      if (!s.ok()) return s;
    }
    progress(total);
    return OkStatus();
  }

  Status End(const Migration& m, const std::string& node_id, bool cancelled,
             uint32_t drop_after_ms) override {
    if (cancelled) return OkStatus();
    bool waited = false;
    for (const cluster::MigrationPair& p : m.pairs) {
      if (p.source != node_id) continue;
      if (!waited && drop_after_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(drop_after_ms, 1000u)));
        waited = true;
      }
      auto o = Options(m, p);
      if (!o.ok()) return o.status();
      uint64_t dropped = 0;
      if (Status s = DropRedisArcs(*o, &dropped); !s.ok()) return s;
      if (dropped > 0) {
        spdlog::info("rebalance: {}: deleted {} stale keys of moved arcs on {}", m.id, dropped,
                     o->from);
      }
    }
    return OkStatus();
  }

  Status PushMap(const NodeInfo&, const std::string&) override { return OkStatus(); }

 private:
  StatusOr<RedisMoveOptions> Options(const Migration& m, const cluster::MigrationPair& p) const {
    const NodeInfo* from = FindNode(m, p.source);
    const NodeInfo* to = FindNode(m, p.target);
    if (!from || !to) return NotFound("migration " + m.id + " names an unknown node");
    auto target = SplitAddr(to->addr);
    if (!target.ok()) return target.status();
    RedisMoveOptions o;
    o.from = from->addr;
    o.to_host = target->first;
    o.to_port = target->second;
    o.arcs = p.arcs;
    o.hash = m.to_map.hash;
    o.password = backend_.password;
    o.tls = backend_.tls;
    o.timeout_ms = timeout_ms_;
    return o;
  }

  // Sleeps until the totals are within the limits (or stop).
  static void Pace(const MoveLimits& l, const MoveCounts& c,
                   std::chrono::steady_clock::time_point started, const std::atomic<bool>& stop) {
    using namespace std::chrono;
    double need_s = 0;
    if (l.max_keys_per_sec) need_s = static_cast<double>(c.keys_sent) / l.max_keys_per_sec;
    if (l.max_bytes_per_sec) {
      need_s = std::max(need_s, static_cast<double>(c.bytes_sent) / l.max_bytes_per_sec);
    }
    const auto until = started + duration_cast<steady_clock::duration>(duration<double>(need_s));
    while (!stop.load() && steady_clock::now() < until) {
      std::this_thread::sleep_for(
          std::min<steady_clock::duration>(milliseconds(20), until - steady_clock::now()));
    }
  }

  net::RespCredentials backend_;
  uint32_t timeout_ms_;
};

class KindArcMover final : public ArcMover {
 public:
  KindArcMover(ArcMover& ringkv, ArcMover& redis) : ringkv_(ringkv), redis_(redis) {}

  StatusOr<uint64_t> Begin(const Migration& m, const std::string& id) override {
    return For(m, id).Begin(m, id);
  }
  StatusOr<bool> HasPart(const Migration& m, const std::string& id) override {
    return For(m, id).HasPart(m, id);
  }
  Status Move(const Migration& m, const std::string& id, MoveLimits limits,
              const std::function<void(const MoveCounts&)>& progress,
              const std::atomic<bool>& stop) override {
    return For(m, id).Move(m, id, limits, progress, stop);
  }
  Status End(const Migration& m, const std::string& id, bool cancelled,
             uint32_t drop_after_ms) override {
    return For(m, id).End(m, id, cancelled, drop_after_ms);
  }
  Status PushMap(const NodeInfo& node, const std::string& map_json) override {
    return (node.kind == BackendKind::kRedis ? redis_ : ringkv_).PushMap(node, map_json);
  }

 private:
  ArcMover& For(const Migration& m, const std::string& id) {
    const NodeInfo* n = FindNode(m, id);
    return n && n->kind == BackendKind::kRedis ? redis_ : ringkv_;
  }
  ArcMover& ringkv_;
  ArcMover& redis_;
};

}  // namespace

std::unique_ptr<ArcMover> NewRedisArcMover(net::RespCredentials backend, uint32_t timeout_ms) {
  return std::make_unique<RedisArcMover>(std::move(backend), timeout_ms);
}

std::unique_ptr<ArcMover> NewKindArcMover(ArcMover& ringkv, ArcMover& redis) {
  return std::make_unique<KindArcMover>(ringkv, redis);
}

}  // namespace ringkv::router
