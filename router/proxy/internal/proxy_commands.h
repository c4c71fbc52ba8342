// The proxy's pure parts: which commands it routes and how (derived from
// the shared command table, net/command/command_table.h, plus the router's
// own table of local and refused commands), and the replies of the commands
// it answers itself. Multi-key commands are split and merged by
// net/command/key_split.h. No sockets, no threads.
//
// Thread safety: free functions over values; the command table is immutable.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/command/command_table.h"
#include "net/command/key_split.h"

namespace ringkv::router::internal {

enum class CommandKind : uint8_t {
  kSingleKey,    // the key is argv[1]: forward the raw command to its owner
  kMget,         // split by owner, reassemble one array in key order
  kMset,         // split by owner (key/value pairs), +OK if every part is OK
  kSumKeys,      // DEL UNLINK EXISTS TOUCH: split by owner, sum the integers
  kDbsize,       // every back end, summed
  kLocal,        // answered by the proxy
  kUnsupported,  // -ERR '<cmd>' is not supported by the ringkv router: <reason>
};

enum class LocalCommand : uint8_t {
  kNone,
  kPing,
  kEcho,
  kQuit,
  kAuth,
  kSelect,
  kCommand,
  kConfig,
  kInfo,
  kClient,
};

struct CommandInfo {
  std::string_view name;  // lower case
  CommandKind kind;
  LocalCommand local = LocalCommand::kNone;
  std::string_view reason = {};  // kUnsupported
  bool read_only = false;        // reads keys only (may be served by a moving key's old owner)
  const net::command::CommandSpec* spec = nullptr;  // null for an unknown command
};

// Case-insensitive lookup, no allocation; an unknown name yields an
// kUnsupported entry whose reason is "unknown command". Commands with keys
// that the router does not list as local or refused are routed by their
// spec: a merge kind makes them split (kMget, kMset, kSumKeys), a single key
// at argv[1] kSingleKey; the rest are unknown to the router.
const CommandInfo& LookupCommand(std::string_view name);

// "-ERR '<cmd>' is not supported by the ringkv router: <reason>\r\n"
std::string UnsupportedReply(std::string_view cmd, std::string_view reason);
// "-ERR wrong number of arguments for '<cmd>' command\r\n"
std::string ArityReply(std::string_view cmd);
// "-ERR backend <addr> unavailable: <reason>\r\n"
std::string BackendErrorReply(std::string_view addr, std::string_view reason);
inline constexpr std::string_view kNoNodeReply = "-ERR no node in service\r\n";
inline constexpr std::string_view kNoAuthReply = "-NOAUTH Authentication required.\r\n";

// The split and merge of multi-key commands, shared with the node.
using net::command::KeySplit;
using net::command::MergeArrays;
using net::command::MergeStatus;
using net::command::MergeSum;
using net::command::SplitByOwner;
using net::command::SplitPart;

// What INFO reports; filled by the proxy from its options and stats.
struct InfoFacts {
  uint16_t tcp_port = 0;
  uint32_t io_threads = 0;
  int64_t uptime_s = 0;
  int64_t connected_clients = 0;
  uint64_t maxclients = 0;
  uint64_t total_connections = 0;
  uint64_t commands = 0;
  uint64_t errors = 0;
  uint64_t backend_timeouts = 0;
  uint64_t backend_failures = 0;
  uint64_t epoch = 0;
  size_t backends = 0;
};
// INFO [section...]: server, clients, stats and cluster; "all"/"default"/
// "everything" or no argument give every section.
std::string InfoReply(std::span<const std::string_view> args, const InfoFacts& facts);

// Per-connection facts the local commands need.
struct LocalState {
  const std::string* requirepass = nullptr;  // empty: no AUTH needed
  bool authenticated = true;
  bool close_after_reply = false;  // set by QUIT
  uint64_t client_id = 0;
  std::string name;  // CLIENT SETNAME
  uint16_t port = 0;
  uint64_t maxclients = 0;
};
// Answers PING ECHO QUIT AUTH SELECT COMMAND CONFIG CLIENT (not INFO); args[0]
// names `cmd` (its arity is checked here).
std::string LocalReply(LocalCommand cmd, std::span<const std::string_view> args, LocalState& state);

}  // namespace ringkv::router::internal
