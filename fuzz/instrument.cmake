# Included by the top-level CMakeLists.txt when RINGKV_FUZZ is ON, before any
# library is added: every ringkv library is compiled with libFuzzer's coverage
# instrumentation plus ASan and UBSan, so a fuzz target sees the coverage of
# the code it calls. Only the fuzz/ executables link libFuzzer's main.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "RINGKV_FUZZ needs clang (libFuzzer): configure with "
                      "-DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz.sh does)")
endif()
if(RINGKV_SANITIZE OR RINGKV_TSAN)
  message(FATAL_ERROR "RINGKV_FUZZ brings its own sanitizers: leave RINGKV_SANITIZE and RINGKV_TSAN off")
endif()
# UB aborts, so the fuzzer reports it as a crash and keeps the input.
# Warnings stay fatal in the g++ builds; here clang's own warnings (and its
# unknown GCC warning groups in pragmas) are shown but do not stop the build.
add_compile_options(-Wno-error -Wno-unknown-warning-option
                    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
