#pragma once
// The spawned task: the unit a scheduler queues, runs and wakes. It shares one allocation with the coroutine frame:
// every Task frame is allocated with room for a spawned task (result, join slot, header, then the frame's marker) in
// front of it (task.hpp), so a spawn allocates nothing and queueing never allocates either (the task *is* the queue
// node). The header ends where the marker begins: the marker of a spawned frame is the task's destroy function
// (DestroyFn), so the header needs no field for it.
//
// State bits (`state_`), after tokio's task/state.rs:
//   SCHEDULED  in exactly one run queue (or being pushed into one). Set by wake(), cleared by the runner.
//   RUNNING    a runner is polling it (poll_fn) or resuming it. Only one runner at a time.
//   NOTIFIED   woken while RUNNING: the runner requeues it when the resume returns (wakes are never lost).
//   COMPLETE   the task's coroutine finished and its frame was destroyed; the result is in the SpawnedTask. Terminal.
//   CANCELLED  cancel() asked it to stop: the next suspension point throws TaskCancelled into it.
//   EXTRAS     the task has a TaskExtras block (timeout scopes, task locals; task_extras.hpp), set by its runner when
//              it makes the block, never cleared: with CANCELLED, the one bit test of interrupted()'s common answer.
// Transitions: idle -> SCHEDULED (wake) -> RUNNING (runner) -> idle | SCHEDULED (NOTIFIED) | COMPLETE, and
// RUNNING -> RUNNING for a yield: a task that yields keeps RUNNING while it waits at the back of its runner's own
// queue (run_task returns true and the runner pushes it), so a yield costs no atomic read-modify-write. That is
// sound because RUNNING only says "an executor holds it, nobody else may run it": a wake meanwhile sets NOTIFIED,
// which the yielded task keeps until it parks for real (then it is requeued once more: a spurious poll at worst).
//
// Ownership: `refs_` counts (1) the task itself until it completes, (2) its JoinHandle until dropped or awaited,
// (3) one per lock-free wake registration in flight (a joiner parked in another task's JoinSlot, unless both run on
// one thread: join_slot.hpp). The coroutine frame is destroyed when the coroutine finishes (its parameters die then,
// as in async-std); the allocation, with the header and the result in front of the frame, is freed by the last
// release. Wakes made under the lock of the structure that holds the waiter (reactor, channel, mutex) need no
// reference: the waiter withdraws itself under that same lock before its task can finish.
//
// Threads: wake() from any thread. Fields other than `state_`/`refs_` (and the SpawnedTask's join slot) are touched
// only by the runner that holds RUNNING (or by the spawner before the first schedule), which the state CAS orders
// (acq_rel); a yielded task passes from runner to runner through the run queue (one thread, or the queue's mutex).
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "coro/detail/one_thread.hpp"

namespace tvt::coro::detail {

class TaskHeader;
class Executor;
struct TimeoutScope;
struct TaskExtras;

// A leaf awaiter's readiness check, called by the runner (on the task's thread, RUNNING held) when the parked task
// was woken, spuriously or not. Returns true to resume the coroutine (done, or interrupted: it has then withdrawn
// every registration), false to stay parked (it is registered again).
using PollFn = bool (*)(void* leaf, TaskHeader& task);

// The PollFn of a task that yielded (yield_now.hpp): the runner resumes it without calling anything and, when it
// yields, requeues it without touching its state (see "RUNNING -> RUNNING" above). Never called.
bool yielded(void* leaf, TaskHeader& task) noexcept;

// Where a woken task goes. Implemented by the local pool (block_on) and the thread pool.
class Executor {
 public:
  explicit Executor(bool one_thread) noexcept : one_thread_(one_thread) {}
  // Runs every task of its own on one thread (LocalPool): two of its tasks never run at the same time.
  bool one_thread() const noexcept { return one_thread_; }
  // Any thread. `task` has SCHEDULED set and is in no queue.
  virtual void schedule(TaskHeader& task) noexcept = 0;
  // The runner's thread, after the task's COMPLETE was published: forget it (the owned-task list).
  virtual void retire(TaskHeader& task) noexcept = 0;

 protected:
  ~Executor() = default;

 private:
  const bool one_thread_;
};

class TaskHeader {
 public:
  static constexpr std::uint32_t scheduled = 1, running = 2, notified = 4, complete = 8, cancelled = 16, extras = 32;

  // Frees the spawned task and its allocation (the frame is destroyed first if it still exists).
  using DestroyFn = void (*)(TaskHeader*) noexcept;

  TaskHeader() noexcept = default;
  TaskHeader(const TaskHeader&) = delete;
  TaskHeader& operator=(const TaskHeader&) = delete;

  // Any thread. Makes the task runnable once; collapses with other wakes until it runs.
  void wake() noexcept {
    if (process_single_threaded()) {  // nothing can race this thread: the same steps without the CAS
      const std::uint32_t s = state_.load(std::memory_order_relaxed);
      if (s & (complete | scheduled)) return;
      if (s & running) {
        state_.store(s | notified, std::memory_order_relaxed);
        return;
      }
      state_.store(s | scheduled, std::memory_order_relaxed);
      executor_->schedule(*this);
      return;
    }
    // acquire: a stale COMPLETE read is only ever "complete" (terminal), so no-op is right.
    std::uint32_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if (s & (complete | scheduled)) return;
      if (s & running) {
        if (s & notified) return;
        // acq_rel: publishes what the waker did before waking (a value handed over) to the runner that sees NOTIFIED.
        if (state_.compare_exchange_weak(s, s | notified, std::memory_order_acq_rel, std::memory_order_acquire))
          return;
        continue;
      }
      if (state_.compare_exchange_weak(s, s | scheduled, std::memory_order_acq_rel, std::memory_order_acquire)) {
        executor_->schedule(*this);
        return;
      }
    }
  }
  // A reactor::Waker's wake_fn for a task (context = the TaskHeader). Leaves embed the Waker (AsyncFd, sleep).
  static void wake_fn(void* task) noexcept { static_cast<TaskHeader*>(task)->wake(); }

  void add_ref() noexcept {
    Rmw::fetch_add(refs_, 1u, std::memory_order_relaxed);  // relaxed: the caller already holds a reference
  }
  void release() noexcept {
    // The sole holder (count 1: nobody else can add a reference, that takes one) skips the read-modify-write; acquire
    // pairs with the release of the holder that dropped the count to 1. acq_rel: every use of the task by other
    // holders happens-before the destroy by the last one. With one thread, another holder's reference is the plain
    // decrement of the count just read.
    const std::uint32_t refs = refs_.load(std::memory_order_acquire);
    if (refs == 1) return destroy_fn()(this);
    if (process_single_threaded()) [[likely]]
      refs_.store(refs - 1, std::memory_order_relaxed);
    else if (refs_.fetch_add(~0u, std::memory_order_acq_rel) == 1)
      destroy_fn()(this);
  }

  // Asks the task to stop at its next suspension point. Any thread; the caller holds a reference.
  void cancel() noexcept {
    Rmw::fetch_or(state_, cancelled, std::memory_order_acq_rel);
    wake();
  }
  bool is_complete() const noexcept { return state_.load(std::memory_order_acquire) & complete; }
  bool is_cancelled() const noexcept { return state_.load(std::memory_order_acquire) & cancelled; }
  // Cancelled, or a timeout() around the current await has expired: leaves must stop instead of parking. Inline
  // for the common answer (no: neither CANCELLED nor EXTRAS, one load and one test): every leaf asks before it parks.
  bool interrupted() const noexcept { return may_be_interrupted() && interrupted_slow(); }
  bool may_be_interrupted() const noexcept { return state_.load(std::memory_order_acquire) & (cancelled | extras); }

  std::atomic<std::uint32_t>& state() noexcept { return state_; }

 private:
  bool interrupted_slow() const noexcept;  // cancelled, or some timeout scope in extras_ expired (task_header.cpp)
  // The marker that follows the header (written by task.hpp's adopt as a uintptr_t, read back as one).
  DestroyFn destroy_fn() const noexcept {
    std::uintptr_t marker;
    std::memcpy(&marker, reinterpret_cast<const char*>(this) + sizeof(TaskHeader), sizeof marker);
    return reinterpret_cast<DestroyFn>(marker);
  }

  std::atomic<std::uint32_t> state_{0};
  std::atomic<std::uint32_t> refs_{2};  // the task itself + its JoinHandle

 public:
  // --- runner-owned fields (see the header comment) ---
  // The innermost suspended coroutine of this task. Once the coroutine has returned, nothing reads it and the word
  // holds a Task<void>'s result instead (task.hpp, result_in_header): at this fixed offset, `resume_point_at`.
  std::coroutine_handle<> resume_point_{};
  static constexpr std::size_t resume_point_at = 2 * sizeof(std::uint32_t);
  Executor* executor_ = nullptr;
  TaskHeader* next_in_queue_ = nullptr;               // run queue / inbox link: the task is the queue node
  TaskHeader* owned_prev_ = nullptr;                  // executor's owned-task list (shutdown cancels them all)
  TaskHeader* owned_next_ = nullptr;
  PollFn poll_fn_ = nullptr;  // how the last resume ended (a leaf's poll, `yielded`, nullptr); nullptr = just resume
  void* poll_leaf_ = nullptr;
  TaskExtras* extras_ = nullptr;                      // timeout scopes and task_local values, made on first use
};

// The task the calling thread is running (nullptr outside a task). Inline: every leaf awaiter reads it. Constant
// initialisation, so no thread_local init wrapper on access.
inline thread_local TaskHeader* running_task = nullptr;
inline TaskHeader* current_task() noexcept { return running_task; }

// The runner (run_task) is in run_task.hpp.

}  // namespace tvt::coro::detail
