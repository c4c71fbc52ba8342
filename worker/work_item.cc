#include "worker/work_item.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "jobs/hash_work.h"

namespace ringkv::worker {
namespace {

using json = nlohmann::json;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string HexToBytes(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(HexValue(hex[2 * i]) << 4 | HexValue(hex[2 * i + 1]));
  }
  return out;
}

}  // namespace

StatusOr<std::string> RouterAddrFromUrl(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    return InvalidArgument("router URL '" + std::string(url) +
                           "': give host:port, with router_tls_ca_cert_file for HTTPS");
  }
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (rest.empty() || rest.find('/') != std::string_view::npos || colon == std::string_view::npos) {
    return InvalidArgument("router URL '" + std::string(url) + "' must look like http://HOST:PORT");
  }
  std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return InvalidArgument("router URL '" + std::string(url) + "': bad port '" + std::string(port) +
                           "'");
  }
  return (host.empty() ? std::string("127.0.0.1") : std::string(host)) + ":" + std::string(port);
}

StatusOr<WorkItem> ParseWorkItem(std::string_view json_body) {
  json j = json::parse(json_body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument("getWork answer is not a JSON object");
  WorkItem w;
  auto id = j.find("work_id");
  if (id == j.end() || !id->is_string() || id->get<std::string>().empty()) {
    return InvalidArgument("getWork answer has no work_id");
  }
  w.work_id = id->get<std::string>();
  auto it = j.find("iterations");
  if (it == j.end() || !it->is_number_unsigned() || it->get<uint64_t>() == 0) {
    return InvalidArgument("job " + w.work_id + ": iterations missing or not >= 1");
  }
  w.iterations = it->get<uint64_t>();
  if (auto a = j.find("algorithm"); a != j.end()) {
    auto parsed = a->is_string() ? jobs::ParseHashAlgorithm(a->get<std::string>()) : std::nullopt;
    if (!parsed) return InvalidArgument("job " + w.work_id + ": unknown algorithm " + a->dump());
    w.algorithm = *parsed;
  }
  std::string encoding = "base64";
  if (auto e = j.find("payload_encoding"); e != j.end() && e->is_string()) encoding = *e;
  auto p = j.find("payload");
  if (p != j.end() && !p->is_string()) return InvalidArgument("job " + w.work_id + ": bad payload");
  std::string raw = p == j.end() ? "" : p->get<std::string>();
  if (encoding == "base64") {
    auto decoded = Base64Decode(raw);
    if (!decoded) return InvalidArgument("job " + w.work_id + ": payload is not valid base64");
    w.payload = std::move(*decoded);
  } else if (encoding == "raw" || encoding == "utf-8") {
    w.payload = std::move(raw);
  } else {
    return InvalidArgument("job " + w.work_id + ": unknown payload_encoding '" + encoding + "'");
  }
  if (auto l = j.find("lease_ms"); l != j.end() && l->is_number_unsigned()) {
    w.lease_ms = static_cast<uint32_t>(std::min<uint64_t>(l->get<uint64_t>(), UINT32_MAX));
  }
  if (auto a = j.find("attempts"); a != j.end() && a->is_number_unsigned()) {
    w.attempts = static_cast<uint32_t>(std::min<uint64_t>(a->get<uint64_t>(), UINT32_MAX));
  }
  return w;
}

std::optional<std::string> IterateHashSliced(jobs::HashAlgorithm algorithm,
                                             std::string_view payload, uint64_t iterations,
                                             uint64_t slice,
                                             const std::function<bool()>& keep_going) {
  slice = std::max<uint64_t>(slice, 1);
  uint64_t step = std::min(slice, iterations);
  std::string out = jobs::IterateHash(algorithm, payload, step);
  for (uint64_t done = step; done < iterations; done += step) {
    if (!keep_going()) return std::nullopt;
    step = std::min(slice, iterations - done);
    out = jobs::IterateHash(algorithm, HexToBytes(out), step);
  }
  return out;
}

}  // namespace ringkv::worker
