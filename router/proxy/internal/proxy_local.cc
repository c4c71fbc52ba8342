// The replies of the commands the proxy answers itself.
#include <cctype>

#include "base/secret.h"
#include "net/command/command_table.h"
#include "net/command/glob.h"
#include "net/resp/resp_writer.h"
#include "router/proxy/internal/proxy_commands.h"

namespace ringkv::router::internal {

namespace {

using L = LocalCommand;

constexpr std::string_view kNotLocal = "-ERR internal: not a local command\r\n";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

std::string ConfigReply(std::span<const std::string_view> args, const LocalState& st) {
  std::string out;
  net::resp::ReplyWriter w(out);
  if (EqualsIgnoreCase(args[1], "get")) {
    if (args.size() < 3) return ArityReply("config|get");
    const std::pair<std::string_view, std::string> params[] = {
        {"save", ""},
        {"appendonly", "no"},
        {"databases", "1"},
        {"port", std::to_string(st.port)},
        {"maxclients", std::to_string(st.maxclients)},
        {"timeout", "0"},
        {"requirepass", st.requirepass && !st.requirepass->empty() ? "********" : ""},
    };
    std::vector<const std::pair<std::string_view, std::string>*> hits;
    for (const auto& p : params) {
      for (size_t i = 2; i < args.size(); ++i) {
        if (net::command::StringMatch(args[i], p.first, /*nocase=*/true)) {
          hits.push_back(&p);
          break;
        }
      }
    }
    w.ArrayHeader(hits.size() * 2);
    for (const auto* h : hits) {
      w.Bulk(h->first);
      w.Bulk(h->second);
    }
    return out;
  }
  if (EqualsIgnoreCase(args[1], "resetstat")) return "+OK\r\n";
  return UnsupportedReply("config", "the router's configuration is not changed over RESP");
}

std::string ClientReply(std::span<const std::string_view> args, LocalState& st) {
  std::string out;
  net::resp::ReplyWriter w(out);
  if (EqualsIgnoreCase(args[1], "setname") && args.size() == 3) {
    st.name = std::string(args[2]);
    w.Ok();
  } else if (EqualsIgnoreCase(args[1], "getname")) {
    if (st.name.empty())
      w.Null();
    else
      w.Bulk(st.name);
  } else if (EqualsIgnoreCase(args[1], "id")) {
    w.Integer(static_cast<int64_t>(st.client_id));
  } else if (EqualsIgnoreCase(args[1], "setinfo")) {
    w.Ok();
  } else {
    return UnsupportedReply("client", "only CLIENT SETNAME, GETNAME, ID and SETINFO are");
  }
  return out;
}

std::string AuthReply(std::span<const std::string_view> args, LocalState& st) {
  if (args.size() > 3) return ArityReply("auth");
  if (!st.requirepass || st.requirepass->empty()) {
    return "-ERR AUTH <password> called without any password configured for the default user. "
           "Are you sure your configuration is correct?\r\n";
  }
  bool user_ok = args.size() == 2 || args[1] == "default";
  if (user_ok && SecretEquals(args.back(), *st.requirepass)) {
    st.authenticated = true;
    return "+OK\r\n";
  }
  return "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
}

}  // namespace

std::string LocalReply(LocalCommand cmd, std::span<const std::string_view> args, LocalState& st) {
  // Redis's arity from the shared table (PING and AUTH also have a maximum);
  // the replies below rely on it.
  const net::command::CommandSpec* spec =
      args.empty() ? nullptr : net::command::FindCommand(args[0]);
  if (spec == nullptr) return std::string(kNotLocal);
  if (!net::command::ArityOk(*spec, args.size())) return ArityReply(spec->name);
  std::string out;
  net::resp::ReplyWriter w(out);
  switch (cmd) {
    case L::kPing:
      if (args.size() > 2) return ArityReply("ping");
      if (args.size() == 2)
        w.Bulk(args[1]);
      else
        w.Simple("PONG");
      return out;
    case L::kEcho:
      w.Bulk(args[1]);
      return out;
    case L::kQuit:
      st.close_after_reply = true;
      return "+OK\r\n";
    case L::kAuth:
      return AuthReply(args, st);
    case L::kSelect:
      if (args[1] == "0") return "+OK\r\n";
      return "-ERR DB index is out of range (the ringkv router has only db 0)\r\n";
    case L::kCommand:
      if (args.size() >= 2 && EqualsIgnoreCase(args[1], "count")) return ":0\r\n";
      return "*0\r\n";
    case L::kConfig:
      return ConfigReply(args, st);
    case L::kClient:
      return ClientReply(args, st);
    case L::kInfo:
    case L::kNone:
      break;
  }
  return std::string(kNotLocal);
}

std::string InfoReply(std::span<const std::string_view> args, const InfoFacts& f) {
  auto wanted = [&](std::string_view section) {
    if (args.size() < 2) return true;
    for (size_t i = 1; i < args.size(); ++i) {
      if (EqualsIgnoreCase(args[i], section) || EqualsIgnoreCase(args[i], "all") ||
          EqualsIgnoreCase(args[i], "default") || EqualsIgnoreCase(args[i], "everything"))
        return true;
    }
    return false;
  };
  std::string body;
  auto line = [&](std::string_view k, const std::string& v) {
    body.append(k);
    body.push_back(':');
    body.append(v);
    body.append("\r\n");
  };
  if (wanted("server")) {
    body.append("# Server\r\n");
    line("redis_version", "7.0.0");
    line("ringkv_role", "router");
    line("tcp_port", std::to_string(f.tcp_port));
    line("io_threads", std::to_string(f.io_threads));
    line("uptime_in_seconds", std::to_string(f.uptime_s));
    body.append("\r\n");
  }
  if (wanted("clients")) {
    body.append("# Clients\r\n");
    line("connected_clients", std::to_string(f.connected_clients));
    line("maxclients", std::to_string(f.maxclients));
    body.append("\r\n");
  }
  if (wanted("stats")) {
    body.append("# Stats\r\n");
    line("total_connections_received", std::to_string(f.total_connections));
    line("total_commands_processed", std::to_string(f.commands));
    line("proxy_errors", std::to_string(f.errors));
    line("backend_timeouts", std::to_string(f.backend_timeouts));
    line("backend_failures", std::to_string(f.backend_failures));
    body.append("\r\n");
  }
  if (wanted("cluster")) {
    body.append("# Cluster\r\n");
    line("epoch", std::to_string(f.epoch));
    line("backends_in_service", std::to_string(f.backends));
    body.append("\r\n");
  }
  std::string out;
  net::resp::ReplyWriter(out).Bulk(body);
  return out;
}

}  // namespace ringkv::router::internal
