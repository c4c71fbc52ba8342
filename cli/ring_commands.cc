#include "cli/ring_commands.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>
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

double PerKey(uint64_t count, size_t keys) {
  return static_cast<double>(count) / static_cast<double>(keys);
}

nlohmann::json ReplicaMovesJson(const ring::ReplicaMoves& m, size_t keys) {
  return {{"changed_keys", m.changed},
          {"changed_fraction", m.fraction},
          {"copies", m.copies},
          {"copies_per_key", PerKey(m.copies, keys)},
          {"ideal_copies_per_key", m.ideal},
          {"dropped", m.dropped}};
}

nlohmann::json MoveJson(const ring::MoveResult& m, size_t keys) {
  nlohmann::json j = {{"nodes", m.nodes_changed},     {"moved_keys", m.moved},
                      {"moved_fraction", m.fraction}, {"ideal_fraction", m.ideal},
                      {"stray_moves", m.stray},       {"minimal", m.stray == 0}};
  if (m.replicas) j["replicas"] = ReplicaMovesJson(*m.replicas, keys);
  return j;
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

std::string ReplicaMovesLine(const ring::ReplicaMoves& m, size_t keys) {
  const double copies = PerKey(m.copies, keys);
  return "changed " + Percent(m.fraction) + " of keys   copies " + Fixed(copies, 4) +
         " per key   ideal " + Fixed(m.ideal, 4) + "   ratio " +
         Fixed(m.ideal > 0 ? copies / m.ideal : 0, 3) + "   dropped " +
         Fixed(PerKey(m.dropped, keys), 4) + " per key";
}

void PrintMove(const std::string& label, const ring::MoveResult& m, size_t keys,
               std::ostream& out) {
  out << label << MoveLine(m) << "\n";
  if (m.replicas) out << "  replica sets " << ReplicaMovesLine(*m.replicas, keys) << "\n";
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
  if (r.copies) {
    out << "replication      " << o.replication << "\n";
    out << "copies (keys)    " << BalanceLine(*r.copies) << "\n";
  }
  if (r.copies_arcs) out << "copies (arcs)    " << BalanceLine(*r.copies_arcs) << "\n";
  if (r.added) {
    PrintMove("add " + std::to_string(o.add) + (o.add == 1 ? " node     " : " nodes    "), *r.added,
              o.keys, out);
  }
  if (r.removed) {
    PrintMove("remove " + std::to_string(o.remove) + (o.remove == 1 ? " node  " : " nodes "),
              *r.removed, o.keys, out);
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
  if (r->copies) {
    j["replication"] = args.sim.replication;
    j["balance_copies"] = BalanceJson(*r->copies);
  }
  if (r->copies_arcs) j["balance_copies_arcs"] = BalanceJson(*r->copies_arcs);
  if (r->added) j["add"] = MoveJson(*r->added, args.sim.keys);
  if (r->removed) j["remove"] = MoveJson(*r->removed, args.sim.keys);
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
  if (args.replication == 0 || args.replication > ring::kMaxReplication) {
    err << "error: --replication must be in [1, " << ring::kMaxReplication << "] (got "
        << args.replication << ")\n";
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
  std::array<uint32_t, ring::kMaxReplication> owners{};
  const uint32_t count = r.Owners(position, std::span(owners).first(args.replication));
  std::vector<std::string> prefs;
  for (uint32_t i = 0; i < count; ++i) prefs.push_back(r.nodes()[owners[i]].id);
  if (args.json) {
    // "replicas" and "preference_list" are the same list; the latter predates replication.
    nlohmann::json j = {{"key", args.key},
                        {"hash", std::to_string(position)},
                        {"hash_function", args.hash},
                        {"owner", prefs.front()},
                        {"preference_list", prefs},
                        {"replication", args.replication},
                        {"replicas", prefs},
                        {"vnodes", args.vnodes}};
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
