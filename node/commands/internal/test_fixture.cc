#include "node/commands/internal/test_fixture.h"

#include <charconv>

namespace ringkv::node::testing {
namespace {

bool ReadLine(std::string_view in, size_t& pos, std::string_view& line) {
  size_t end = in.find("\r\n", pos);
  if (end == std::string_view::npos) return false;
  line = in.substr(pos, end - pos);
  pos = end + 2;
  return true;
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  EXPECT_TRUE(r.ec == std::errc() && r.ptr == s.data() + s.size()) << "bad number " << s;
  return v;
}

}  // namespace

Reply Decode(std::string_view in, size_t& pos) {
  Reply r;
  std::string_view line;
  if (pos >= in.size() || !ReadLine(in, pos, line) || line.empty()) {
    ADD_FAILURE() << "truncated reply: " << in;
    return r;
  }
  r.type = line[0];
  std::string_view body = line.substr(1);
  switch (r.type) {
    case '+':
    case '-':
      r.str = std::string(body);
      break;
    case ':':
      r.integer = ToInt(body);
      break;
    case '$': {
      int64_t n = ToInt(body);
      if (n < 0) {
        r.null = true;
        break;
      }
      r.str = std::string(in.substr(pos, static_cast<size_t>(n)));
      pos += static_cast<size_t>(n) + 2;
      break;
    }
    case '*': {
      int64_t n = ToInt(body);
      r.null = n < 0;
      for (int64_t i = 0; i < n; ++i) r.elements.push_back(Decode(in, pos));
      break;
    }
    default:
      ADD_FAILURE() << "unknown reply type " << r.type;
  }
  return r;
}

void CommandsTest::Reset(std::string requirepass) {
  DispatcherOptions options;
  options.requirepass = std::move(requirepass);
  dispatcher_ = std::make_unique<Dispatcher>(*engine_, clock_, hlc_, metrics_, state_, options);
  session_ = Session{};
  session_.id = 7;
  session_.authenticated = !dispatcher_->RequiresAuth();
}

}  // namespace ringkv::node::testing
