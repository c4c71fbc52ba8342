// Not part of any library: ctest compiles this file with clang and
// -Wthread-safety -Werror to prove the lock annotations are checked
// (base/CMakeLists.txt). Built as is it writes a GUARDED_BY member without
// its mutex and must be rejected; with -DRINGKV_PROBE_HOLDS_LOCK it takes the
// mutex first and must compile, so the rejection is the analysis and nothing
// else.
#include "base/thread_annotations.h"

namespace ringkv {

class Counter {
 public:
  void Increment() {
#ifdef RINGKV_PROBE_HOLDS_LOCK
    MutexLock lock(mu_);
#endif
    ++value_;
  }

 private:
  Mutex mu_;
  int value_ GUARDED_BY(mu_) = 0;
};

}  // namespace ringkv

int main() {
  ringkv::Counter c;
  c.Increment();
}
