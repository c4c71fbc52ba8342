#include "node/repair/repair_status.h"

#include <nlohmann/json.hpp>

namespace ringkv::node {
namespace {

using nlohmann::json;

void PutCounts(json& j, const PairRepairResult& r) {
  j["buckets_compared"] = r.buckets_compared;
  j["buckets_differing"] = r.buckets_differing;
  j["keys_pushed"] = r.keys_pushed;
  j["keys_pulled"] = r.keys_pulled;
  j["bytes"] = r.bytes;
}

json PassJson(const RepairPassStatus& p) {
  json j = {{"trigger", RepairTriggerName(p.trigger)},
            {"epoch", p.epoch},
            {"started_ms", p.started_ms},
            {"finished_ms", p.finished_ms}};
  PutCounts(j, p.Totals());
  uint64_t errors = 0;
  json peers = json::array();
  for (const PeerRepairStatus& peer : p.peers) {
    json e = {{"id", peer.peer},
              {"bits", peer.result.bits},
              {"shared_keys", peer.result.shared_keys},
              {"done", peer.done},
              {"error", peer.error}};
    PutCounts(e, peer.result);
    peers.push_back(std::move(e));
    errors += peer.error.empty() ? 0 : 1;
  }
  j["errors"] = errors;
  j["peers"] = std::move(peers);
  return j;
}

}  // namespace

std::string_view RepairTriggerName(RepairTrigger t) {
  switch (t) {
    case RepairTrigger::kRequest:
      return "request";
    case RepairTrigger::kPeriodic:
      return "periodic";
    case RepairTrigger::kReturn:
      return "return";
  }
  return "request";
}

PairRepairResult RepairPassStatus::Totals() const {
  PairRepairResult t;
  for (const PeerRepairStatus& p : peers) {
    t.shared_keys += p.result.shared_keys;
    t.buckets_compared += p.result.buckets_compared;
    t.buckets_differing += p.result.buckets_differing;
    t.keys_pushed += p.result.keys_pushed;
    t.keys_pulled += p.result.keys_pulled;
    t.bytes += p.result.bytes;
  }
  return t;
}

std::string RenderRepairJson(const RepairStatus& s) {
  const RepairTotals& t = s.totals;
  json j = {{"id", s.id},
            {"state", s.current ? "running" : "idle"},
            {"interval_s", s.interval_s},
            {"totals",
             {{"passes", t.passes},
              {"buckets_compared", t.buckets_compared},
              {"buckets_differing", t.buckets_differing},
              {"keys_pushed", t.keys_pushed},
              {"keys_pulled", t.keys_pulled},
              {"bytes", t.bytes},
              {"errors", t.errors}}},
            {"current", s.current ? PassJson(*s.current) : json(nullptr)},
            {"last", s.last ? PassJson(*s.last) : json(nullptr)}};
  return j.dump();
}

}  // namespace ringkv::node
