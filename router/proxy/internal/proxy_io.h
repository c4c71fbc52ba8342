// The proxy's I/O shell. Each Worker is one thread with its own io_context;
// it owns its own connection to every back end it has used (one pipelined
// connection per back end per thread), so the request path takes no lock.
//
// Client connections are the net::ConnectionLoop's: each worker thread runs
// one of its EventLoops embedded in the io_context (Asio waits for the loop's
// epoll fd, once per round, and the loop handles what is ready), and a
// ClientConn is the RequestHandler of one client connection.
//
// Request path: a client read parses every complete command; a single-key
// command's raw bytes are appended to its owner's output buffer and a
// Pending{client, seq} is queued on that back end's FIFO. Touched back ends
// and clients are flushed once per event-loop round (one write each). A back
// end read frames replies with CompleteReplyLength and hands each to the head
// of its FIFO; the client writes replies in its own order.
//
// With ProxyOptions::backend_tls a back-end connection is a net::TlsStream
// over the socket: OpenSSL reads and writes the descriptor itself, so Asio
// only waits for readiness (async_wait) and each wake-up reads or writes
// until the socket would block. A handshake that fails (a certificate that
// does not verify) fails the back end like a refused connect.
//
// Thread safety: everything here is touched only on its Worker's thread.
#pragma once

// clang-format off
#include <utility>  // before asio: Boost 1.74 with g++ 12 needs std::exchange declared
// clang-format on
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/connection_loop.h"
#include "net/tls.h"
#include "router/proxy/internal/proxy_commands.h"
#include "router/proxy/proxy.h"

namespace ringkv::router::internal {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// What every worker shares (read-only except the stats).
struct ProxyContext {
  const ProxyOptions* options = nullptr;
  const RouteSource* routes = nullptr;
  ProxyStats* stats = nullptr;
  const net::ConnectionLoop* clients = nullptr;  // for its port
  int64_t start_s = 0;                           // steady clock, seconds
};

class ClientConn;
class BackendConn;
struct Worker;

inline constexpr uint32_t kWholeReply = UINT32_MAX;    // Pending::part of a plain command
inline constexpr uint32_t kMoveStep = UINT32_MAX - 1;  // Pending::part of a key move (MIGRATE)

// What a command needs to move on to the key's next replica when its back
// end fails (replication >= 2; docs/design.md, "Health and ejection").
struct Retry {
  std::vector<std::string> args;   // the command, or a split command's part (owned copies)
  std::vector<std::string> tried;  // addresses of the back ends that failed it, in order
};

// One command waiting for a back end's reply.
struct Pending {
  std::shared_ptr<ClientConn> client;
  uint64_t seq;                  // the client's slot
  uint32_t part;                 // index in a split command, or kWholeReply
  std::unique_ptr<Retry> retry;  // null: a failure is the reply (replication 1)
};

class BackendConn {
 public:
  BackendConn(Worker& worker, const Backend& backend);
  BackendConn(const BackendConn&) = delete;
  BackendConn& operator=(const BackendConn&) = delete;

  // Queues `command` (complete RESP) whose reply goes to `pending`. Connects
  // if needed; a back end that failed moments ago answers -ERR at once.
  void Send(std::string_view command, Pending pending);
  // Writes what Send queued (called once per event-loop round).
  void Flush();
  // Fails what is pending ("router stopping") and closes.
  void Shutdown();
  bool idle() const { return inflight_.empty(); }

  bool dirty = false;  // queued in Worker::dirty_backends

 private:
  enum class State : uint8_t { kIdle, kConnecting, kReady };
  void Connect();
  void OnConnected(uint64_t gen, const boost::system::error_code& ec);
  void Handshake(uint64_t gen);  // TLS: advances it on each readiness event
  void OnReady(uint64_t gen);    // connected (and handshaken): set-up commands, first read
  void MakeRoom();               // free space for the next read in rbuf_
  void StartRead();
  void ReadTls(uint64_t gen);
  void FlushTls();
  void OnRead(uint64_t gen, const boost::system::error_code& ec, size_t n);
  bool DeliverReplies();  // false if the connection failed
  void OnWritten(uint64_t gen, const boost::system::error_code& ec);
  void ArmTimer();
  void OnTimer(uint64_t gen);
  // Resets the connection. Every pending command with a Retry moves on to
  // its next replica, in order (so a pipeline stays in order); the others
  // are answered -ERR. A counted failure marks this back end suspect.
  void Fail(const std::string& reason, bool count_failure);
  // `p` cannot be served here: its next replica, or the -ERR `err`.
  void Reject(Pending p, const std::string& reason);

  Worker& worker_;
  std::string addr_;
  std::string host_;
  uint16_t port_;
  cluster::BackendKind kind_;
  tcp::socket socket_;
  std::unique_ptr<net::TlsStream> tls_;  // over socket_ with backend_tls; else null
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  State state_ = State::kIdle;
  uint64_t gen_ = 0;  // bumped on reset: handlers of an old socket do nothing
  std::string out_;   // queued, not yet written
  std::string wbuf_;  // being written
  bool writing_ = false;
  std::deque<Pending> inflight_;  // in request order, written or not
  std::vector<char> rbuf_;
  size_t rstart_ = 0;
  size_t rend_ = 0;
  uint32_t swallow_ = 0;       // replies to our own set-up commands still to come
  bool auth_pending_ = false;  // the next swallowed reply is AUTH's
  bool timer_armed_ = false;
  Clock::time_point connect_started_;
  Clock::time_point last_progress_;  // last reply, or when the FIFO became non-empty
  Clock::time_point retry_after_;
  std::string last_error_;
};

// The proxy's handling of one client connection. Shared with the Pendings
// that wait for its replies, so it outlives the connection it served.
class ClientConn final : public net::RequestHandler,
                         public std::enable_shared_from_this<ClientConn> {
 public:
  ClientConn(Worker& worker, net::Connection& conn);
  // A back end's reply (or the proxy's -ERR) for slot `seq`.
  void OnReply(uint64_t seq, uint32_t part, std::string_view reply);
  // The back end at `failed` could not serve `p` (it carries a Retry): sends
  // it to the next live replica of its keys (a split part is split again),
  // or answers `err` when every replica has failed it.
  void Failover(Pending p, const std::string& failed, const std::string& err);
  // Writes the replies ready in order (called once per event-loop round).
  void FlushOut();

  // net::RequestHandler
  void OnRequest(net::Connection& conn, std::span<const std::string_view> args,
                 std::string_view raw) override;
  void OnBatchStart(net::Connection& conn) override;
  void OnBatchEnd(net::Connection& conn) override;
  bool AwaitingReplies() const override { return !slots_.empty(); }
  void OnLoopError(net::Connection& conn, std::string_view reply) override;
  void OnDrained(net::Connection& conn) override;
  void OnClose() override;

  bool dirty = false;  // queued in Worker::dirty_clients

 private:
  struct Multi {
    CommandKind kind;
    std::vector<std::pair<uint32_t, uint32_t>> where;  // MGET: KeySplit::where
    std::vector<std::string> parts;
    uint32_t remaining;
  };
  // A command waiting for its keys to move between Redis back ends.
  struct Deferred {
    std::vector<std::string> args;  // owned copy of the command
    uint32_t remaining;             // MIGRATE replies still to come
    std::string error;              // the first move that failed
  };
  struct Slot {
    std::string reply;
    bool done = false;
    std::unique_ptr<Multi> multi;
    std::unique_ptr<Deferred> deferred;
  };

  void Dispatch(std::span<const std::string_view> args, std::string_view raw);
  // Routes a key command into slot `seq` (a new slot when nullopt).
  void Route(const CommandInfo& info, std::span<const std::string_view> args, std::string_view raw,
             std::optional<uint64_t> seq);
  // Which ring a command is routed on: the table's (back ends by index), or
  // a moving key's old ring (back ends by address).
  struct RingView {
    const ring::Ring* ring;
    const std::vector<Backend>* backends;  // null: the table's, through Worker::ConnFor(index)
  };
  BackendConn& ConnOf(const RingView& v, uint32_t owner);
  void Forward(BackendConn& b, std::string_view raw, std::span<const std::string_view> args,
               std::optional<uint64_t> seq);
  // Replication >= 2: the command to its key's first live replica, with a
  // Retry; a split command always as a Multi, so each part can fail over.
  void SendToReplicas(CommandKind kind, std::span<const std::string_view> args,
                      std::string_view raw, std::optional<uint64_t> seq);
  // Sends `args` (argv[0] and key groups) split by the first live replica in
  // `table` of each key not in `tried`, as new parts of slot `seq`'s Multi; for MGET,
  // `groups[j]` is the Multi::where entry of the j-th key group. False (and
  // nothing sent) when some key has no replica left.
  bool SendParts(const RouteTable& table, uint64_t seq, std::span<const std::string_view> args,
                 const std::vector<std::string>& tried, std::span<const uint32_t> groups);
  void SplitAndSend(CommandKind kind, std::span<const std::string_view> args, std::string_view raw,
                    size_t step, std::optional<uint64_t> seq, const RingView& view);
  // A read-only command whose keys all moved between ringkv nodes' rings is
  // read from their old owners; false when that does not apply.
  bool ReadFromOldOwners(const CommandInfo& info, std::span<const std::string_view> args,
                         std::string_view raw);
  void FanOut(std::string_view command);
  // Sends the MIGRATEs a command's keys need before it runs (RouteTable::
  // moves); false when none of its keys is moving.
  bool MoveKeysFirst(const CommandInfo& info, std::span<const std::string_view> args);
  void OnMoved(uint64_t seq, std::string_view reply);
  void Complete(uint64_t seq, std::string_view reply);
  void AddReady(std::string_view reply);
  void AddError(std::string_view reply);
  uint64_t PushSlot();
  void DrainHead();
  void PublishCounts();  // the batch's counters into ProxyStats
  InfoFacts Facts() const;

  Worker& worker_;
  net::Connection* conn_;  // null once the connection closed
  LocalState local_;
  std::deque<Slot> slots_;
  uint64_t base_seq_ = 0;  // seq of slots_.front()
  uint64_t batch_commands_ = 0;
  uint64_t batch_errors_ = 0;
};

struct Worker {
  asio::io_context io{1};  // first: destroyed last
  ProxyContext* ctx = nullptr;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;

  RouteTablePtr table;                 // the table of the current client batch
  std::vector<BackendConn*> by_index;  // table->backends[i] -> connection (lazily)
  std::unordered_map<std::string, std::unique_ptr<BackendConn>> backends;  // by addr
  net::EventLoop* clients = nullptr;  // this thread's loop of client connections
  std::optional<asio::posix::stream_descriptor> epoll_watch;  // a dup of its epoll fd

  // Runs this worker's thread: the io_context, with `loop` embedded.
  void Run(net::EventLoop& loop);
  // Waits (through Asio) for the clients' loop, then lets it handle events.
  void WatchClients();

  std::vector<BackendConn*> dirty_backends;
  std::vector<std::shared_ptr<ClientConn>> dirty_clients;
  bool flush_posted = false;
  bool retire_posted = false;
  bool stopping = false;  // set by CloseAll: back-end connections are shut down

  // Loads the current table; returns it (may be null). Connections to back
  // ends that left the table are retired later, from the event loop
  // (RetireUnlisted): Refresh runs inside reply handlers too (a command
  // re-routed after its keys moved), where the connection delivering the
  // reply is still on the stack.
  const RouteTable* Refresh();
  void RetireUnlisted();
  BackendConn& ConnFor(uint32_t backend_index);
  BackendConn& ConnFor(const Backend& backend);  // by address, for back ends outside the table
  // A request failed on `addr`: with replication >= 2 later requests skip it
  // until the health checker sees it answer (RouteTable::suspects).
  void MarkSuspect(const std::string& addr);
  void MarkDirty(BackendConn& b);
  void MarkDirty(std::shared_ptr<ClientConn> c);
  void ScheduleFlush();
  void RunFlush();
  void CloseAll();  // on this worker's thread, when its loop quits
};

}  // namespace ringkv::router::internal
