#include "net/resp/resp_parser.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "net/resp/resp_writer.h"

// Counts heap bytes requested by this test binary, to check that headers'
// claims are not trusted and that steady-state parsing does not allocate.
static std::atomic<size_t> g_allocated_bytes{0};
static std::atomic<size_t> g_allocations{0};

// Not inlined, so GCC does not flag free() of memory from operator new.
void* operator new(size_t n) {
  g_allocated_bytes += n;
  ++g_allocations;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) std::abort();
  return p;
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace ringkv::net::resp {
namespace {

using Command = std::vector<std::string>;

// What parsing a whole byte stream produced: the commands (empty ones
// skipped), plus the error if the stream ended in one.
struct Outcome {
  std::vector<Command> commands;
  std::string error;
  bool incomplete = false;  // bytes left over that do not form a command
};

bool operator==(const Outcome& a, const Outcome& b) {
  return a.commands == b.commands && a.error == b.error && a.incomplete == b.incomplete;
}

Command ToCommand(std::span<const std::string_view> args) {
  return Command(args.begin(), args.end());
}

// Feeds `input` in pieces of the given sizes (the rest at the end), erasing
// consumed bytes after each command like a server would.
Outcome Feed(const std::string& input, const std::vector<size_t>& pieces, Limits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  std::string buffer;
  size_t fed = 0;
  size_t piece = 0;
  while (true) {
    size_t n = piece < pieces.size() ? pieces[piece++] : input.size() - fed;
    n = std::min(n, input.size() - fed);
    buffer.append(input, fed, n);
    fed += n;
    for (;;) {
      ParseStatus s = parser.Parse(buffer);
      if (s == ParseStatus::kError) {
        out.error = parser.error();
        return out;
      }
      if (s == ParseStatus::kIncomplete) break;
      if (!parser.args().empty()) out.commands.push_back(ToCommand(parser.args()));
      buffer.erase(0, parser.consumed());
      if (buffer.empty()) break;
    }
    if (fed == input.size()) break;
  }
  out.incomplete = !buffer.empty();
  return out;
}

Outcome ParseAll(const std::string& input, Limits limits = {}) {
  return Feed(input, {}, limits);
}

Outcome ByteByByte(const std::string& input, Limits limits = {}) {
  return Feed(input, std::vector<size_t>(input.size(), 1), limits);
}

std::string ErrorOf(const std::string& input, Limits limits = {}) {
  return ParseAll(input, limits).error;
}

// ---- Multibulk ----

TEST(RequestParser, SimpleMultibulk) {
  RequestParser p;
  std::string buf = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  ASSERT_EQ(p.Parse(buf), ParseStatus::kComplete);
  EXPECT_EQ(ToCommand(p.args()), (Command{"GET", "key"}));
  EXPECT_EQ(p.consumed(), buf.size());
}

TEST(RequestParser, EmptyQueryIsIncomplete) {
  RequestParser p;
  EXPECT_EQ(p.Parse(""), ParseStatus::kIncomplete);
  EXPECT_EQ(p.pending_hint(), 0u);
}

TEST(RequestParser, ZeroAndNegativeCountAreEmptyCommands) {
  for (std::string in : {"*0\r\n", "*-1\r\n", "*-10\r\n"}) {
    RequestParser p;
    ASSERT_EQ(p.Parse(in), ParseStatus::kComplete) << in;
    EXPECT_TRUE(p.args().empty());
    EXPECT_EQ(p.consumed(), in.size());
  }
  Outcome o = ParseAll("*-10\r\n*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(o.commands, (std::vector<Command>{{"PING"}}));
  EXPECT_FALSE(o.incomplete);
}

TEST(RequestParser, MultibulkLengthErrors) {
  const std::string kErr = "Protocol error: invalid multibulk length";
  EXPECT_EQ(ErrorOf("*20000000\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*blabla\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*01\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*+1\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*99999999999999999999\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*1\rX"), kErr);
}

TEST(RequestParser, ClaimsUnderLimitWaitWithoutAllocating) {
  RequestParser p;
  const std::string in = "*1000000\r\n$500000000\r\nabc";
  const std::string more = in + "def";
  const size_t before = g_allocated_bytes;
  EXPECT_EQ(p.Parse(in), ParseStatus::kIncomplete);
  EXPECT_EQ(p.Parse(more), ParseStatus::kIncomplete);
  EXPECT_EQ(g_allocated_bytes - before, 0u);
  EXPECT_TRUE(p.error().empty());
  EXPECT_EQ(p.pending_hint(), 500000000u + 2 - 6);
}

TEST(RequestParser, SteadyStateDoesNotAllocate) {
  const std::string cmd = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nGET k\r\n";
  std::string in;
  for (int i = 0; i < 100; ++i) in += cmd;
  RequestParser p;
  auto parse_all = [&] {
    std::string_view rest = in;
    while (!rest.empty()) {
      ASSERT_EQ(p.Parse(rest), ParseStatus::kComplete);
      rest.remove_prefix(p.consumed());
    }
  };
  parse_all();  // warm up: vectors reach their working capacity
  const size_t before = g_allocations;
  parse_all();
  EXPECT_EQ(g_allocations - before, 0u);
}

TEST(RequestParser, BulkLengthErrors) {
  const std::string kErr = "Protocol error: invalid bulk length";
  EXPECT_EQ(ErrorOf("*1\r\n$-10\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*1\r\n$-1\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*1\r\n$2000000000\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*1\r\n$blabla\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*1\r\n$\r\n"), kErr);
  EXPECT_EQ(ErrorOf("*1\r\n$3\rxfoo\r\n"), kErr);
}

TEST(RequestParser, ExpectedDollar) {
  EXPECT_EQ(ErrorOf("*1\r\nfoo\r\n"), "Protocol error: expected '$', got 'f'");
  EXPECT_EQ(ErrorOf("*2\r\n$1\r\na\r\n:1\r\n"), "Protocol error: expected '$', got ':'");
}

TEST(RequestParser, MissingCrlfAfterBulk) {
  EXPECT_EQ(ErrorOf("*1\r\n$3\r\nfooXY"), "Protocol error: expected CRLF after bulk data");
  EXPECT_EQ(ErrorOf("*1\r\n$3\r\nfoo\rX"), "Protocol error: expected CRLF after bulk data");
  // The byte after CR has not arrived yet: wait.
  EXPECT_TRUE(ParseAll("*1\r\n$3\r\nfoo\r").incomplete);
}

TEST(RequestParser, TooBigCountStrings) {
  std::string digits(70 * 1024, '1');
  EXPECT_EQ(ErrorOf("*" + digits), "Protocol error: too big mbulk count string");
  EXPECT_EQ(ErrorOf("*1\r\n$" + digits), "Protocol error: too big bulk count string");
  // Same outcome when the CR is already there.
  EXPECT_EQ(ErrorOf("*" + digits + "\r\n"), "Protocol error: too big mbulk count string");
  // Just under the limit: still waiting.
  EXPECT_TRUE(ParseAll("*" + std::string(1000, '1')).incomplete);
}

TEST(RequestParser, ErrorIsSticky) {
  RequestParser p;
  EXPECT_EQ(p.Parse("*x\r\n"), ParseStatus::kError);
  EXPECT_EQ(p.Parse("*1\r\n$1\r\na\r\n"), ParseStatus::kError);
  p.Reset();
  EXPECT_TRUE(p.error().empty());
  EXPECT_EQ(p.Parse("*1\r\n$1\r\na\r\n"), ParseStatus::kComplete);
}

TEST(RequestParser, BinarySafeBulk) {
  std::string arg("a\0b\r\n\0", 6);
  std::string in = "*2\r\n$3\r\nSET\r\n$6\r\n" + arg + "\r\n";
  Outcome o = ParseAll(in);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0][1], arg);
  EXPECT_EQ(ByteByByte(in), o);
}

TEST(RequestParser, EmptyBulkArg) {
  EXPECT_EQ(ParseAll("*2\r\n$0\r\n\r\n$1\r\nx\r\n").commands, (std::vector<Command>{{"", "x"}}));
}

TEST(RequestParser, ByteByByteEqualsAllAtOnce) {
  std::string in =
      "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
      "PING\r\n*0\r\n"
      "set \"a b\" 'c'\n"
      "*1\r\n$4\r\nQUIT\r\n";
  Outcome all = ParseAll(in);
  EXPECT_EQ(all.commands, (std::vector<Command>{
                              {"SET", "key", "value"}, {"PING"}, {"set", "a b", "c"}, {"QUIT"}}));
  EXPECT_EQ(ByteByByte(in), all);
}

TEST(RequestParser, PipelinedCommandsInOneBuffer) {
  std::string in;
  for (int i = 0; i < 1000; ++i) {
    in += "*3\r\n$3\r\nSET\r\n$" + std::to_string(std::to_string(i).size()) + "\r\n" +
          std::to_string(i) + "\r\n$1\r\nv\r\n";
  }
  // Parse by advancing a view, no erasing.
  RequestParser p;
  std::string_view rest = in;
  int n = 0;
  while (!rest.empty()) {
    ASSERT_EQ(p.Parse(rest), ParseStatus::kComplete);
    ASSERT_EQ(p.args().size(), 3u);
    EXPECT_EQ(p.args()[1], std::to_string(n));
    rest.remove_prefix(p.consumed());
    ++n;
  }
  EXPECT_EQ(n, 1000);
}

TEST(RequestParser, LargeBulkInChunksResumesAndHints) {
  const size_t kSize = 8 << 20;
  std::string value(kSize, 'x');
  for (size_t i = 0; i < kSize; i += 4097) value[i] = static_cast<char>(i);
  std::string in = "*2\r\n$3\r\nSET\r\n$" + std::to_string(kSize) + "\r\n" + value + "\r\n";
  RequestParser p;
  std::string buffer;
  size_t fed = 0;
  ParseStatus s = ParseStatus::kIncomplete;
  bool checked_hint = false;
  while (fed < in.size()) {
    size_t n = std::min<size_t>(4096, in.size() - fed);
    buffer.append(in, fed, n);
    fed += n;
    s = p.Parse(buffer);
    if (s != ParseStatus::kIncomplete) break;
    if (fed > 100) {
      EXPECT_EQ(p.pending_hint(), in.size() - fed);
      checked_hint = true;
    }
  }
  ASSERT_EQ(s, ParseStatus::kComplete);
  EXPECT_TRUE(checked_hint);
  EXPECT_EQ(fed, in.size());
  ASSERT_EQ(p.args().size(), 2u);
  EXPECT_TRUE(p.args()[1] == value);
  EXPECT_EQ(p.consumed(), in.size());
  EXPECT_EQ(p.pending_hint(), 0u);
}

TEST(RequestParser, ResumesAfterBufferReallocation) {
  RequestParser p;
  std::string buffer = "*2\r\n$3\r\nGET\r\n$3\r\nk";
  ASSERT_EQ(p.Parse(buffer), ParseStatus::kIncomplete);
  EXPECT_EQ(p.pending_hint(), 4u);
  std::string moved = buffer + "ey\r\n";  // a different allocation
  buffer.assign(buffer.size(), '?');      // old bytes are no longer read
  ASSERT_EQ(p.Parse(moved), ParseStatus::kComplete);
  EXPECT_EQ(ToCommand(p.args()), (Command{"GET", "key"}));
}

TEST(RequestParser, ShorterBufferRestartsCommand) {
  RequestParser p;
  ASSERT_EQ(p.Parse("*2\r\n$3\r\nGET\r\n"), ParseStatus::kIncomplete);
  ASSERT_EQ(p.Parse("*1\r\n$1\r\nx\r\n"), ParseStatus::kComplete);
  EXPECT_EQ(ToCommand(p.args()), (Command{"x"}));
}

TEST(RequestParser, ResetForgetsProgress) {
  RequestParser p;
  ASSERT_EQ(p.Parse("*2\r\n$3\r\nGET\r\n$3\r\nk"), ParseStatus::kIncomplete);
  p.Reset();
  ASSERT_EQ(p.Parse("PING\r\n"), ParseStatus::kComplete);
  EXPECT_EQ(ToCommand(p.args()), (Command{"PING"}));
}

TEST(RequestParser, ConfigurableLimits) {
  Limits small;
  small.max_bulk_len = 4;
  small.max_args = 2;
  small.max_inline_len = 16;
  EXPECT_EQ(ErrorOf("*1\r\n$5\r\nhello\r\n", small), "Protocol error: invalid bulk length");
  EXPECT_EQ(ParseAll("*1\r\n$4\r\nhell\r\n", small).commands, (std::vector<Command>{{"hell"}}));
  EXPECT_EQ(ErrorOf("*3\r\n", small), "Protocol error: invalid multibulk length");
  EXPECT_TRUE(ParseAll("*2\r\n", small).incomplete);
  EXPECT_EQ(ErrorOf(std::string(17, 'a'), small), "Protocol error: too big inline request");
  EXPECT_EQ(ErrorOf(std::string(17, 'a') + "\n", small), "Protocol error: too big inline request");
  EXPECT_EQ(ErrorOf("*" + std::string(17, '1'), small),
            "Protocol error: too big mbulk count string");
  EXPECT_EQ(ParseAll("GET k\r\n", small).commands, (std::vector<Command>{{"GET", "k"}}));
}

// ---- Inline ----

TEST(RequestParser, InlineBasic) {
  EXPECT_EQ(ParseAll("SET  key\tvalue\r\n").commands,
            (std::vector<Command>{{"SET", "key", "value"}}));
  EXPECT_EQ(ParseAll("PING\n").commands, (std::vector<Command>{{"PING"}}));
}

TEST(RequestParser, InlineEmptyLineIsEmptyCommand) {
  RequestParser p;
  ASSERT_EQ(p.Parse("\r\nPING\r\n"), ParseStatus::kComplete);
  EXPECT_TRUE(p.args().empty());
  EXPECT_EQ(p.consumed(), 2u);
  ASSERT_EQ(p.Parse("   \n"), ParseStatus::kComplete);
  EXPECT_TRUE(p.args().empty());
}

TEST(RequestParser, InlineQuotesAndEscapes) {
  // An invalid \x escape keeps the x (unknown escapes keep their byte), as in Redis.
  Outcome o = ParseAll(
      "set \"a\\n\\r\\t\\b\\a\\\\\\\"z\" '\\'q\\n' \"\\x41\\x7a\\xZZ\" foo\"bar baz\" \"\"\r\n");
  ASSERT_EQ(o.commands.size(), 1u) << o.error;
  EXPECT_EQ(o.commands[0],
            (Command{"set", "a\n\r\t\b\a\\\"z", "'q\\n", "AzxZZ", "foobar baz", ""}));
  EXPECT_EQ(ByteByByte("set \"a b\" 'c d'\n").commands,
            (std::vector<Command>{{"set", "a b", "c d"}}));
  std::string hex = ParseAll("x \"\\x00\\xff\"\n").commands.at(0).at(1);
  EXPECT_EQ(hex, std::string("\0\xff", 2));
}

TEST(RequestParser, InlineUnbalancedQuotes) {
  const std::string kErr = "Protocol error: unbalanced quotes in request";
  EXPECT_EQ(ErrorOf("set \"abc\r\n"), kErr);
  EXPECT_EQ(ErrorOf("set 'abc\r\n"), kErr);
  EXPECT_EQ(ErrorOf("set \"abc\"def\r\n"), kErr);  // closing quote followed by a non-space
  EXPECT_EQ(ErrorOf("set 'a'b\n"), kErr);
  EXPECT_EQ(ErrorOf("set \"ab\\\"\n"), kErr);
}

TEST(RequestParser, InlineTooBig) {
  EXPECT_EQ(ErrorOf(std::string(70 * 1024, 'a')), "Protocol error: too big inline request");
  EXPECT_TRUE(ParseAll(std::string(1000, 'a')).incomplete);
}

TEST(RequestParser, InlineStopsAtNul) {
  EXPECT_EQ(ParseAll(std::string("GET a\0b c\r\n", 11)).commands,
            (std::vector<Command>{{"GET", "a"}}));
}

// ---- Property: random commands, random split points ----

TEST(RequestParser, RandomCommandsSplitAtRandomPoints) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<Command> commands;
    std::string stream;
    const int n = 1 + static_cast<int>(rng() % 20);
    for (int c = 0; c < n; ++c) {
      Command cmd(1 + rng() % 6);
      for (std::string& arg : cmd) {
        size_t len = rng() % 4 == 0 ? rng() % 3000 : rng() % 20;
        for (size_t i = 0; i < len; ++i) arg.push_back(static_cast<char>(rng()));
      }
      std::vector<std::string_view> views(cmd.begin(), cmd.end());
      stream += EncodeCommand(views);
      commands.push_back(std::move(cmd));
    }
    std::vector<size_t> pieces;
    for (size_t total = 0; total < stream.size();) {
      size_t piece = rng() % 3 == 0 ? rng() % 4 : rng() % 200;
      pieces.push_back(piece);
      total += piece;
    }
    Outcome o = Feed(stream, pieces);
    ASSERT_TRUE(o.error.empty()) << o.error;
    ASSERT_FALSE(o.incomplete);
    ASSERT_EQ(o.commands, commands) << "round " << round;
  }
}

TEST(EncodeCommand, Format) {
  std::vector<std::string_view> args = {"SET", "k", ""};
  EXPECT_EQ(EncodeCommand(args), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  EXPECT_EQ(EncodeCommand({}), "*0\r\n");
}

// ---- Reply framing ----

TEST(CompleteReplyLength, EveryType) {
  for (std::string r : {"+OK\r\n", "-ERR bad\r\n", ":42\r\n", ":-7\r\n", "$3\r\nfoo\r\n",
                        "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n", "*2\r\n$1\r\na\r\n:1\r\n"}) {
    EXPECT_EQ(CompleteReplyLength(r), static_cast<int64_t>(r.size())) << r;
    EXPECT_EQ(CompleteReplyLength(r + "+NEXT\r\n"), static_cast<int64_t>(r.size())) << r;
  }
  EXPECT_EQ(CompleteReplyLength(std::string("$3\r\n\0\r\n\r\n", 9)), 9);
}

TEST(CompleteReplyLength, NestedByteByByte) {
  std::string r = "*3\r\n*2\r\n+a\r\n*0\r\n$-1\r\n*2\r\n*-1\r\n*1\r\n:5\r\n";
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(CompleteReplyLength(r.substr(0, i)), 0) << i;
  }
  EXPECT_EQ(CompleteReplyLength(r), static_cast<int64_t>(r.size()));
}

TEST(CompleteReplyLength, Invalid) {
  for (std::string r : {"?\r\n", ":abc\r\n", ":\r\n", "$-2\r\n", "*-2\r\n", "$3\r\nfooXY", "+OK\rX",
                        "*1\r\n!\r\n", "$x\r\n"}) {
    EXPECT_EQ(CompleteReplyLength(r), -1) << r;
  }
  EXPECT_EQ(CompleteReplyLength(":" + std::string(40, '1')), -1);
  Limits small;
  small.max_bulk_len = 2;
  small.max_args = 1;
  EXPECT_EQ(CompleteReplyLength("$3\r\nabc\r\n", small), -1);
  EXPECT_EQ(CompleteReplyLength("*2\r\n", small), -1);
}

TEST(CompleteReplyLength, DeepNestingDoesNotRecurse) {
  std::string r;
  for (int i = 0; i < 200000; ++i) r += "*1\r\n";
  EXPECT_EQ(CompleteReplyLength(r), 0);
  r += ":1\r\n";
  EXPECT_EQ(CompleteReplyLength(r), static_cast<int64_t>(r.size()));
  EXPECT_FALSE(DecodeReply(r).has_value());  // deeper than kMaxReplyDepth
}

TEST(DecodeReply, NestingUpToTheLimit) {
  auto nested = [](size_t depth) {
    std::string r;
    for (size_t i = 0; i < depth; ++i) r += "*1\r\n";
    return r + ":7\r\n";
  };
  std::optional<Reply> d = DecodeReply(nested(kMaxReplyDepth));
  ASSERT_TRUE(d.has_value());
  const Reply* leaf = &*d;
  for (size_t i = 0; i < kMaxReplyDepth; ++i) {
    ASSERT_EQ(leaf->type, Reply::Type::kArray);
    ASSERT_EQ(leaf->elements.size(), 1u);
    leaf = &leaf->elements[0];
  }
  EXPECT_EQ(leaf->integer, 7);
  EXPECT_FALSE(DecodeReply(nested(kMaxReplyDepth + 1)).has_value());
}

// ---- DecodeReply ----

TEST(DecodeReply, RoundTripWithReplyWriter) {
  std::string out;
  ReplyWriter w(out);
  w.ArrayHeader(8);
  w.Ok();
  w.Simple("PONG");
  w.Error("ERR syntax error");
  w.Integer(-12);
  w.Bulk(std::string("bin\0ary", 7));
  w.Null();
  w.NullArray();
  w.ArrayHeader(2);
  w.Bulk("");
  w.ArrayHeader(0);
  std::optional<Reply> r = DecodeReply(out);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->type, Reply::Type::kArray);
  ASSERT_EQ(r->elements.size(), 8u);
  const auto& e = r->elements;
  EXPECT_EQ(e[0].type, Reply::Type::kSimple);
  EXPECT_EQ(e[0].str, "OK");
  EXPECT_EQ(e[1].str, "PONG");
  EXPECT_EQ(e[2].type, Reply::Type::kError);
  EXPECT_EQ(e[2].str, "ERR syntax error");
  EXPECT_EQ(e[3].type, Reply::Type::kInteger);
  EXPECT_EQ(e[3].integer, -12);
  EXPECT_EQ(e[4].type, Reply::Type::kBulk);
  EXPECT_EQ(e[4].str, std::string("bin\0ary", 7));
  EXPECT_EQ(e[5].type, Reply::Type::kNull);
  EXPECT_EQ(e[6].type, Reply::Type::kNullArray);
  ASSERT_EQ(e[7].type, Reply::Type::kArray);
  ASSERT_EQ(e[7].elements.size(), 2u);
  EXPECT_EQ(e[7].elements[0].type, Reply::Type::kBulk);
  EXPECT_EQ(e[7].elements[1].type, Reply::Type::kArray);
  EXPECT_TRUE(e[7].elements[1].elements.empty());
}

TEST(DecodeReply, IncompleteOrInvalid) {
  EXPECT_FALSE(DecodeReply("").has_value());
  EXPECT_FALSE(DecodeReply("*2\r\n:1\r\n").has_value());
  EXPECT_FALSE(DecodeReply("%1\r\n").has_value());
  std::optional<Reply> r = DecodeReply(":9223372036854775807\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->integer, INT64_MAX);
  r = DecodeReply(":-9223372036854775808\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->integer, INT64_MIN);
  EXPECT_FALSE(DecodeReply(":9223372036854775808\r\n").has_value());
}

TEST(EncodeCommand, RoundTripThroughParser) {
  std::vector<std::string_view> args = {"MSET", std::string_view("\0\r\n", 3), "x", ""};
  std::string wire = EncodeCommand(args);
  RequestParser p;
  ASSERT_EQ(p.Parse(wire), ParseStatus::kComplete);
  ASSERT_EQ(p.args().size(), args.size());
  for (size_t i = 0; i < args.size(); ++i) EXPECT_EQ(p.args()[i], args[i]);
  EXPECT_EQ(p.consumed(), wire.size());
}

}  // namespace
}  // namespace ringkv::net::resp
