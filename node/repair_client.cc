#include "node/repair_client.h"

#include <charconv>

#include "net/grpc_client.h"

namespace ringkv::node {

RepairClient::RepairClient(std::shared_ptr<ringkv::v1::Peer::Stub> stub, ForwardLink& link,
                           const ClusterSnapshot& view, uint32_t peer, const std::string& self_id,
                           RepairClientOptions options)
    : stub_(std::move(stub)),
      link_(link),
      view_(view),
      peer_(peer),
      self_id_(self_id),
      options_(options) {}

StatusOr<PairDigests> RepairClient::Digests(uint32_t bits) {
  ringkv::v1::RepairDigestsRequest req;
  req.set_from_id(self_id_);
  req.set_epoch(view_.epoch);
  req.set_bucket_bits(bits);
  ringkv::v1::RepairDigestsReply reply;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, options_.scan_timeout_ms);
  Status s = net::FromGrpc(stub_->RepairDigests(&ctx, req, &reply), "RepairDigests");
  bytes_ += req.ByteSizeLong() + reply.ByteSizeLong();
  if (!s.ok()) return s;
  PairDigests d;
  d.peer = peer_;
  d.keys = reply.keys();
  d.sums.assign(reply.digests().begin(), reply.digests().end());
  return d;
}

StatusOr<std::vector<KeyVersion>> RepairClient::Keys(uint32_t bits,
                                                     std::span<const uint32_t> buckets) {
  ringkv::v1::RepairKeysRequest req;
  req.set_from_id(self_id_);
  req.set_epoch(view_.epoch);
  req.set_bucket_bits(bits);
  for (uint32_t b : buckets) req.add_buckets(b);
  ringkv::v1::RepairKeysReply reply;
  grpc::ClientContext ctx;
  net::SetDeadline(ctx, options_.scan_timeout_ms);
  Status s = net::FromGrpc(stub_->RepairKeys(&ctx, req, &reply), "RepairKeys");
  bytes_ += req.ByteSizeLong() + reply.ByteSizeLong();
  if (!s.ok()) return s;
  std::vector<KeyVersion> out;
  out.reserve(static_cast<size_t>(reply.keys_size()));
  for (ringkv::v1::RepairKey& k : *reply.mutable_keys()) {
    out.push_back(KeyVersion{.key = std::move(*k.mutable_key()),
                             .version = k.version(),
                             .tombstone = k.tombstone(),
                             .fingerprint = k.fingerprint()});
  }
  return out;
}

StatusOr<std::string> RepairClient::Run(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string reply;
  link_.Forward(view_, peer_, views, reply);
  for (const std::string& a : args) bytes_ += a.size();
  bytes_ += reply.size();
  if (reply.empty() || reply[0] == '-') {
    return Unavailable(args[0] + " on " + view_.ring->nodes()[peer_].id + ": " +
                       reply.substr(0, reply.find('\r')));
  }
  return reply;
}

StatusOr<uint64_t> RepairClient::Push(
    std::span<const std::pair<std::string, ReplicaEntry>> entries) {
  std::vector<std::string> args{"ringkv.apply"};
  args.reserve(1 + entries.size() * 5);
  for (const auto& [key, e] : entries) AppendApplyArgs(args, key, e);
  StatusOr<std::string> reply = Run(args);
  if (!reply.ok()) return reply.status();
  // ":<installed>\r\n"
  uint64_t kept = 0;
  const char* begin = reply->data() + 1;
  auto [end, ec] = std::from_chars(begin, reply->data() + reply->size(), kept);
  if ((*reply)[0] != ':' || ec != std::errc() || end == begin) {
    return Status(StatusCode::kUnknown, "RINGKV.APPLY: unexpected reply");
  }
  return kept;
}

StatusOr<std::vector<std::optional<ReplicaEntry>>> RepairClient::Pull(
    std::span<const std::string> keys) {
  std::vector<std::string> args{"ringkv.peek"};
  args.insert(args.end(), keys.begin(), keys.end());
  StatusOr<std::string> reply = Run(args);
  if (!reply.ok()) return reply.status();
  return DecodePeekReply(*reply, keys.size());
}

}  // namespace ringkv::node
