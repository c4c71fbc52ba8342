#include "cli/ring_commands.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "ring/ring.h"

namespace ringkv::cli {

namespace {

constexpr int kBadArguments = 2;

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Percent(double v) {
  return Fixed(v * 100, 2) + "%";
}

nlohmann::json BalanceJson(const ring::Balance& b) {
  return {{"max_over_mean", b.max_over_mean},
          {"min_over_mean", b.min_over_mean},
          {"cv", b.cv},
          {"share", b.share}};
}

nlohmann::json MoveJson(const ring::MoveResult& m) {
  return {{"nodes", m.nodes_changed},  {"moved_keys", m.moved},  {"moved_fraction", m.fraction},
          {"ideal_fraction", m.ideal}, {"stray_moves", m.stray}, {"minimal", m.stray == 0}};
}

std::string BalanceLine(const ring::Balance& b) {
  return "max/mean " + Fixed(b.max_over_mean, 3) + "   min/mean " + Fixed(b.min_over_mean, 3) +
         "   cv " + Fixed(b.cv, 4);
}

std::string MoveLine(const ring::MoveResult& m) {
  return "moved " + Percent(m.fraction) + " of keys (" + std::to_string(m.moved) + ")   ideal " +
         Percent(m.ideal) + "   ratio " + Fixed(m.ideal > 0 ? m.fraction / m.ideal : 0, 3) +
         "   between surviving nodes: " + std::to_string(m.stray);
}

void PrintSimulateTable(const ring::SimulateResult& r, std::ostream& out) {
  const ring::SimulateOptions& o = r.options;
  out << "algorithm        " << ring::AlgorithmName(o.algorithm);
  if (o.algorithm == ring::Algorithm::kRing) out << " (" << o.vnodes << " vnodes per node)";
  out << "\nhash             " << ring::HashKindName(o.hash) << "\n";
  out << "nodes            " << o.nodes << "\n";
  out << "keys sampled     " << o.keys << "\n";
  out << "balance (keys)   " << BalanceLine(r.balance) << "\n";
  if (r.arcs) out << "balance (arcs)   " << BalanceLine(*r.arcs) << "\n";
  out << "expected cv      "
      << (o.algorithm == ring::Algorithm::kRing
              ? Fixed(1.0 / std::sqrt(static_cast<double>(o.vnodes)), 4) + " (about 1/sqrt(vnodes) over many nodes)"
              : std::string("0"))
      << "\n";
  if (r.added)
    out << "add " << o.add << (o.add == 1 ? " node     " : " nodes    ") << MoveLine(*r.added)
        << "\n";
  if (r.removed) {
    out << "remove " << o.remove << (o.remove == 1 ? " node  " : " nodes ") << MoveLine(*r.removed)
        << "\n";
  }
}

}  // namespace

int RunRingSimulate(RingSimulateArgs args, std::ostream& out, std::ostream& err) {
  auto algo = ring::ParseAlgorithm(args.algorithm);
  if (!algo) {
    err << "error: --algo must be one of ring, jump, maglev, rendezvous (got '" << args.algorithm
        << "')\n";
    return kBadArguments;
  }
  auto hash = ring::ParseHashKind(args.hash);
  if (!hash) {
    err << "error: --hash must be xxh3 or sha256 (got '" << args.hash << "')\n";
    return kBadArguments;
  }
  args.sim.algorithm = *algo;
  args.sim.hash = *hash;
  auto r = ring::Simulate(args.sim);
  if (!r.ok()) {
    err << "error: " << r.status().message() << "\n";
    return kBadArguments;
  }
  if (!args.json) {
    PrintSimulateTable(*r, out);
    return 0;
  }
  nlohmann::json j = {{"algorithm", args.algorithm}, {"hash", args.hash},
                      {"nodes", args.sim.nodes},     {"vnodes", args.sim.vnodes},
                      {"keys", args.sim.keys},       {"balance", BalanceJson(r->balance)}};
  if (r->arcs) j["balance_arcs"] = BalanceJson(*r->arcs);
  if (r->added) j["add"] = MoveJson(*r->added);
  if (r->removed) j["remove"] = MoveJson(*r->removed);
  out << j.dump(2) << "\n";
  return 0;
}

int RunRingLocate(const RingLocateArgs& args, std::ostream& out, std::ostream& err) {
  auto hash = ring::ParseHashKind(args.hash);
  if (!hash) {
    err << "error: --hash must be xxh3 or sha256 (got '" << args.hash << "')\n";
    return kBadArguments;
  }
  if (args.nodes.empty()) {
    err << "error: --nodes needs at least one node, e.g. --nodes a,b,c\n";
    return kBadArguments;
  }
  if (args.replicas == 0) {
    err << "error: --replicas must be >= 1\n";
    return kBadArguments;
  }
  std::vector<ring::NodeSpec> nodes;
  for (const std::string& id : args.nodes) nodes.push_back({id, 1});
  auto built = ring::Ring::Build(nodes, {.vnodes_per_weight = args.vnodes, .hash = *hash});
  if (!built.ok()) {
    err << "error: " << built.status().message() << "\n";
    return kBadArguments;
  }
  const ring::Ring& r = **built;
  uint64_t position = r.KeyPosition(args.key);
  std::vector<std::string> prefs;
  for (uint32_t i : r.PreferenceList(position, args.replicas)) prefs.push_back(r.nodes()[i].id);
  if (args.json) {
    nlohmann::json j = {
        {"key", args.key},        {"hash", std::to_string(position)}, {"hash_function", args.hash},
        {"owner", prefs.front()}, {"preference_list", prefs},         {"vnodes", args.vnodes}};
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "key              " << args.key << "\n";
  out << "hash             " << position << " (" << args.hash << ")\n";
  out << "owner            " << prefs.front() << "\n";
  out << "preference list  ";
  for (size_t i = 0; i < prefs.size(); ++i) out << (i ? ", " : "") << prefs[i];
  out << "\n";
  return 0;
}

}  // namespace ringkv::cli
