#pragma once
// Read-modify-writes that skip the locked instruction while the process has one thread.
//
// Why: an atomic RMW costs one instruction but tens of cycles, more on some CPUs than on others (issue 18), and
// coro-local runs every task on one thread. While the process has a single thread, nothing can run between a load
// and a store, so a plain (relaxed) load and store are the RMW. glibc's `__libc_single_threaded` says so: it turns
// false before a second thread starts (pthread_create publishes everything written before, so the new thread sees
// the plain stores) and never turns back; its own mutexes and libstdc++'s shared_ptr read the same flag.
#include <sys/single_threaded.h>

#include <atomic>

namespace tvt::coro::detail {

inline bool process_single_threaded() noexcept { return __libc_single_threaded != 0; }

struct Rmw {
  template <class T>
  static T fetch_or(std::atomic<T>& a, T bits, std::memory_order order) noexcept {
    if (!process_single_threaded()) return a.fetch_or(bits, order);
    const T old = a.load(std::memory_order_relaxed);
    a.store(old | bits, std::memory_order_relaxed);
    return old;
  }
  template <class T>
  static T fetch_add(std::atomic<T>& a, T delta, std::memory_order order) noexcept {
    if (!process_single_threaded()) return a.fetch_add(delta, order);
    const T old = a.load(std::memory_order_relaxed);
    a.store(old + delta, std::memory_order_relaxed);
    return old;
  }
  template <class T>
  static T exchange(std::atomic<T>& a, T desired, std::memory_order order) noexcept {
    if (!process_single_threaded()) return a.exchange(desired, order);
    const T old = a.load(std::memory_order_relaxed);
    a.store(desired, std::memory_order_relaxed);
    return old;
  }
  // A strong compare-exchange (with one thread it cannot fail spuriously either).
  template <class T>
  static bool compare_exchange(std::atomic<T>& a, T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
    if (!process_single_threaded()) return a.compare_exchange_strong(expected, desired, success, failure);
    const T old = a.load(std::memory_order_relaxed);
    if (old != expected) {
      expected = old;
      return false;
    }
    a.store(desired, std::memory_order_relaxed);
    return true;
  }
};

}  // namespace tvt::coro::detail
