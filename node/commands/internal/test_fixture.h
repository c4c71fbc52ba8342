// Test support for the command layer: a Dispatcher over the memory engine
// with a FakeClock, and RESP reply builders / a small RESP decoder.
// Test-only: included by *_test.cc files, never by production code.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/hlc.h"
#include "node/commands/dispatcher.h"
#include "node/commands/metrics.h"
#include "store/memory_engine.h"

namespace ringkv::node::testing {

inline const std::string kOk = "+OK\r\n";
inline const std::string kNil = "$-1\r\n";

inline std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string Int(int64_t v) {
  return ":" + std::to_string(v) + "\r\n";
}
inline std::string Err(std::string_view s) {
  return "-" + std::string(s) + "\r\n";
}
inline std::string Arr(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& i : items) out += i;
  return out;
}

// One decoded RESP2 value.
struct Reply {
  char type = 0;  // '+', '-', ':', '$', '*'
  bool null = false;
  std::string str;  // simple, error or bulk text
  int64_t integer = 0;
  std::vector<Reply> elements;
};

// Decodes one reply starting at `pos`; advances `pos`. Fails the test on
// malformed input (returns a default Reply).
Reply Decode(std::string_view in, size_t& pos);
inline Reply Decode(std::string_view in) {
  size_t pos = 0;
  Reply r = Decode(in, pos);
  EXPECT_EQ(pos, in.size()) << "trailing bytes after reply";
  return r;
}

class CommandsTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStartMs = 1'700'000'000'000;

  CommandsTest() { Reset(""); }

  // Rebuilds the dispatcher (same engine) with `requirepass`, fresh session.
  void Reset(std::string requirepass);

  // Executes one command and returns its raw reply bytes.
  std::string Run(std::initializer_list<std::string_view> args) {
    return RunArgs(std::vector<std::string_view>(args));
  }
  std::string RunArgs(const std::vector<std::string_view>& args) {
    std::string out;
    dispatcher_->Execute(args, session_, out);
    return out;
  }

  FakeClock clock_{kStartMs};
  HybridClock hlc_{clock_};
  Metrics metrics_;
  ServerState state_;
  std::unique_ptr<store::Engine> engine_ = store::NewMemoryEngine({});
  std::unique_ptr<Dispatcher> dispatcher_;
  Session session_;
};

}  // namespace ringkv::node::testing
