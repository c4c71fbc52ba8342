// The proxy's I/O shell. Each Worker is one thread with its own io_context;
// it owns the client connections accepted onto it and its own connection to
// every back end it has used (one pipelined connection per back end per
// thread), so the request path takes no lock.
//
// Client sockets are not Asio sockets: Boost 1.74's reactor tries a read
// after every read (an EAGAIN recv per unpipelined request) or re-arms epoll
// per wait. Each worker keeps its clients in its own edge-triggered epoll set,
// read until a short read; Asio waits on that set's fd, once per round.
//
// Request path: a client read parses every complete command; a single-key
// command's raw bytes are appended to its owner's output buffer and a
// Pending{client, seq} is queued on that back end's FIFO. Touched back ends
// and clients are flushed once per event-loop round (one write each). A back
// end read frames replies with CompleteReplyLength and hands each to the head
// of its FIFO; the client writes replies in its own order.
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
#include <thread>
#include <unordered_map>
#include <vector>

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
  uint16_t port = 0;
  int64_t start_s = 0;  // steady clock, seconds
};

class ClientConn;
class BackendConn;
struct Worker;

inline constexpr uint32_t kWholeReply = UINT32_MAX;    // Pending::part of a plain command
inline constexpr uint32_t kMoveStep = UINT32_MAX - 1;  // Pending::part of a key move (MIGRATE)

// One command waiting for a back end's reply.
struct Pending {
  std::shared_ptr<ClientConn> client;
  uint64_t seq;   // the client's slot
  uint32_t part;  // index in a split command, or kWholeReply
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
  void StartRead();
  void OnRead(uint64_t gen, const boost::system::error_code& ec, size_t n);
  bool DeliverReplies();  // false if the connection failed
  void OnWritten(uint64_t gen, const boost::system::error_code& ec);
  void ArmTimer();
  void OnTimer(uint64_t gen);
  // Answers every pending command with -ERR and resets the connection.
  void Fail(const std::string& reason, bool count_failure);

  Worker& worker_;
  std::string addr_;
  std::string host_;
  uint16_t port_;
  tcp::socket socket_;
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
  uint32_t swallow_ = 0;  // replies to our own AUTH still to come
  bool timer_armed_ = false;
  Clock::time_point connect_started_;
  Clock::time_point last_progress_;  // last reply, or when the FIFO became non-empty
  Clock::time_point retry_after_;
  std::string last_error_;
};

class ClientConn : public std::enable_shared_from_this<ClientConn> {
 public:
  ClientConn(Worker& worker, int fd, uint64_t id);  // takes the non-blocking fd
  void Start();
  void OnEvents(uint32_t events);  // from the worker's epoll set
  void Close();                    // now, dropping unsent replies
  // A back end's reply (or the proxy's -ERR) for slot `seq`.
  void OnReply(uint64_t seq, uint32_t part, std::string_view reply);
  // Writes the replies ready in order (called once per event-loop round).
  void FlushOut();

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

  void ReadNow();
  void OnReadError(bool eof);
  void ContinueWrite();
  void Process();
  void ExecuteBuffered();
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
  void AfterWrite();
  void MaybeFinish();
  void MakeRoom();
  InfoFacts Facts() const;

  Worker& worker_;
  int fd_;
  uint64_t id_;
  LocalState local_;
  net::resp::RequestParser parser_;
  std::vector<char> rbuf_;
  size_t start_ = 0;
  size_t end_ = 0;
  std::deque<Slot> slots_;
  uint64_t base_seq_ = 0;  // seq of slots_.front()
  std::string out_;
  std::string wbuf_;  // a partial write's rest, waiting for EPOLLOUT
  size_t woff_ = 0;
  bool writing_ = false;
  bool paused_ = false;   // too much outstanding: stop reading until it drains
  bool closing_ = false;  // QUIT, EOF or protocol error: finish replies, then close
  bool closed_ = false;
  uint64_t batch_commands_ = 0;
  uint64_t batch_errors_ = 0;
};

struct Worker {
  asio::io_context io{1};  // first: destroyed last
  ProxyContext* ctx = nullptr;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;

  RouteTablePtr table;                 // the table of the current client batch
  std::vector<BackendConn*> by_index;  // table->backends[i] -> connection (lazily)
  std::unordered_map<std::string, std::unique_ptr<BackendConn>> backends;  // by addr
  std::unordered_map<uint64_t, std::shared_ptr<ClientConn>> clients;       // owns open clients
  std::vector<std::shared_ptr<ClientConn>> closed;  // freed after the current round
  int epfd = -1;                                    // clients' epoll set
  std::optional<asio::posix::stream_descriptor> epoll_watch;

  // Waits (through Asio) for the clients' epoll set, then dispatches events.
  void WatchClients();
  void PollClients();

  std::vector<BackendConn*> dirty_backends;
  std::vector<std::shared_ptr<ClientConn>> dirty_clients;
  bool flush_posted = false;
  bool retire_posted = false;
  bool stopping = false;  // set by CloseAll: connections handed over later are dropped

  // Loads the current table; returns it (may be null). Connections to back
  // ends that left the table are retired later, from the event loop
  // (RetireUnlisted): Refresh runs inside reply handlers too (a command
  // re-routed after its keys moved), where the connection delivering the
  // reply is still on the stack.
  const RouteTable* Refresh();
  void RetireUnlisted();
  BackendConn& ConnFor(uint32_t backend_index);
  BackendConn& ConnFor(const Backend& backend);  // by address, for back ends outside the table
  void MarkDirty(BackendConn& b);
  void MarkDirty(std::shared_ptr<ClientConn> c);
  void ScheduleFlush();
  void RunFlush();
  void CloseAll();  // on this worker's thread
};

}  // namespace ringkv::router::internal
