#pragma once
// The lock of a channel: its critical sections are a few dozen instructions with no blocking call inside.
//
// Why not std::mutex: glibc's pthread_mutex_lock + unlock execute ~55 instructions per pair (type and robustness
// checks, lock elision), twice per channel round trip (callgrind, hotpath coro-local switch). This one is a plain
// store each way while the process has one thread (one_thread.hpp), else the three-state futex mutex of Drepper's
// "Futexes Are Tricky" (mutex 2) on std::atomic's wait/notify: one locked instruction to lock and one to unlock
// when uncontended, a futex sleep (never a spin) when contended.
#include <atomic>
#include <cstdint>

#include "coro/detail/one_thread.hpp"

namespace tvt::coro::detail {

class LiteMutex {
 public:
  // The one-thread halves inline (a store each; always: GCC outlined unlock() from the channel's inlined paths),
  // the atomic halves out of line: a channel's fast path then makes no call for its lock.
  [[gnu::always_inline]] void lock() noexcept {
    if (process_single_threaded()) [[likely]]
      state_.store(locked, std::memory_order_relaxed);
    else
      lock_atomic();
  }
  [[gnu::always_inline]] void unlock() noexcept {
    if (process_single_threaded()) [[likely]]
      state_.store(unlocked, std::memory_order_relaxed);
    else
      unlock_atomic();
  }

 private:
  [[gnu::noinline]] void lock_atomic() noexcept {
    std::uint32_t seen = unlocked;
    // acquire: what the previous holder wrote before its release in unlock_atomic().
    if (state_.compare_exchange_strong(seen, locked, std::memory_order_acquire, std::memory_order_relaxed)) return;
    if (seen != contended) seen = state_.exchange(contended, std::memory_order_acquire);
    while (seen != unlocked) {
      state_.wait(contended, std::memory_order_relaxed);
      seen = state_.exchange(contended, std::memory_order_acquire);
    }
  }
  [[gnu::noinline]] void unlock_atomic() noexcept {
    // release: publishes the critical section to the next holder. A waiter may sleep only on `contended`.
    if (state_.exchange(unlocked, std::memory_order_release) == contended) state_.notify_one();
  }

  static constexpr std::uint32_t unlocked = 0, locked = 1, contended = 2;
  std::atomic<std::uint32_t> state_{unlocked};
};

// std::lock_guard for a LiteMutex, always inline: GCC outlined lock_guard's destructor from the channel's inlined
// fast paths (a call per round trip).
class [[nodiscard]] LiteLock {
 public:
  [[gnu::always_inline]] explicit LiteLock(LiteMutex& m) noexcept : mutex_(m) { mutex_.lock(); }
  [[gnu::always_inline]] ~LiteLock() { mutex_.unlock(); }
  LiteLock(const LiteLock&) = delete;
  LiteLock& operator=(const LiteLock&) = delete;

 private:
  LiteMutex& mutex_;
};

}  // namespace tvt::coro::detail
