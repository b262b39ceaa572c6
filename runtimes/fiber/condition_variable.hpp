#pragma once
// A condition variable for fibers: wait() parks the fiber, not the worker. Works with std::unique_lock<Mutex>.
//
// Invariants
// - `waiters_` is guarded by `guard_`. A waiter enqueues itself under `guard_`, releases the user's mutex, and
//   releases `guard_` only in the after-switch hook: a notify between "unlocked the mutex" and "parked" spins on
//   `guard_` until the waiter is parked, so no notification is lost.
// - Membership in `waiters_` is the single source of truth for who wakes a waiter: notify removes it before waking
//   it, and a timed-out waiter removes itself (under `guard_`) only if no notify did first. So each wait is woken
//   exactly once. The timer's wake runs on its reactor's thread and takes `guard_` for the same decision.
// - Spurious wake-ups do not happen, but callers should loop on their predicate as with std::condition_variable.
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "fiber/detail/intrusive_list.hpp"
#include "fiber/detail/spinlock.hpp"
#include "fiber/detail/worker.hpp"
#include "fiber/mutex.hpp"

namespace tvt::fiber {

class ConditionVariable {
 public:
  ConditionVariable() = default;
  ConditionVariable(const ConditionVariable&) = delete;
  ConditionVariable& operator=(const ConditionVariable&) = delete;

  void wait(std::unique_lock<Mutex>& lock) {
    detail::Worker& w = detail::require_fiber("ConditionVariable::wait");
    guard_.lock();
    waiters_.push_back(w.current);
    lock.unlock();
    detail::park(w, [](void* guard, detail::Context*) { static_cast<detail::Spinlock*>(guard)->unlock(); }, &guard_);
    lock.lock();
  }

  template <class Predicate>
  void wait(std::unique_lock<Mutex>& lock, Predicate ready) {
    while (!ready()) wait(lock);
  }

  // Returns std::cv_status::timeout if `deadline` passed before a notify reached this waiter.
  // The timer is armed before the waiter enqueues itself (never while holding `guard_`: the timer's wake runs under
  // the reactor's mutex and takes `guard_`, so the opposite order could deadlock). A timer that fires before the
  // waiter is enqueued leaves `fired` behind and the waiter does not park.
  std::cv_status wait_until(std::unique_lock<Mutex>& lock, reactor::Clock::time_point deadline) {
    detail::Worker& w = detail::require_fiber("ConditionVariable::wait_until");
    struct TimedWait {
      ConditionVariable* cv;
      detail::Context* self;
      reactor::TimerEntry entry{};
      reactor::Waker waker{};
      bool fired = false;      // under cv->guard_
      bool timed_out = false;  // under cv->guard_
    } wait{this, w.current};
    wait.waker = {[](void* arg) {
                    auto* t = static_cast<TimedWait*>(arg);
                    t->cv->guard_.lock();
                    t->fired = true;
                    const bool still_waiting = t->cv->waiters_.remove(t->self);
                    if (still_waiting) t->timed_out = true;
                    t->cv->guard_.unlock();
                    if (still_waiting) detail::make_ready(t->self);
                  },
                  &wait};
    reactor::Reactor* timers = &w.reactor;
    w.uses_reactor = true;
    timers->add_timer(wait.entry, deadline, wait.waker);
    guard_.lock();
    if (wait.fired) {
      wait.timed_out = true;
      guard_.unlock();
    } else {
      waiters_.push_back(w.current);
      lock.unlock();
      detail::park(w, [](void* guard, detail::Context*) { static_cast<detail::Spinlock*>(guard)->unlock(); }, &guard_);
    }
    // Woken by a notify or by the timer. cancel_timer is exact: after it, the timer's wake is not running.
    timers->cancel_timer(wait.entry);
    guard_.lock();
    const bool timed_out = wait.timed_out;
    guard_.unlock();
    if (!lock.owns_lock()) lock.lock();
    return timed_out ? std::cv_status::timeout : std::cv_status::no_timeout;
  }

  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<Mutex>& lock, std::chrono::duration<Rep, Period> d) {
    return wait_until(lock, reactor::Clock::now() + std::chrono::ceil<reactor::Clock::duration>(d));
  }

  void notify_one() {
    guard_.lock();
    detail::Context* c = waiters_.pop_front();
    guard_.unlock();
    if (c != nullptr) detail::make_ready(c);
  }

  void notify_all() {
    detail::ContextList woken;
    guard_.lock();
    woken.splice_back(waiters_);
    guard_.unlock();
    while (detail::Context* c = woken.pop_front()) detail::make_ready(c);
  }

 private:
  detail::Spinlock guard_;
  detail::ContextList waiters_;
};

}  // namespace tvt::fiber
