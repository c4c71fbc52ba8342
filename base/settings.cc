#include "base/settings.h"

#include <charconv>

#include "base/units.h"

namespace ringkv::settings {

std::string FlagName(std::string_view name) {
  std::string flag = "--";
  for (char c : name) flag.push_back(c == '_' ? '-' : c);
  return flag;
}

StatusOr<uint64_t> ParseUint(std::string_view text, uint64_t max) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || n > max) {
    return InvalidArgument("expected an integer in [0, " + std::to_string(max) + "]");
  }
  return n;
}

std::string RenderBytes(uint64_t bytes) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {1ull << 30, "gb"}, {1ull << 20, "mb"}, {1ull << 10, "kb"}};
  if (bytes == 0) return "0";
  for (const auto& [unit, suffix] : kUnits) {
    if (bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
  }
  return std::to_string(bytes);
}

std::string RenderDurationMs(uint64_t ms) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  if (ms == 0) return "0";
  for (const auto& [unit, suffix] : kUnits) {
    if (ms % unit == 0) return std::to_string(ms / unit) + suffix;
  }
  return std::to_string(ms) + "ms";
}

std::string Alternatives(std::span<const std::string_view> names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

StatusOr<uint64_t> Bytes::Parse(std::string_view text, uint64_t limit) const {
  auto n = ParseBytes(text);
  if (!n.ok()) return InvalidArgument("expected a size such as 512kb, 64mb or 1gb");
  if (*n > limit) return InvalidArgument("expected a size up to " + RenderBytes(limit));
  return *n;
}

StatusOr<uint64_t> Duration::Parse(std::string_view text, uint64_t limit_ms) const {
  auto n = ParseDurationMs(text);
  if (!n.ok()) return InvalidArgument("expected a duration such as 500ms, 10s, 30m or 1h");
  if (*n > limit_ms)
    return InvalidArgument("expected a duration up to " + RenderDurationMs(limit_ms));
  return *n;
}

Status Bool::Set(bool& field, std::string_view text) const {
  if (text == "true" || text == "yes" || text == "on" || text == "1") {
    field = true;
  } else if (text == "false" || text == "no" || text == "off" || text == "0") {
    field = false;
  } else {
    return InvalidArgument("expected true or false");
  }
  return OkStatus();
}

Status String::Set(std::string& field, std::string_view text) const {
  if (!normalize) {
    field = std::string(text);
    return OkStatus();
  }
  auto v = normalize(text);
  if (!v.ok()) return v.status();
  field = std::move(*v);
  return OkStatus();
}

bool OneOf::Contains(std::string_view text) const {
  return std::find(names.begin(), names.end(), text) != names.end();
}

Status OneOf::Set(std::string& field, std::string_view text) const {
  if (!Contains(text)) return InvalidArgument("expected " + Alternatives(names));
  field = std::string(text);
  return OkStatus();
}

Status List::Set(std::vector<std::string>& field, std::string_view text) const {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (!item.empty()) {
      if (check) {
        if (Status s = check(item); !s.ok()) return s;
      }
      items.emplace_back(item);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  field = std::move(items);
  return OkStatus();
}

std::string List::Render(const std::vector<std::string>& value) const {
  std::string out;
  for (const auto& item : value) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::string HelpWithDefault(const std::string& help, const std::string& rendered_default) {
  if (rendered_default.empty()) return help;
  return help + " (default " + rendered_default + ")";
}

Status NameError(std::string_view name, const Status& error, std::string_view text) {
  return Status(error.code(),
                std::string(name) + ": " + error.message() + ", got '" + std::string(text) + "'");
}

}  // namespace ringkv::settings
