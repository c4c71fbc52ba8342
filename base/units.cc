#include "base/units.h"

#include <cctype>
#include <charconv>
#include <string>

namespace ringkv {

namespace {

struct NumberAndSuffix {
  uint64_t number;
  std::string suffix;  // lower case
};

StatusOr<NumberAndSuffix> Split(std::string_view text, std::string_view what) {
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data()) {
    return InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) + "'");
  }
  std::string suffix;
  for (const char* p = ptr; p != text.data() + text.size(); ++p) {
    suffix.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
  }
  return NumberAndSuffix{n, suffix};
}

StatusOr<uint64_t> Scale(uint64_t n, uint64_t unit, std::string_view text) {
  if (unit != 0 && n > UINT64_MAX / unit)
    return OutOfRange("value too large: '" + std::string(text) + "'");
  return n * unit;
}

}  // namespace

StatusOr<uint64_t> ParseBytes(std::string_view text) {
  auto p = Split(text, "size");
  if (!p.ok()) return p.status();
  const std::string& s = p->suffix;
  uint64_t unit = s.empty() || s == "b"   ? 1
                  : s == "k" || s == "kb" ? 1ull << 10
                  : s == "m" || s == "mb" ? 1ull << 20
                  : s == "g" || s == "gb" ? 1ull << 30
                                          : 0;
  if (unit == 0) {
    return InvalidArgument("invalid size '" + std::string(text) +
                           "': use a number with b, kb, mb or gb");
  }
  return Scale(p->number, unit, text);
}

StatusOr<uint64_t> ParseDurationMs(std::string_view text) {
  auto p = Split(text, "duration");
  if (!p.ok()) return p.status();
  const std::string& s = p->suffix;
  uint64_t unit = s == "ms"               ? 1
                  : s.empty() || s == "s" ? 1000
                  : s == "m"              ? 60000
                  : s == "h"              ? 3600000
                                          : 0;
  if (unit == 0) {
    return InvalidArgument("invalid duration '" + std::string(text) + "': use ms, s, m or h");
  }
  return Scale(p->number, unit, text);
}

}  // namespace ringkv
