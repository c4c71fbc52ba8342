// StringMatch: Redis glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET).
//
//   *        any run of bytes, including none
//   ?        exactly one byte
//   [abc]    one byte from the set; [^abc] one byte not in it; [a-z] a range
//            (reversed ranges are swapped); an unterminated class runs to the
//            end of the pattern
//   \x       the byte x literally (also inside a class); a trailing \ is literal
//
// Runs in O(pattern * string) time in the worst case (no exponential
// backtracking). Binary safe. Thread safety: pure function.
#pragma once

#include <string_view>

namespace ringkv::net::command {

bool StringMatch(std::string_view pattern, std::string_view str, bool nocase = false);

}  // namespace ringkv::net::command
