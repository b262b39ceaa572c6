#pragma once
// A mutex that parks the waiting fiber instead of its worker thread. Usable with std::lock_guard/std::unique_lock.
//
// Invariants
// - `locked_` and `waiters_` are guarded by `guard_` (a spinlock held for a few instructions only).
// - Handoff: unlock() with waiters does not clear `locked_`; it passes ownership to the first waiter and makes it
//   ready (FIFO, so no waiter starves). A woken waiter therefore owns the mutex when lock() returns.
// - A waiter is pushed on `waiters_` while `guard_` is held and `guard_` is released only in the after-switch hook,
//   once the waiter's context is saved: an unlocker on another worker cannot resume it half-parked.
// - Only fibers may lock it when contended (lock() parks); unlock() may run anywhere.
#include "fiber/detail/intrusive_list.hpp"
#include "fiber/detail/spinlock.hpp"
#include "fiber/detail/worker.hpp"

namespace tvt::fiber {

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    guard_.lock();
    if (!locked_) {
      locked_ = true;
      guard_.unlock();
      return;
    }
    detail::Worker& w = detail::require_fiber("Mutex::lock (contended)");
    waiters_.push_back(w.current);
    detail::park(w, [](void* guard, detail::Context*) { static_cast<detail::Spinlock*>(guard)->unlock(); }, &guard_);
  }

  bool try_lock() {
    guard_.lock();
    const bool acquired = !locked_;
    locked_ = true;
    guard_.unlock();
    return acquired;
  }

  void unlock() {
    guard_.lock();
    detail::Context* next = waiters_.pop_front();
    if (next == nullptr) locked_ = false;
    guard_.unlock();
    if (next != nullptr) detail::make_ready(next);
  }

 private:
  detail::Spinlock guard_;
  bool locked_ = false;
  detail::ContextList waiters_;
};

}  // namespace tvt::fiber
