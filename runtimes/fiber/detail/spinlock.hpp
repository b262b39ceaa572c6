#pragma once
// A test-and-test-and-set spinlock for the fiber sync primitives' short critical sections (a few list operations).
// Fibers never block their worker while holding it: a fiber that must wait releases it in the after-switch hook,
// i.e. after its context is saved, so the critical sections stay a handful of instructions long.
//
// While the process has one thread, lock() is a plain store. Why: the exchange is one instruction but a full
// barrier (it drains the store buffer, which a context switch has just filled with saved registers): about half of
// a same-thread channel round trip's time under `perf record -e cpu-clock` (runtimes/fiber/README.md). With one
// thread nobody can hold the lock when lock() runs (a fiber never switches away holding it: the after-switch hook
// releases it before anything else runs), nor race the store. glibc's `__libc_single_threaded` says so: it turns
// false before a second thread starts (pthread_create publishes the plain store, and the new thread then sees the
// lock held until the release in unlock()) and never turns back; glibc's own mutexes read the same flag.
#include <sys/single_threaded.h>

#include <atomic>

namespace tvt::fiber::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

inline bool process_single_threaded() noexcept { return __libc_single_threaded != 0; }

class Spinlock {
 public:
  [[gnu::always_inline]] void lock() {
    if (process_single_threaded()) [[likely]]
      locked_.store(true, std::memory_order_relaxed);
    // acquire: pairs with unlock()'s release, so the previous holder's writes are visible to us. Inline: with
    // more threads (fiber-mt) the uncontended lock stays one exchange, no call.
    else if (locked_.exchange(true, std::memory_order_acquire)) [[unlikely]]
      lock_contended();
  }
  // release: publishes the critical section's writes to the next acquirer (a plain store on x86, either way).
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  [[gnu::noinline]] void lock_contended() {
    for (;;) {
      // relaxed: only a hint for when to retry the exchange, which does the synchronising.
      while (locked_.load(std::memory_order_relaxed)) cpu_relax();
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
    }
  }

  std::atomic<bool> locked_{false};
};

}  // namespace tvt::fiber::detail
