#include "node/repair/pair_repair.h"

#include <algorithm>
#include <bit>

#include "node/repair/scan_pacer.h"

namespace ringkv::node {
namespace {

// Sends this node's current entry of each key in `keys` to the peer.
Status PushKeys(const PairRepairContext& ctx, std::span<const std::string> keys, RepairPeer& peer,
                PairRepairResult& r) {
  std::vector<std::pair<std::string, ReplicaEntry>> batch;
  const int64_t now = ctx.clock.NowMs();
  for (const std::string& key : keys) {
    if (std::optional<ReplicaEntry> e = PeekLocal(ctx.engine, key, now)) {
      batch.emplace_back(key, std::move(*e));
    }
  }
  if (batch.empty()) return OkStatus();
  StatusOr<uint64_t> kept = peer.Push(batch);
  if (!kept.ok()) return kept.status();
  r.keys_pushed += *kept;
  if (ctx.repair != nullptr) ctx.repair->Tick(batch.size());
  return OkStatus();
}

// Fetches the peer's entry of each key in `keys` and keeps the newer here.
Status PullKeys(const PairRepairContext& ctx, std::span<const std::string> keys, RepairPeer& peer,
                PairRepairResult& r) {
  StatusOr<std::vector<std::optional<ReplicaEntry>>> got = peer.Pull(keys);
  if (!got.ok()) return got.status();
  if (got->size() != keys.size())
    return Status(StatusCode::kUnknown, "repair: the peer answered a short pull");
  const int64_t now = ctx.clock.NowMs();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!(*got)[i]) continue;
    bool installed = false;
    if (Status s = InstallIfNewer(ctx.engine, ctx.hlc, keys[i], *(*got)[i], now, &installed);
        !s.ok()) {
      return s;
    }
    if (installed) ++r.keys_pulled;
  }
  if (ctx.repair != nullptr) ctx.repair->Tick(keys.size());
  return OkStatus();
}

// Settles the keys of `buckets`: lists both sides, pushes, pulls.
Status SettleBuckets(const PairRepairContext& ctx, std::span<const uint32_t> buckets,
                     RepairPeer& peer, PairRepairResult& r) {
  StatusOr<std::vector<KeyVersion>> mine = ScanBucketKeys(
      ctx.engine, ctx.replicas, ctx.peer, r.bits, buckets, ctx.clock.NowMs(), ctx.scan);
  if (!mine.ok()) return mine.status();
  StatusOr<std::vector<KeyVersion>> theirs = peer.Keys(r.bits, buckets);
  if (!theirs.ok()) return theirs.status();
  const KeyDiff diff = DiffKeys(*mine, *theirs);
  const size_t step = std::max<size_t>(ctx.options.batch_keys, 1);
  for (size_t i = 0; i < diff.push.size(); i += step) {
    const size_t n = std::min(step, diff.push.size() - i);
    if (Status s = PushKeys(ctx, std::span(diff.push).subspan(i, n), peer, r); !s.ok()) return s;
  }
  for (size_t i = 0; i < diff.pull.size(); i += step) {
    const size_t n = std::min(step, diff.pull.size() - i);
    if (Status s = PullKeys(ctx, std::span(diff.pull).subspan(i, n), peer, r); !s.ok()) return s;
  }
  return OkStatus();
}

}  // namespace

StatusOr<PairRepairResult> RepairPair(const PairRepairContext& ctx, const PairDigests& mine,
                                      RepairPeer& peer,
                                      FunctionRef<void(const PairRepairResult&)> progress) {
  PairRepairResult r;
  r.shared_keys = mine.keys;
  const auto mine_bits = static_cast<uint32_t>(std::bit_width(mine.sums.size()) - 1);
  r.bits = std::min(BucketBitsFor(mine.keys), mine_bits);
  const uint64_t bytes_before = peer.bytes();
  auto report = [&] {
    r.bytes = peer.bytes() - bytes_before;
    progress(r);
  };
  StatusOr<PairDigests> theirs = peer.Digests(r.bits);
  if (theirs.ok() && BucketBitsFor(theirs->keys) > r.bits) {
    // The peer holds many more: finer buckets keep each key list short.
    r.bits = BucketBitsFor(theirs->keys);
    theirs = peer.Digests(r.bits);
  }
  if (!theirs.ok()) return theirs.status();
  if (theirs->sums.size() != (size_t{1} << r.bits)) {
    return Status(StatusCode::kUnknown, "repair: the peer answered " +
                                            std::to_string(theirs->sums.size()) + " digests for " +
                                            std::to_string(size_t{1} << r.bits) + " buckets");
  }
  std::vector<uint64_t> local;
  if (r.bits <= mine_bits) {
    local = Fold(mine.sums, r.bits);
  } else {  // this side holds few keys of the pair: scanning them again is cheap
    StatusOr<std::vector<PairDigests>> again = ScanDigests(
        ctx.engine, ctx.replicas, std::span(&ctx.peer, 1), r.bits, ctx.clock.NowMs(), ctx.scan);
    if (!again.ok()) return again.status();
    local = std::move((*again)[0].sums);
  }
  const std::vector<uint32_t> differing = DifferingBuckets(local, theirs->sums);
  r.buckets_compared = uint64_t{1} << r.bits;
  r.buckets_differing = differing.size();
  report();
  const uint64_t keys_per_bucket =
      std::max<uint64_t>(std::max(mine.keys, theirs->keys) >> r.bits, 1);
  const size_t step = std::clamp<size_t>(ctx.options.keys_per_call / keys_per_bucket, 1,
                                         std::max<size_t>(ctx.options.buckets_per_call, 1));
  for (size_t i = 0; i < differing.size(); i += step) {
    const size_t n = std::min(step, differing.size() - i);
    Status s = SettleBuckets(ctx, std::span(differing).subspan(i, n), peer, r);
    report();
    if (!s.ok()) return s;
  }
  return r;
}

}  // namespace ringkv::node
