#pragma once
// A spawned task: the header the schedulers see, the user's top-level Task frame, and the slot its result lands in.
// One allocation per spawn besides the Task's own frame; the frame is destroyed as soon as it finishes, the rest
// when the last reference (task, JoinHandle, in-flight joiner) goes (see task_header.hpp).
#include <coroutine>
#include <utility>

#include "coro/detail/join_slot.hpp"
#include "coro/detail/result.hpp"
#include "coro/detail/task_header.hpp"
#include "coro/task.hpp"

namespace tvt::coro::detail {

// Destroys the task_local values of a finishing task (task_local.cpp).
void destroy_task_locals(TaskHeader& task) noexcept;

template <class T>
class SpawnedTask final : public TaskHeader, public SpawnedBase {
 public:
  SpawnedTask(Task<T> task, Executor& executor) : TaskHeader(&destroy_self), frame_(task.release()) {
    executor_ = &executor;
    frame_.promise().spawned_ = this;
    resume_point_ = frame_;
    on_frame_done_ = &frame_done;
  }
  ~SpawnedTask() {
    if (frame_) frame_.destroy();  // never ran to the end (a runtime torn down with the task parked)
    destroy_task_locals(*this);
  }

  JoinSlot join_;
  Result<T> result_;

 private:
  static void destroy_self(TaskHeader* header) noexcept { delete static_cast<SpawnedTask*>(header); }

  static void frame_done(SpawnedBase* base, std::coroutine_handle<>) noexcept {
    auto* self = static_cast<SpawnedTask*>(base);
    self->result_ = std::move(self->frame_.promise().result_);
    std::exchange(self->frame_, {}).destroy();
    destroy_task_locals(*self);
    self->state().fetch_or(complete, std::memory_order_acq_rel);  // acq_rel: the runner reads it after resume()
    self->join_.complete();
  }

  std::coroutine_handle<TaskPromise<T>> frame_;
};

// Leaf awaiters park the current task at `resume` with `poll` as their readiness check (see PollFn).
inline void park_current(TaskHeader& task, std::coroutine_handle<> resume, PollFn poll, void* leaf) noexcept {
  task.resume_point_ = resume;
  task.poll_fn_ = poll;
  task.poll_leaf_ = leaf;
}

// The current task, or a clear error when a runtime primitive is awaited outside one.
TaskHeader& require_current_task(const char* what);

}  // namespace tvt::coro::detail
