// ForwardLink: how a node runs a command on the owner of its keys (any node
// serves any key, in one hop: docs/design.md "Placement and forwarding"). The
// command path decides where keys live (ClusterSnapshot::PlaceOf); this interface carries the
// command there, so that logic is tested without a network. The node's implementation
// (node/forwarder.h) sends over the peer links (node/link/peer_links.h).
//
// Thread safety: implementations must allow concurrent calls.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace ringkv::node {

class ClusterSnapshot;

class ForwardLink {
 public:
  enum class Outcome : uint8_t {
    kDone,   // `out` holds the owner's reply (or an error naming the failure)
    kRetry,  // the owner holds a newer map and this node installed it: place the keys again
  };

  virtual ~ForwardLink() = default;

  // Runs `args` (a whole command, name first) on ring node `owner` of `view`
  // and appends its RESP2 reply to `out`.
  virtual Outcome Forward(const ClusterSnapshot& view, uint32_t owner,
                          std::span<const std::string_view> args, std::string& out) = 0;

  // What Forward returns and the reply it would append.
  using Done = std::function<void(Outcome outcome, std::string reply)>;

  // Forward without waiting for the owner: `done` is called once, on any
  // thread (possibly before this returns). `args` and `view` need to live for
  // this call only. This default runs Forward and then `done`.
  //
  // `done` may run on the thread that carries every forward of the node (the
  // peer links'): it must not wait, least of all for another forward. With
  // Outcome::kRetry it runs where waiting is allowed, so it may place the
  // command again and forward it synchronously.
  virtual void ForwardAsync(const ClusterSnapshot& view, uint32_t owner,
                            std::span<const std::string_view> args, Done done) {
    std::string out;
    const Outcome outcome = Forward(view, owner, args, out);
    done(outcome, std::move(out));
  }

  // ForwardAsync may keep what an event loop's thread sends until the end
  // of the loop's round, to send it all at once. A caller that waits for a
  // `done` on the thread that called ForwardAsync calls this first.
  virtual void SendPending() {}
};

}  // namespace ringkv::node
