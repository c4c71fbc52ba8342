// LinkWindow: the sender's bookkeeping for one peer link — requests queued,
// requests in flight (by sequence number), and the bounds on both
// (docs/dht.md, "The peer link"):
//  - at most `window` requests and `window_bytes` bytes are in flight (sent,
//    not answered); the rest queue, oldest first;
//  - at most `window` + `queue` requests (`window_bytes` + `queue_bytes`
//    bytes) are admitted at once; Admit refuses beyond, so a slow or
//    unreachable peer costs bounded memory;
//  - a request larger than the bounds is still admitted (and sent) when
//    nothing else waits, so every request can make progress.
// Fill moves queued requests into flight as batches of one epoch each;
// Complete matches a reply to its request by sequence number, in any order.
//
// Pure: no sockets, no threads, no clock (times are arguments).
// Thread safety: none; one owner (the link's loop thread).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace ringkv::node {

// What a peer answered to one request sent over a link, or why it did not.
struct LinkReply {
  // OK: `reply` holds the peer's answer. Otherwise the request failed:
  // kUnavailable (no link, or it broke; a request that was sent may have
  // run), kDeadlineExceeded (no reply in time; it may have run),
  // kResourceExhausted (the queue is full; it did not run), kUnimplemented
  // (the peer has no link listener, an older ringkv; it did not run).
  Status status;
  std::string reply;     // one whole RESP2 reply
  uint64_t epoch = 0;    // the peer's map epoch when it answered
  std::string map_json;  // the peer's map, with a -MOVED when newer than the request's epoch
  // kUnimplemented: the request as encoded (EncodeLinkRequest; it never
  // left this node), so the caller can send it another way.
  std::string unsent;
};

// Called once per request with its outcome.
using LinkCallback = std::function<void(LinkReply reply)>;

struct LinkRequest {
  uint64_t epoch = 0;       // the map epoch the request was placed with
  std::string body;         // EncodeLinkRequest's body
  uint32_t bulks = 0;       // ... and its bulk count
  int64_t deadline_ms = 0;  // on the caller's clock; non-decreasing in the order of Admit
  LinkCallback done;
};

struct LinkLimits {
  uint32_t window = 1024;               // requests in flight
  uint64_t window_bytes = 16ull << 20;  // request bytes in flight
  uint32_t queue = 16384;               // requests waiting beyond the window
  uint64_t queue_bytes = 64ull << 20;   // request bytes waiting beyond the window
};

class LinkWindow {
 public:
  explicit LinkWindow(LinkLimits limits) : limits_(limits) {}

  // Queues `r` behind the others, taking it; returns false (leaving `r`
  // as it was) when the bounds are reached.
  bool Admit(LinkRequest& r);
  // Whether `count` more requests of `bytes` in all would go into flight
  // together now: nothing is queued and the window has room for them all.
  bool Fits(size_t count, uint64_t bytes) const {
    return queue_.empty() && inflight_count_ + count <= limits_.window &&
           inflight_bytes_ + bytes <= limits_.window_bytes;
  }
  // Moves queued requests into flight while the window has room, oldest
  // first, appending them to `out` as batches (one per run of requests of
  // one epoch). A batch's deadline is its first request's, plus
  // `unix_offset_ms` (Unix ms minus the caller's clock) for the receiver.
  // Returns how many it moved.
  size_t Fill(std::string& out, int64_t unix_offset_ms);
  // The request in flight with `seq`, which leaves the window: its callback
  // (empty when there is none: it expired, or was failed) and deadline.
  struct Completed {
    LinkCallback done;
    int64_t deadline_ms = 0;
  };
  Completed Complete(uint64_t seq);
  // Removes the requests whose deadline is <= now_ms (in flight, then
  // queued) and returns their callbacks, oldest first.
  std::vector<LinkCallback> Expire(int64_t now_ms);
  // Removes every request in flight / queued, oldest first: the callbacks
  // of those in flight, the requests queued.
  std::vector<LinkCallback> TakeInflight();
  std::vector<LinkRequest> TakeQueued();

  size_t inflight() const { return inflight_count_; }
  size_t queued() const { return queue_.size(); }
  uint64_t inflight_bytes() const { return inflight_bytes_; }
  uint64_t queued_bytes() const { return queued_bytes_; }
  // The sequence number the next request sent will get (they start at 1).
  uint64_t next_seq() const { return base_seq_ + slots_.size(); }

 private:
  struct Slot {
    LinkCallback done;  // empty once answered, expired or failed
    uint64_t bytes = 0;
    int64_t deadline_ms = 0;
  };
  void PopAnswered();
  bool WindowFull(uint64_t next_bytes) const;

  LinkLimits limits_;
  std::deque<LinkRequest> queue_;
  uint64_t queued_bytes_ = 0;
  std::deque<Slot> slots_;  // slots_[i] has seq base_seq_ + i
  uint64_t base_seq_ = 1;
  size_t inflight_count_ = 0;
  uint64_t inflight_bytes_ = 0;
};

}  // namespace ringkv::node
