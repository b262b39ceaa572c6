#pragma once
// JoinHandle<T>: what spawn/spawn_local return. `co_await handle` yields the task's value or rethrows its exception
// (TaskCancelled if it was cancelled). Dropping the handle detaches the task, which keeps running (as in async-std);
// cancel() asks it to stop at its next suspension point. Move-only; await it at most once.
#include <coroutine>
#include <stdexcept>
#include <utility>

#include "coro/cancelled.hpp"
#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"

namespace tvt::coro {
namespace detail {

// Awaits anything with a JoinSlot `join_` and a Result<T> `result_` (a spawned task, a blocking job).
template <class Target, class T>
struct JoinAwaiter {
  Target* target;

  bool await_ready() const noexcept { return target->join_.is_done(); }
  bool await_suspend(std::coroutine_handle<> resume) {
    TaskHeader& me = require_current_task("co_await on a join handle");
    if (me.interrupted()) return false;
    if (!target->join_.try_register(me)) return false;  // finished meanwhile
    park_current(me, resume, &poll, this);
    return true;
  }
  T await_resume() {
    if (!target->join_.is_done()) throw_if_interrupted(require_current_task("co_await on a join handle"));
    return target->result_.take();
  }

 private:
  static bool poll(void* leaf, TaskHeader& me) noexcept {
    auto* self = static_cast<JoinAwaiter*>(leaf);
    if (self->target->join_.is_done()) return true;
    if (!me.interrupted()) return false;  // spurious: still registered
    self->target->join_.try_withdraw(me);  // if that fails, the target finished: await_resume takes the result
    return true;
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() noexcept = default;
  explicit JoinHandle(detail::SpawnedTask<T>* task) noexcept : task_(task) {}
  JoinHandle(JoinHandle&& other) noexcept : task_(std::exchange(other.task_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      detach();
      task_ = std::exchange(other.task_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { detach(); }

  // Lets the task run on unobserved; its result is dropped.
  void detach() noexcept {
    if (task_ != nullptr) std::exchange(task_, nullptr)->release();
  }
  // Asks the task to stop at its next suspension point (it then completes with TaskCancelled). Any thread.
  void cancel() noexcept { task_->cancel(); }
  bool is_finished() const noexcept { return task_->join_.is_done(); }
  bool valid() const noexcept { return task_ != nullptr; }

  // The result of a finished task (block_on uses this). Requires is_finished().
  T take_result() { return task_->result_.take(); }

  using Awaiter = detail::JoinAwaiter<detail::SpawnedTask<T>, T>;
  Awaiter operator co_await() & noexcept { return Awaiter{task_}; }
  Awaiter operator co_await() && noexcept { return Awaiter{task_}; }

 private:
  detail::SpawnedTask<T>* task_ = nullptr;
};

}  // namespace tvt::coro
