#pragma once
// The lock-free handshake between something that completes once (a spawned task, a blocking job) and at most one
// task awaiting it.
//
// Invariants: `waiter_` is 0 (nobody waits), `done` (completed; terminal) or a TaskHeader* that took a reference
// for the slot. Only the completer sets `done` (exchange); only the waiter sets or withdraws its own pointer (CAS).
// Whoever removes a pointer from the slot drops the reference it carried: the completer after waking it, the waiter
// when it withdraws. So a waiter's task cannot be freed while a completer on another thread is still waking it.
// Except when the completer runs on the waiter's own thread (two tasks of one LocalPool): then the waiter cannot run,
// let alone finish, while complete() wakes it, so it registers without a reference, tagged `unreferenced` (two
// atomic read-modify-writes less per join on coro-local); and complete(), which made the waiter's poll say "done",
// queues it to resume without that poll when it runs on the waiter's local pool (wake_completed_here: no virtual
// schedule, no poll call; the same-thread hand-off of the channel).
#include <atomic>
#include <cstdint>

#include "coro/detail/local_pool.hpp"
#include "coro/detail/task_header.hpp"

namespace tvt::coro::detail {

class JoinSlot {
 public:
  // Completer, once. Wakes the waiter if there is one. Every call in it is a tail call, so that frame_done, which
  // inlines it, keeps nothing live across one (no register saves for the common completion).
  void complete() noexcept {
    // acq_rel: release publishes the result to the waiter; acquire pairs with the waiter's registration.
    const auto w = Rmw::exchange(waiter_, done, std::memory_order_acq_rel);
    if (w == 0) return;  // nobody waits (w is never `done`: complete() runs once)
    auto* task = reinterpret_cast<TaskHeader*>(w & ~unreferenced);
    if ((w & unreferenced) != 0) {
      if (!wake_completed_here(*task)) task->wake();
      return;
    }
    wake_and_release(*task);
  }
  bool is_done() const noexcept { return waiter_.load(std::memory_order_acquire) == done; }

  // Waiter: true if `me` is registered (park), false if already done (don't). `completer_on_my_thread`: the
  // completer can only run on the thread that runs `me` (see the invariants).
  bool try_register(TaskHeader& me, bool completer_on_my_thread) noexcept {
    auto mine = reinterpret_cast<std::uintptr_t>(&me);
    if (completer_on_my_thread)
      mine |= unreferenced;
    else
      me.add_ref();
    std::uintptr_t expected = 0;
    if (Rmw::compare_exchange(waiter_, expected, mine, std::memory_order_acq_rel, std::memory_order_acquire))
      return true;
    if (!completer_on_my_thread) me.release();  // not the last reference: `me` is running
    return false;
  }
  // Waiter: true if withdrawn; false if the completer took it (it will wake `me` and drop the reference).
  bool try_withdraw(TaskHeader& me) noexcept {
    auto expected = waiter_.load(std::memory_order_acquire);
    if ((expected & ~unreferenced) != reinterpret_cast<std::uintptr_t>(&me)) return false;  // done: taken
    if (Rmw::compare_exchange(waiter_, expected, std::uintptr_t{0}, std::memory_order_acq_rel,
                              std::memory_order_acquire)) {
      if ((expected & unreferenced) == 0) me.release();
      return true;
    }
    return false;
  }

 private:
  [[gnu::noinline]] static void wake_and_release(TaskHeader& task) noexcept {
    task.wake();
    task.release();  // the registration's reference
  }

  static constexpr std::uintptr_t done = 1;
  static constexpr std::uintptr_t unreferenced = 2;  // tag on a waiter pointer (tasks are at least 8-aligned)
  static_assert(alignof(TaskHeader) > unreferenced);
  std::atomic<std::uintptr_t> waiter_{0};
};

}  // namespace tvt::coro::detail
