// Secrets (passwords, tokens, the cluster secret): where they come from and
// how they are compared. A secret is never taken from the command line,
// where every user of the machine can read it in /proc/<pid>/cmdline: it
// comes from a file or from the environment (docs/security.md,
// "Authentication and listeners").
//
// Thread safety: the functions are safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ringkv {

// The secret in `path`, without one trailing newline ("\n" or "\r\n").
// Errors: InvalidArgument when the file cannot be read, is empty, or is
// readable by group or others (mode & 077; like ssh with a private key), so
// a leaked secret is noticed at start-up rather than later.
StatusOr<std::string> ReadSecretFile(const std::string& path);

// Resolves one secret setting: the file named by `file` if set; else the
// environment variable `env` if set and not empty; else `inline_value` (a
// value from a YAML file, or a flag kept for compatibility). Setting both
// `file` and `inline_value` is an error naming `what`.
StatusOr<std::string> ResolveSecret(std::string_view what, const std::string& inline_value,
                                    const std::string& file, const char* env);

// `bytes` random bytes from OpenSSL's RAND_bytes, hex-encoded (2 x bytes
// characters). Errors: Internal when the generator fails.
StatusOr<std::string> RandomSecret(size_t bytes = 32);

// Compares without leaking, through timing, where the two differ or how
// long `expected` is: both are hashed (SHA-256) and the digests compared
// with CRYPTO_memcmp.
bool SecretEquals(std::string_view given, std::string_view expected);

// Writes `secret` plus a newline to `path` with mode 0600 (created or
// replaced; never readable by others, even for a moment).
Status WriteSecretFile(const std::string& path, const std::string& secret);

}  // namespace ringkv
