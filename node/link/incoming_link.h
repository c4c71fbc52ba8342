// IncomingLink: the receiving side of a peer link (docs/dht.md, "The peer
// link"), the net::RequestHandler of one connection accepted by the link
// listener. After the hello (token checked) every request is a batch; each
// command in it runs as today's Peer/Forward does: as an internal
// authenticated session marked forwarded, so it is never forwarded again
// (a key this node does not own answers -MOVED, with this node's map when
// newer than the batch's epoch). A batch whose epoch is newer than this
// node's map waits (the connection pauses) until the sender's map has been
// fetched on the worker pool. A batch that is run after its deadline (it
// waited in a stalled node's socket; the sender has given up on it) runs
// none of its commands: each answers -TRYAGAIN.
//
// Replies go out tagged with their sequence number as soon as they are
// ready: a command that must wait (one that calls a migration peer runs on
// the peer-work pool, or one that waits for its replicas; reply deferred)
// answers later without holding up the commands behind it — except those
// on one of its keys, which wait for it in arrival order (KeyOrder).
//
// Thread safety: runs on the link listener's loop thread; deferred replies
// come back to it through the connection's mailbox.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/worker_pool.h"
#include "net/connection_loop.h"
#include "node/commands/dispatcher.h"
#include "node/link/key_order.h"
#include "node/link/link_frame.h"
#include "node/view/cluster_counters.h"
#include "node/view/cluster_view.h"

namespace ringkv::node {

// What every incoming link of a node uses. Not owned; all outlive the links.
struct IncomingLinkContext {
  Dispatcher* dispatcher = nullptr;
  ClusterView* view = nullptr;
  ClusterCounters* counters = nullptr;
  // Fetches the map of the node at a gRPC address and installs it when
  // newer. Blocks: runs on `pool`.
  std::function<void(const std::string& grpc_addr)> refresh;
  WorkerPool* pool = nullptr;
  // Wall time, against the batches' deadlines (Unix ms).
  const Clock* clock = nullptr;
  // This node's id, for the replies to late batches.
  std::function<std::string()> self_id;
};

class IncomingLink final : public net::RequestHandler {
 public:
  // `token`: what a hello must carry. Both outlive the handler.
  IncomingLink(const IncomingLinkContext& ctx, const std::string& token);
  ~IncomingLink() override;

  void OnRequest(net::Connection& conn, std::span<const std::string_view> args,
                 std::string_view raw) override;
  bool AwaitingReplies() const override { return deferred_ > 0 || !waiting_.empty(); }

 private:
  void OnHello(net::Connection& conn, std::span<const std::string_view> args);
  void RunBatch(net::Connection& conn, const LinkBatch& batch);
  // Runs one command; true when its reply is deferred.
  bool RunOne(net::Connection& conn, std::span<const std::string_view> args, uint64_t seq,
              uint64_t batch_epoch, uint64_t epoch);
  void RunReady(net::Connection& conn, std::vector<uint64_t> ready);
  bool Late(int64_t deadline_unix_ms) const;
  std::string LateReply() const;
  // The completion of request `seq`'s reply, deferred by the command path.
  ReplyCompletion Defer(net::Connection& conn, uint64_t seq, uint64_t batch_epoch);
  void AppendFrame(std::string& out, uint64_t seq, uint64_t batch_epoch, uint64_t epoch,
                   std::string_view reply);
  void Refuse(net::Connection& conn, std::string_view message);

  const IncomingLinkContext& ctx_;
  const std::string& token_;
  bool hello_ = false;
  std::string from_id_;
  std::string from_grpc_;
  Session session_;  // forwarded, authenticated; its defer takes current_'s reply
  struct Running {
    net::Connection* conn = nullptr;
    uint64_t seq = 0;
    uint64_t batch_epoch = 0;
    bool deferred = false;
  } current_;              // the command RunBatch is running
  std::string scratch_;    // one command's reply
  uint64_t deferred_ = 0;  // replies the command path still owes
  KeyOrder order_;         // deferred commands' keys, and who waits for them
  struct OwnedArgs;
  struct Waiting {
    std::unique_ptr<OwnedArgs> args;
    uint64_t batch_epoch = 0;
    int64_t deadline_unix_ms = 0;
  };
  std::unordered_map<uint64_t, Waiting> waiting_;  // by seq
  uint64_t map_sent_epoch_ = 0;                    // the newest map sent back on this link
  uint64_t refreshed_for_ = 0;  // the newest batch epoch a map fetch was made for
};

}  // namespace ringkv::node
