// PING ECHO QUIT AUTH SELECT HELLO CLIENT: connection-level commands.
#include <optional>
#include <string>

#include "base/secret.h"
#include "node/commands/internal/handlers.h"
#include "node/commands/internal/parse.h"

namespace ringkv::node::internal {
namespace {

// Redis ACL with one "default" user: no password configured means the
// default user accepts any password ("nopass").
bool CheckPassword(const Context& ctx, std::string_view user, std::string_view pass) {
  if (user != "default") return false;
  return ctx.options.requirepass.empty() || SecretEquals(pass, ctx.options.requirepass);
}

// CLIENT SETNAME / HELLO SETNAME: printable ASCII without spaces.
bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

constexpr std::string_view kErrBadName =
    "ERR Client names cannot contain spaces, newlines or special characters.";

void ReplyHelloMap(Context& ctx) {
  ctx.w.ArrayHeader(14);
  ctx.w.Bulk("server");
  ctx.w.Bulk("redis");
  ctx.w.Bulk("version");
  ctx.w.Bulk("7.0.0");
  ctx.w.Bulk("proto");
  ctx.w.Integer(2);
  ctx.w.Bulk("id");
  ctx.w.Integer(static_cast<int64_t>(ctx.session.id));
  ctx.w.Bulk("mode");
  ctx.w.Bulk("standalone");
  ctx.w.Bulk("role");
  ctx.w.Bulk("master");
  ctx.w.Bulk("modules");
  ctx.w.ArrayHeader(0);
}

struct HelloArgs {
  std::optional<std::string_view> user, pass, name;
};

std::optional<HelloArgs> ParseHelloOptions(Context& ctx) {
  HelloArgs h;
  for (size_t j = 2; j < ctx.args.size(); ++j) {
    size_t more = ctx.args.size() - 1 - j;
    if (EqualsLower(ctx.args[j], "auth") && more >= 2) {
      h.user = ctx.args[j + 1];
      h.pass = ctx.args[j + 2];
      j += 2;
    } else if (EqualsLower(ctx.args[j], "setname") && more >= 1) {
      h.name = ctx.args[++j];
    } else {
      ctx.w.Error("ERR Syntax error in HELLO option '" + std::string(ctx.args[j]) + "'");
      return std::nullopt;
    }
  }
  return h;
}

}  // namespace

void PingCommand(Context& ctx) {
  if (ctx.args.size() > 2) return ReplyWrongArity(ctx, "ping");
  if (ctx.args.size() == 2) return ctx.w.Bulk(ctx.args[1]);
  ctx.w.Simple("PONG");
}

void EchoCommand(Context& ctx) {
  ctx.w.Bulk(ctx.args[1]);
}

void QuitCommand(Context& ctx) {
  ctx.session.close_after_reply = true;
  ctx.w.Ok();
}

void AuthCommand(Context& ctx) {
  if (ctx.args.size() > 3) return ctx.w.Error(kErrSyntax);
  if (ctx.args.size() == 2 && ctx.options.requirepass.empty()) {
    return ctx.w.Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
  }
  std::string_view user = ctx.args.size() == 3 ? ctx.args[1] : "default";
  if (!CheckPassword(ctx, user, ctx.args.back())) return ctx.w.Error(kErrWrongPass);
  ctx.session.authenticated = true;
  ctx.w.Ok();
}

void SelectCommand(Context& ctx) {
  std::optional<int64_t> db = ParseInt64(ctx.args[1]);
  if (!db) return ctx.w.Error(kErrNotInteger);
  if (*db != 0) return ctx.w.Error("ERR DB index is out of range");
  ctx.w.Ok();
}

// HELLO [protover [AUTH user pass] [SETNAME name]]: only RESP2 is spoken.
void HelloCommand(Context& ctx) {
  if (ctx.args.size() >= 2) {
    std::optional<int64_t> ver = ParseInt64(ctx.args[1]);
    if (!ver) return ctx.w.Error("ERR Protocol version is not an integer or out of range");
    if (*ver == 3) return ctx.w.Error("NOPROTO sorry, this protocol version is not supported.");
    if (*ver != 2) return ctx.w.Error("NOPROTO unsupported protocol version");
  }
  std::optional<HelloArgs> h = ParseHelloOptions(ctx);
  if (!h) return;
  if (h->user) {
    if (!CheckPassword(ctx, *h->user, *h->pass)) return ctx.w.Error(kErrWrongPass);
    ctx.session.authenticated = true;
  }
  if (!ctx.options.requirepass.empty() && !ctx.session.authenticated) {
    return ctx.w.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
  }
  if (h->name) {
    if (!ValidClientName(*h->name)) return ctx.w.Error(kErrBadName);
    ctx.session.name = std::string(*h->name);
  }
  ReplyHelloMap(ctx);
}

// CLIENT SETNAME | GETNAME | ID | SETINFO: the subset clients send on connect.
void ClientCommand(Context& ctx) {
  std::string sub = LowerName(ctx.args[1]);
  const size_t argc = ctx.args.size();
  if (sub == "id") {
    if (argc != 2) return ReplyWrongArity(ctx, "client|id");
    return ctx.w.Integer(static_cast<int64_t>(ctx.session.id));
  }
  if (sub == "getname") {
    if (argc != 2) return ReplyWrongArity(ctx, "client|getname");
    if (ctx.session.name.empty()) return ctx.w.Null();
    return ctx.w.Bulk(ctx.session.name);
  }
  if (sub == "setname") {
    if (argc != 3) return ReplyWrongArity(ctx, "client|setname");
    if (!ValidClientName(ctx.args[2])) return ctx.w.Error(kErrBadName);
    ctx.session.name = std::string(ctx.args[2]);
    return ctx.w.Ok();
  }
  if (sub == "setinfo") {
    if (argc != 4) return ReplyWrongArity(ctx, "client|setinfo");
    if (!EqualsLower(ctx.args[2], "lib-name") && !EqualsLower(ctx.args[2], "lib-ver")) {
      return ctx.w.Error("ERR Unrecognized option '" + std::string(ctx.args[2]) + "'");
    }
    return ctx.w.Ok();
  }
  ReplyUnknownSubcommand(ctx, "CLIENT");
}

}  // namespace ringkv::node::internal
