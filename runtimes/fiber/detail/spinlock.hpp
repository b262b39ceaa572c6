#pragma once
// A test-and-test-and-set spinlock for the fiber sync primitives' short critical sections (a few list operations).
// Fibers never block their worker while holding it: a fiber that must wait releases it in the after-switch hook,
// i.e. after its context is saved, so the critical sections stay a handful of instructions long.
#include <atomic>

namespace tvt::fiber::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class Spinlock {
 public:
  void lock() {
    for (;;) {
      // acquire: pairs with unlock()'s release, so the previous holder's writes are visible to us.
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      // relaxed: only a hint for when to retry the exchange, which does the synchronising.
      while (locked_.load(std::memory_order_relaxed)) cpu_relax();
    }
  }
  bool try_lock() { return !locked_.exchange(true, std::memory_order_acquire); }
  // release: publishes the critical section's writes to the next acquirer.
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace tvt::fiber::detail
