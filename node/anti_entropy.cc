#include "node/anti_entropy.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "net/grpc_client.h"
#include "node/repair/scan_pacer.h"
#include "node/repair_client.h"

namespace ringkv::node {
namespace {

// Most buckets a peer may ask for: kMaxBucketBits' worth.
constexpr size_t kMaxBucketsPerCall = size_t{1} << kMaxBucketBits;

void AddCounts(RepairTotals& t, const PairRepairResult& r) {
  t.buckets_compared += r.buckets_compared;
  t.buckets_differing += r.buckets_differing;
  t.keys_pushed += r.keys_pushed;
  t.keys_pulled += r.keys_pulled;
  t.bytes += r.bytes;
}

// A peer whose exchange failed is tried again after this long.
constexpr int64_t kRetryAfterMs = 5000;
// A peer that returns from down again soon after an exchange waits this
// long for the next one, so a flapping peer does not cost a pass each time.
constexpr int64_t kReturnGapMs = 10000;

// The deadline of a call that makes the peer scan: its store may be about
// as large as this one, scanned at most scan_keys_per_sec.
uint32_t ScanTimeoutMs(const store::Engine& engine, const AntiEntropyOptions& o) {
  uint64_t ms = uint64_t{o.peer_timeout_ms} + 60000;
  if (o.scan_keys_per_sec > 0) ms += 2 * engine.Stats().keys * 1000 / o.scan_keys_per_sec;
  return static_cast<uint32_t>(std::min<uint64_t>(ms, uint64_t{3600} * 1000));
}

// The bits of this node's scan: fine enough for every pair, as no pair
// shares more keys than the store holds.
uint32_t ScanBits(const store::Engine& engine) {
  const store::EngineStats st = engine.Stats();
  return BucketBitsFor(st.keys + st.tombstones);
}

}  // namespace

AntiEntropy::AntiEntropy(ClusterView& view, store::Engine& engine, HybridClock& hlc,
                         ForwardLink& link, PeerChannels& peers, Replication& replication,
                         const Clock& clock, const std::string& self_id, AntiEntropyOptions options)
    : view_(view),
      engine_(engine),
      hlc_(hlc),
      link_(link),
      peers_(peers),
      replication_(replication),
      clock_(clock),
      self_id_(self_id),
      options_(options) {}

void AntiEntropy::Start() {
  task_.Start(std::chrono::milliseconds(options_.tick_ms), [this] {
    Tick();
    return true;
  });
}

bool AntiEntropy::Request(bool split) {
  MutexLock lock(mu_);
  // A request without split covers more pairs than one with it.
  pending_.split = pending_.requested ? pending_.split && split : split;
  pending_.requested = true;
  const bool running = current_.has_value();
  task_.Wake();
  return running;
}

RepairStatus AntiEntropy::Progress() const {
  MutexLock lock(mu_);
  return RepairStatus{.id = self_id_,
                      .interval_s = options_.interval_s,
                      .totals = totals_,
                      .current = current_,
                      .last = last_};
}

bool AntiEntropy::BelievedDown(const ClusterSnapshot& view, uint32_t peer) const {
  return view.MarkedDown(peer) || replication_.IsSuspect(view.ring->nodes()[peer].id);
}

std::vector<uint32_t> AntiEntropy::PeersOf(const ClusterSnapshot& view, bool split) const {
  if (view.ring == nullptr || view.self == ring::kNoNode) return {};
  return ReplicaSet{*view.ring, view.self, view.replication}.Peers(split);
}

void AntiEntropy::Tick() {
  std::shared_ptr<const ClusterSnapshot> view = view_.Snapshot();
  const int64_t now = clock_.NowMs();
  const bool automatic = options_.interval_s > 0;
  const bool mapped = view->epoch > 0 && view->ring != nullptr && view->self != ring::kNoNode;
  Pending pending;
  bool periodic = false;
  std::vector<uint32_t> returned;
  {
    MutexLock lock(mu_);
    for (std::string& id : replication_.TakeSuspected()) owed_.try_emplace(std::move(id), 0);
    pending = std::exchange(pending_, Pending{});
    if (mapped && automatic) {
      const int64_t period_ms = int64_t{options_.interval_s} * 1000;
      if (next_periodic_ms_ == 0) next_periodic_ms_ = now + period_ms;
      if (now >= next_periodic_ms_) {
        periodic = true;
        next_periodic_ms_ = now + period_ms;
      }
      returned = ReturnedPeers(*view, now);
    }
  }
  if (pending.requested) {
    RunPass(RepairTrigger::kRequest, PeersOf(*view, pending.split), *view);
  } else if (periodic) {
    RunPass(RepairTrigger::kPeriodic, PeersOf(*view, /*split=*/true), *view);
  } else if (!returned.empty()) {
    RunPass(RepairTrigger::kReturn, returned, *view);
  }
}

std::vector<uint32_t> AntiEntropy::ReturnedPeers(const ClusterSnapshot& view, int64_t now) {
  for (uint32_t i = 0; i < view.ring->size(); ++i) {
    if (i != view.self && view.MarkedDown(i)) owed_.try_emplace(view.ring->nodes()[i].id, 0);
  }
  std::vector<uint32_t> out;
  for (auto it = owed_.begin(); it != owed_.end();) {
    const uint32_t index = view.ring->IndexOf(it->first);
    if (index == ring::kNoNode || index == view.self) {  // not a peer any more
      it = owed_.erase(it);
      continue;
    }
    const auto ok = compared_ms_.find(it->first);
    const int64_t not_before =
        std::max(it->second, ok == compared_ms_.end() ? 0 : ok->second + kReturnGapMs);
    if (now >= not_before && !BelievedDown(view, index)) out.push_back(index);
    ++it;
  }
  return out;
}

void AntiEntropy::RunPass(RepairTrigger trigger, const std::vector<uint32_t>& peers,
                          const ClusterSnapshot& view) {
  RepairPassStatus pass;
  pass.trigger = trigger;
  pass.epoch = view.epoch;
  pass.started_ms = clock_.NowMs();
  for (uint32_t p : peers) pass.peers.push_back({.peer = view.ring->nodes()[p].id});
  {
    MutexLock lock(mu_);
    current_ = pass;
  }
  if (peers.empty()) return Finish();
  spdlog::info("anti-entropy: {} pass with {} peer(s) at epoch {}", RepairTriggerName(trigger),
               peers.size(), view.epoch);
  const ReplicaSet replicas{*view.ring, view.self, view.replication};
  ScanPacer scan(options_.scan_keys_per_sec, options_.yield);
  StatusOr<std::vector<PairDigests>> digests =
      ScanDigests(engine_, replicas, peers, ScanBits(engine_), clock_.NowMs(), &scan);
  ScanPacer repair(options_.max_keys_per_sec, std::chrono::microseconds(0));
  for (size_t i = 0; i < peers.size() && !task_.stopping(); ++i) {
    if (!digests.ok()) {
      MutexLock lock(mu_);
      current_->peers[i].error = "scanning this node's store: " + digests.status().message();
      continue;
    }
    RunPeer(view, replicas, (*digests)[i], i, repair);
  }
  Finish();
}

void AntiEntropy::Finish() {
  MutexLock lock(mu_);
  current_->finished_ms = clock_.NowMs();
  for (const PeerRepairStatus& p : current_->peers) {
    AddCounts(totals_, p.result);
    totals_.errors += p.error.empty() ? 0 : 1;
  }
  ++totals_.passes;
  replication_.counters().repair_passes.fetch_add(1, std::memory_order_relaxed);
  const PairRepairResult t = current_->Totals();
  if (!current_->peers.empty()) {
    spdlog::info(
        "anti-entropy: {} pass done in {} ms: {} of {} buckets differed, {} keys pushed, "
        "{} pulled, {} bytes",
        RepairTriggerName(current_->trigger), current_->finished_ms - current_->started_ms,
        t.buckets_differing, t.buckets_compared, t.keys_pushed, t.keys_pulled, t.bytes);
  }
  last_ = std::move(current_);
  current_.reset();
}

ringkv::Status AntiEntropy::Probe(ringkv::v1::Peer::Stub& stub) const {
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, options_.peer_timeout_ms);
  ringkv::v1::StatusRequest req;
  ringkv::v1::StatusReply reply;
  return net::FromGrpc(stub.Status(&ctx, req, &reply), "Status");
}

void AntiEntropy::RunPeer(const ClusterSnapshot& view, const ReplicaSet& replicas,
                          const PairDigests& mine, size_t slot, ScanPacer& repair) {
  const uint32_t peer = mine.peer;
  const std::string& id = view.ring->nodes()[peer].id;
  auto fail = [&](const ringkv::Status& s) {
    MutexLock lock(mu_);
    current_->peers[slot].error = s.message();
    owed_[id] = clock_.NowMs() + kRetryAfterMs;
    spdlog::warn("anti-entropy with {}: {}; compared again later", id, s.message());
  };
  if (BelievedDown(view, peer)) {
    return fail(Unavailable("believed down; compared with when it answers again"));
  }
  std::shared_ptr<ringkv::v1::Peer::Stub> stub = peers_.Stub(view.grpc_addrs[peer]);
  if (ringkv::Status s = Probe(*stub); !s.ok()) {
    replication_.Suspect(id);
    return fail(s);
  }
  RepairClient client(stub, link_, view, peer, self_id_,
                      {.timeout_ms = options_.peer_timeout_ms,
                       .scan_timeout_ms = ScanTimeoutMs(engine_, options_)});
  ScanPacer scan(options_.scan_keys_per_sec, options_.yield);
  const PairRepairContext ctx{.engine = engine_,
                              .hlc = hlc_,
                              .clock = clock_,
                              .replicas = replicas,
                              .peer = peer,
                              .scan = &scan,
                              .repair = &repair,
                              .options = {}};
  StatusOr<PairRepairResult> r = RepairPair(ctx, mine, client, [&](const PairRepairResult& p) {
    MutexLock lock(mu_);
    current_->peers[slot].result = p;
  });
  const PairRepairResult done = r.ok() ? *r : PairRepairResult{};
  {
    MutexLock lock(mu_);
    PeerRepairStatus& st = current_->peers[slot];
    if (r.ok()) st.result = done;
    st.result.bytes = client.bytes();
    st.done = r.ok();
    ReplicationCounters& c = replication_.counters();
    c.repair_keys_pushed.fetch_add(st.result.keys_pushed, std::memory_order_relaxed);
    c.repair_keys_pulled.fetch_add(st.result.keys_pulled, std::memory_order_relaxed);
    c.repair_bytes.fetch_add(st.result.bytes, std::memory_order_relaxed);
    if (r.ok()) {
      owed_.erase(id);
      compared_ms_[id] = clock_.NowMs();
    }
  }
  if (!r.ok()) fail(r.status());
}

StatusOr<std::shared_ptr<const ClusterSnapshot>> AntiEntropy::CheckRequest(std::string_view from_id,
                                                                           uint64_t epoch,
                                                                           uint32_t bits,
                                                                           uint32_t* from) const {
  std::shared_ptr<const ClusterSnapshot> view = view_.Snapshot();
  if (view->epoch == 0 || view->ring == nullptr || view->self == ring::kNoNode) {
    return FailedPrecondition("this node holds no cluster map with itself in the ring");
  }
  if (view->epoch != epoch) {
    return FailedPrecondition("map epoch " + std::to_string(view->epoch) + " here, " +
                              std::to_string(epoch) + " there: compare once both hold one map");
  }
  if (bits < 1 || bits > kMaxBucketBits) {
    return InvalidArgument("bucket_bits must be in [1, " + std::to_string(kMaxBucketBits) + "]");
  }
  *from = view->ring->IndexOf(from_id);
  if (*from == ring::kNoNode || *from == view->self) {
    return NotFound("'" + std::string(from_id) + "' is not another node of this ring");
  }
  return view;
}

ringkv::Status AntiEntropy::ServeDigests(const ringkv::v1::RepairDigestsRequest& req,
                                         ringkv::v1::RepairDigestsReply& reply) {
  uint32_t from = 0;
  auto view = CheckRequest(req.from_id(), req.epoch(), req.bucket_bits(), &from);
  if (!view.ok()) return view.status();
  const ReplicaSet replicas{*(*view)->ring, (*view)->self, (*view)->replication};
  ScanPacer scan(options_.scan_keys_per_sec, options_.yield);
  StatusOr<std::vector<PairDigests>> d =
      ScanDigests(engine_, replicas, std::span(&from, 1), req.bucket_bits(), clock_.NowMs(), &scan);
  if (!d.ok()) return d.status();
  reply.mutable_digests()->Add((*d)[0].sums.begin(), (*d)[0].sums.end());
  reply.set_keys((*d)[0].keys);
  return OkStatus();
}

ringkv::Status AntiEntropy::ServeKeys(const ringkv::v1::RepairKeysRequest& req,
                                      ringkv::v1::RepairKeysReply& reply) {
  uint32_t from = 0;
  auto view = CheckRequest(req.from_id(), req.epoch(), req.bucket_bits(), &from);
  if (!view.ok()) return view.status();
  if (static_cast<size_t>(req.buckets_size()) > kMaxBucketsPerCall) {
    return InvalidArgument("at most " + std::to_string(kMaxBucketsPerCall) + " buckets per call");
  }
  std::vector<uint32_t> buckets(req.buckets().begin(), req.buckets().end());
  for (uint32_t b : buckets) {
    if (b >> req.bucket_bits() != 0) return InvalidArgument("bucket out of range");
  }
  const ReplicaSet replicas{*(*view)->ring, (*view)->self, (*view)->replication};
  ScanPacer scan(options_.scan_keys_per_sec, options_.yield);
  StatusOr<std::vector<KeyVersion>> keys =
      ScanBucketKeys(engine_, replicas, from, req.bucket_bits(), buckets, clock_.NowMs(), &scan);
  if (!keys.ok()) return keys.status();
  for (KeyVersion& k : *keys) {
    ringkv::v1::RepairKey* out = reply.add_keys();
    out->set_key(std::move(k.key));
    out->set_version(k.version);
    out->set_tombstone(k.tombstone);
    out->set_fingerprint(k.fingerprint);
  }
  return OkStatus();
}

}  // namespace ringkv::node
