// FUZZ_CHECK: the fuzz targets' oracle. A property that does not hold aborts
// with the failed expression, so libFuzzer reports it as a crash and saves
// the input (docs/security.md, "Fuzzing and sanitizers").
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
