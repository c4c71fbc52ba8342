#include "net/command/glob.h"

#include <cctype>
#include <cstddef>

namespace ringkv::net::command {
namespace {

char Fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Matches `c` against the class starting at p[i] == '['. Sets `next` to the
// index after the class.
bool MatchClass(std::string_view p, size_t i, char c, bool nocase, size_t& next) {
  ++i;
  bool negate = i < p.size() && p[i] == '^';
  if (negate) ++i;
  bool match = false;
  c = Fold(c, nocase);
  while (i < p.size() && p[i] != ']') {
    if (p[i] == '\\' && i + 1 < p.size()) {
      match |= Fold(p[i + 1], nocase) == c;
      i += 2;
    } else if (i + 2 < p.size() && p[i + 1] == '-') {
      unsigned char lo = static_cast<unsigned char>(Fold(p[i], nocase));
      unsigned char hi = static_cast<unsigned char>(Fold(p[i + 2], nocase));
      if (lo > hi) std::swap(lo, hi);
      unsigned char u = static_cast<unsigned char>(c);
      match |= u >= lo && u <= hi;
      i += 3;
    } else {
      match |= Fold(p[i], nocase) == c;
      ++i;
    }
  }
  next = i < p.size() ? i + 1 : i;
  return match != negate;
}

// Matches one non-star pattern token at p[i] against `c`; sets `next`.
bool MatchToken(std::string_view p, size_t i, char c, bool nocase, size_t& next) {
  switch (p[i]) {
    case '?':
      next = i + 1;
      return true;
    case '[':
      return MatchClass(p, i, c, nocase, next);
    case '\\':
      if (i + 1 < p.size()) {
        next = i + 2;
        return Fold(p[i + 1], nocase) == Fold(c, nocase);
      }
      [[fallthrough]];
    default:
      next = i + 1;
      return Fold(p[i], nocase) == Fold(c, nocase);
  }
}

}  // namespace

bool StringMatch(std::string_view p, std::string_view s, bool nocase) {
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t pi = 0, si = 0;
  size_t star_p = kNone, star_s = 0;  // resume points after the last '*'
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      while (pi < p.size() && p[pi] == '*') ++pi;
      if (pi == p.size()) return true;
      star_p = pi;
      star_s = si;
      continue;
    }
    size_t next = 0;
    if (pi < p.size() && MatchToken(p, pi, s[si], nocase, next)) {
      pi = next;
      ++si;
      continue;
    }
    if (star_p == kNone) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace ringkv::net::command
