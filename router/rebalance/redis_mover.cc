#include "router/rebalance/redis_mover.h"

#include <string_view>

#include "net/resp_client.h"
#include "ring/arc_set.h"

namespace ringkv::router {
namespace {

using net::resp::Reply;

// Sums key + STRLEN of string values of KEYS in one round trip.
constexpr std::string_view kSizeScript =
    "local n = 0 for _, k in ipairs(KEYS) do "
    "local ok, len = pcall(redis.call, 'STRLEN', k) "
    "if ok then n = n + len end n = n + #k end return n";

StatusOr<Reply> Call(net::RespClient& c, std::span<const std::string_view> args, uint32_t timeout) {
  auto r = c.Call(args, timeout);
  if (!r.ok()) return r.status();
  if (r->type == Reply::Type::kError) {
    return Unavailable(c.addr() + ": " + std::string(args[0]) + ": " + r->str);
  }
  return r;
}

// One SCAN page: (next cursor, keys in the arcs).
StatusOr<std::pair<std::string, std::vector<std::string>>> ScanArcs(net::RespClient& c,
                                                                    const std::string& cursor,
                                                                    const RedisMoveOptions& o,
                                                                    const ring::ArcSet& arcs,
                                                                    uint64_t* scanned) {
  const std::string count = std::to_string(o.scan_count);
  std::string_view args[] = {"SCAN", cursor, "COUNT", count};
  auto r = Call(c, args, o.timeout_ms);
  if (!r.ok()) return r.status();
  if (r->type != Reply::Type::kArray || r->elements.size() != 2 ||
      r->elements[1].type != Reply::Type::kArray) {
    return Internal(c.addr() + ": SCAN answered an unexpected reply");
  }
  std::vector<std::string> keys;
  for (Reply& k : r->elements[1].elements) {
    ++*scanned;
    if (arcs.Contains(ring::HashKey(o.hash, k.str))) keys.push_back(std::move(k.str));
  }
  return std::make_pair(r->elements[0].str, std::move(keys));
}

}  // namespace

Status MoveRedisArcs(const RedisMoveOptions& o, FunctionRef<bool(const RedisMoveProgress&)> pace,
                     RedisMoveProgress* progress) {
  const ring::ArcSet arcs(o.arcs);
  auto c = net::RespClient::Connect(o.from, o.timeout_ms, net::RespCredentials{o.password, o.tls});
  if (!c.ok()) return c.status();
  const std::string port = std::to_string(o.to_port);
  const std::string timeout = std::to_string(o.timeout_ms);
  std::string cursor = "0";
  do {
    auto page = ScanArcs(*c, cursor, o, arcs, &progress->keys_scanned);
    if (!page.ok()) return page.status();
    cursor = page->first;
    const std::vector<std::string>& keys = page->second;
    if (!keys.empty()) {
      // Sizes first: a moved key is gone from the old owner.
      std::vector<std::string_view> eval = {"EVAL", kSizeScript};
      const std::string nkeys = std::to_string(keys.size());
      eval.push_back(nkeys);
      eval.insert(eval.end(), keys.begin(), keys.end());
      auto size = Call(*c, eval, o.timeout_ms);
      if (!size.ok()) return size.status();
      std::vector<std::string_view> migrate = {"MIGRATE", o.to_host, port, "", "0", timeout};
      if (!o.password.empty()) {
        migrate.push_back("AUTH");
        migrate.push_back(o.password);
      }
      migrate.push_back("KEYS");
      migrate.insert(migrate.end(), keys.begin(), keys.end());
      auto moved = c->Call(migrate, o.timeout_ms);
      if (!moved.ok()) return moved.status();
      if (moved->type == Reply::Type::kError && moved->str.find("BUSYKEY") == std::string::npos) {
        return Unavailable(o.from + ": MIGRATE to " + o.to_host + ":" + port + ": " + moved->str);
      }
      // With BUSYKEY the other keys of the batch still moved; which ones
      // stayed is settled by DropRedisArcs at the end.
      if (moved->type == Reply::Type::kError) ++progress->keys_kept;
      progress->keys_moved += keys.size();
      progress->bytes_moved += static_cast<uint64_t>(size->integer);
    }
    if (!pace(*progress)) return Status(StatusCode::kAborted, "move stopped");
  } while (cursor != "0");
  return OkStatus();
}

Status DropRedisArcs(const RedisMoveOptions& o, uint64_t* dropped) {
  const ring::ArcSet arcs(o.arcs);
  auto c = net::RespClient::Connect(o.from, o.timeout_ms, net::RespCredentials{o.password, o.tls});
  if (!c.ok()) return c.status();
  uint64_t scanned = 0;
  std::string cursor = "0";
  do {
    auto page = ScanArcs(*c, cursor, o, arcs, &scanned);
    if (!page.ok()) return page.status();
    cursor = page->first;
    if (page->second.empty()) continue;
    std::vector<std::string_view> del = {"UNLINK"};
    del.insert(del.end(), page->second.begin(), page->second.end());
    auto r = Call(*c, del, o.timeout_ms);
    if (!r.ok()) return r.status();
    *dropped += static_cast<uint64_t>(r->integer);
  } while (cursor != "0");
  return OkStatus();
}

}  // namespace ringkv::router
