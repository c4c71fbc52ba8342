// Standard base64 (RFC 4648 §4), for job payloads carried in JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ringkv {

// Padded encoding.
std::string Base64Encode(std::string_view bytes);

// Accepts the padded form, or the same without any '=' padding; nullopt for
// anything else (bad characters, misplaced or excess padding, a lone
// trailing character).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace ringkv
