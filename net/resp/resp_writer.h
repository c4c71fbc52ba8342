// ReplyWriter: appends RESP2 replies to a byte buffer.
//
// Thread safety: none; one writer per connection.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringkv::net::resp {

class ReplyWriter {
 public:
  explicit ReplyWriter(std::string& out) : out_(out) {}

  // "+OK\r\n". `s` must not contain CR or LF.
  void Simple(std::string_view s) { Line('+', s); }
  void Ok() { out_.append("+OK\r\n"); }
  // "-ERR message\r\n": pass the whole text including the prefix word, e.g.
  // Error("ERR syntax error") or Error("WRONGTYPE ...").
  void Error(std::string_view s) { Line('-', s); }
  void Integer(int64_t v) { Number(':', v); }
  void Bulk(std::string_view s) {
    Number('$', static_cast<int64_t>(s.size()));
    out_.append(s);
    out_.append("\r\n");
  }
  void Null() { out_.append("$-1\r\n"); }  // nil bulk string
  void NullArray() { out_.append("*-1\r\n"); }
  void ArrayHeader(size_t n) { Number('*', static_cast<int64_t>(n)); }
  // Bytes that are already valid RESP (e.g. a reply relayed from a back end).
  void Raw(std::string_view s) { out_.append(s); }

  std::string& buffer() { return out_; }

 private:
  void Line(char prefix, std::string_view s) {
    out_.push_back(prefix);
    out_.append(s);
    out_.append("\r\n");
  }
  void Number(char prefix, int64_t v) {
    char buf[24];
    buf[0] = prefix;
    auto r = std::to_chars(buf + 1, buf + sizeof buf - 2, v);
    r.ptr[0] = '\r';
    r.ptr[1] = '\n';
    out_.append(buf, static_cast<size_t>(r.ptr + 2 - buf));
  }

  std::string& out_;
};

}  // namespace ringkv::net::resp
