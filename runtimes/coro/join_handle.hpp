#pragma once
// JoinHandle<T>: what spawn/spawn_local return. `co_await handle` yields the task's value or rethrows its exception
// (TaskCancelled if it was cancelled). Dropping the handle detaches the task, which keeps running (as in async-std);
// cancel() asks it to stop at its next suspension point. Move-only.
//
// Await it at most once, as Rust's `.await` consumes a JoinHandle: a second `co_await` (or awaiting a detached or
// moved-from handle) throws std::logic_error instead of reading a result that was already moved out. The handle
// keeps its reference until it is dropped, so cancel() still reaches a task while (or after) it is awaited.
#include <coroutine>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "coro/cancelled.hpp"
#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"

namespace tvt::coro {
namespace detail {

// Awaits anything with a JoinSlot `join_` and a Result<T> `result()` (a spawned task, a blocking job).
template <class Target, class T>
struct JoinAwaiter {
  Target* target;

  bool await_ready() const noexcept { return target->join_.is_done(); }
  bool await_suspend(std::coroutine_handle<> resume) {
    TaskHeader& me = require_current_task("co_await on a join handle");
    // Out of line (a tail call), so that the common path keeps nothing live across a call: no register saves.
    if (me.may_be_interrupted()) [[unlikely]]
      return suspend_unless_interrupted(me, resume);
    return register_and_park(me, resume);
  }
  T await_resume() {
    // Not done: only an interrupted await gets here (its poll or await_suspend said so), and that throws.
    if (!target->join_.is_done()) [[unlikely]]
      throw_if_interrupted_join();
    return target->result().take();
  }

 private:
  [[gnu::noinline, gnu::cold]] bool suspend_unless_interrupted(TaskHeader& me, std::coroutine_handle<> resume) {
    return !me.interrupted() && register_and_park(me, resume);
  }
  bool register_and_park(TaskHeader& me, std::coroutine_handle<> resume) {
    bool completer_on_my_thread = false;  // a task of my one-thread executor (a blocking job never is)
    if constexpr (std::is_base_of_v<TaskHeader, Target>)
      completer_on_my_thread = target->executor_ == me.executor_ && me.executor_->one_thread();
    if (!target->join_.try_register(me, completer_on_my_thread)) return false;  // finished meanwhile
    park_current(me, resume, &poll, this);
    return true;
  }

  // Out of line, so that the common await_resume (done: take the result) inlines into the awaiting coroutine.
  [[gnu::noinline, gnu::cold]] static void throw_if_interrupted_join() {
    throw_if_interrupted(require_current_task("co_await on a join handle"));
  }

  static bool poll(void* leaf, TaskHeader& me) noexcept {
    auto* self = static_cast<JoinAwaiter*>(leaf);
    if (self->target->join_.is_done()) return true;
    if (!me.interrupted()) return false;  // spurious: still registered
    self->target->join_.try_withdraw(me);  // if that fails, the target finished: await_resume takes the result
    return true;
  }
};

// A handle's pointer to its target with the low bit saying "awaited" (targets are at least 8-aligned), so enforcing
// await-at-most-once costs the handle no byte: a parked task's handle is part of what bytes_per_task measures.
template <class Target>
class AwaitOncePtr {
 public:
  AwaitOncePtr() noexcept = default;
  explicit AwaitOncePtr(Target* target) noexcept : bits_(reinterpret_cast<std::uintptr_t>(target)) {}
  Target* get() const noexcept { return reinterpret_cast<Target*>(bits_ & ~awaited_bit); }
  Target* release() noexcept { return reinterpret_cast<Target*>(std::exchange(bits_, 0) & ~awaited_bit); }
  // The target for the one await; std::logic_error if there is none or it was awaited already. The throw is out of
  // line, so that the check inlines into every await (a call of its own cost ~10 instructions per spawn+join).
  Target* take_for_await(const char* what) {
    if (get() == nullptr || (bits_ & awaited_bit) != 0) [[unlikely]]
      throw_awaited_twice(what);
    bits_ |= awaited_bit;
    return get();
  }

 private:
  [[noreturn, gnu::noinline, gnu::cold]] static void throw_awaited_twice(const char* what) {
    throw std::logic_error(std::string(what) + " awaited twice (or after detach/move): await a handle at most once");
  }

  static constexpr std::uintptr_t awaited_bit = 1;
  static_assert(alignof(Target) > awaited_bit);
  std::uintptr_t bits_ = 0;
};

}  // namespace detail

template <class T>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() noexcept = default;
  explicit JoinHandle(detail::SpawnedTask<T>* task) noexcept : task_(task) {}
  JoinHandle(JoinHandle&& other) noexcept : task_(std::exchange(other.task_, {})) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      detach();
      task_ = std::exchange(other.task_, {});
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { detach(); }

  // Lets the task run on unobserved; its result is dropped.
  void detach() noexcept {
    if (auto* task = task_.release()) task->release();
  }
  // Asks the task to stop at its next suspension point (it then completes with TaskCancelled). Any thread.
  void cancel() noexcept { task_.get()->cancel(); }
  bool is_finished() const noexcept { return task_.get()->join_.is_done(); }
  bool valid() const noexcept { return task_.get() != nullptr; }
  // For block_on: the task its loop runs until complete. Requires valid().
  const detail::TaskHeader& header() const noexcept { return *task_.get(); }

  // The result of a finished task (block_on uses this). Requires is_finished(); counts as the one await.
  T take_result() { return task_.take_for_await("coro::JoinHandle")->result().take(); }

  using Awaiter = detail::JoinAwaiter<detail::SpawnedTask<T>, T>;
  // Throws std::logic_error when awaited twice (see the top of this file).
  Awaiter operator co_await() & { return Awaiter{task_.take_for_await("coro::JoinHandle")}; }
  Awaiter operator co_await() && { return Awaiter{task_.take_for_await("coro::JoinHandle")}; }

 private:
  detail::AwaitOncePtr<detail::SpawnedTask<T>> task_;
};

}  // namespace tvt::coro
