#pragma once
// What leaf awaiters need from the task they park. SpawnedTask itself lives in task.hpp: every frame allocation has
// room for one (see FrameAllocation there).
#include <coroutine>

#include "coro/detail/task_header.hpp"
#include "coro/task.hpp"

namespace tvt::coro::detail {

// Leaf awaiters park the current task at `resume` with `poll` as their readiness check (see PollFn).
inline void park_current(TaskHeader& task, std::coroutine_handle<> resume, PollFn poll, void* leaf) noexcept {
  task.resume_point_ = resume;
  task.poll_fn_ = poll;
  task.poll_leaf_ = leaf;
}

[[noreturn]] void throw_outside_task(const char* what);  // task_header.cpp

// The current task, or a clear error when a runtime primitive is awaited outside one.
inline TaskHeader& require_current_task(const char* what) {
  if (running_task == nullptr) [[unlikely]]
    throw_outside_task(what);
  return *running_task;
}

}  // namespace tvt::coro::detail
