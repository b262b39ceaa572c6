#pragma once
// An edge-triggered epoll reactor with timers, one per thread, shared by the coroutine and fiber runtimes: it turns
// fd readiness, expired timers and cross-thread notifications into calls of parked Wakers. It never runs the woken
// work itself: a wake only makes work runnable (see waker.hpp), the runtime runs it after poll() returns.
//
// Invariants
// - Threads: poll() is called by one thread at a time (the owner; normally the one that made it). notify(), add(),
//   remove(), add_timer(), cancel_timer(), Registration::park/unpark may be called from any thread.
// - `mutex_` guards the fd table, the timer heap and `sleeping_until_`; every Waker the reactor calls is called with
//   it held. Hence unpark()/cancel_timer()/remove() are exact: when they return, no wake of that waiter is running or
//   will run, and the parker may free the Waker, the Registration or the TimerEntry at once.
// - Stale events: epoll_wait may harvest an event for an fd that another thread removes before dispatch. Events
//   carry the fd number, not a pointer, and are looked up in `table_` under the mutex, so a removed registration is
//   never touched (an fd number reused meanwhile gets at most a spurious edge, which parkers tolerate).
// - Timers fire in deadline order, FIFO among equal deadlines; each fires at most once, on the owner thread.
// - Shutdown order: remove every Registration and fire or cancel every timer, then destroy the reactor. The
//   destructor detaches whatever is left (registrations become unregistered, timers unarmed; their waiters are never
//   woken), so an object that outlives the runtime which registered it can still be destroyed or registered again.
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

#include "reactor/registration.hpp"
#include "reactor/timer.hpp"
#include "reactor/waker.hpp"

namespace tvt::reactor {

class Reactor {
 public:
  // Throws std::system_error if epoll or eventfd cannot be created.
  Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;
  ~Reactor();  // detaches leftover registrations and timers (see the invariants)

  // Registers non-blocking `fd` once for read and write edges (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET). `reg` must stay
  // alive and unmoved until remove(reg) (its destructor does that). Throws std::system_error if epoll_ctl fails.
  void add(int fd, Registration& reg);
  // Deregisters. Requires no parked waiter. After it returns, no wake for `reg` runs; the fd may then be closed.
  void remove(Registration& reg);

  // Arms `entry` to call `waker` at `deadline` (on the owner thread, from poll). Requires `entry` not armed.
  void add_timer(TimerEntry& entry, Clock::time_point deadline, Waker& waker);
  // True if the timer was disarmed before it fired; false if it had fired (its wake has finished) or was not armed.
  bool cancel_timer(TimerEntry& entry);

  // Owner thread. Waits up to `timeout` (negative: no limit; zero: just look) for fd edges, due timers or notify(),
  // then calls the wakers of everything that became ready. Returns how many wakers it called. Returns early (possibly
  // with 0) after notify(): the caller re-checks its own queues, which the notifier filled before notifying.
  // A look (zero timeout) with no fd registered makes no syscall: it fires due timers, if any are armed (one clock
  // read under the mutex), and leaves a pending notify() to the next poll that waits.
  std::size_t poll(std::chrono::milliseconds timeout);

  // Any thread (async-signal-safe): makes a current or the next poll() return promptly. Cheap when repeated: at most
  // one eventfd write until the poll that consumes it.
  void notify();

  std::size_t timer_count() const;
  std::size_t registration_count() const;

  // The reactor the calling thread runs (set by the runtime that owns the thread), or nullptr.
  static Reactor* current() noexcept;
  // Makes `r` current on this thread for the scope's lifetime.
  class ScopedCurrent {
   public:
    explicit ScopedCurrent(Reactor& r);
    ~ScopedCurrent();
    ScopedCurrent(const ScopedCurrent&) = delete;
    ScopedCurrent& operator=(const ScopedCurrent&) = delete;

   private:
    Reactor* previous_;
  };

 private:
  friend class Registration;
  bool unpark(Registration& reg, Direction dir, Waker& waker);

  // Under mutex_: heap maintenance.
  void heap_push(TimerEntry* e);
  void heap_remove(std::size_t index);
  void heap_sift_up(std::size_t index);
  void heap_sift_down(std::size_t index);
  static bool earlier(const TimerEntry* a, const TimerEntry* b);
  std::size_t fire_due_timers(Clock::time_point now);  // under mutex_

  static constexpr int max_events_per_poll = 256;

  int epoll_fd_ = -1;
  int event_fd_ = -1;
  // True from the first notify() until the poll that sees the eventfd edge drains it and then clears it: collapses
  // notify storms into one write. seq_cst (default): the clear must not move before the drain (see poll).
  std::atomic<bool> notify_pending_{false};

  mutable std::mutex mutex_;
  std::vector<Registration*> table_;  // by fd number; nullptr = not registered here
  std::vector<TimerEntry*> heap_;     // binary min-heap by (deadline, sequence)
  // Counts of table_'s entries and heap_'s size: written under mutex_, read without it by a poll that only looks
  // (relaxed: an add racing that read is seen by the next poll, as if it had come just after this one's epoll_wait).
  std::atomic<std::size_t> registrations_{0};
  std::atomic<std::size_t> timers_{0};
  unsigned long long next_sequence_ = 0;
  // While the owner sleeps in epoll_wait: when it will wake by itself (time_point::min() when awake). A timer added
  // with an earlier deadline must notify(), or it would fire late.
  Clock::time_point sleeping_until_ = Clock::time_point::min();

  epoll_event events_[max_events_per_poll];
};

}  // namespace tvt::reactor
